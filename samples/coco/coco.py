"""Mask R-CNN on MS COCO: dataset, results format, evaluation and a train/evaluate command line.

The successor of Matterport's ``samples/coco/coco.py``, with the same names and behaviour, plus
fixes: ``--download`` is a real boolean, ``evaluate`` reports bbox *and* segm AP,
``build_coco_results`` checks it gets one image, ``--model coco`` downloads the release weights
when they are missing, and short training runs are possible (``--epochs``, ``--steps-per-epoch``).

Usage (run from anywhere; the repository root is put on ``sys.path``)::

    # Train a new model starting from pre-trained COCO weights
    python3 samples/coco/coco.py train --dataset=/path/to/coco/ --model=coco

    # Train a new model starting from ImageNet weights, downloading COCO 2017 first
    python3 samples/coco/coco.py train --dataset=/path/to/coco/ --model=imagenet --year=2017 \\
        --download=true

    # Continue training the last model you trained
    python3 samples/coco/coco.py train --dataset=/path/to/coco/ --model=last

    # COCO bbox and segm AP of the last model on 500 val images (0 = all)
    python3 samples/coco/coco.py evaluate --dataset=/path/to/coco/ --model=last --limit=500

Dataset layout (what the official zips unpack to)::

    <dataset>/annotations/instances_<subset><year>.json
    <dataset>/<subset><year>/*.jpg        (minival and valminusminival use val2014/)

Also importable (``import coco`` with ``samples/coco`` on ``sys.path``): ``CocoConfig``,
``CocoDataset``, ``build_coco_results``, ``evaluate_coco``, ``main(argv)``. ``mrcnn.model`` (and so
TensorFlow) is only imported by the commands, not by ``import coco``.
"""

import argparse
import os
import sys
import time

import numpy as np
from pycocotools import mask as maskUtils
from pycocotools.coco import COCO

# Root directory of the project; make the library importable when run as a script.
ROOT_DIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
if ROOT_DIR not in sys.path:
    sys.path.insert(0, ROOT_DIR)

from mrcnn.config import Config  # noqa: E402
from mrcnn import utils  # noqa: E402
from mrcnn.coco_classes import COCO_CLASS_NAMES  # noqa: E402
from mrcnn.download import (COCO_2014_SPLIT_URLS, COCO_URL_BASE,  # noqa: E402
                            download_coco_dataset)
from mrcnn.evaluation import (STAT_NAMES, detect_images,  # noqa: E402
                              detections_to_coco_results, evaluate_coco_results)

#: The 81 class names of a COCO model ('BG' first), for ``visualize.display_instances``.
CLASS_NAMES = list(COCO_CLASS_NAMES)

# Path to the trained weights file.
COCO_MODEL_PATH = os.path.join(ROOT_DIR, "mask_rcnn_coco.h5")

# Directory to save logs and model checkpoints, if not given with --logs.
DEFAULT_LOGS_DIR = os.path.join(ROOT_DIR, "logs")
DEFAULT_DATASET_YEAR = "2014"

#: Matterport's training schedule: (layers, final epoch, learning-rate factor).
TRAINING_SCHEDULE = (("heads", 40, 1.0), ("4+", 120, 1.0), ("all", 160, 0.1))


############################################################
#  Configurations
############################################################

class CocoConfig(Config):
    """Configuration for training on MS COCO (the base defaults otherwise)."""
    NAME = "coco"
    # 2 images of 1024x1024 fit a 12 GB GPU; raise it on bigger GPUs.
    IMAGES_PER_GPU = 2
    # Uncomment to train on 8 GPUs (default is 1)
    # GPU_COUNT = 8
    NUM_CLASSES = 1 + 80  # COCO has 80 classes


############################################################
#  Dataset
############################################################

