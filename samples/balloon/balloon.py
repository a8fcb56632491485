"""Mask R-CNN on a custom dataset annotated with the VGG Image Annotator: Matterport's balloon
"Splash of Color" sample (``samples/balloon/balloon.py``), same names and behaviour, plus:

* VIA 1.x and 2.x files, with polygon, rect, circle and ellipse regions (``mrcnn.via``; the
  original read polygons only and raised IndexError on points outside the image);
* the class name from a region attribute or ``--class-name``, so the same script trains on any
  one-class (or few-class) VIA dataset, e.g. ``../shared/data/kudzu_via``;
* short runs (``--epochs``, ``--steps-per-epoch``, ``--image-size``, ``--backbone``) and
  one-line errors (exit status 2 for bad arguments, 1 for bad data or weights).

Usage (from anywhere; the project root is put on ``sys.path``)::

    # Fine-tune the COCO model on balloons (Matterport's schedule: the heads, 30 epochs)
    python3 samples/balloon/balloon.py train --dataset=/path/to/balloon/dataset --weights=coco

    # Go on from the newest checkpoint in --logs
    python3 samples/balloon/balloon.py train --dataset=/path/to/balloon/dataset --weights=last

    # Another VIA dataset whose regions have no class attribute
    python3 samples/balloon/balloon.py train --dataset=../shared/data/kudzu_via --weights=coco \\
        --class-name=kudzu

    # Grey everything but the detected balloons, in an image or a video
    python3 samples/balloon/balloon.py splash --weights=last --image=<file name>
    python3 samples/balloon/balloon.py splash --weights=last --video=<file name>

Dataset layout: ``<dataset>/train/via_region_data.json`` and ``<dataset>/val/...``, each next to
its images. Importable (``import balloon`` with this folder on ``sys.path``): ``BalloonConfig``,
``BalloonDataset``, ``train``, ``color_splash``, ``detect_and_color_splash``, ``main``.
``mrcnn.model`` (TensorFlow) is imported by the commands only.
"""

import argparse
import datetime
import os
import sys

import numpy as np

# Root directory of the project; make the library importable when run as a script.
ROOT_DIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
if ROOT_DIR not in sys.path:
    sys.path.insert(0, ROOT_DIR)

from mrcnn import utils  # noqa: E402
from mrcnn.config import Config  # noqa: E402
from mrcnn.start_weights import (WEIGHT_CHOICES, load_start_weights,  # noqa: E402
                                 resolve_weights, weights_problem)
from mrcnn.via import ViaFormatError, load_via_annotations, regions_to_masks  # noqa: E402

# Where Matterport's sample looks for the COCO weights first.
COCO_WEIGHTS_PATH = os.path.join(ROOT_DIR, "mask_rcnn_coco.h5")

# Logs and checkpoints without --logs.
DEFAULT_LOGS_DIR = os.path.join(ROOT_DIR, "logs")

#: The class name of regions without one when the whole file names none (Matterport's).
DEFAULT_CLASS_NAME = "balloon"

#: Matterport's schedule: the heads only, to epoch 30, at LEARNING_RATE.
TRAINING_EPOCHS = 30


############################################################
#  Configurations
############################################################

class BalloonConfig(Config):
    """Configuration for training on the balloon dataset (Matterport's values)."""
    NAME = "balloon"
    IMAGES_PER_GPU = 2  # two 1024x1024 images fit a 12 GB GPU
    NUM_CLASSES = 1 + 1  # background, balloon
    STEPS_PER_EPOCH = 100
    DETECTION_MIN_CONFIDENCE = 0.9  # the splash shows confident detections only


############################################################
#  Dataset
############################################################

