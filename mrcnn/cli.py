"""Command line: ``mrcnn detect IMAGE... --weights {coco|PATH} --output DIR`` and
``mrcnn export --weights {coco|PATH} --config {coco|module:ClassName} --output DIR``.

For each image it writes ``<output>/<stem>.png`` (the image with the instances drawn, from
``mrcnn.rendering.save_instances_png``) and ``<output>/<stem>.json`` (the detections as COCO
result dicts: ``image_id``, ``category_id``, ``category_name``, ``bbox`` [x, y, w, h], ``score``,
``segmentation`` RLE). ``image_id`` is the file stem, as an int when the stem is all digits (COCO
file names such as ``000000532481.jpg``). Category ids are COCO's (``--config coco``).

IMAGE can be an image file, a folder (searched recursively for files ending in
``mrcnn.batch_inference.IMAGE_EXTENSIONS``: .bmp .gif .jpeg .jpg .png .tif .tiff .webp, any
case; names starting with "." skipped) or a quoted glob pattern (``**`` recursive); ``--list
FILE`` adds the entries of a text file (one per line, relative to its folder, "#" comments).
The order is deterministic: arguments as given, each folder's / pattern's / list's files sorted,
each file once (``mrcnn.batch_inference.expand_inputs``). Images are read, decoded and molded
in a parallel ``tf.data`` pipeline and detected in batches of ``--batch-size`` images of one
molded shape.

At scale (``--jsonl``): one JSON line per image (path, rois, class_ids, class_names, scores,
COCO RLE masks; or the error of an unreadable image) appended to ``<output>/results.jsonl`` as
each image is done, no per-image files unless ``--overlays`` (``<stem>.png``). ``--resume``
skips the images the file has (a last line cut by a kill is detected and its image redone);
without it an existing non-empty results file is an error (status 2). ``--shard I/N`` takes
every N-th image from the I-th of the list and writes ``results-I-of-N.jsonl``, so N jobs of
any scheduler given the same arguments split the work without coordination.

Options:
    --weights coco|PATH   "coco" = the released ``mask_rcnn_coco.h5`` (downloaded if missing)
    --output DIR          created if missing
    --config coco         the model configuration (only the 80-class COCO one for now)
    --min-confidence F    DETECTION_MIN_CONFIDENCE in [0, 1] (default 0.7)
    --batch-size N        images per batch (default 1)
    --list FILE           a text file of images, folders or patterns (repeatable)
    --jsonl               results as lines of results.jsonl instead of per-image files
    --overlays            with --jsonl: also <stem>.png per image
    --resume              with --jsonl: continue the results file
    --shard I/N           shard I of N (0 <= I < N) of the sorted images
    --version             (before the command) print the version and exit

``export`` writes a serving model (``mrcnn.export``): a TF SavedModel folder ``DIR`` that takes
raw images and returns final detections (``--format savedmodel``, the default), or
``DIR/model.tflite`` (``--format tflite``) or ``DIR/model.onnx`` (``--format onnx``, needs the
``onnx`` extra). Options: ``--config coco`` or ``module:ClassName`` (a ``Config`` subclass,
imported from the current folder or the Python path), ``--full-masks`` (also output full-image
masks), ``--min-confidence F`` (default: the config's ``DETECTION_MIN_CONFIDENCE``). It never
overwrites: an ``--output`` folder must be absent or empty (status 2 otherwise); a failed
export leaves nothing behind; a converter that cannot convert an op fails with status 1 and a
line naming the op. A TFLite model that this TensorFlow's ``tf.lite.Interpreter`` cannot run (TF
Select ops, no Flex delegate in the pip package) is written with a ``note:`` line naming the ops.

``train`` and ``evaluate`` (training and COCO-style evaluation on a COCO-format or VIA dataset,
the configuration saved as ``config.json`` next to the checkpoints) live in ``mrcnn.train_cli``.

Run as ``mrcnn`` (the console script of setup.py) or ``python -m mrcnn``.

Errors are one line on stderr naming the file, the problem and the fix, never a traceback:

* exit status 2, before anything is loaded: bad arguments (a ``--shard`` outside
  0 <= I < N, ``--resume`` without ``--jsonl``, ...); an IMAGE that does not exist, is empty
  (0 bytes) or is a folder without image files, a pattern that matches nothing, a list file
  that cannot be read; a --weights PATH that does not exist or is a directory; a results file
  that already has results without ``--resume``.
* exit status 1: the output directory cannot be written; the results file is damaged or
  written by another run; the COCO weights cannot be downloaded
  (a cached ``mask_rcnn_coco.h5`` of the wrong size is reported as rejected, with both sizes,
  before the download); the weights file is refused (not HDF5, truncated, or for another
  model); writing the results failed (disk full, ...): the run stops and the message lists the
  images whose results were written.
* an image that cannot be read (not an image, truncated, ...) is reported and skipped; the other
  images go on and the exit status is then 1.
* exit status 130 on Ctrl-C.

Each image's PNG and JSON are written to temporary names and renamed into place together, so a
failed write leaves both or neither, never half a result.
"""

