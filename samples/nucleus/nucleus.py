"""Mask R-CNN for nuclei in microscopy images: Matterport's ``samples/nucleus/nucleus.py``
(2018 Data Science Bowl), same names, values and behaviour, plus short runs (``--epochs``,
``--steps-per-epoch``, ``--image-size``, ``--limit``) and one-line errors.

Usage (from anywhere; the project root is put on ``sys.path``)::

    # Train from the ImageNet backbone
    python3 samples/nucleus/nucleus.py train --dataset=/path/to/dataset --subset=train \\
        --weights=imagenet

    # Train from a weights file
    python3 samples/nucleus/nucleus.py train --dataset=/path/to/dataset --subset=train \\
        --weights=/path/to/weights.h5

    # Go on from the newest checkpoint in --logs
    python3 samples/nucleus/nucleus.py train --dataset=/path/to/dataset --subset=train \\
        --weights=last

    # Write the Kaggle submission for the test images
    python3 samples/nucleus/nucleus.py detect --dataset=/path/to/dataset --subset=stage1_test \\
        --weights=<last or /path/to/weights.h5>

Dataset layout (the Kaggle zips): ``<dataset>/<subset>/<id>/images/<id>.png`` and
``<dataset>/<subset>/<id>/masks/*.png`` (one 0/255 PNG per nucleus). ``train`` and ``val`` are
drawn from ``stage1_train``: ``val`` is the 25 ``VAL_IMAGE_IDS``, ``train`` the rest.

Importable (``import nucleus`` with this folder on ``sys.path``): ``NucleusConfig``,
``NucleusInferenceConfig``, ``NucleusDataset``, ``train``, ``rle_encode``, ``rle_decode``,
``mask_to_rle``, ``detect``, ``main``. ``mrcnn.model`` (TensorFlow) is imported by the
commands only.
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

# Where Matterport's sample looks for the COCO weights first.
COCO_WEIGHTS_PATH = os.path.join(ROOT_DIR, "mask_rcnn_coco.h5")

# Logs and checkpoints without --logs.
DEFAULT_LOGS_DIR = os.path.join(ROOT_DIR, "logs")

# Results directory: the submission files of the detect command.
RESULTS_DIR = os.path.join(ROOT_DIR, "results", "nucleus")

#: The subsets load_nucleus knows (train and val are split from stage1_train).
SUBSETS = ("train", "val", "stage1_train", "stage1_test", "stage2_test")

# The stage1_train images Matterport holds out for validation (its VAL_IMAGE_IDS, in its order).
VAL_IMAGE_IDS = [
    "0c2550a23b8a0f29a7575de8c61690d3c31bc897dd5ba66caec201d201a278c2",
    "92f31f591929a30e4309ab75185c96ff4314ce0a7ead2ed2c2171897ad1da0c7",
    "1e488c42eb1a54a3e8412b1f12cde530f950f238d71078f2ede6a85a02168e1f",
    "c901794d1a421d52e5734500c0a2a8ca84651fb93b19cec2f411855e70cae339",
    "8e507d58f4c27cd2a82bee79fe27b069befd62a46fdaed20970a95a2ba819c7b",
    "60cb718759bff13f81c4055a7679e81326f78b6a193a2d856546097c949b20ff",
    "da5f98f2b8a64eee735a398de48ed42cd31bf17a6063db46a9e0783ac13cd844",
    "9ebcfaf2322932d464f15b5662cae4d669b2d785b8299556d73fffcae8365d32",
    "1b44d22643830cd4f23c9deadb0bd499fb392fb2cd9526d81547d93077d983df",
    "97126a9791f0c1176e4563ad679a301dac27c59011f579e808bbd6e9f4cd1034",
    "e81c758e1ca177b0942ecad62cf8d321ffc315376135bcbed3df932a6e5b40c0",
    "f29fd9c52e04403cd2c7d43b6fe2479292e53b2f61969d25256d2d2aca7c6a81",
    "0ea221716cf13710214dcd331a61cea48308c3940df1d28cfc7fd817c83714e1",
    "3ab9cab6212fabd723a2c5a1949c2ded19980398b56e6080978e796f45cbbc90",
    "ebc18868864ad075548cc1784f4f9a237bb98335f9645ee727dac8332a3e3716",
    "bb61fc17daf8bdd4e16fdcf50137a8d7762bec486ede9249d92e511fcb693676",
    "e1bcb583985325d0ef5f3ef52957d0371c96d4af767b13e48102bca9d5351a9b",
    "947c0d94c8213ac7aaa41c4efc95d854246550298259cf1bb489654d0e969050",
    "cbca32daaae36a872a11da4eaff65d1068ff3f154eedc9d3fc0c214a4e5d32bd",
    "f4c4db3df4ff0de90f44b027fc2e28c16bf7e5c75ea75b0a9762bbb7ac86e7a3",
    "4193474b2f1c72f735b13633b219d9cabdd43c21d9c2bb4dfc4809f104ba4c06",
    "f73e37957c74f554be132986f38b6f1d75339f636dfe2b681a0cf3f88d2733af",
    "a4c44fc5f5bf213e2be6091ccaed49d8bf039d78f6fbd9c4d7b7428cfcb2eda4",
    "cab4875269f44a701c5e58190a1d2f6fcb577ea79d842522dcab20ccb39b7ad2",
    "8ecdb93582b2d5270457b36651b62776256ade3aaa2d7432ae65c14f07432d49",
]

#: Matterport's schedule: (layers, final epoch), both at LEARNING_RATE.
TRAINING_SCHEDULE = (("heads", 20), ("all", 40))


############################################################
#  Configurations
############################################################

class NucleusConfig(Config):
    """Training on nuclei: random 512x512 crops, small anchors, many instances per image
    (Matterport's values)."""
    NAME = "nucleus"
    IMAGES_PER_GPU = 6
    NUM_CLASSES = 1 + 1  # background, nucleus
    # One pass over the 657 stage1_train images less the validation ones.
    STEPS_PER_EPOCH = (657 - len(VAL_IMAGE_IDS)) // IMAGES_PER_GPU
    VALIDATION_STEPS = max(1, len(VAL_IMAGE_IDS) // IMAGES_PER_GPU)
    # Keep every detection: with one class the softmax already puts the winner above 0.5.
    DETECTION_MIN_CONFIDENCE = 0
    BACKBONE = "resnet50"
    # Crops of 512x512, from images scaled up at least twice.
    IMAGE_RESIZE_MODE = "crop"
    IMAGE_MIN_DIM = 512
    IMAGE_MAX_DIM = 512
    IMAGE_MIN_SCALE = 2.0
    # Nuclei are small.
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    POST_NMS_ROIS_TRAINING = 1000
    POST_NMS_ROIS_INFERENCE = 2000
    # A loose RPN NMS in training leaves more proposals for crowded images.
    RPN_NMS_THRESHOLD = 0.9
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    # RGB mean of the stage1_train images.
    MEAN_PIXEL = np.array([43.53, 39.56, 48.22])
    USE_MINI_MASK = True
    MINI_MASK_SHAPE = (56, 56)
    TRAIN_ROIS_PER_IMAGE = 128
    MAX_GT_INSTANCES = 200
    DETECTION_MAX_INSTANCES = 400


class NucleusInferenceConfig(NucleusConfig):
    """Inference on whole images: one at a time, padded to a multiple of 64, the usual RPN NMS
    (Matterport's values)."""
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1
    IMAGE_RESIZE_MODE = "pad64"
    RPN_NMS_THRESHOLD = 0.7


############################################################
#  Dataset
############################################################

class NucleusDataset(utils.Dataset):
    """Nuclei of the Data Science Bowl 2018 layout (one folder per image)."""

    def load_nucleus(self, dataset_dir, subset):
        """Load a subset of the nuclei dataset.

        Args:
            dataset_dir: root directory of the dataset (holding ``stage1_train/`` etc.).
            subset: one of ``SUBSETS``: ``train`` (stage1_train minus ``VAL_IMAGE_IDS``),
                ``val`` (the 25 ``VAL_IMAGE_IDS``), or a folder name: ``stage1_train``,
                ``stage1_test``, ``stage2_test``.

        Images are added in sorted id order (``val`` in ``VAL_IMAGE_IDS`` order) with source
        "nucleus", id = the folder name and ``path`` = ``<id>/images/<id>.png``.

        Raises:
            ValueError: unknown subset.
            FileNotFoundError: the subset folder, a validation image or an image file is
                missing (the message says which and how many).
        """
        if subset not in SUBSETS:
            raise ValueError(f"subset must be one of {', '.join(SUBSETS)}, not {subset!r}")
        self.add_class("nucleus", 1, "nucleus")
        # train and val split stage1_train by VAL_IMAGE_IDS; other subsets are folders.
        subset_dir = "stage1_train" if subset in ("train", "val") else subset
        dataset_dir = os.path.join(dataset_dir, subset_dir)
        if not os.path.isdir(dataset_dir):
            raise FileNotFoundError(f"no folder {dataset_dir}: --dataset must hold {subset_dir}/"
                                    " with one <id>/images/<id>.png folder per image")
        present = sorted(d for d in os.listdir(dataset_dir)
                         if os.path.isdir(os.path.join(dataset_dir, d)))
        if subset == "val":
            missing = sorted(set(VAL_IMAGE_IDS) - set(present))
            if missing:
                raise FileNotFoundError(
                    f"{len(missing)} of the {len(VAL_IMAGE_IDS)} validation images are not in "
                    f"{dataset_dir} (e.g. {missing[0]}); the val subset is Matterport's "
                    "VAL_IMAGE_IDS of stage1_train")
            image_ids = list(VAL_IMAGE_IDS)
        elif subset == "train":
            image_ids = [i for i in present if i not in set(VAL_IMAGE_IDS)]
        else:
            image_ids = present
        for image_id in image_ids:
            path = os.path.join(dataset_dir, image_id, "images", f"{image_id}.png")
            if not os.path.isfile(path):
                raise FileNotFoundError(f"image {path} not found: each <id> folder holds "
                                        "images/<id>.png")
            self.add_image("nucleus", image_id=image_id, path=path)

    def load_mask(self, image_id):
        """Generate instance masks for an image.

        Returns:
            masks: bool [height, width, instance count], one mask per PNG of ``masks/``
                (sorted by file name), nonzero pixels set.
            class_ids: int32 [instance count], all 1.

        Raises:
            FileNotFoundError: the image has no ``masks/`` folder (a test subset).
            ValueError: a mask PNG is not the size of the image.
        """
        from PIL import Image

        info = self.image_info[image_id]
        if info["source"] != "nucleus":
            return super().load_mask(image_id)
        mask_dir = os.path.join(os.path.dirname(os.path.dirname(info["path"])), "masks")
        if not os.path.isdir(mask_dir):
            raise FileNotFoundError(f"no masks folder {mask_dir} (test subsets have no masks)")
        names = sorted(f for f in os.listdir(mask_dir) if f.endswith(".png"))
        with Image.open(info["path"]) as image:
            width, height = image.size
        mask = np.zeros((height, width, len(names)), dtype=bool)
        for i, name in enumerate(names):
            m = np.asarray(Image.open(os.path.join(mask_dir, name)))
            if m.ndim == 3:
                m = m[..., 0]
            if m.shape != (height, width):
                raise ValueError(f"mask {name} of {info['id']} is {m.shape[1]}x{m.shape[0]}, the "
                                 f"image {width}x{height}")
            mask[:, :, i] = m != 0
        return mask, np.ones([mask.shape[-1]], dtype=np.int32)

    def image_reference(self, image_id):
        """The image's id (its folder name)."""
        info = self.image_info[image_id]
        if info["source"] == "nucleus":
            return info["id"]
        return super().image_reference(image_id)


def augmentation():
    """Matterport's training augmentation: 0 to 2 of flips, a right-angle rotation, brightness
    and blur (imgaug's API from ``mrcnn.imgaug_compat``)."""
    import mrcnn.imgaug_compat as imgaug
    iaa = imgaug.augmenters
    return iaa.SomeOf((0, 2), [
        iaa.Fliplr(0.5),
        iaa.Flipud(0.5),
        iaa.OneOf([iaa.Affine(rotate=90), iaa.Affine(rotate=180), iaa.Affine(rotate=270)]),
        iaa.Multiply((0.8, 1.5)),
        iaa.GaussianBlur(sigma=(0.0, 5.0)),
    ])


def training_schedule(epochs=None):
    """Matterport's schedule (heads to 20, all to 40), its stage ends scaled so the last is
    ``epochs``; a stage that would not end after the previous one is dropped."""
    if epochs is None:
        return list(TRAINING_SCHEDULE)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, not {epochs}")
    stages, previous = [], 0
    for layers, end in TRAINING_SCHEDULE:
        end = max(1, int(round(end * epochs / TRAINING_SCHEDULE[-1][1])))
        if end > previous:
            stages.append((layers, end))
            previous = end
    return stages


def train(model, dataset_dir, subset, epochs=None):
    """Train the model: ``subset`` (train or stage1_train) against val, Matterport's
    augmentation and schedule. Returns the (train, val) datasets."""
    dataset_train = NucleusDataset()
    dataset_train.load_nucleus(dataset_dir, subset)
    dataset_train.prepare()

    dataset_val = NucleusDataset()
    dataset_val.load_nucleus(dataset_dir, "val")
    dataset_val.prepare()
    print(f"Train images: {dataset_train.num_images}, val images: {dataset_val.num_images}")

    # The new heads first, then the whole network.
    for layers, end in training_schedule(epochs):
        print(f"Train network {layers} to epoch {end}")
        model.train(dataset_train, dataset_val, learning_rate=model.config.LEARNING_RATE,
                    epochs=end, augmentation=augmentation(), layers=layers)
    return dataset_train, dataset_val


############################################################
#  RLE Encoding
############################################################

def rle_encode(mask):
    """Run-length encoding of a mask in the Kaggle format.

    Args:
        mask: [height, width] array, nonzero = set.

    Returns:
        str: "start length start length ...": pixels numbered from 1 down the columns
        (column-major: 1 is (0, 0), 2 is (1, 0), ...), one pair per run of set pixels; "" for
        an empty mask.

    Raises:
        ValueError: mask is not 2-D.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D [height, width], got shape {mask.shape}")
    flat = (mask != 0).ravel(order="F").astype(np.int8)
    # +1 where a run starts, -1 one past where it ends.
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flat, [0]))))
    starts, ends = edges[0::2], edges[1::2]
    return " ".join(f"{s + 1} {e - s}" for s, e in zip(starts, ends))


def rle_decode(rle, shape):
    """Decodes a Kaggle run-length string (``rle_encode``'s format) into a bool mask.

    Args:
        rle: "start length ..." (1-based starts, column-major); "" gives an empty mask.
        shape: (height, width).

    Returns:
        bool [height, width].

    Raises:
        ValueError: an odd number of values, a non-positive start or length, runs out of order
            or overlapping, or beyond the mask.
    """
    values = np.array(rle.split(), dtype=np.int64) if rle.strip() else np.zeros(0, np.int64)
    if values.size % 2:
        raise ValueError(f"RLE has {values.size} numbers; it needs start length pairs")
    starts, lengths = values[0::2] - 1, values[1::2]
    size = int(shape[0]) * int(shape[1])
    if np.any(starts < 0) or np.any(lengths < 1):
        raise ValueError("RLE starts are 1-based and lengths >= 1")
    ends = starts + lengths
    if np.any(starts[1:] < ends[:-1]):
        raise ValueError("RLE runs must be sorted and must not overlap")
    if ends.size and ends[-1] > size:
        raise ValueError(f"RLE run ends at pixel {ends[-1]}, beyond the {shape[0]}x{shape[1]} "
                         "mask")
    flat = np.zeros(size, dtype=bool)
    for s, e in zip(starts, ends):
        flat[s:e] = True
    return flat.reshape((int(shape[0]), int(shape[1])), order="F")


def mask_to_rle(image_id, mask, scores):
    """Encodes instance masks as submission lines ``"<image_id>,<rle>"``, one per instance.

    Overlaps are resolved as Matterport intended: a pixel covered by several instances goes to
    the highest-scoring one. Lines follow descending score; an instance left with no pixels
    gets no line (Kaggle rejects empty masks). With no instances the single line is
    ``"<image_id>,"``.

    Args:
        image_id: the image's id (str).
        mask: [height, width, instance count] (bool or 0/1).
        scores: [instance count] detection scores.

    Returns:
        str: the lines joined by newlines.

    Raises:
        ValueError: mask is not 3-D or scores do not have one value per instance.
    """
    mask = np.asarray(mask)
    scores = np.asarray(scores).reshape(-1)
    if mask.ndim != 3:
        raise ValueError(f"mask must be [height, width, instance count], got shape {mask.shape}")
    if scores.shape[0] != mask.shape[-1]:
        raise ValueError(f"{mask.shape[-1]} masks but {scores.shape[0]} scores")
    if mask.shape[-1] == 0:
        return f"{image_id},"
    order = np.argsort(-scores, kind="stable")
    # Instance index (in score order) owning each pixel: the first set one along the order.
    stacked = mask[:, :, order] != 0
    owner = np.where(stacked.any(-1), np.argmax(stacked, axis=-1), -1)
    lines = []
    for rank in range(len(order)):
        rle = rle_encode(owner == rank)
        if rle:
            lines.append(f"{image_id},{rle}")
    return "\n".join(lines) if lines else f"{image_id},"


############################################################
#  Detection
############################################################

def detect(model, dataset_dir, subset, results_dir=RESULTS_DIR, limit=0):
    """Run detection on the images of ``subset`` and write the Kaggle submission.

    Writes ``<results_dir>/submit_<YYYYmmddTHHMMSS>/submit.csv`` (header
    ``ImageId,EncodedPixels``, ``mask_to_rle``'s lines per image) and a PNG per image with the
    masks drawn (``mrcnn.rendering``, no matplotlib).

    Args:
        model: an inference model (``NucleusInferenceConfig``).
        limit: detect only the first ``limit`` images (0 = all).

    Returns:
        The path of submit.csv.
    """
    from tqdm.auto import tqdm

    from mrcnn import rendering

    print(f"Running on {dataset_dir}")
    submit_dir = os.path.join(results_dir, f"submit_{datetime.datetime.now():%Y%m%dT%H%M%S}")
    os.makedirs(submit_dir, exist_ok=True)

    dataset = NucleusDataset()
    dataset.load_nucleus(dataset_dir, subset)
    dataset.prepare()
    image_ids = list(dataset.image_ids)[:limit or None]
    submission = []
    for image_id in tqdm(image_ids, desc="Detecting", unit="image"):
        image = dataset.load_image(image_id)
        r = model.detect([image], verbose=0)[0]
        source_id = dataset.image_info[image_id]["id"]
        submission.append(mask_to_rle(source_id, r["masks"], r["scores"]))
        rendering.save_instances_png(
            os.path.join(submit_dir, f"{source_id}.png"), image, r["rois"], r["masks"],
            r["class_ids"], dataset.class_names, r["scores"], show_bbox=False)

    file_path = os.path.join(submit_dir, "submit.csv")
    with open(file_path, "w") as f:
        f.write("ImageId,EncodedPixels\n" + "\n".join(submission) + "\n")
    print("Saved to ", submit_dir)
    return file_path


############################################################
#  Command Line
############################################################

def build_parser():
    """The argparse parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="nucleus.py", description="Mask R-CNN for nuclei counting and segmentation")
    parser.add_argument("command", choices=["train", "detect"], help="'train' or 'detect'")
    parser.add_argument("--dataset", required=True, metavar="/path/to/dataset/",
                        help="Root directory of the dataset")
    parser.add_argument("--weights", required=True,
                        metavar="|".join(WEIGHT_CHOICES) + "|/path/to/weights.h5",
                        help="Path to weights .h5 file or 'coco', 'imagenet', 'last', 'none'")
    parser.add_argument("--logs", default=DEFAULT_LOGS_DIR, metavar="/path/to/logs/",
                        help="Logs and checkpoints directory (default=logs/)")
    parser.add_argument("--subset", metavar="Dataset sub-directory",
                        help=f"Subset of dataset to run prediction on ({', '.join(SUBSETS)})")
    parser.add_argument("--results", default=RESULTS_DIR, metavar="DIR",
                        help="detect: where submit_<time>/ goes (default results/nucleus/)")
    parser.add_argument("--epochs", type=int, metavar="E",
                        help="train: final epoch of the schedule (default 40; the heads/all "
                             "stage ends 20/40 are scaled to it)")
    parser.add_argument("--steps-per-epoch", type=int, metavar="N",
                        help="train: STEPS_PER_EPOCH (default 105)")
    parser.add_argument("--validation-steps", type=int, metavar="N",
                        help="train: VALIDATION_STEPS (default 4)")
    parser.add_argument("--images-per-gpu", type=int, metavar="N",
                        help="train: IMAGES_PER_GPU (default 6)")
    parser.add_argument("--image-size", type=int, metavar="N",
                        help="train: the crop size IMAGE_MIN_DIM = IMAGE_MAX_DIM (a multiple "
                             "of 64; default 512)")
    parser.add_argument("--limit", type=int, default=0, metavar="N",
                        help="detect: only the first N images (default 0 = all)")
    return parser


def _check_args(parser, args):
    if not args.subset:
        parser.error("Provide --subset to run " + args.command)
    if args.subset not in SUBSETS:
        parser.error(f"--subset must be one of {', '.join(SUBSETS)}, not {args.subset!r}")
    if args.command == "train" and args.subset not in ("train", "stage1_train"):
        parser.error("train on --subset train (or stage1_train); val is held out")
    for name in ("epochs", "steps_per_epoch", "validation_steps", "images_per_gpu"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, not {value}")
    if args.limit < 0:
        parser.error(f"--limit must be >= 0 (0 = all), not {args.limit}")
    if not os.path.isdir(args.dataset):
        parser.error(f"--dataset {args.dataset}: no such directory")
    problem = weights_problem(args.weights)
    if problem:
        parser.error(f"--weights {problem}")


def make_config(args):
    """The configuration of a parsed command line (ValueError for impossible values)."""
    base = NucleusConfig if args.command == "train" else NucleusInferenceConfig
    overrides = {}
    for option, attr in (("steps_per_epoch", "STEPS_PER_EPOCH"),
                         ("validation_steps", "VALIDATION_STEPS"),
                         ("images_per_gpu", "IMAGES_PER_GPU")):
        value = getattr(args, option)
        if value is not None:
            overrides[attr] = value
    if args.image_size is not None:
        overrides["IMAGE_MIN_DIM"] = overrides["IMAGE_MAX_DIM"] = args.image_size
    config = type(base.__name__, (base,), overrides)() if overrides else base()
    config.validate("training" if args.command == "train" else "inference")
    return config


def run(argv=None):
    """Parses ``argv`` and runs the command. Returns train ``{"log_dir", "epoch"}``, detect
    ``{"submission"}`` (the submit.csv path). Raises SystemExit(2) on bad arguments."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    # The data is checked before a model is built.
    NucleusDataset().load_nucleus(args.dataset, args.subset)
    if args.command == "train":
        NucleusDataset().load_nucleus(args.dataset, "val")
    try:
        config = make_config(args)
    except ValueError as e:
        parser.error(str(e))
    print("Weights: ", args.weights)
    print("Dataset: ", args.dataset)
    if args.subset:
        print("Subset: ", args.subset)
    print("Logs: ", args.logs)
    config.display()

    import mrcnn.model as modellib
    mode = "training" if args.command == "train" else "inference"
    model = modellib.MaskRCNN(mode=mode, config=config, model_dir=args.logs)
    path = resolve_weights(model, args.weights, COCO_WEIGHTS_PATH)
    load_start_weights(model, args.weights, path)

    if args.command == "train":
        train(model, args.dataset, args.subset, epochs=args.epochs)
        return {"log_dir": model.log_dir, "epoch": model.epoch}
    return {"submission": detect(model, args.dataset, args.subset, args.results, args.limit)}


def main(argv=None):
    """The command line: returns 0, or 1 after printing ``error: <one line>`` on stderr for bad
    data or weights; bad arguments exit with status 2 (argparse)."""
    try:
        run(argv)
    except (ValueError, OSError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