class BalloonDataset(utils.Dataset):
    """Images and VIA regions of ``<dataset_dir>/<subset>/via_region_data.json``."""

    def load_balloon(self, dataset_dir, subset, class_name=None, class_attribute=None):
        """Loads the ``subset`` ("train" or "val") of a VIA dataset.

        Args:
            dataset_dir: the folder holding ``train/`` and ``val/``.
            subset: "train" or "val".
            class_name: the class of every region. None: each region's class comes from its
                region attributes (``mrcnn.via.region_class_name``), and a file where no region
                has one gives "balloon" (Matterport's data).
            class_attribute: the region attribute holding the class name (default: any
                attribute, all of a region's values agreeing).

        Classes are added as ("balloon", 1.., name) in sorted name order. Images without
        regions are skipped (as Matterport). Each image gets ``path``, ``width``, ``height``
        (read from the file header) and ``polygons`` (the regions' ``shape_attributes``, any of
        the four shapes) and ``region_class_names``.

        Raises:
            ValueError: ``subset`` is not train/val; some regions have a class name and others
                none (give ``class_name`` or fix them in VIA).
            FileNotFoundError: the JSON or an image it names is missing.
            mrcnn.via.ViaFormatError: the JSON is not VIA 1.x/2.x region data.
        """
        from PIL import Image

        if subset not in ("train", "val"):
            raise ValueError(f"subset must be 'train' or 'val', not {subset!r}")
        dataset_dir = os.path.join(dataset_dir, subset)
        json_path = os.path.join(dataset_dir, "via_region_data.json")
        records = load_via_annotations(json_path, class_attribute)
        # Images without regions are skipped (Matterport's behaviour); their names are kept.
        self.skipped_without_regions = [r["filename"] for r in records if not r["regions"]]
        records = [r for r in records if r["regions"]]
        if class_name is None:
            named = [g["class_name"] is not None for r in records for g in r["regions"]]
            if not any(named):
                class_name = DEFAULT_CLASS_NAME
            elif not all(named):
                record, index = next((r["filename"], i) for r in records
                                     for i, g in enumerate(r["regions"])
                                     if g["class_name"] is None)
                raise ValueError(
                    f"{json_path}: region {index} of {record} has no class name in its region "
                    "attributes while other regions have one; give every region a class in VIA, "
                    "or pass class_name= (--class-name) to use one class for all")
        names = [[class_name or g["class_name"] for g in r["regions"]] for r in records]
        classes = sorted({n for image_names in names for n in image_names})
        for i, name in enumerate(classes, start=1):
            self.add_class("balloon", i, name)
        for record, image_names in zip(records, names):
            if not os.path.isfile(record["path"]):
                raise FileNotFoundError(f"{json_path} names {record['filename']}, which is not "
                                        f"in {dataset_dir}; copy the image there or remove its "
                                        "entry in VIA")
            # VIA does not store the size: read it from the file header.
            with Image.open(record["path"]) as image:
                width, height = image.size
            self.add_image(
                "balloon",
                image_id=record["filename"],  # file names are unique within a VIA file
                path=record["path"],
                width=width, height=height,
                polygons=[g["shape_attributes"] for g in record["regions"]],
                region_class_names=image_names)

    def load_mask(self, image_id):
        """Instance masks of an image.

        Returns:
            masks: bool [height, width, instance count], one mask per region
                (``mrcnn.via.region_to_mask``).
            class_ids: int32 [instance count].
        """
        info = self.image_info[image_id]
        if info["source"] != "balloon":
            return super().load_mask(image_id)
        mask = regions_to_masks(info["polygons"], info["height"], info["width"])
        ids = {c["name"]: c["id"] for c in self.class_info if c["source"] == "balloon"}
        class_ids = np.array([ids[n] for n in info["region_class_names"]], dtype=np.int32)
        return mask, class_ids

    def image_reference(self, image_id):
        """The path of the image."""
        info = self.image_info[image_id]
        if info["source"] == "balloon":
            return info["path"]
        return super().image_reference(image_id)


def load_datasets(dataset_dir, class_name=None, class_attribute=None):
    """Prepared train and val ``BalloonDataset``s. Raises ``ValueError`` when the two splits
    have different classes (give ``class_name``)."""
    datasets = []
    for subset in ("train", "val"):
        dataset = BalloonDataset()
        dataset.load_balloon(dataset_dir, subset, class_name, class_attribute)
        dataset.prepare()
        datasets.append(dataset)
    train_names, val_names = (d.class_names[1:] for d in datasets)
    if train_names != val_names:
        raise ValueError(f"the train split has the classes {train_names} but val {val_names}; "
                         "give --class-name (class_name=) to use one class for both")
    return datasets


