"""Command line: ``python -m mrcnn detect IMAGE... --weights {coco|PATH} --output DIR``.

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

Bad arguments and missing files are reported before the model is built, with exit status 2; an
image that cannot be read is reported and skipped, and the exit status is then 1.
"""

import argparse
import json
import os
import sys

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


def build_parser():
    """The argparse parser (subcommand ``detect``)."""
    parser = argparse.ArgumentParser(prog="python -m mrcnn",
                                     description="Mask R-CNN command line tools.")
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
    return parser


def parse_args(argv=None):
    """Parses and checks the command line; exits with status 2 and a message on bad input.

    Checks done here, before any model is built: every IMAGE exists and is a file, a PATH given
    to --weights exists, and --output is not an existing file.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    parser = parser.detect_parser
    missing = [p for p in args.images if not os.path.isfile(p)]
    if missing:
        parser.error("image file not found: " + ", ".join(missing))
    if args.weights.lower() != "coco" and not os.path.isfile(args.weights):
        parser.error(f"weights file not found: {args.weights} (use --weights coco for the "
                     "released COCO weights)")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        parser.error(f"--output {args.output} exists and is not a directory")
    stems = [os.path.splitext(os.path.basename(p))[0] for p in args.images]
    duplicates = sorted({s for s in stems if stems.count(s) > 1})
    if duplicates:
        parser.error(f"several images have the stem(s) {duplicates}: their outputs would "
                     "overwrite each other; detect them in separate runs")
    return args


def _image_id(stem):
    return int(stem) if stem.isdigit() else stem


def make_config(name, min_confidence, batch_size):
    """The inference configuration of ``--config`` (one GPU, ``batch_size`` images per call)."""
    from mrcnn.config import Config
    class_names, _ = CONFIGS[name]
    attrs = {"NAME": name, "NUM_CLASSES": len(class_names), "GPU_COUNT": 1,
             "IMAGES_PER_GPU": batch_size, "DETECTION_MIN_CONFIDENCE": min_confidence}
    return type(f"{name.capitalize()}InferenceConfig", (Config,), attrs)()


def detect(args):
    """Runs detection for parsed arguments; returns the exit status (0, or 1 if an image failed)."""
    import numpy as np
    from tqdm.auto import tqdm

    import mrcnn.model as modellib
    from mrcnn import rendering
    from mrcnn.evaluation import detections_to_coco_results
    from mrcnn.image import read_image

    class_names, category_ids = CONFIGS[args.config]
    config = make_config(args.config, args.min_confidence, args.batch_size)
    os.makedirs(args.output, exist_ok=True)
    if args.weights.lower() == "coco":
        from mrcnn.download import get_coco_weights
        weights = get_coco_weights()
    else:
        weights = args.weights
    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=args.output)
    model.load_weights(weights, by_name=True)

    failed = 0
    paths = list(args.images)
    with tqdm(total=len(paths), desc="Detecting", unit="image") as bar:
        for start in range(0, len(paths), args.batch_size):
            batch, images = [], []
            for path in paths[start:start + args.batch_size]:
                try:
                    images.append(read_image(path))
                    batch.append(path)
                except Exception as e:  # noqa: BLE001 - reported, the other images go on
                    failed += 1
                    tqdm.write(f"error: cannot read image {path}: {e}", file=sys.stderr)
                    bar.update(1)
            if not images:
                continue
            for path, image, r in zip(batch, images, model.detect(images, verbose=0)):
                stem = os.path.splitext(os.path.basename(path))[0]
                results = detections_to_coco_results(_image_id(stem), r["rois"], r["class_ids"],
                                                     r["scores"], r["masks"], category_ids)
                for result, class_id in zip(results, np.asarray(r["class_ids"]).reshape(-1)):
                    result["category_name"] = class_names[int(class_id)]
                with open(os.path.join(args.output, stem + ".json"), "w") as f:
                    json.dump(results, f)
                rendering.save_instances_png(os.path.join(args.output, stem + ".png"), image,
                                             r["rois"], r["masks"], r["class_ids"], class_names,
                                             r["scores"])
                bar.set_postfix_str(f"{stem}: {len(results)} objects")
                bar.update(1)
    print(f"Wrote results for {len(paths) - failed} images to {args.output}")
    return 1 if failed else 0


def main(argv=None):
    """Entry point of ``python -m mrcnn``; returns the exit status (argument errors exit with 2)."""
    args = parse_args(argv)
    if args.command == "detect":
        return detect(args)
    raise AssertionError(args.command)  # argparse only accepts known commands


if __name__ == "__main__":
    sys.exit(main())
