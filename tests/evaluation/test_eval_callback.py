"""COCOEvalCallback inside a real MaskRCNN.train() on real nucleus images: the trained weights
are copied into an inference model and bbox/segm AP land in the Keras logs and History."""

import math

import pytest

import mrcnn.model as modellib
from mrcnn.config import Config
from mrcnn.evaluation import COCOEvalCallback
from tests.evaluation.test_evaluation_dataset import IMAGE_IDS, NucleusDataset
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


class NucleusConfig(Config):
    NAME = "nucleus"
    NUM_CLASSES = 2
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 1
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    POST_NMS_ROIS_TRAINING = 200
    POST_NMS_ROIS_INFERENCE = 200
    TRAIN_ROIS_PER_IMAGE = 32
    MAX_GT_INSTANCES = 50
    STEPS_PER_EPOCH = 2
    VALIDATION_STEPS = 1
    DETECTION_MIN_CONFIDENCE = 0.0


class NucleusInference(NucleusConfig):
    pass


def test_callback_logs_ap_during_real_training(tmp_path):
    dataset = NucleusDataset()
    dataset.load_nucleus(IMAGE_IDS)
    dataset.prepare()
    model = modellib.MaskRCNN("training", NucleusConfig(), str(tmp_path))
    callback = COCOEvalCallback(
        lambda: modellib.MaskRCNN("inference", NucleusInference(), str(tmp_path)), dataset,
        every=1, limit=2, log_dir=str(tmp_path / "eval"))
    history = model.train(dataset, dataset, learning_rate=0.001, epochs=2, layers="heads",
                          custom_callbacks=[callback])
    for key in ("val_bbox_AP", "val_segm_AP", "val_bbox_AP50"):
        values = history.history[key]
        assert len(values) == 2
        assert all(0.0 <= v <= 1.0 or v == -1 for v in values)
    assert len(callback.results) == 2
    assert not math.isnan(callback.results[-1][1]["time_per_image"])
    assert list((tmp_path / "eval").glob("events.out.tfevents.*"))
