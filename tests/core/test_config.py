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


# ------------------------------------------------------------------------------------------------
# Types and ranges of the numeric attributes
@pytest.mark.parametrize("overrides, message", [
    (dict(IMAGE_MAX_DIM="512"), r"IMAGE_MAX_DIM = '512': must be an integer >= 1, not a str"),
    (dict(DETECTION_MIN_CONFIDENCE="0.5"),
     r"DETECTION_MIN_CONFIDENCE = '0.5': must be a number in \[0, 1\], not a str"),
    (dict(LEARNING_RATE=-0.01), r"LEARNING_RATE = -0.01: must be a number > 0"),
    (dict(STEPS_PER_EPOCH=0), r"STEPS_PER_EPOCH = 0: must be an integer >= 1"),
    (dict(LEARNING_MOMENTUM=5), r"LEARNING_MOMENTUM = 5: must be a number in \[0, 1\)"),
    (dict(LEARNING_MOMENTUM=1.0), r"LEARNING_MOMENTUM"),
    (dict(GRADIENT_CLIP_NORM=-1), r"GRADIENT_CLIP_NORM = -1: must be None or a number > 0"),
    (dict(VALIDATION_STEPS=2.0), r"VALIDATION_STEPS = 2.0: must be an integer >= 1, not a float"),
    (dict(IMAGES_PER_GPU=True), r"IMAGES_PER_GPU = True: .*not a bool"),
    (dict(DETECTION_NMS_THRESHOLD=np.bool_(True)), r"DETECTION_NMS_THRESHOLD"),
    (dict(LEARNING_RATE=float("nan")), r"LEARNING_RATE = nan"),
    (dict(WEIGHT_DECAY=float("inf")), r"WEIGHT_DECAY = inf"),
    (dict(WEIGHT_DECAY=-1e-4), r"WEIGHT_DECAY"),
    (dict(IMAGE_MIN_DIM=-64), r"IMAGE_MIN_DIM = -64: must be None or an integer >= 0"),
    (dict(IMAGE_MIN_SCALE="2"), r"IMAGE_MIN_SCALE"),
    (dict(BACKBONE_STRIDES=[4, 8, 16, 32, "64"]), r"BACKBONE_STRIDES\[4\] = '64'"),
    (dict(BACKBONE_STRIDES=64), r"BACKBONE_STRIDES = 64: must be a list"),
    (dict(RPN_ANCHOR_RATIOS=[0.5, -1, 2]), r"RPN_ANCHOR_RATIOS\[1\] = -1: must be a number > 0"),
    (dict(RPN_ANCHOR_SCALES=(32, 64, 0, 256, 512)), r"RPN_ANCHOR_SCALES\[2\]"),
    (dict(MEAN_PIXEL=np.array([123.7, np.nan, 103.9])), r"MEAN_PIXEL\[1\] = nan"),
    (dict(MINI_MASK_SHAPE=(56, 0)), r"MINI_MASK_SHAPE\[1\]"),
    (dict(MASK_SHAPE=[28, 28.5]), r"MASK_SHAPE\[1\]"),
    (dict(RPN_BBOX_STD_DEV=np.array([0.1, 0.1, 0.2, 0.0])), r"RPN_BBOX_STD_DEV\[3\]"),
    (dict(LOSS_WEIGHTS={**Config.LOSS_WEIGHTS, "mrcnn_mask_loss": -1.0}),
     r"LOSS_WEIGHTS\['mrcnn_mask_loss'\] = -1.0: must be a number >= 0"),
    (dict(LOSS_WEIGHTS={**Config.LOSS_WEIGHTS, "mrcnn_mask_los": 2.0}), r"unknown loss names"),
    (dict(USE_MINI_MASK="yes"), r"USE_MINI_MASK = 'yes': must be True or False"),
    (dict(USE_RPN_ROIS=1), r"USE_RPN_ROIS"),
])
def test_numeric_attributes_have_a_type_and_range(overrides, message):
    with pytest.raises(ValueError, match=message):
        make(**overrides)


