"""Real training data for the tests of the training-input modules (ground_truth, rpn_targets,
example_loader, input_pipeline, data_generator): COCO tiny through pycocotools, DSB2018 nuclei,
small configs for them, and module-scoped fixtures (import them into a test module to use them).
"""

from pathlib import Path

import numpy as np
import pytest
import skimage.io
from pycocotools.coco import COCO

from mrcnn.config import Config
from mrcnn.dataset import Dataset
from tests.paths import DATA_DIR

DATA = DATA_DIR
COCO_DIR = DATA / "coco_tiny"
NUCLEUS_DIR = DATA / "dsb2018_nucleus_subset" / "stage1_train"


# ------------------------------------------------------------------------------------------------
# Real datasets
class CocoTinyDataset(Dataset):
    """COCO tiny through pycocotools; crowd annotations get negative class ids."""

    def load(self, coco, subset="val", limit=None):
        self.coco = coco
        for cat_id in sorted(coco.getCatIds()):
            self.add_class("coco", cat_id, coco.loadCats(cat_id)[0]["name"])
        for coco_id in sorted(coco.getImgIds())[:limit]:
            info = coco.loadImgs(coco_id)[0]
            self.add_image("coco", coco_id, str(COCO_DIR / f"{subset}2017" / info["file_name"]),
                           annotations=coco.loadAnns(coco.getAnnIds(imgIds=coco_id)))
        return self

    def image_reference(self, image_id):
        return self.image_info[image_id]["path"]

    def load_mask(self, image_id):
        masks, class_ids = [], []
        for ann in self.image_info[image_id]["annotations"]:
            m = self.coco.annToMask(ann).astype(bool)
            if not m.any():
                continue
            class_id = self.map_source_class_id(f"coco.{ann['category_id']}")
            masks.append(m)
            class_ids.append(-class_id if ann["iscrowd"] else class_id)
        if not masks:
            return super().load_mask(image_id)
        return np.stack(masks, axis=-1), np.array(class_ids, dtype=np.int32)


class NucleusDataset(Dataset):
    """DSB2018 nuclei: RGBA image PNG plus one PNG per nucleus."""

    def load(self, names):
        self.add_class("nucleus", 1, "nucleus")
        for name in names:
            self.add_image("nucleus", name, str(NUCLEUS_DIR / name / "images" / f"{name}.png"))
        return self

    def load_mask(self, image_id):
        folder = Path(self.image_info[image_id]["path"]).parents[1] / "masks"
        masks = np.stack([skimage.io.imread(f) > 0 for f in sorted(folder.glob("*.png"))], -1)
        return masks, np.ones([masks.shape[-1]], dtype=np.int32)


class CocoConfig(Config):
    NAME = "coco_tiny_test"
    NUM_CLASSES = 81
    IMAGE_MIN_DIM = 256
    IMAGE_MAX_DIM = 256
    IMAGES_PER_GPU = 2
    MAX_GT_INSTANCES = 20


class TinyTrainingConfig(Config):
    """128 x 128 images, ResNet50, few anchors and RoIs: a training step in seconds on a CPU
    (the distributed and mixed-precision tests; subclasses set NAME and their extras)."""
    NUM_CLASSES = 81
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 1
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    PRE_NMS_LIMIT = 600
    POST_NMS_ROIS_TRAINING = 64
    POST_NMS_ROIS_INFERENCE = 64
    TRAIN_ROIS_PER_IMAGE = 32
    MAX_GT_INSTANCES = 10
    TOP_DOWN_PYRAMID_SIZE = 64
    FPN_CLASSIF_FC_LAYERS_SIZE = 128
    STEPS_PER_EPOCH = 2
    VALIDATION_STEPS = 1


class NucleusConfig(Config):
    NAME = "nucleus_test"
    NUM_CLASSES = 2
    IMAGE_RESIZE_MODE = "crop"
    IMAGE_MIN_DIM = 256
    IMAGE_MAX_DIM = 256
    USE_MINI_MASK = False
    MAX_GT_INSTANCES = 50


@pytest.fixture(scope="module")
def coco():
    return COCO(str(COCO_DIR / "annotations" / "instances_val2017.json"))


@pytest.fixture(scope="module")
def coco_ds(coco):
    ds = CocoTinyDataset().load(coco, limit=12)
    ds.prepare()
    return ds


@pytest.fixture(scope="module")
def config():
    return CocoConfig()


def _crowd_image(ds):
    for i in ds.image_ids:
        if any(a["iscrowd"] for a in ds.image_info[i]["annotations"]):
            return int(i)
    raise AssertionError("no crowd image in the subset")


def _nucleus_names(size, count):
    rows = [line.split("\t") for line in
            (NUCLEUS_DIR.parent / "index.tsv").read_text().splitlines() if line.strip()]
    return [r[0] for r in rows if r[1] == size][:count]