class CocoDataset(utils.Dataset):
    """MS COCO instance segmentation (Matterport's ``CocoDataset``)."""

    def load_coco(self, dataset_dir, subset, year=DEFAULT_DATASET_YEAR, class_ids=None,
                  class_map=None, return_coco=False, auto_download=False):
        """Loads a subset of the COCO dataset.

        Args:
            dataset_dir: root of the COCO data (``annotations/`` and the image folders).
            subset: "train", "val", or for 2014 "minival" / "valminusminival" (images in val2014).
            year: "2014" or "2017" (str or int).
            class_ids: COCO category ids to load; default all. Only images containing at least
                one of them are added.
            class_map: not used (kept for compatibility).
            return_coco: return the ``pycocotools.coco.COCO`` object.
            auto_download: download and unzip the images and annotations first if missing
                (see ``auto_download``).

        Each image is added with source "coco", its COCO id, ``path``, ``width``, ``height`` and
        ``annotations`` (all its annotations of the loaded classes, crowds included). Classes are
        added as ("coco", category id, name). Annotation files without ``info``/``licenses`` load.

        Returns:
            The COCO object if ``return_coco``, else None.

        Raises:
            FileNotFoundError: the annotation file or image folder is missing.
            ValueError: a requested class id is not a category of the annotation file.
        """
        year = str(year)
        if auto_download:
            self.auto_download(dataset_dir, subset, year)
        ann_file = os.path.join(dataset_dir, "annotations", f"instances_{subset}{year}.json")
        if not os.path.isfile(ann_file):
            raise FileNotFoundError(
                f"COCO annotation file not found: {ann_file}. The layout is "
                "<dataset>/annotations/instances_<subset><year>.json with images in "
                "<dataset>/<subset><year>/; pass auto_download=True (--download=true) to fetch it")
        image_subset = "val" if subset in ("minival", "valminusminival") else subset
        image_dir = os.path.join(dataset_dir, f"{image_subset}{year}")
        if not os.path.isdir(image_dir):
            raise FileNotFoundError(f"COCO image folder not found: {image_dir}; pass "
                                    "auto_download=True (--download=true) to fetch it")

        coco = COCO(ann_file)
        all_class_ids = sorted(coco.getCatIds())
        if not class_ids:
            class_ids = all_class_ids
        else:
            unknown = sorted(set(class_ids) - set(all_class_ids))
            if unknown:
                raise ValueError(f"class_ids {unknown} are not categories of {ann_file}")
            class_ids = sorted(class_ids)

        # Images containing any of the classes (images without annotations are left out).
        image_ids = set()
        for class_id in class_ids:
            image_ids.update(coco.getImgIds(catIds=[class_id]))
        image_ids = sorted(image_ids)

        for class_id in class_ids:
            self.add_class("coco", class_id, coco.loadCats(class_id)[0]["name"])
        for image_id in image_ids:
            img = coco.imgs[image_id]
            self.add_image(
                "coco", image_id=image_id,
                path=os.path.join(image_dir, img["file_name"]),
                width=img["width"], height=img["height"],
                annotations=coco.loadAnns(coco.getAnnIds(imgIds=[image_id], catIds=class_ids,
                                                         iscrowd=None)))
        if return_coco:
            return coco
        return None

    def auto_download(self, dataDir, dataType, dataYear):
        """Downloads and unzips the COCO images and annotations of a subset, if not present.

        Matterport's ``CocoDataset.auto_download``, now a call of
        ``mrcnn.download.download_coco_dataset`` with this module's ``COCO_URL_BASE`` and
        ``COCO_2014_SPLIT_URLS`` (see there for the URLs, the layout and the atomic extraction);
        a zip already present is not downloaded again.

        Args:
            dataDir: the dataset root (created if needed).
            dataType: "train", "val", "minival" or "valminusminival".
            dataYear: "2014" or "2017".

        Raises:
            ValueError: minival / valminusminival with a year other than 2014, or a download that
                is not a zip archive.
            DownloadError (an ``OSError``): the download failed (from ``download_file``).
            FileNotFoundError: an archive did not contain the expected folder or file.
        """
        download_coco_dataset(dataDir, dataType, dataYear, url_base=COCO_URL_BASE,
                              split_urls=COCO_2014_SPLIT_URLS)

    def load_mask(self, image_id):
        """Instance masks of a COCO image, from pycocotools.

        Polygons, uncompressed RLE and compressed RLE are decoded with ``annToMask``. Masks
        smaller than a pixel (all zero) are skipped. Crowd annotations (``iscrowd=1``) get the
        *negative* class id; a crowd mask whose size differs from the image becomes an
        all-ones mask. Images of other sources are passed to the parent class.

        Returns:
            (bool [H, W, N] masks, int32 [N] class ids); [H, W, 0] and [0] for an image without
            usable annotations.

        Raises:
            ValueError: a non-crowd RLE annotation whose size differs from the image.
        """
        image_info = self.image_info[image_id]
        if image_info["source"] != "coco":
            return super().load_mask(image_id)
        height, width = image_info["height"], image_info["width"]
        masks, class_ids = [], []
        for annotation in image_info["annotations"]:
            class_id = self.map_source_class_id(f"coco.{annotation['category_id']}")
            if not class_id:
                continue
            m = self.annToMask(annotation, height, width)
            if m.max() < 1:  # smaller than a pixel
                continue
            if annotation["iscrowd"]:
                class_id *= -1
                if m.shape != (height, width):
                    m = np.ones([height, width], dtype=bool)
            elif m.shape != (height, width):
                raise ValueError(f"Annotation {annotation.get('id')} of image "
                                 f"{image_info['id']} has a {m.shape} mask, the image is "
                                 f"{(height, width)}")
            masks.append(m.astype(bool))
            class_ids.append(class_id)
        if not masks:
            return np.zeros([height, width, 0], dtype=bool), np.zeros([0], dtype=np.int32)
        return np.stack(masks, axis=2), np.array(class_ids, dtype=np.int32)

    def image_reference(self, image_id):
        """A link to the image on the COCO website (the parent's reference for other sources)."""
        info = self.image_info[image_id]
        if info["source"] == "coco":
            return f"http://cocodataset.org/#explore?id={info['id']}"
        return super().image_reference(image_id)

    # The two functions below are pycocotools' COCO.annToRLE/annToMask with the image size
    # passed in (so they work without the COCO object).
    def annToRLE(self, ann, height, width):
        """Annotation (polygons, uncompressed or compressed RLE) -> compressed RLE dict."""
        segm = ann["segmentation"]
        if isinstance(segm, list):
            # Polygons: one object may have several parts; merge them into one RLE.
            if not segm:
                return maskUtils.encode(np.zeros([height, width], dtype=np.uint8, order="F"))
            return maskUtils.merge(maskUtils.frPyObjects(segm, height, width))
        if isinstance(segm.get("counts"), list):
            return maskUtils.frPyObjects(segm, height, width)  # uncompressed RLE
        return segm  # compressed RLE

    def annToMask(self, ann, height, width):
        """Annotation -> uint8 [h, w] binary mask (the RLE's own size for RLE annotations)."""
        return maskUtils.decode(self.annToRLE(ann, height, width))