import argparse
import collections
import contextlib
import json
import os
import sys
import tempfile
import warnings

from mrcnn import __version__, train_cli
from mrcnn.batch_inference import IMAGE_EXTENSIONS, file_problem as _file_problem
from mrcnn.coco_classes import COCO_CATEGORY_IDS, COCO_CLASS_NAMES

#: Configurations ``--config`` can name: name -> (class names, category ids per class id).
CONFIGS = {"coco": (COCO_CLASS_NAMES, COCO_CATEGORY_IDS)}


def _confidence(value):
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value!r}") from None
    if not 0.0 <= f <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {f}")
    return f


def _positive_int(value):
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def _shard(value):
    from mrcnn.batch_inference import parse_shard
    try:
        return parse_shard(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser(prog="mrcnn"):
    """The argparse parser (subcommands ``detect`` and ``export``, option ``--version``).

    Args:
        prog: the program name of usage lines and messages: ``"mrcnn"`` for the console
            script, ``"python -m mrcnn"`` from ``mrcnn/__main__.py``.
    """
    parser = argparse.ArgumentParser(prog=prog, description="Mask R-CNN command line tools.")
    parser.add_argument("--version", action="version", version=f"mrcnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    detect = commands.add_parser(
        "detect", help="detect objects in images; write <stem>.png and <stem>.json per image",
        description="Detect objects in images with a Mask R-CNN model and write, per image, "
                    "<output>/<stem>.png (instances drawn) and <output>/<stem>.json (COCO-style "
                    "results).")
    detect.add_argument("images", nargs="*", metavar="IMAGE",
                        help="image files (jpg, png, ...), folders (searched recursively for "
                             f"{', '.join(IMAGE_EXTENSIONS)} files) or quoted glob patterns "
                             "('photos/**/*.jpg'); files in argument order, each folder's and "
                             "pattern's files sorted")
    detect.add_argument("--list", action="append", default=[], metavar="FILE",
                        help="a text file with one image file, folder or pattern per line "
                             "(relative to the file's folder; '#' comments); repeatable")
    detect.add_argument("--jsonl", action="store_true",
                        help="write the results as one JSON line per image in "
                             "<output>/results.jsonl, appended as each image is done, instead "
                             "of <stem>.json and <stem>.png per image")
    detect.add_argument("--overlays", action="store_true",
                        help="with --jsonl: also write <stem>.png per image")
    detect.add_argument("--resume", action="store_true",
                        help="with --jsonl: continue the results file, skipping the images it "
                             "has")
    detect.add_argument("--shard", type=_shard, default=None, metavar="I/N",
                        help="detect only shard I of N (every N-th image from the I-th, "
                             "0 <= I < N) and write results-I-of-N.jsonl; N jobs with the same "
                             "arguments split the images without coordination")
    detect.add_argument("--video", metavar="IN.mp4", help="detect every frame of this video "
                        "instead of images; --output is then the video to write (OUT.mp4/.avi)")
    detect.add_argument("--weights", required=True, metavar="coco|PATH",
                        help="'coco' for the released COCO weights (downloaded if missing) or a "
                             ".h5 weights file")
    detect.add_argument("--output", required=True, metavar="DIR",
                        help="output directory (created if missing)")
    detect.add_argument("--config", default="coco", choices=sorted(CONFIGS),
                        help="model configuration (default coco: 80 COCO classes)")
    detect.add_argument("--min-confidence", type=_confidence, default=0.7, metavar="F",
                        help="minimum detection score in [0, 1] (default 0.7)")
    detect.add_argument("--batch-size", type=_positive_int, default=1, metavar="N",
                        help="images per detect() call (default 1)")
    parser.detect_parser = detect  # for error messages with the detect usage line
    export = commands.add_parser(
        "export", help="export a serving model (TF SavedModel, TFLite or ONNX) that takes raw "
                       "images and returns final detections",
        description="Export an inference model with detect()'s pre- and post-processing in "
                    "the graph: a TF SavedModel (signatures serving_default: uint8 images, "
                    "serve_encoded: JPEG/PNG bytes), or a TFLite or ONNX file converted from "
                    "it.")
    export.add_argument("--weights", required=True, metavar="coco|PATH",
                        help="'coco' for the released COCO weights (downloaded if missing) or a "
                             ".h5 weights file of the --config model")
    export.add_argument("--config", default="coco", metavar="coco|module:ClassName",
                        help="'coco' (default) or a Config subclass as module:ClassName, "
                             "imported from the current folder or the Python path")
    export.add_argument("--output", required=True, metavar="DIR",
                        help="the SavedModel folder (absent or empty); with --format tflite or "
                             "onnx, the folder that receives model.tflite or model.onnx")
    export.add_argument("--format", default="savedmodel", choices=["savedmodel", "tflite",
                                                                   "onnx"],
                        help="savedmodel (default), tflite or onnx (needs mrcnn[onnx])")
    export.add_argument("--full-masks", action="store_true",
                        help="also output full_masks uint8 [B, D, H, W], pasted in the graph")
    export.add_argument("--min-confidence", type=_confidence, default=None, metavar="F",
                        help="DETECTION_MIN_CONFIDENCE in [0, 1] (default: the config's)")
    parser.export_parser = export
    parser.command_parsers = train_cli.add_parsers(commands)  # train, evaluate
    return parser


def parse_args(argv=None, prog="mrcnn"):
    """Parses and checks the command line; exits with status 2 and a message on bad input.

    Checks done here, before any model is built: every IMAGE exists, is a file and is not empty,
    a PATH given to --weights exists and is a file, and --output is not an existing file.
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.command == "export":
        _check_export_args(parser.export_parser, args)
        return args
    if args.command in parser.command_parsers:
        train_cli.check_args(parser.command_parsers[args.command], args)
        return args
    parser = parser.detect_parser
    if args.video is not None:
        from mrcnn.video import check_video_args
        check_video_args(parser, args)
        return args
    from mrcnn import batch_inference
    if args.resume and not args.jsonl:
        parser.error("--resume continues a results.jsonl: add --jsonl")
    if args.overlays and not args.jsonl:
        parser.error("--overlays is for --jsonl (without --jsonl, <stem>.png is written anyway)")
    try:
        paths = batch_inference.expand_inputs(args.images, args.list)
    except batch_inference.InputError as e:
        parser.error(str(e))
    args.image_paths = paths if args.shard is None else \
        batch_inference.select_shard(paths, *args.shard)
    if args.weights.lower() not in ("coco", "last"):  # last: train_cli.detect_setup
        if not os.path.exists(args.weights):
            parser.error(f"weights file not found: {args.weights} (use --weights coco for the "
                         "released COCO weights)")
        if os.path.isdir(args.weights):
            parser.error(f"--weights {args.weights} is a directory, not a file (give a .h5 "
                         "weights file, or --weights coco for the released COCO weights)")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        parser.error(f"--output {args.output} exists and is not a directory")
    if args.jsonl:
        args.results_path = os.path.join(args.output,
                                         batch_inference.results_file_name(args.shard))
        if not args.resume and os.path.isfile(args.results_path) \
                and os.path.getsize(args.results_path) > 0:
            parser.error(f"{args.results_path} already holds results; add --resume to continue "
                         "it, or remove it (or choose another --output) to start again")
    if not args.jsonl or args.overlays:
        stems = collections.Counter(os.path.splitext(os.path.basename(p))[0] for p in paths)
        duplicates = sorted(s for s, n in stems.items() if n > 1)
        if duplicates:
            shown = duplicates[:10] + (["..."] if len(duplicates) > 10 else [])
            parser.error(f"several images have the stem(s) {shown}: their outputs would "
                         "overwrite each other; detect them in separate runs, or use --jsonl "
                         "(without --overlays)")
    return args


EXPORT_FILES = {"tflite": "model.tflite", "onnx": "model.onnx"}


def export_target(output, export_format):
    """The path ``export`` writes: the SavedModel folder, or the file in ``output``."""
    if export_format == "savedmodel":
        return output
    return os.path.join(output, EXPORT_FILES[export_format])


def resolve_config(spec, min_confidence=None):
    """The inference ``Config`` of ``--config``: ``"coco"`` or ``"module:ClassName"``.

    The class is imported (the current folder is searched first) and instantiated as a
    one-image inference config (``GPU_COUNT = IMAGES_PER_GPU = 1``; the exported model takes
    any batch size), with ``DETECTION_MIN_CONFIDENCE = min_confidence`` when given.

    Raises:
        ValueError: a malformed spec, a module or class that cannot be imported, a class that
            is not a ``Config`` subclass, or a config that fails its own validation; the
            message says which.
    """
    import importlib

    from mrcnn.config import Config
    if spec.lower() == "coco":
        return make_config("coco", 0.7 if min_confidence is None else min_confidence, 1)
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise ValueError(f"--config {spec!r}: give 'coco' or module:ClassName, e.g. "
                         "my_project.configs:BalloonConfig")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"--config {spec}: cannot import {module_name!r} ({e}); run from the "
                         "folder that holds it or add it to PYTHONPATH") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Config)):
        what = "has no" if cls is None else "has a non-Config"
        raise ValueError(f"--config {spec}: module {module_name!r} {what} attribute "
                         f"{class_name!r}; name a subclass of mrcnn.config.Config")
    attrs = {"GPU_COUNT": 1, "IMAGES_PER_GPU": 1}
    if min_confidence is not None:
        attrs["DETECTION_MIN_CONFIDENCE"] = min_confidence
    try:
        config = type(cls.__name__, (cls,), attrs)()
        config.validate("inference")
    except ValueError as e:
        raise ValueError(f"--config {spec}: {_one_line(e)}") from None
    return config


def _check_export_args(parser, args):
    """``export``'s checks before any model is built (exit status 2 on failure)."""
    if args.weights.lower() != "coco":
        problem = _file_problem(args.weights)
        if problem == "not found":
            parser.error(f"weights file not found: {args.weights} (use --weights coco for the "
                         "released COCO weights)")
        if problem is not None:
            parser.error(f"--weights {args.weights} {problem} (give a .h5 weights file, or "
                         "--weights coco)")
    try:
        args.config_object = resolve_config(args.config, args.min_confidence)
    except ValueError as e:
        parser.error(str(e))
    from mrcnn.ops.serving_ops import SERVING_RESIZE_MODES
    mode = args.config_object.IMAGE_RESIZE_MODE
    if mode not in SERVING_RESIZE_MODES:
        parser.error(f"--config {args.config}: IMAGE_RESIZE_MODE {mode!r} cannot be exported "
                     f"(it is for training); set it to one of {', '.join(SERVING_RESIZE_MODES)}")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        parser.error(f"--output {args.output} exists and is not a directory")
    target = export_target(args.output, args.format)
    if args.format == "savedmodel" and os.path.isdir(target) and os.listdir(target):
        parser.error(f"--output {target} exists and is not empty; remove it or choose another "
                     "folder (export never overwrites)")
    if args.format != "savedmodel" and os.path.exists(target):
        parser.error(f"{target} exists; remove it or choose another --output (export never "
                     "overwrites)")


def _image_id(stem):
    return int(stem) if stem.isdigit() else stem


def make_config(name, min_confidence, batch_size):
    """The inference configuration of ``--config`` (one GPU, ``batch_size`` images per call)."""
    from mrcnn.config import Config
    class_names, _ = CONFIGS[name]
    attrs = {"NAME": name, "NUM_CLASSES": len(class_names), "GPU_COUNT": 1,
             "IMAGES_PER_GPU": batch_size, "DETECTION_MIN_CONFIDENCE": min_confidence}
    return type(f"{name.capitalize()}InferenceConfig", (Config,), attrs)()


class CommandError(Exception):
    """An expected failure of a command; ``main`` prints ``error: <message>`` (one line) and
    returns status 1."""


def _one_line(text):
    return " ".join(str(text).split())


def _check_output_dir(output):
    """Creates ``output`` if missing and checks that a file can be created in it."""
    try:
        os.makedirs(output, exist_ok=True)
        with tempfile.TemporaryFile(dir=output):
            pass
    except OSError as e:
        raise CommandError(f"cannot write to the output directory {output}: "
                           f"{e.strerror or e}; choose another --output") from None


def _weights_refused(path, error):
    return (f"weights file {path} refused: {_one_line(error)} Give --weights coco or a weights "
            "file of the --config coco model (81 classes).")


def _resolve_weights(spec):
    """The weights file of ``--weights``: downloads the COCO weights into the cache for "coco",
    and checks the file (HDF5, complete) before any model is built."""
    from mrcnn.weights import check_weight_file
    if spec.lower() == "coco":
        from mrcnn.download import DownloadError, default_cache_dir, get_coco_weights
        try:
            path = get_coco_weights()
        except DownloadError as e:
            raise CommandError(_one_line(e)) from None
        except OSError as e:
            raise CommandError(f"cannot save the COCO weights in {default_cache_dir()}: "
                               f"{e.strerror or e}; set MRCNN_HOME to a writable folder") from None
    else:
        path = spec
    try:
        check_weight_file(path)
    except OSError as e:
        raise CommandError(_weights_refused(path, e)) from None
    return path


def _write_results(output, stem, results, draw):
    """Writes ``<stem>.json`` (``results``) and ``<stem>.png`` (``draw(path)``) in ``output``,
    both or neither: each goes to a temporary name first and both are renamed at the end; on any
    failure the temporary files (and a result renamed already) are removed."""
    final = [os.path.join(output, stem + ext) for ext in (".json", ".png")]
    temporary = [os.path.join(output, f".{stem}{ext}.{os.getpid()}.part")
                 for ext in (".json", ".png")]
    renamed = []
    try:
        with open(temporary[0], "w") as f:
            json.dump(results, f)
        draw(temporary[1])
        for source, target in zip(temporary, final):
            os.replace(source, target)
            renamed.append(target)
    except BaseException:
        for path in temporary + renamed:
            with contextlib.suppress(OSError):
                os.remove(path)
        raise


def detect(args):
    """Runs detection for parsed arguments.

    Returns:
        0, or 1 if an image could not be read (it is reported and skipped).

    Raises:
        CommandError: the output directory cannot be written, the weights cannot be downloaded
            or are refused, or writing results failed (the run stops there).
    """
    if args.video is not None:
        from mrcnn.video import detect_video_command
        return detect_video_command(args)
    _check_output_dir(args.output)
    with contextlib.ExitStack() as stack:
        results = _open_results(args) if args.jsonl else None
        if results is not None:
            stack.enter_context(results)
        return _detect(args, results)


def _open_results(args):
    """The ``--jsonl`` results file, opened (and locked) before the model is built."""
    from mrcnn import batch_inference
    try:
        results = batch_inference.ResultsFile(args.results_path, resume=args.resume)
    except (OSError, ValueError) as e:
        raise CommandError(f"cannot use the results file {args.results_path}: "
                           f"{_one_line(e)}") from None
    if args.resume:
        cut = (f"; cut off an incomplete last line ({results.cut_bytes} bytes), its image is "
               "done again" if results.cut_bytes else "")
        done = sum(p in results.done for p in args.image_paths)
        print(f"Resuming {args.results_path}: {done} of {len(args.image_paths)} images done, "
              f"{len(args.image_paths) - done} to go{cut}", flush=True)
    return results


def _detect(args, results):
    paths = args.image_paths
    if results is not None and all(p in results.done for p in paths):
        print(f"Wrote results for 0 of {len(paths)} images to {results.path}")
        return 0  # nothing to do: no model is built
    # Weights of mrcnn train (--weights last, or a file with config.json next to it) bring their
    # own configuration and classes.
    trained = train_cli.detect_setup(args.weights, args.min_confidence, args.batch_size)
    weights = trained[0] if trained else _resolve_weights(args.weights)

    import numpy as np

    import mrcnn.model as modellib
    from mrcnn import batch_inference, rendering
    from mrcnn.evaluation import detections_to_coco_results

    if trained:
        _, config, class_names, category_ids = trained
    else:
        class_names, category_ids = CONFIGS[args.config]
        config = make_config(args.config, args.min_confidence, args.batch_size)
    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=args.output)
    try:
        model.load_weights(weights, by_name=True)
    except (OSError, ValueError) as e:
        raise CommandError(_weights_refused(weights, e)) from None

    def write_image_files(path, image, r):
        stem = os.path.splitext(os.path.basename(path))[0]
        coco = detections_to_coco_results(_image_id(stem), r["rois"], r["class_ids"],
                                          r["scores"], r["masks"], category_ids)
        for result, class_id in zip(coco, np.asarray(r["class_ids"]).reshape(-1)):
            result["category_name"] = class_names[int(class_id)]

        def draw(png_path):
            rendering.save_instances_png(png_path, image, r["rois"], r["masks"],
                                         r["class_ids"], class_names, r["scores"])
        _write_results(args.output, stem, coco, draw)

    try:
        summary = batch_inference.detect_files(
            model, paths, args.output, class_names, results=results,
            write_image_files=None if args.jsonl else write_image_files,
            overlays=args.overlays)
    except batch_inference.BatchWriteError as e:
        raise CommandError(_one_line(e)) from None
    where = args.output if results is None else results.path
    print(f"Wrote results for {len(summary.written)} of {len(paths)} images to {where}")
    return 1 if summary.unreadable else 0


