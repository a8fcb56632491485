"""Command line: ``mrcnn detect IMAGE... --weights {coco|PATH} --output DIR`` and
``mrcnn export --weights {coco|PATH} --config {coco|module:ClassName} --output DIR``.

For each image it writes ``<output>/<stem>.png`` (the image with the instances drawn, from
``mrcnn.rendering.save_instances_png``) and ``<output>/<stem>.json`` (the detections as COCO
result dicts: ``image_id``, ``category_id``, ``category_name``, ``bbox`` [x, y, w, h], ``score``,
``segmentation`` RLE). ``image_id`` is the file stem, as an int when the stem is all digits (COCO
file names such as ``000000532481.jpg``). Category ids are COCO's (``--config coco``).

Options:
    --weights coco|PATH   "coco" = the released ``mask_rcnn_coco.h5`` (downloaded if missing)
    --output DIR          created if missing
    --config coco         the model configuration (only the 80-class COCO one for now)
    --min-confidence F    DETECTION_MIN_CONFIDENCE in [0, 1] (default 0.7)
    --batch-size N        images per ``detect`` call (default 1)
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

Run as ``mrcnn`` (the console script of setup.py) or ``python -m mrcnn``.

Errors are one line on stderr naming the file, the problem and the fix, never a traceback:

* exit status 2, before anything is loaded: bad arguments; an IMAGE that does not exist, is a
  directory or is empty (0 bytes); a --weights PATH that does not exist or is a directory.
* exit status 1: the output directory cannot be written; the COCO weights cannot be downloaded
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
import contextlib
import json
import os
import sys
import tempfile
import warnings

from mrcnn import __version__
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
    detect.add_argument("images", nargs="+", metavar="IMAGE", help="image files (jpg, png, ...)")
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
    return parser


def _file_problem(path):
    """Why ``path`` cannot be an input file (str), or None if it is a non-empty file."""
    if not os.path.exists(path):
        return "not found"
    if os.path.isdir(path):
        return "is a directory, not a file"
    try:
        if os.path.getsize(path) == 0:
            return "is empty (0 bytes), e.g. an interrupted copy or download"
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    return None


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
    parser = parser.detect_parser
    problems = []
    for path in args.images:
        problem = _file_problem(path)
        if problem == "not found":
            problems.append(f"image file not found: {path}")
        elif problem is not None:
            problems.append(f"image {path} {problem}")
    if problems:
        parser.error("; ".join(problems) + " (give image files such as photos/*.jpg)")
    if args.weights.lower() != "coco":
        if not os.path.exists(args.weights):
            parser.error(f"weights file not found: {args.weights} (use --weights coco for the "
                         "released COCO weights)")
        if os.path.isdir(args.weights):
            parser.error(f"--weights {args.weights} is a directory, not a file (give a .h5 "
                         "weights file, or --weights coco for the released COCO weights)")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        parser.error(f"--output {args.output} exists and is not a directory")
    stems = [os.path.splitext(os.path.basename(p))[0] for p in args.images]
    duplicates = sorted({s for s in stems if stems.count(s) > 1})
    if duplicates:
        parser.error(f"several images have the stem(s) {duplicates}: their outputs would "
                     "overwrite each other; detect them in separate runs")
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


def _image_problem(path, error):
    """What is wrong with an image file that could not be read, and the fix, from the file
    itself rather than from the decoder's guess (imageio suggests a video plugin for a text
    file): ``"<problem>; skipped it (<fix>)"``."""
    if isinstance(error, ValueError):
        return f"it cannot be used: {_one_line(error)}; skipped it (convert it to RGB)"
    problem = _file_problem(path)
    if problem is not None:
        problem = "no longer exists" if problem == "not found" else problem
        return f"it {problem}; skipped it"
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image_format = image.format
    except UnidentifiedImageError:
        with open(path, "rb") as f:
            head = f.read(12)
        return (f"it is not an image file: it starts with {head!r}, which is no image format "
                "Pillow knows; skipped it (check that it is the file you meant)")
    except OSError as e:
        return f"it cannot be read ({e.strerror or e}); skipped it"
    return (f"it is a {image_format} file that cannot be decoded ({_one_line(error)}), probably "
            "truncated or damaged; skipped it (copy or download it again)")


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


def _listing(paths, limit=10):
    if not paths:
        return "none"
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def detect(args):
    """Runs detection for parsed arguments.

    Returns:
        0, or 1 if an image could not be read (it is reported and skipped).

    Raises:
        CommandError: the output directory cannot be written, the weights cannot be downloaded
            or are refused, or writing results failed (the run stops there).
    """
    from tqdm.auto import tqdm

    _check_output_dir(args.output)
    weights = _resolve_weights(args.weights)

    import numpy as np

    import mrcnn.model as modellib
    from mrcnn import rendering
    from mrcnn.evaluation import detections_to_coco_results
    from mrcnn.image import read_image
    from PIL import UnidentifiedImageError

    class_names, category_ids = CONFIGS[args.config]
    config = make_config(args.config, args.min_confidence, args.batch_size)
    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=args.output)
    try:
        model.load_weights(weights, by_name=True)
    except (OSError, ValueError) as e:
        raise CommandError(_weights_refused(weights, e)) from None

    paths = list(args.images)
    written, unreadable = [], []
    with tqdm(total=len(paths), desc="Detecting", unit="image") as bar:
        for start in range(0, len(paths), args.batch_size):
            batch, images = [], []
            for path in paths[start:start + args.batch_size]:
                try:
                    images.append(read_image(path))
                    batch.append(path)
                except (OSError, ValueError, UnidentifiedImageError) as e:
                    unreadable.append(path)
                    tqdm.write(f"error: cannot read image {path}: {_image_problem(path, e)}",
                               file=sys.stderr)
                    bar.update(1)
            if not images:
                continue
            for path, image, r in zip(batch, images, model.detect(images, verbose=0)):
                stem = os.path.splitext(os.path.basename(path))[0]
                results = detections_to_coco_results(_image_id(stem), r["rois"], r["class_ids"],
                                                     r["scores"], r["masks"], category_ids)
                for result, class_id in zip(results, np.asarray(r["class_ids"]).reshape(-1)):
                    result["category_name"] = class_names[int(class_id)]

                def draw(png_path, image=image, r=r):
                    rendering.save_instances_png(png_path, image, r["rois"], r["masks"],
                                                 r["class_ids"], class_names, r["scores"])
                try:
                    _write_results(args.output, stem, results, draw)
                except OSError as e:
                    raise CommandError(
                        f"cannot write the results of {path} to {args.output}: "
                        f"{e.strerror or e}. Stopped there: the results of {len(written)} of "
                        f"{len(paths)} images are written ({_listing(written)}); nothing was "
                        f"written for {path} and the images after it. Free some space (or fix "
                        "the folder) and run again for the remaining images.") from None
                written.append(path)
                bar.set_postfix_str(f"{stem}: {len(results)} objects")
                bar.update(1)
    print(f"Wrote results for {len(written)} of {len(paths)} images to {args.output}")
    return 1 if unreadable else 0


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
    except CommandError as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    raise AssertionError(args.command)  # argparse only accepts known commands


if __name__ == "__main__":
    sys.exit(main(prog="python -m mrcnn.cli"))