############################################################
#  COCO Evaluation
############################################################

def build_coco_results(dataset, image_ids, rois, class_ids, scores, masks):
    """One image's detections -> COCO result dicts (Matterport ``build_coco_results``).

    Called as Matterport's ``evaluate_coco`` calls it: with the image's **COCO** id, e.g.
    ``coco_image_ids = [dataset.image_info[i]["id"] for i in image_ids]`` and then
    ``build_coco_results(dataset, coco_image_ids[i:i + 1], r["rois"], ...)``. The results'
    ``image_id`` is the id passed.

    Args:
        dataset: the prepared CocoDataset the image belongs to.
        image_ids: a one-element list (or a scalar) holding the image's COCO image id
            (``dataset.image_info[i]["id"]``), not the internal index ``i``.
        rois: int [N, 4] (y1, x1, y2, x2) pixel boxes, exclusive y2/x2; None gives [].
        class_ids: int [N] internal class ids; written as the COCO category ids
            ``dataset.get_source_class_id(class_id, "coco")``.
        scores: float [N].
        masks: bool or uint8 [H, W, N].

    Returns:
        List of dicts {image_id (the COCO id passed), category_id (COCO id), bbox [x, y, w, h],
        score, segmentation (RLE, JSON-serialisable)}; see
        ``mrcnn.evaluation.detections_to_coco_results``.

    Raises:
        ValueError: more than one image id (Matterport paired every image id with every
            detection, which is only right for a single image; call once per image), or an id
            that is not the COCO id of an image of ``dataset`` (e.g. an internal index).
    """
    if rois is None:
        return []
    ids = np.asarray(image_ids, dtype=object).reshape(-1)
    if len(ids) != 1:
        raise ValueError(f"build_coco_results takes the detections of one image, got {len(ids)} "
                         "image ids; call it once per image with image_ids=[coco_image_id]")
    coco_id = ids[0]
    coco_id = int(coco_id) if isinstance(coco_id, (int, np.integer)) else coco_id
    if f"coco.{coco_id}" not in getattr(dataset, "image_from_source_map", {}):
        raise ValueError(
            f"build_coco_results: {coco_id!r} is not the COCO image id of an image of this "
            "dataset (is the dataset prepared?). Pass COCO ids, as Matterport's evaluate_coco "
            "does: [dataset.image_info[i]['id']] for the internal image id i")
    category_ids = {class_id: dataset.get_source_class_id(class_id, "coco")
                    for class_id in range(1, dataset.num_classes)
                    if dataset.class_info[class_id]["source"] == "coco"}
    return detections_to_coco_results(coco_id, rois, class_ids, scores, masks, category_ids)