def export(args):
    """Runs ``export`` for parsed arguments (``parse_args`` resolved ``args.config_object``).

    Returns:
        0.

    Raises:
        CommandError: the weights cannot be downloaded, are refused or do not fit the config;
            the output cannot be written; the converter failed (the message names the op).
    """
    config = args.config_object
    if args.weights.lower() == "coco":
        if config.NUM_CLASSES != 81:
            raise CommandError(f"--weights coco has 81 classes but --config {args.config} has "
                               f"NUM_CLASSES = {config.NUM_CLASSES}; give the weights file "
                               "trained for that config")
        weights = _resolve_weights("coco")
    else:
        weights = args.weights
        from mrcnn.weights import check_weight_file
        try:
            check_weight_file(weights)
        except OSError as e:
            raise CommandError(f"weights file {weights} refused: {_one_line(e)}") from None

    import mrcnn.model as modellib
    from mrcnn.export import ExportError, ServingWarning

    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=tempfile.gettempdir())
    try:
        model.load_weights(weights, by_name=True)
    except (OSError, ValueError) as e:
        raise CommandError(f"weights file {weights} does not fit --config {args.config}: "
                           f"{_one_line(e)}") from None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ServingWarning)
            path = model.export(args.output, full_masks=args.full_masks, format=args.format)
    except ExportError as e:
        raise CommandError(_one_line(e)) from None
    except FileExistsError as e:
        raise CommandError(_one_line(e)) from None
    except OSError as e:
        raise CommandError(f"cannot write {args.output}: {e.strerror or e}; choose another "
                           "--output") from None
    print(f"Wrote {args.format} model to {path}")
    for w in caught:
        if issubclass(w.category, ServingWarning):
            print(f"note: {_one_line(w.message)}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return 0


def main(argv=None, prog="mrcnn"):
    """Entry point of the ``mrcnn`` console script (``python -m mrcnn`` passes its ``prog``).

    Returns:
        the exit status: 0; 1 after an expected failure, reported as one ``error:`` line on
        stderr (``CommandError``); 130 on Ctrl-C. Argument errors exit with 2 (argparse).
    """
    args = parse_args(argv, prog)
    try:
        if args.command == "detect":
            return detect(args)
        if args.command == "export":
            return export(args)
        if args.command == "train":
            return train_cli.train(args)
        if args.command == "evaluate":
            return train_cli.evaluate(args)
    except CommandError as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    raise AssertionError(args.command)  # argparse only accepts known commands


if __name__ == "__main__":
    sys.exit(main(prog="python -m mrcnn.cli"))
