"""Background-only images (config.TRAIN_ON_BACKGROUND_IMAGES) on real COCO tiny photos whose
annotations are removed: skipped and counted when off; negative examples (RPN targets only
negative or neutral, no positive RoI, finite losses) when on."""

import logging
import math
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import mrcnn.model as modellib
from mrcnn.config import Config
from mrcnn.example_loader import TrainingExampleLoader
from mrcnn.input_pipeline import build_dataset

from tests.data.training_data import CocoConfig, CocoTinyDataset, coco  # noqa: E402,F401


class EmptiedCoco(CocoTinyDataset):
    """COCO tiny with the annotations of the images in ``emptied`` removed (the base
    ``load_mask``'s empty result, as a dataset returns for an image without annotations)."""

    emptied = ()

    def load_mask(self, image_id):
        if image_id in self.emptied:
            return np.zeros([0, 0, 0], dtype=bool), np.zeros([0], dtype=np.int32)
        return super().load_mask(image_id)


@pytest.fixture(scope="module")
def emptied_ds(coco):
    ds = EmptiedCoco().load(coco, limit=6)
    ds.emptied = (1, 3, 4)
    ds.prepare()
    return ds


def test_config_option_defaults_to_matterport_and_is_checked():
    assert Config.TRAIN_ON_BACKGROUND_IMAGES is False

    class Bad(CocoConfig):
        TRAIN_ON_BACKGROUND_IMAGES = "yes"

    with pytest.raises(ValueError, match="TRAIN_ON_BACKGROUND_IMAGES.*True or False"):
        Bad()


def test_off_background_images_are_skipped_and_counted(emptied_ds, caplog):
    loader = TrainingExampleLoader(emptied_ds, CocoConfig(), seed=0)
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        seen = sorted(int(b[1][0, 0]) for b in build_dataset(
            emptied_ds, CocoConfig(), seed=0, batch_size=1, repeat=False, loader=loader))
    assert seen == [0, 2, 5]
    assert loader.skipped.count == 3 and loader.skipped.background == 3
    assert set(loader.skipped.reasons) == {1, 3, 4}
    for reason in loader.skipped.reasons.values():
        assert "TRAIN_ON_BACKGROUND_IMAGES = True" in reason
    assert "background=3" in repr(loader.skipped)
    assert "TRAIN_ON_BACKGROUND_IMAGES" in caplog.text


def test_on_background_images_are_negative_examples(emptied_ds):
    class WithBackground(CocoConfig):
        TRAIN_ON_BACKGROUND_IMAGES = True

    config = WithBackground()
    loader = TrainingExampleLoader(emptied_ds, config, seed=0)
    for image_id in emptied_ds.image_ids:
        ex = loader(image_id)
        assert ex is not None
        if image_id not in emptied_ds.emptied:
            assert (ex["input_rpn_match"] == 1).any()
            continue
        assert not ex["input_gt_class_ids"].any() and not ex["input_gt_boxes"].any()
        assert not ex["input_gt_masks"].any()
        match = ex["input_rpn_match"][:, 0]
        assert not (match == 1).any()
        # No positive, so the balancing keeps RPN_TRAIN_ANCHORS_PER_IMAGE negatives.
        assert (match == -1).sum() == config.RPN_TRAIN_ANCHORS_PER_IMAGE
        assert not ex["input_rpn_bbox"].any()
        # The image is the real photo, not a blank.
        assert ex["input_image"].std() > 10
    assert loader.skipped.count == 0 and loader.skipped.background == 0


class TinyBackground(Config):
    NAME = "background_test"
    NUM_CLASSES = 81
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 2
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (16, 32, 64, 128, 256)
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    POST_NMS_ROIS_TRAINING = 100
    TRAIN_ROIS_PER_IMAGE = 32
    MAX_GT_INSTANCES = 20
    TRAIN_ON_BACKGROUND_IMAGES = True


def test_a_batch_of_background_images_trains_with_finite_losses(coco):
    ds = EmptiedCoco().load(coco, limit=2)
    ds.emptied = (0, 1)
    ds.prepare()
    config = TinyBackground()
    keras.utils.set_random_seed(0)
    model = modellib.MaskRCNN("training", config, model_dir="unused")
    model.compile(learning_rate=0.01, momentum=0.9)
    batch = next(iter(build_dataset(ds, config, shuffle=False, seed=0)))
    outputs = model.keras_model(list(batch), training=True)
    output_rois = np.asarray(outputs[8])  # build_training_model's output order
    assert output_rois.shape[:2] == (2, config.TRAIN_ROIS_PER_IMAGE)
    assert (np.abs(output_rois).sum(axis=2) > 0).sum() > 0  # negatives were sampled
    logs = model.keras_model.train_on_batch(batch, return_dict=True)
    for name, value in logs.items():
        assert math.isfinite(value), name
    assert logs["rpn_bbox_loss"] == 0.0  # no positive anchor
    assert logs["mrcnn_bbox_loss"] == 0.0 and logs["mrcnn_mask_loss"] == 0.0  # no positive RoI
    assert logs["rpn_class_loss"] > 0.0 and logs["mrcnn_class_loss"] > 0.0