def detect_coco_results(model, dataset, limit=0, image_ids=None):
    """Runs ``model.detect`` over COCO images and converts the detections to COCO results.

    Images go to ``detect`` in batches of ``model.config.BATCH_SIZE``, with a progress bar.

    Returns:
        (results list, COCO image ids, seconds spent in ``detect``).
    """
    image_ids = list(dataset.image_ids if image_ids is None else image_ids)
    if limit:
        image_ids = image_ids[:limit]
    if not image_ids:
        raise ValueError("No images to evaluate")
    coco_image_ids = [dataset.image_info[i]["id"] for i in image_ids]
    results = []

    def collect(image_id, r):
        results.extend(build_coco_results(dataset, [dataset.image_info[image_id]["id"]],
                                          r["rois"], r["class_ids"], r["scores"], r["masks"]))

    t_prediction = detect_images(model, dataset, image_ids, collect)
    return results, coco_image_ids, t_prediction


def evaluate_coco(model, dataset, coco, eval_type="bbox", limit=0, image_ids=None):
    """Runs official COCO evaluation (pycocotools ``COCOeval``) of a model on a CocoDataset.

    Args:
        model: an inference-mode ``MaskRCNN``.
        dataset: the CocoDataset (prepared) whose COCO object is ``coco``.
        coco: the ``pycocotools.coco.COCO`` ground truth (``load_coco(..., return_coco=True)``).
        eval_type: "bbox" or "segm", or a sequence of them (detection then runs once).
        limit: evaluate only the first ``limit`` images (0 = all).
        image_ids: internal image ids to evaluate; default all.

    Prints the 12 stats per type, the prediction time, the time per image and the total time.

    Returns:
        float64 [12] stats (``mrcnn.evaluation.STAT_NAMES`` order), or for a sequence of types a
        dict {type: stats} with "time_per_image" added.
    """
    types = [eval_type] if isinstance(eval_type, str) else list(eval_type)
    t_start = time.time()
    results, coco_image_ids, t_prediction = detect_coco_results(model, dataset, limit, image_ids)
    stats = {}
    for t in types:
        print(f"\nCOCO {t} evaluation on {len(coco_image_ids)} images")
        stats[t] = evaluate_coco_results(coco, results, t, image_ids=coco_image_ids)
    n = len(coco_image_ids)
    print(f"Prediction time: {t_prediction:.1f} s. Average {t_prediction / n:.3f} s/image")
    print(f"Total time: {time.time() - t_start:.1f} s")
    if isinstance(eval_type, str):
        return stats[eval_type]
    stats["time_per_image"] = t_prediction / n
    return stats


############################################################
#  Training / evaluation command line
############################################################

