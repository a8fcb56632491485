"""The gradient of RoIAlign with respect to the feature maps (mrcnn.ops.spatial_transform_ops).

TensorFlow's CPU kernel for it loses additions where boxes overlap (threads add into the same
pixels unsynchronised), so mrcnn computes the bilinear adjoint itself. These tests check it
against the definition of an adjoint, against TensorFlow's kernel run one box at a time (where
no two threads share a pixel), and for bitwise repeatability."""

import numpy as np
import pytest
import tensorflow as tf

from mrcnn.ops import spatial_transform_ops as sto


def case(seed, batch, height, width, channels, boxes, crop):
    rng = np.random.default_rng(seed)
    image = tf.constant(rng.standard_normal((batch, height, width, channels)), tf.float32)
    y1x1 = rng.uniform(-0.25, 0.95, (boxes, 2))  # some boxes reach outside the image
    size = rng.uniform(0.0, 0.6, (boxes, 2))
    box = tf.constant(np.concatenate([y1x1, y1x1 + size], 1), tf.float32)
    index = tf.constant(rng.integers(0, batch, boxes), tf.int32)
    upstream = tf.constant(rng.standard_normal((boxes,) + crop + (channels,)), tf.float32)
    return image, box, index, upstream


def gradient(image, boxes, index, upstream, crop):
    with tf.GradientTape() as tape:
        tape.watch(image)
        crops = sto.crop_and_resize(image, boxes, index, crop)
    return crops, tape.gradient(crops, image, output_gradients=upstream)


SHAPES = [(0, 2, 24, 30, 16, 120, (14, 14)), (1, 1, 9, 7, 4, 40, (7, 7)),
          (2, 3, 5, 6, 3, 25, (1, 4))]


@pytest.mark.parametrize("seed, batch, height, width, channels, boxes, crop", SHAPES)
def test_gradient_is_the_adjoint_of_the_crops(seed, batch, height, width, channels, boxes, crop):
    image, box, index, upstream = case(seed, batch, height, width, channels, boxes, crop)
    crops, grad = gradient(image, box, index, upstream, crop)
    # The forward pass is TensorFlow's own op, bit for bit.
    native = tf.image.crop_and_resize(image, box, index, crop, method="bilinear")
    np.testing.assert_array_equal(crops.numpy(), native.numpy())
    # crop_and_resize is linear in the image: <upstream, A x> == <A^T upstream, x> for any x.
    probe = np.random.default_rng(seed + 10).standard_normal(image.shape)
    a_probe = tf.image.crop_and_resize(tf.constant(probe, tf.float32), box, index, crop).numpy()
    lhs = np.sum(upstream.numpy().astype(np.float64) * a_probe)
    rhs = np.sum(grad.numpy().astype(np.float64) * probe)
    assert abs(lhs - rhs) <= 1e-5 * np.sum(np.abs(upstream.numpy()) * np.abs(a_probe))


@pytest.mark.parametrize("seed, batch, height, width, channels, boxes, crop", SHAPES)
def test_gradient_equals_tensorflows_kernel_run_one_box_at_a_time(
        seed, batch, height, width, channels, boxes, crop):
    image, box, index, upstream = case(seed, batch, height, width, channels, boxes, crop)
    _, grad = gradient(image, box, index, upstream, crop)
    expected = np.zeros(image.shape, np.float64)
    for k in range(boxes):
        expected += tf.raw_ops.CropAndResizeGradImage(
            grads=upstream[k:k + 1], boxes=box[k:k + 1], box_ind=index[k:k + 1],
            image_size=image.shape, T=tf.float32).numpy()
    scale = np.abs(expected).max()
    assert np.abs(grad.numpy() - expected).max() <= 1e-6 * scale
    assert np.abs(expected).sum() > 0


def test_gradient_is_bitwise_repeatable_where_many_boxes_overlap():
    # 300 boxes over the same corner of a 32x32 map: where TensorFlow's CPU kernel loses updates.
    image, _, index, upstream = case(3, 1, 32, 32, 64, 300, (14, 14))
    rng = np.random.default_rng(3)
    y1x1 = rng.uniform(0.0, 0.3, (300, 2))
    box = tf.constant(np.concatenate([y1x1, y1x1 + rng.uniform(0.0, 0.2, (300, 2))], 1),
                      tf.float32)
    step = tf.function(lambda: gradient(image, box, index, upstream, (14, 14))[1])
    first = step().numpy()
    for _ in range(10):
        np.testing.assert_array_equal(step().numpy(), first)
    # Every bilinear weight of an in-image sample adds up to 1, so the gradient's total is the
    # total of the upstream gradient over the samples that fall inside the image (all here).
    np.testing.assert_allclose(first.astype(np.float64).sum((0, 1, 2)),
                               upstream.numpy().astype(np.float64).sum((0, 1, 2)), atol=2e-3)


def test_float16_feature_maps_get_a_float16_gradient():
    # (crop_and_resize takes no bfloat16; the model casts such maps to float32 first.)
    image, box, index, upstream = case(4, 1, 12, 12, 8, 10, (7, 7))
    image16 = tf.cast(image, tf.float16)
    crops, grad = gradient(image16, box, index, upstream, (7, 7))
    assert crops.dtype == tf.float32 and grad.dtype == tf.float16
    _, grad32 = gradient(image, box, index, upstream, (7, 7))
    np.testing.assert_allclose(tf.cast(grad, tf.float32).numpy(), grad32.numpy(), rtol=1e-2,
                               atol=1e-2)
