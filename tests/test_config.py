"""Config: Matterport's defaults and derived values, display(), and clear errors for values that
cannot work."""

import numpy as np
import pytest

from mrcnn.config import Config


class Base(Config):
    NAME = "test"
    NUM_CLASSES = 1 + 3


def make(**overrides):
    return type("C", (Base,), overrides)()


def test_defaults_and_derived_values():
    config = make()
    assert config.BACKBONE == "resnet101" and config.IMAGES_PER_GPU == 2
    assert config.BATCH_SIZE == 2
    np.testing.assert_array_equal(config.IMAGE_SHAPE, [1024, 1024, 3])
    assert config.IMAGE_META_SIZE == 12 + 4
    assert make(GPU_COUNT=2, IMAGES_PER_GPU=3).BATCH_SIZE == 6
    crop = make(IMAGE_RESIZE_MODE="crop", IMAGE_MIN_DIM=512)
    np.testing.assert_array_equal(crop.IMAGE_SHAPE, [512, 512, 3])
    assert make(NUM_CLASSES=81).IMAGE_META_SIZE == 93


def test_display_lists_every_attribute_sorted(capsys):
    make().display()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[0] == "Configurations:"
    names = [line.split()[0] for line in lines[1:]]
    assert names == sorted(names)
    assert {"BATCH_SIZE", "IMAGE_SHAPE", "LOSS_WEIGHTS", "NUM_CLASSES"} <= set(names)
    assert lines[names.index("NUM_CLASSES") + 1].split()[1] == "4"


@pytest.mark.parametrize("overrides, attribute", [
    (dict(IMAGE_MAX_DIM=1000), "IMAGE_MAX_DIM"),
    (dict(IMAGE_RESIZE_MODE="crop", IMAGE_MIN_DIM=500), "IMAGE_MIN_DIM"),
    (dict(IMAGE_RESIZE_MODE="pad64", IMAGE_MIN_DIM=100), "IMAGE_MIN_DIM"),
    (dict(MEAN_PIXEL=np.array([1.0, 2.0])), "MEAN_PIXEL"),
    (dict(IMAGE_CHANNEL_COUNT=1), "MEAN_PIXEL"),
    (dict(BACKBONE="vgg16"), "BACKBONE"),
    (dict(BACKBONE=lambda *a, **k: None), "COMPUTE_BACKBONE_SHAPE"),
    (dict(RPN_ANCHOR_SCALES=(32, 64, 128)), "RPN_ANCHOR_SCALES"),
    (dict(MASK_SHAPE=[56, 56]), "MASK_SHAPE"),
    (dict(IMAGE_RESIZE_MODE="stretch"), "IMAGE_RESIZE_MODE"),
    (dict(IMAGES_PER_GPU=0), "IMAGES_PER_GPU"),
    (dict(ROI_POSITIVE_RATIO=1.5), "ROI_POSITIVE_RATIO"),
    (dict(DETECTION_MIN_CONFIDENCE=2), "DETECTION_MIN_CONFIDENCE"),
    (dict(BBOX_STD_DEV=np.array([0.1, 0.1, 0.2])), "BBOX_STD_DEV"),
    (dict(TRAIN_BN="yes"), "TRAIN_BN"),
])
def test_values_that_cannot_work_raise_value_error_naming_the_attribute(overrides, attribute):
    with pytest.raises(ValueError, match=attribute):
        make(**overrides)


def test_callable_backbone_with_shape_function_is_accepted():
    config = make(BACKBONE=lambda *a, **k: None,
                  COMPUTE_BACKBONE_SHAPE=lambda shape: np.array([[shape[0] // s] * 2
                                                                 for s in (4, 8, 16, 32, 64)]))
    assert callable(config.BACKBONE)


def test_mode_checks():
    with pytest.raises(ValueError, match="NUM_CLASSES"):
        type("C", (Config,), {"NAME": "x"})().validate("inference")
    with pytest.raises(ValueError, match="training"):
        make(IMAGE_RESIZE_MODE="pad64", IMAGE_MIN_DIM=256).validate("training")
    with pytest.raises(ValueError, match="mode"):
        make().validate("serving")
    make().validate("training")
    make(IMAGE_RESIZE_MODE="none").validate("inference")