def str2bool(value):
    """argparse type for booleans: true/false, yes/no, 1/0, on/off (any case)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "yes", "y", "1", "on"):
        return True
    if text in ("false", "f", "no", "n", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def training_schedule(epochs=None, epochs_scale=None):
    """Matterport's schedule, optionally shortened: list of (layers, final epoch, LR factor).

    ``epochs`` sets the final epoch (default 160) and scales the stage ends in proportion;
    ``epochs_scale`` multiplies them. Stage ends are rounded, at least 1, and a stage that would
    end no later than the previous one is dropped (so ``epochs=1`` trains only the heads).
    """
    if epochs is not None and epochs_scale is not None:
        raise ValueError("give epochs or epochs_scale, not both")
    scale = 1.0
    if epochs is not None:
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, not {epochs}")
        scale = epochs / TRAINING_SCHEDULE[-1][1]
    elif epochs_scale is not None:
        if epochs_scale <= 0:
            raise ValueError(f"epochs_scale must be > 0, not {epochs_scale}")
        scale = epochs_scale
    stages, previous = [], 0
    for layers, end, lr_factor in TRAINING_SCHEDULE:
        end = max(1, int(round(end * scale)))
        if end > previous:
            stages.append((layers, end, lr_factor))
            previous = end
    return stages


def default_augmentation():
    """Horizontal flips half of the time: Matterport's ``imgaug.augmenters.Fliplr(0.5)``, with
    imgaug's augmenters from ``mrcnn.imgaug_compat`` (executed by albumentations; real imgaug
    does not run with the NumPy that TensorFlow >= 2.18 needs)."""
    import mrcnn.imgaug_compat as imgaug  # Matterport: import imgaug
    return imgaug.augmenters.Fliplr(0.5)


def build_parser():
    """The argparse parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="coco.py",
        description="Train Mask R-CNN on MS COCO, or evaluate it (COCO bbox and segm AP).")
    parser.add_argument("command", choices=["train", "evaluate"],
                        help="'train' or 'evaluate' on MS COCO")
    parser.add_argument("--dataset", required=True, metavar="/path/to/coco/",
                        help="Directory of the MS-COCO dataset")
    parser.add_argument("--year", default=DEFAULT_DATASET_YEAR, choices=["2014", "2017"],
                        help=f"Year of the MS-COCO dataset (default {DEFAULT_DATASET_YEAR})")
    parser.add_argument("--model", required=True, metavar="coco|imagenet|last|/path/to/weights.h5",
                        help="Weights to start from: 'coco' (downloaded if missing), 'imagenet', "
                             "'last' (last checkpoint in --logs) or a .h5 file")
    parser.add_argument("--logs", default=DEFAULT_LOGS_DIR, metavar="/path/to/logs/",
                        help="Logs and checkpoints directory (default: logs/)")
    parser.add_argument("--limit", type=int, default=500, metavar="N",
                        help="evaluate: number of images to use (default 500, 0 = all)")
    parser.add_argument("--download", type=str2bool, default=False, metavar="true|false",
                        help="Download and unzip the MS-COCO files if missing (default false)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, metavar="E",
                        help="train: final epoch of a shortened schedule (default 160; the "
                             "heads/4+/all stage ends 40/120/160 are scaled to it)")
    length.add_argument("--epochs-scale", type=float, metavar="F",
                        help="train: multiply the stage ends 40/120/160 by F")
    parser.add_argument("--steps-per-epoch", type=int, metavar="N",
                        help="train: STEPS_PER_EPOCH (default 1000)")
    parser.add_argument("--validation-steps", type=int, metavar="N",
                        help="train: VALIDATION_STEPS (default 50)")
    parser.add_argument("--images-per-gpu", type=int, metavar="N",
                        help="IMAGES_PER_GPU (default 2 for train, 1 for evaluate)")
    parser.add_argument("--image-size", type=int, metavar="N",
                        help="IMAGE_MIN_DIM = IMAGE_MAX_DIM = N (a multiple of 64; default "
                             "800/1024)")
    parser.add_argument("--backbone", choices=["resnet50", "resnet101"],
                        help="BACKBONE (default resnet101)")
    return parser


def make_config(args):
    """The configuration for a parsed command line (raises ValueError for impossible values)."""
    if args.command == "train":
        base = CocoConfig
    else:
        class InferenceConfig(CocoConfig):
            # Set batch size to 1 to run one image at a time.
            GPU_COUNT = 1
            IMAGES_PER_GPU = 1
            DETECTION_MIN_CONFIDENCE = 0
        base = InferenceConfig
    overrides = {}
    if args.steps_per_epoch is not None:
        overrides["STEPS_PER_EPOCH"] = args.steps_per_epoch
    if args.validation_steps is not None:
        overrides["VALIDATION_STEPS"] = args.validation_steps
    if args.images_per_gpu is not None:
        overrides["IMAGES_PER_GPU"] = args.images_per_gpu
    if args.image_size is not None:
        overrides["IMAGE_MIN_DIM"] = overrides["IMAGE_MAX_DIM"] = args.image_size
    if args.backbone is not None:
        overrides["BACKBONE"] = args.backbone
    cls = type(base.__name__, (base,), overrides) if overrides else base
    return cls()