def test_every_numeric_attribute_has_a_rule_and_refuses_a_string():
    from mrcnn.config import NUMERIC_RULES

    def numeric(value):
        if isinstance(value, (bool, np.bool_, str)):
            return False
        if isinstance(value, (int, float, np.number)):
            return True
        return isinstance(value, (list, tuple, np.ndarray)) and all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value)

    attributes = {name for name, value in vars(Config).items()
                  if name.isupper() and numeric(value)}
    assert attributes <= set(NUMERIC_RULES), attributes - set(NUMERIC_RULES)
    assert {"IMAGE_MIN_DIM", "GRADIENT_CLIP_NORM", "LEARNING_RATE"} <= attributes
    for name in NUMERIC_RULES:
        with pytest.raises(ValueError, match=name):
            make(**{name: "1"})


def test_numpy_numbers_and_documented_none_values_are_accepted():
    config = make(IMAGE_MAX_DIM=np.int64(512), IMAGE_MIN_DIM=np.int32(256),
                  DETECTION_MIN_CONFIDENCE=np.float32(0.5), LEARNING_RATE=np.float64(1e-3),
                  LEARNING_MOMENTUM=0, GRADIENT_CLIP_NORM=None, IMAGE_MIN_SCALE=None,
                  MEAN_PIXEL=(120, 115.5, np.float32(100)), BACKBONE_STRIDES=np.array(
                      [4, 8, 16, 32, 64]), USE_MINI_MASK=np.bool_(False),
                  LOSS_WEIGHTS={**Config.LOSS_WEIGHTS, "rpn_class_loss": np.float32(0.5)})
    config.validate("training")
    np.testing.assert_array_equal(config.IMAGE_SHAPE, [512, 512, 3])
    make(IMAGE_MIN_DIM=0, DETECTION_MIN_CONFIDENCE=0, IMAGE_MIN_SCALE=2).validate("inference")


def test_validate_checks_values_changed_on_the_instance():
    config = make()
    config.LEARNING_RATE = -0.01
    with pytest.raises(ValueError, match="LEARNING_RATE = -0.01"):
        config.validate("training")
    config = make()
    config.DETECTION_MIN_CONFIDENCE = "0.5"
    with pytest.raises(ValueError, match="DETECTION_MIN_CONFIDENCE"):
        config.validate("inference")


def test_config_json_round_trip(tmp_path):
    """Config.to_json_dict / from_dict / write_json / read_json (mrcnn train's config.json)."""
    from mrcnn.config import Config

    class Custom(Config):
        NAME = "custom"
        NUM_CLASSES = 3
        CLASS_NAMES = ["BG", "a", "b"]
        IMAGE_MIN_DIM = IMAGE_MAX_DIM = 256
        RPN_ANCHOR_SCALES = (16, 32, 64, 128, 256)

    config = Custom()
    path = tmp_path / "config.json"
    config.write_json(path)
    loaded = Config.read_json(path)
    assert type(loaded).__name__ == "customConfig"
    before, after = config.to_dict(), loaded.to_dict()
    assert sorted(before) == sorted(after)
    for key, value in before.items():
        np.testing.assert_array_equal(np.asarray(after[key], dtype=object)
                                      if isinstance(value, dict) else after[key],
                                      np.asarray(value, dtype=object)
                                      if isinstance(value, dict) else value, err_msg=key)
    assert isinstance(loaded.MEAN_PIXEL, np.ndarray) and loaded.CLASS_NAMES == ["BG", "a", "b"]
    path.write_text('{"NUM_CLASSES": "3"}')
    with pytest.raises(ValueError, match="config.json.*NUM_CLASSES"):
        Config.read_json(path)
    with pytest.raises(ValueError, match="not a configuration attribute"):
        Config.from_dict({"num_classes": 3})

    class Callable(Custom):
        BACKBONE = staticmethod(lambda *a, **k: None)
        COMPUTE_BACKBONE_SHAPE = staticmethod(lambda shape: None)

    with pytest.raises(ValueError, match="callable"):
        Callable().to_json_dict()
