"""Which weights train: set_trainable's layer groups (reaching into rpn_model) and TRAIN_BN=False
meaning frozen BatchNorm statistics while gamma and beta still train."""

import keras
import numpy as np
import pytest

import mrcnn.model as modellib
from mrcnn.config import Config
from mrcnn.layers import BatchNorm


class Small(Config):
    NAME = "small"
    NUM_CLASSES = 3
    BACKBONE = "resnet50"
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128
    IMAGES_PER_GPU = 1


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return modellib.MaskRCNN("training", Small(), str(tmp_path_factory.mktemp("logs")))


def trainable(model, name):
    return model.keras_model.get_layer(name).trainable


@pytest.mark.parametrize("layers, on, off", [
    ("heads", ["mrcnn_class_conv1", "mrcnn_mask", "fpn_c5p5", "rpn_model"],
     ["conv1", "res2a_branch2a", "res4a_branch2a", "res5c_branch2c", "bn5a_branch1"]),
    ("4+", ["res4a_branch2a", "bn4f_branch2c", "res5a_branch1", "mrcnn_bbox_fc"],
     ["res3d_branch2c", "bn3a_branch1", "conv1"]),
    ("3+", ["res3a_branch2a", "res5c_branch2b"], ["res2c_branch2a", "bn_conv1"]),
    ("all", ["conv1", "bn_conv1", "res2a_branch2a", "mrcnn_mask_deconv"], []),
])
def test_layer_groups(model, layers, on, off, capsys):
    model.set_trainable(modellib.training.LAYER_REGEX[layers])
    printed = capsys.readouterr().out
    assert "In model: rpn_model" in printed
    for name in on:
        assert trainable(model, name), name
    for name in off:
        assert not trainable(model, name), name
    rpn = model.keras_model.get_layer("rpn_model")
    inner = {layer.name: layer.trainable for layer in rpn.layers if layer.weights}
    assert set(inner) == {"rpn_conv_shared", "rpn_class_raw", "rpn_bbox_pred"}
    assert all(inner.values())  # every group includes rpn_.*


def test_regex_reaches_inside_rpn_model(model):
    model.set_trainable(r"rpn\_class\_raw", verbose=0)
    rpn = model.keras_model.get_layer("rpn_model")
    assert rpn.get_layer("rpn_class_raw").trainable
    assert not rpn.get_layer("rpn_conv_shared").trainable
    assert not trainable(model, "mrcnn_class_logits")


def fit_one_step(train_bn, layer_trainable=True):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 3))
    bn = BatchNorm(name="bn", train_bn=train_bn)
    outputs = keras.layers.GlobalAveragePooling2D()(bn(inputs))
    net = keras.Model(inputs, outputs)
    bn.trainable = layer_trainable
    net.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).normal(5.0, 2.0, (8, 4, 4, 3)).astype(np.float32)
    before = [w.copy() for w in bn.get_weights()]
    net.fit(x, np.zeros((8, 3), np.float32), epochs=1, batch_size=8, verbose=0)
    after = bn.get_weights()
    return [not np.allclose(b, a) for b, a in zip(before, after)]


def test_train_bn_false_freezes_statistics_but_trains_gamma_and_beta():
    gamma, beta, mean, var = fit_one_step(train_bn=False)
    assert gamma and beta and not mean and not var


def test_train_bn_none_updates_statistics_in_fit():
    gamma, beta, mean, var = fit_one_step(train_bn=None)
    assert gamma and beta and mean and var


def test_frozen_layer_changes_nothing():
    assert not any(fit_one_step(train_bn=False, layer_trainable=False))


def test_find_trainable_layer_returns_the_layer(model):
    for layer in model.keras_model.layers:
        assert model.find_trainable_layer(layer) is layer
    assert model.get_trainable_layers() == [
        layer for layer in model.keras_model.layers if layer.weights]


def test_compile_builds_the_optimizer_slots_of_the_trainable_weights(model):
    # Built at compile time, outside fit()'s traced step: a step that creates variables is
    # traced twice by tf.function (issue 15: the first training step).
    model.set_trainable(modellib.training.LAYER_REGEX["heads"], verbose=0)
    model.compile(learning_rate=0.01, momentum=0.9)
    optimizer = model.keras_model.optimizer
    assert optimizer.built
    trainable = model.keras_model.trainable_variables
    assert len(optimizer.momentums) == len(trainable) > 0
    for slot, variable in zip(optimizer.momentums, trainable):
        assert tuple(slot.shape) == tuple(variable.shape)