def train(model, dataset_dir, class_name=None, class_attribute=None, epochs=TRAINING_EPOCHS,
          layers="heads", augmentation=None):
    """Trains ``model`` (training mode) on ``dataset_dir``: Matterport's schedule is the heads
    to epoch 30 at ``LEARNING_RATE``, no augmentation. Returns (train, val) datasets."""
    dataset_train, dataset_val = load_datasets(dataset_dir, class_name, class_attribute)
    print(f"Train images: {dataset_train.num_images}, val images: {dataset_val.num_images}, "
          f"classes: {dataset_train.class_names[1:]}")
    print(f"Training network {layers} to epoch {epochs}")
    model.train(dataset_train, dataset_val, learning_rate=model.config.LEARNING_RATE,
                epochs=epochs, layers=layers, augmentation=augmentation)
    return dataset_train, dataset_val


############################################################
#  Splash
############################################################

def color_splash(image, mask):
    """Apply color splash effect: the image in grayscale except where any instance mask is set.

    Args:
        image: RGB image [height, width, 3] (uint8 range).
        mask: instance masks [height, width, instance count] (bool or 0/1).

    Returns:
        uint8 [height, width, 3] (Matterport's ``color_splash``).
    """
    import skimage.color
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be RGB [H, W, 3], got shape {image.shape}")
    mask = np.asarray(mask)
    if mask.ndim != 3 or mask.shape[:2] != image.shape[:2]:
        raise ValueError(f"mask must be [H, W, N] with the image's H, W {image.shape[:2]}, got "
                         f"shape {mask.shape}")
    # Luminance, repeated over three channels, in 0..255.
    gray = skimage.color.gray2rgb(skimage.color.rgb2gray(image.astype(np.uint8))) * 255
    if mask.shape[-1] > 0:
        # The union of the instances keeps its colours.
        mask = (np.sum(mask, -1, keepdims=True) >= 1)
        splash = np.where(mask, image, gray).astype(np.uint8)
    else:
        splash = gray.astype(np.uint8)
    return splash


def detect_and_color_splash(model, image_path=None, video_path=None, output_dir=None):
    """Detects with ``model`` (inference mode) and writes the splash of an image or a video.

    Args:
        image_path: an image file: writes ``splash_<YYYYmmddTHHMMSS>.png``.
        video_path: a video file OpenCV reads: writes ``splash_<YYYYmmddTHHMMSS>.avi`` (MJPG, the
            input's fps and size; frames detected ``BATCH_SIZE`` at a time, ``mrcnn.video``).
        output_dir: where to write (default: the current folder, as Matterport).

    Returns:
        The path written.

    Raises:
        ValueError: neither or both of image_path and video_path.
        OSError: the image cannot be read; mrcnn.video.VideoError: the video cannot be read or
            the output written.
    """
    if (image_path is None) == (video_path is None):
        raise ValueError("give image_path or video_path (one of them)")
    output_dir = output_dir or os.getcwd()
    stamp = f"{datetime.datetime.now():%Y%m%dT%H%M%S}"
    if image_path:
        from PIL import Image

        from mrcnn.image import read_image
        print(f"Running on {image_path}")
        image = read_image(image_path)
        r = model.detect([image], verbose=1)[0]
        splash = color_splash(image, r["masks"])
        file_name = os.path.join(output_dir, f"splash_{stamp}.png")
        Image.fromarray(splash).save(file_name)
    else:
        from mrcnn.video import detect_video
        file_name = os.path.join(output_dir, f"splash_{stamp}.avi")
        result = detect_video(model, video_path, file_name,
                              render=lambda image, r: color_splash(image, r["masks"]))
        print(f"Frames: {result['frames']}")
    print("Saved to ", file_name)
    return file_name


############################################################
#  Command line
############################################################

