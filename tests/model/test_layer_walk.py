"""mrcnn.layer_walk: one walk over nested Keras models, and the library parts that use it
(weight names of a nested model, copying weights by name for the evaluation callback)."""

import keras
import numpy as np
import pytest

import mrcnn.model as modellib
from mrcnn import weights as W
from mrcnn.config import Config
from mrcnn.evaluation import _copy_weights_by_name, _layers_by_name
from mrcnn.layer_walk import is_nested_model, iter_layers, iter_weighted_layers, walk_layers
from mrcnn.visualize import _layer_of_weights

L = keras.layers


def randomized(model, seed):
    rng = np.random.default_rng(seed)
    for var in model.weights:
        var.assign(rng.normal(size=tuple(var.shape)).astype("float32"))
    return model


def two_level_model(seed=0):
    """outer_conv -> mid (inner (deep_conv) -> mid_conv) -> pool -> head; weights random."""
    deep_in = keras.Input((None, None, 4), name="deep_in")
    inner = keras.Model(deep_in, L.Conv2D(4, 1, name="deep_conv")(deep_in), name="inner")
    mid_in = keras.Input((None, None, 4), name="mid_in")
    mid_out = L.Conv2D(3, 1, name="mid_conv")(inner(mid_in))
    mid = keras.Model(mid_in, mid_out, name="mid")
    inp = keras.Input((6, 6, 2), name="input_image")
    x = L.Conv2D(4, 3, padding="same", name="outer_conv")(inp)
    x = L.GlobalAveragePooling2D(name="pool")(mid(x))
    return randomized(keras.Model(inp, L.Dense(2, name="head")(x), name="outer"), seed)


def test_walk_is_depth_first_in_layer_order_with_depths():
    model = two_level_model()
    walked = [(layer.name, depth) for layer, depth in walk_layers(model)]
    assert walked == [
        ("input_image", 0), ("outer_conv", 0),
        ("mid", 0), ("mid_in", 1), ("inner", 1), ("deep_in", 2), ("deep_conv", 2),
        ("mid_conv", 1),
        ("pool", 0), ("head", 0),
    ]
    assert [layer.name for layer in iter_layers(model)] == [name for name, _ in walked]
    assert [is_nested_model(layer) for layer in iter_layers(model)].count(True) == 2


def test_expand_keeps_a_nested_model_closed():
    model = two_level_model()
    names = [layer.name for layer in iter_layers(model, expand=lambda m: m.name != "inner")]
    assert names == ["input_image", "outer_conv", "mid", "mid_in", "inner", "mid_conv", "pool",
                     "head"]
    assert [layer.name for layer in iter_layers(model, expand=lambda m: False)] == [
        layer.name for layer in model.layers]


def test_weighted_layers_are_the_leaves_that_own_every_weight_once():
    model = two_level_model()
    leaves = list(iter_weighted_layers(model))
    assert [layer.name for layer in leaves] == ["outer_conv", "deep_conv", "mid_conv", "head"]
    owned = [id(w) for layer in leaves for w in layer.weights]
    assert sorted(owned) == sorted(id(w) for w in model.weights)
    owners = _layer_of_weights(model)
    assert owners[id(model.get_layer("mid").get_layer("mid_conv").kernel)].name == "mid_conv"


def test_a_model_wrapper_or_other_object_is_refused_naming_the_fix():
    class Wrapper:
        keras_model = two_level_model()

    with pytest.raises(TypeError, match="keras_model"):
        list(walk_layers(Wrapper()))


def test_nested_model_weight_names_come_from_their_leaf_layers(tmp_path):
    model = two_level_model()
    assert W._variable_names(model.get_layer("mid")) == [
        "deep_conv/kernel:0", "deep_conv/bias:0", "mid_conv/kernel:0", "mid_conv/bias:0"]
    assert W._variable_names(model.get_layer("head")) == ["head/kernel:0", "head/bias:0"]
    path = tmp_path / "two_level.h5"
    W.save_weights(model, path)
    other = two_level_model(seed=1)
    report = W.load_weights(other, path, by_name=True)
    assert report.loaded == ["outer_conv", "mid", "head"]
    for a, b in zip(model.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def flat_model(seed):
    """The leaves of two_level_model without the nested models (same layer names)."""
    inp = keras.Input((6, 6, 2), name="input_image")
    x = L.Conv2D(4, 3, padding="same", name="outer_conv")(inp)
    x = L.Conv2D(4, 1, name="deep_conv")(x)
    x = L.Conv2D(3, 1, name="mid_conv")(x)
    x = L.GlobalAveragePooling2D(name="pool")(x)
    return randomized(keras.Model(inp, L.Dense(2, name="head")(x), name="flat"), seed)


def test_copy_by_name_opens_a_nested_model_only_when_the_source_lacks_it():
    source, target = two_level_model(seed=1), two_level_model(seed=2)
    assert set(_layers_by_name(source)) >= {"mid", "inner", "deep_conv", "mid_conv", "head"}
    assert _copy_weights_by_name(source, target) == 3  # outer_conv, mid (whole), head
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    flat, nested = flat_model(seed=3), two_level_model(seed=4)
    assert _copy_weights_by_name(flat, nested) == 4  # mid and inner opened: leaf by leaf
    for name in ("outer_conv", "deep_conv", "mid_conv", "head"):
        want = flat.get_layer(name).get_weights()
        got = _layers_by_name(nested)[name].get_weights()
        for a, b in zip(want, got):
            np.testing.assert_array_equal(a, b)

    with pytest.raises(ValueError, match="not in the trained model"):
        _copy_weights_by_name(flat, keras.Sequential([keras.Input((3,)), L.Dense(1, name="x")]))


class TinyConfig(Config):
    NAME = "walk"
    NUM_CLASSES = 1 + 2
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 1
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 64
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    POST_NMS_ROIS_INFERENCE = 50
    DETECTION_MAX_INSTANCES = 10


def test_mask_rcnn_rpn_model_is_walked(tmp_path):
    model = modellib.MaskRCNN("inference", TinyConfig(), str(tmp_path)).keras_model
    depth = {layer.name: d for layer, d in walk_layers(model)}
    assert depth["rpn_model"] == 0
    assert {name: depth[name] for name in ("rpn_conv_shared", "rpn_class_raw", "rpn_bbox_pred")} \
        == {"rpn_conv_shared": 1, "rpn_class_raw": 1, "rpn_bbox_pred": 1}
    leaves = list(iter_weighted_layers(model))
    assert not any(is_nested_model(layer) for layer in leaves)
    owned = [id(w) for layer in leaves for w in layer.weights]
    assert len(owned) == len(set(owned))
    assert sorted(owned) == sorted(id(w) for w in model.weights)
    rpn_names = W._variable_names(model.get_layer("rpn_model"))
    assert rpn_names == ["rpn_conv_shared/kernel:0", "rpn_conv_shared/bias:0",
                         "rpn_class_raw/kernel:0", "rpn_class_raw/bias:0",
                         "rpn_bbox_pred/kernel:0", "rpn_bbox_pred/bias:0"]
