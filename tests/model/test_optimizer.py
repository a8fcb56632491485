"""mrcnn.optimizer: the training SGD gives Keras 3's SGD values bit for bit in fewer graph ops."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mrcnn import optimizer
from mrcnn.model import MaskRCNN
from tests.conftest import SmallConfig


def tensors(seed):
    """Gradient-like tensors whose norms lie below, at and above a clip norm of 5, one all
    zeros (the sqrt guard), of the shapes a conv, bias, dense and scalar variable have."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 3, 16, 8), (8,), (40, 12), (), (1, 1, 64, 256), (5,)]
    scales = [0.01, 0.5, 3.0, 2.0, 0.2, 0.0]
    return [tf.constant(rng.standard_normal(s) * k, tf.float32) for s, k in zip(shapes, scales)]


def test_clip_by_norm_each_equals_tf_clip_by_norm_bitwise():
    values = tensors(0) + [None, tf.constant([3.0, 4.0, 12.0], tf.float16)]
    norms = [float(tf.norm(tf.cast(t, tf.float32))) for t in values if t is not None]
    assert min(norms) == 0.0 and any(n < 5 for n in norms) and any(n > 5 for n in norms)
    got = optimizer.clip_by_norm_each(values, 5.0)
    graph_got = tf.function(lambda: optimizer.clip_by_norm_each(values, 5.0))()
    for t, g, h in zip(values, got, graph_got):
        if t is None:
            assert g is None and h is None
            continue
        want = tf.clip_by_norm(t, 5.0).numpy()
        assert g.dtype == t.dtype and g.shape == t.shape
        np.testing.assert_array_equal(g.numpy(), want)
        np.testing.assert_array_equal(h.numpy(), want)
        if float(tf.norm(tf.cast(t, tf.float32))) > 5:
            assert abs(float(tf.norm(tf.cast(g, tf.float32))) - 5.0) < 1e-2


def test_clip_by_norm_each_clips_indexed_slices_as_tf_does():
    slices = tf.IndexedSlices(tf.constant([[30.0, 40.0], [0.0, 1.0]]), tf.constant([0, 3]),
                              tf.constant([5, 2]))
    (got,) = optimizer.clip_by_norm_each([slices], 5.0)
    want = tf.clip_by_norm(slices, 5.0)
    assert isinstance(got, tf.IndexedSlices)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), [0, 3])


def run(opt_class, momentum, nesterov, clipnorm, steps=4):
    """``steps`` updates of tensors(1)-shaped variables by ``opt_class`` inside a tf.function,
    with gradients that differ every step; returns the variables and the momentum slots."""
    variables = [keras.Variable(np.full(t.shape, 0.3, np.float32) + t.numpy())
                 for t in tensors(1)]
    opt = opt_class(learning_rate=0.02, momentum=momentum, nesterov=nesterov, clipnorm=clipnorm)
    opt.build(variables)

    @tf.function
    def step(k):
        grads = [t * tf.cast(k + 1, tf.float32) for t in tensors(2)]
        opt.apply(grads, variables)

    for k in range(steps):
        step(tf.constant(k))
    slots = [v.numpy() for v in opt.variables if "momentum" in v.path]
    return [v.numpy() for v in variables], slots


@pytest.mark.parametrize("momentum, nesterov, clipnorm", [
    (0.9, False, 5.0), (0.9, True, 5.0), (0.9, False, None), (0.0, False, 5.0)])
def test_sgd_updates_equal_keras_sgd_bitwise(momentum, nesterov, clipnorm):
    ours, our_slots = run(optimizer.SGD, momentum, nesterov, clipnorm)
    keras_values, keras_slots = run(keras.optimizers.SGD, momentum, nesterov, clipnorm)
    assert len(our_slots) == len(keras_slots) == (6 if momentum else 0)
    for a, b in zip(ours + our_slots, keras_values + keras_slots):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(ours[0], tensors(1)[0].numpy() + 0.3)  # it did train


def test_sgd_serializes_and_uses_under_half_of_keras_ops():
    opt = optimizer.SGD(learning_rate=0.01, momentum=0.9, clipnorm=5.0)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is optimizer.SGD
    assert again.get_config() == opt.get_config()

    def count_ops(opt_class):
        variables = [keras.Variable(t.numpy()) for t in tensors(1)]
        opt = opt_class(learning_rate=0.01, momentum=0.9, clipnorm=5.0)
        opt.build(variables)
        graph = tf.function(lambda: opt.apply(tensors(2), variables)).get_concrete_function().graph
        return len([op for op in graph.get_operations() if op.name.startswith(opt.name)])

    ours, theirs = count_ops(optimizer.SGD), count_ops(keras.optimizers.SGD)
    assert ours * 2 <= theirs, (ours, theirs)  # 81 against 179 for these 6 tensors


class ClipConfig(SmallConfig):
    NAME = "optimizer"
    GRADIENT_CLIP_NORM = 3.0


def test_compiled_training_model_uses_it_with_the_config_values(tmp_path):
    model = MaskRCNN("training", ClipConfig(), str(tmp_path))
    model.compile(learning_rate=0.004, momentum=0.8)
    opt = model.keras_model.optimizer
    assert type(opt) is optimizer.SGD
    assert opt.clipnorm == 3.0 and opt.momentum == 0.8
    assert np.isclose(float(opt.learning_rate), 0.004)