def build_parser():
    """The argparse parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="balloon.py", description="Train Mask R-CNN to detect balloons (or any VIA "
                                       "dataset), or color-splash an image or video.")
    parser.add_argument("command", choices=["train", "splash", "evaluate"],
                        help="'train', 'splash', or 'evaluate' (COCO-style box and mask AP on "
                             "the val split)")
    parser.add_argument("--dataset", metavar="/path/to/balloon/dataset/",
                        help="train: directory of the dataset (train/ and val/)")
    parser.add_argument("--weights", required=True,
                        metavar="|".join(WEIGHT_CHOICES) + "|/path/to/weights.h5",
                        help="Path to weights .h5 file or 'coco', 'imagenet', 'last' (the last "
                             "checkpoint in --logs), 'none' (random)")
    parser.add_argument("--logs", default=DEFAULT_LOGS_DIR, metavar="/path/to/logs/",
                        help="Logs and checkpoints directory (default=logs/)")
    parser.add_argument("--image", metavar="path", help="splash: image to apply the effect on")
    parser.add_argument("--video", metavar="path", help="splash: video to apply the effect on")
    parser.add_argument("--output", metavar="DIR", help="splash: folder for the result "
                                                        "(default: the current folder)")
    parser.add_argument("--class-name", metavar="NAME",
                        help="one class for every region (default: from the region "
                             "attributes, 'balloon' if there are none)")
    parser.add_argument("--class-attribute", metavar="KEY",
                        help="the region attribute that holds the class name")
    parser.add_argument("--epochs", type=int, default=TRAINING_EPOCHS, metavar="E",
                        help=f"train: final epoch (default {TRAINING_EPOCHS})")
    parser.add_argument("--layers", default="heads", metavar="heads|3+|4+|5+|all",
                        help="train: layers to train (default heads)")
    parser.add_argument("--steps-per-epoch", type=int, metavar="N",
                        help="train: STEPS_PER_EPOCH (default 100)")
    parser.add_argument("--validation-steps", type=int, metavar="N",
                        help="train: VALIDATION_STEPS (default 50)")
    parser.add_argument("--images-per-gpu", type=int, metavar="N",
                        help="IMAGES_PER_GPU (default 2 for train, 1 for splash)")
    parser.add_argument("--image-size", type=int, metavar="N",
                        help="IMAGE_MIN_DIM = IMAGE_MAX_DIM = N (a multiple of 64; default "
                             "800/1024)")
    parser.add_argument("--backbone", choices=["resnet50", "resnet101"],
                        help="BACKBONE (default resnet101)")
    parser.add_argument("--min-confidence", type=float, metavar="F",
                        help="splash, evaluate: DETECTION_MIN_CONFIDENCE (default 0.9 for "
                             "splash, 0 for evaluate)")
    parser.add_argument("--learning-rate", type=float, metavar="LR",
                        help="train: LEARNING_RATE (default 0.001)")
    return parser


def _check_args(parser, args):
    for name in ("epochs", "steps_per_epoch", "validation_steps", "images_per_gpu"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, not {value}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        parser.error(f"--learning-rate must be > 0, not {args.learning_rate}")
    if args.command in ("train", "evaluate"):
        if not args.dataset:
            parser.error(f"the {args.command} command needs --dataset (the folder with train/ "
                         "and val/)")
        if not os.path.isdir(args.dataset):
            parser.error(f"--dataset {args.dataset}: no such directory")
        if args.image or args.video:
            parser.error("--image and --video are for the splash command")
        if args.command == "evaluate" and args.weights.lower() == "imagenet":
            parser.error("evaluate needs trained weights (last or a PATH), not imagenet")
    else:
        if (args.image is None) == (args.video is None):
            parser.error("the splash command needs --image or --video (one of them)")
        path = args.image or args.video
        if not os.path.isfile(path):
            parser.error(f"--{'image' if args.image else 'video'} {path}: no such file")
        if args.output and not os.path.isdir(args.output):
            parser.error(f"--output {args.output}: no such directory")
    if args.min_confidence is not None and not 0 <= args.min_confidence <= 1:
        parser.error(f"--min-confidence must be in [0, 1], not {args.min_confidence}")
    problem = weights_problem(args.weights)
    if problem:
        parser.error(f"--weights {problem}")


def make_config(args, num_classes=None):
    """The configuration of a parsed command line (ValueError for impossible values)."""
    overrides = {}
    if args.command != "train":
        overrides.update(GPU_COUNT=1, IMAGES_PER_GPU=1)
    if args.command == "evaluate":
        overrides["DETECTION_MIN_CONFIDENCE"] = 0.0  # as coco.py: AP needs the low scores too
    if num_classes is not None:
        overrides["NUM_CLASSES"] = num_classes
    for option, attr in (("steps_per_epoch", "STEPS_PER_EPOCH"),
                         ("validation_steps", "VALIDATION_STEPS"),
                         ("images_per_gpu", "IMAGES_PER_GPU"), ("backbone", "BACKBONE"),
                         ("min_confidence", "DETECTION_MIN_CONFIDENCE"),
                         ("learning_rate", "LEARNING_RATE")):
        if getattr(args, option) is not None:
            overrides[attr] = getattr(args, option)
    if args.image_size is not None:
        overrides["IMAGE_MIN_DIM"] = overrides["IMAGE_MAX_DIM"] = args.image_size
    name = "BalloonConfig" if args.command == "train" else "InferenceConfig"
    config = type(name, (BalloonConfig,), overrides)()
    config.validate("training" if args.command == "train" else "inference")
    return config


def run(argv=None):
    """Parses ``argv`` and runs the command. Returns a dict: train ``{"log_dir", "epoch",
    "classes"}``, splash ``{"path"}``, evaluate ``{"bbox", "segm", "time_per_image"}``
    (``mrcnn.evaluation.evaluate_dataset`` on val). Raises SystemExit(2) on bad arguments and the errors of
    the steps (ValueError, OSError, ...) otherwise; ``main`` reports those in one line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    datasets = None
    num_classes = None
    if args.command in ("train", "evaluate"):
        # The data is checked before a model is built: a bad file fails in a second.
        datasets = load_datasets(args.dataset, args.class_name, args.class_attribute)
        num_classes = datasets[0].num_classes
    try:
        config = make_config(args, num_classes)
    except ValueError as e:
        parser.error(str(e))
    print("Weights: ", args.weights)
    print("Dataset: ", args.dataset)
    print("Logs: ", args.logs)
    config.display()

    import mrcnn.model as modellib
    mode = "training" if args.command == "train" else "inference"
    model = modellib.MaskRCNN(mode=mode, config=config, model_dir=args.logs)
    path = resolve_weights(model, args.weights, COCO_WEIGHTS_PATH)
    load_start_weights(model, args.weights, path)

    if args.command == "train":
        dataset_train, _ = train(model, args.dataset, args.class_name, args.class_attribute,
                                 epochs=args.epochs, layers=args.layers)
        return {"log_dir": model.log_dir, "epoch": model.epoch,
                "classes": dataset_train.class_names}
    if args.command == "evaluate":
        from mrcnn.evaluation import STAT_NAMES, evaluate_dataset
        stats = evaluate_dataset(model, datasets[1])
        print("\n" + " " * 6 + "".join(f"{name:>7}" for name in STAT_NAMES))
        for eval_type in ("bbox", "segm"):
            print(f"{eval_type:6}" + "".join(f"{v:7.3f}" for v in stats[eval_type]))
        print(f"mask AP50 on val: {stats['segm'][1]:.3f}")
        return stats
    return {"path": detect_and_color_splash(model, image_path=args.image,
                                            video_path=args.video, output_dir=args.output)}


def main(argv=None):
    """The command line: returns 0, or 1 after printing ``error: <one line>`` on stderr for bad
    data, weights or videos; bad arguments exit with status 2 (argparse)."""
    from mrcnn.video import VideoError
    try:
        run(argv)
    except (ViaFormatError, ValueError, OSError, VideoError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