def _check_args(parser, args):
    if args.limit < 0:
        parser.error(f"--limit must be >= 0 (0 = all images), not {args.limit}")
    for name in ("steps_per_epoch", "validation_steps", "images_per_gpu", "epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, not {value}")
    if args.epochs_scale is not None and args.epochs_scale <= 0:
        parser.error(f"--epochs-scale must be > 0, not {args.epochs_scale}")
    if not args.download and not os.path.isdir(args.dataset):
        parser.error(f"--dataset {args.dataset}: no such directory (add --download=true to "
                     "download MS-COCO there)")
    if args.model.lower() not in ("coco", "imagenet", "last") and \
            not os.path.isfile(args.model):
        parser.error(f"--model {args.model}: no such weights file (or use coco, imagenet, last)")


def weights_path(model_arg, model):
    """The weights file for --model: coco (downloaded when missing), last, imagenet or a path."""
    name = model_arg.lower()
    if name == "coco":
        if os.path.isfile(COCO_MODEL_PATH):
            return COCO_MODEL_PATH
        from mrcnn.download import get_coco_weights
        return get_coco_weights()
    if name == "last":
        return model.find_last()
    if name == "imagenet":
        return model.get_imagenet_weights()
    return model_arg


def train(model, config, args):
    """The ``train`` command: the three-stage schedule on train (+valminusminival for 2014)."""
    dataset_train = CocoDataset()
    dataset_train.load_coco(args.dataset, "train", year=args.year, auto_download=args.download)
    if args.year == "2014":
        dataset_train.load_coco(args.dataset, "valminusminival", year=args.year,
                                auto_download=args.download)
    dataset_train.prepare()

    val_type = "val" if args.year == "2017" else "minival"
    dataset_val = CocoDataset()
    dataset_val.load_coco(args.dataset, val_type, year=args.year, auto_download=args.download)
    dataset_val.prepare()
    print(f"Train images: {dataset_train.num_images}, validation images: "
          f"{dataset_val.num_images}, classes: {dataset_train.num_classes}")

    augmentation = default_augmentation()
    for layers, end_epoch, lr_factor in training_schedule(args.epochs, args.epochs_scale):
        learning_rate = config.LEARNING_RATE * lr_factor
        print(f"Training {layers} layers to epoch {end_epoch} at learning rate {learning_rate}")
        model.train(dataset_train, dataset_val, learning_rate=learning_rate, epochs=end_epoch,
                    layers=layers, augmentation=augmentation)
    return {"log_dir": getattr(model, "log_dir", None), "epoch": getattr(model, "epoch", None)}


def evaluate(model, args):
    """The ``evaluate`` command: bbox and segm COCO AP on ``--limit`` validation images."""
    val_type = "val" if args.year == "2017" else "minival"
    dataset_val = CocoDataset()
    coco = dataset_val.load_coco(args.dataset, val_type, year=args.year, return_coco=True,
                                 auto_download=args.download)
    dataset_val.prepare()
    print(f"Running COCO evaluation on {args.limit or 'all'} images.")
    stats = evaluate_coco(model, dataset_val, coco, ("bbox", "segm"), limit=args.limit)
    print("\n" + " " * 6 + "".join(f"{name:>7}" for name in STAT_NAMES))
    for eval_type in ("bbox", "segm"):
        print(f"{eval_type:6}" + "".join(f"{v:7.3f}" for v in stats[eval_type]))
    return stats


def main(argv=None):
    """Runs the command line on ``argv`` (default ``sys.argv[1:]``).

    Returns:
        train: {"log_dir", "epoch"}; evaluate: {"bbox": stats, "segm": stats,
        "time_per_image": s}.

    Raises:
        SystemExit: bad arguments (status 2, with a message naming the problem).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    try:
        config = make_config(args)
    except ValueError as e:
        parser.error(str(e))
    print("Command: ", args.command)
    print("Model: ", args.model)
    print("Dataset: ", args.dataset)
    print("Year: ", args.year)
    print("Logs: ", args.logs)
    print("Auto Download: ", args.download)
    config.display()

    import mrcnn.model as modellib
    mode = "training" if args.command == "train" else "inference"
    model = modellib.MaskRCNN(mode=mode, config=config, model_dir=args.logs)
    path = weights_path(args.model, model)
    print("Loading weights ", path)
    model.load_weights(path, by_name=True)

    if args.command == "train":
        return train(model, config, args)
    return evaluate(model, args)


if __name__ == "__main__":
    main()
