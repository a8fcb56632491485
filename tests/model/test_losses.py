"""mrcnn.losses against hand computations in NumPy (reference section 3.5 and 3.2)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mrcnn.config import Config
from mrcnn.losses import (l2_weight_decay, mrcnn_bbox_loss_graph, mrcnn_class_loss_graph,
                          mrcnn_mask_loss_graph, rpn_bbox_loss_graph, rpn_class_loss_graph,
                          smooth_l1_loss)

RNG = np.random.default_rng(0)


def np_smooth_l1(a, b):
    d = np.abs(np.asarray(a, float) - np.asarray(b, float))
    return np.where(d < 1, 0.5 * d ** 2, d - 0.5)


def np_softmax_ce(logits, label):
    z = logits - logits.max()
    return -(z[label] - np.log(np.exp(z).sum()))


def scalar(x):
    assert x.shape == () and x.dtype == tf.float32
    return float(x.numpy())


def test_smooth_l1_elementwise():
    y_true = np.array([[0.0, 1.0, -2.0], [3.0, 0.5, 0.0]], np.float32)
    y_pred = np.array([[0.5, -1.0, -2.0], [0.0, 0.0, 0.999]], np.float32)
    out = smooth_l1_loss(y_true, y_pred).numpy()
    # hand values: d = 0.5 -> 0.125, d = 2 -> 1.5, d = 0 -> 0, d = 3 -> 2.5, d = 0.5, d = 0.999
    np.testing.assert_allclose(out, [[0.125, 1.5, 0.0], [2.5, 0.125, 0.5 * 0.999 ** 2]],
                               rtol=1e-6)
    np.testing.assert_allclose(out, np_smooth_l1(y_true, y_pred), rtol=1e-6)


# ------------------------------------------------------------------------------------------------
def test_rpn_class_loss_matches_numpy():
    match = np.array([[1, 0, -1, -1, 0], [0, 1, 1, -1, 0]], np.int32)
    logits = RNG.normal(size=(2, 5, 2)).astype(np.float32)
    logits[0, 1] = np.nan  # a neutral anchor: must not leak into the loss
    expected = np.mean([np_softmax_ce(logits[b, a], int(match[b, a] == 1))
                        for b in range(2) for a in range(5) if match[b, a] != 0])
    assert scalar(rpn_class_loss_graph(match[..., None], logits)) == pytest.approx(expected, 1e-5)
    assert scalar(rpn_class_loss_graph(match, logits)) == pytest.approx(expected, 1e-5)


def test_rpn_class_loss_empty_is_zero_with_finite_gradient():
    logits = tf.Variable(RNG.normal(size=(2, 4, 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = rpn_class_loss_graph(np.zeros((2, 4, 1), np.int32), logits)
    assert scalar(loss) == 0.0
    assert np.all(tape.gradient(loss, logits).numpy() == 0)


def np_rpn_bbox_loss(target_bbox, match, pred):
    diffs = []
    for b in range(len(match)):
        pos = np.flatnonzero(match[b] == 1)[:target_bbox.shape[1]]
        diffs.append(np_smooth_l1(target_bbox[b, :len(pos)], pred[b, pos]))
    diffs = np.concatenate(diffs)
    return diffs.mean() if diffs.size else 0.0


def test_rpn_bbox_loss_packs_rows_per_image():
    config = Config()
    match = np.array([[0, 1, -1, 1, 0, 1], [1, 0, 0, 0, -1, 0], [0, 0, -1, 0, 0, 0]], np.int32)
    target = np.zeros((3, 4, 4), np.float32)
    target[0, :3] = RNG.normal(size=(3, 4))
    target[1, :1] = RNG.normal(size=(1, 4))
    pred = RNG.normal(size=(3, 6, 4)).astype(np.float32) * 2
    expected = np_rpn_bbox_loss(target, match, pred)
    # hand check of the pairing: image 0 anchors 1, 3, 5 <-> rows 0, 1, 2; image 1 anchor 0 <-> 0
    hand = np.concatenate([np_smooth_l1(target[0, :3], pred[0, [1, 3, 5]]),
                           np_smooth_l1(target[1, :1], pred[1, [0]])]).mean()
    assert expected == pytest.approx(hand)
    got = scalar(rpn_bbox_loss_graph(config, target, match[..., None], pred))
    assert got == pytest.approx(expected, rel=1e-5)
    # rows past the positives are never used: garbage there changes nothing
    target[0, 3] = 1e6
    target[2, :] = np.nan
    assert scalar(rpn_bbox_loss_graph(config, target, match, pred)) == pytest.approx(expected, 1e-5)


def test_rpn_bbox_loss_more_positives_than_rows_and_empty():
    config = Config()
    match = np.array([[1, 1, 1, 1]], np.int32)
    target = RNG.normal(size=(1, 2, 4)).astype(np.float32)
    pred = RNG.normal(size=(1, 4, 4)).astype(np.float32)
    expected = np_smooth_l1(target[0], pred[0, :2]).mean()
    assert scalar(rpn_bbox_loss_graph(config, target, match, pred)) == pytest.approx(expected, 1e-5)
    assert scalar(rpn_bbox_loss_graph(config, np.zeros((1, 0, 4), np.float32), match, pred)) == 0
    no_pos = np.array([[0, -1, 0, -1]], np.int32)
    assert scalar(rpn_bbox_loss_graph(config, target, no_pos, pred)) == 0


# ------------------------------------------------------------------------------------------------
def np_class_loss(target, logits, active, per_image=True):
    total, weight = 0.0, 0.0
    for b in range(len(target)):
        row = active[b] if per_image else active[0]
        for t in range(target.shape[1]):
            w = row[np.argmax(logits[b, t])]
            if w:  # a RoI predicting an inactive class contributes nothing
                total += w * np_softmax_ce(logits[b, t], target[b, t])
                weight += w
    return total / weight if weight else 0.0


def test_mrcnn_class_loss_uses_each_images_active_ids():
    target = np.array([[1, 2, 0, 0], [3, 0, 1, 0]], np.int32)  # zero rows count as background
    logits = RNG.normal(size=(2, 4, 4)).astype(np.float32)
    logits[0, 0] = [0, 5, 0, 0]  # predicts class 1
    logits[1, 0] = [0, 0, 0, 5]  # predicts class 3
    logits[1, 1] = [0, 5, 0, 0]
    active = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], np.float32)
    expected = np_class_loss(target, logits, active)
    quirk = np_class_loss(target, logits, active, per_image=False)
    assert abs(expected - quirk) > 1e-3  # the data distinguishes the fix from Matterport's quirk
    got = scalar(mrcnn_class_loss_graph(target, logits, active))
    assert got == pytest.approx(expected, rel=1e-5)
    assert scalar(mrcnn_class_loss_graph(target[..., None], logits, active.astype(np.int32))) == \
        pytest.approx(expected, rel=1e-5)


def test_mrcnn_class_loss_no_active_prediction_is_zero():
    logits = np.zeros((1, 3, 3), np.float32)
    logits[..., 2] = 4.0  # every RoI predicts class 2, inactive
    loss = mrcnn_class_loss_graph(np.ones((1, 3), np.int32), logits,
                                  np.array([[1, 1, 0]], np.float32))
    assert scalar(loss) == 0.0
    # an inactive RoI with an infinite cross-entropy (overflowing logits) must not give NaN
    logits = RNG.normal(size=(2, 3, 3)).astype(np.float32)
    logits[1, 2] = [-3e38, 0.0, 3e38]
    target = np.array([[1, 0, 2], [2, 1, 0]], np.int32)
    active = np.array([[1, 1, 1], [1, 1, 0]], np.float32)
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.float32(3e38) - np.float32(-3e38))
    expected = np_class_loss(target, logits, active)
    assert np.isfinite(expected)
    assert scalar(mrcnn_class_loss_graph(target, logits, active)) == pytest.approx(expected, 1e-5)


def np_bbox_loss(target_bbox, target_ids, pred):
    rows = [np_smooth_l1(target_bbox[b, t], pred[b, t, target_ids[b, t]])
            for b in range(len(target_ids)) for t in range(target_ids.shape[1])
            if target_ids[b, t] > 0]
    return np.mean(rows) if rows else 0.0


def test_mrcnn_bbox_loss_matches_numpy():
    ids = np.array([[2, 1, 0, 0], [0, 3, 0, 0]], np.int32)
    target = RNG.normal(size=(2, 4, 4)).astype(np.float32)
    target[ids == 0] = 0
    pred = (RNG.normal(size=(2, 4, 4, 4)) * 2).astype(np.float32)
    pred[0, 2] = np.nan  # a negative RoI's prediction does not matter
    expected = np_bbox_loss(target, ids, pred)
    # by hand: the three positives use classes 2, 1, 3 of their own rows
    hand = np.concatenate([np_smooth_l1(target[0, 0], pred[0, 0, 2]),
                           np_smooth_l1(target[0, 1], pred[0, 1, 1]),
                           np_smooth_l1(target[1, 1], pred[1, 1, 3])]).mean()
    assert expected == pytest.approx(hand)
    assert scalar(mrcnn_bbox_loss_graph(target, ids, pred)) == pytest.approx(expected, rel=1e-5)
    assert scalar(mrcnn_bbox_loss_graph(target, ids[..., None], pred)) == \
        pytest.approx(expected, rel=1e-5)
    assert scalar(mrcnn_bbox_loss_graph(target, np.zeros_like(ids), pred)) == 0.0


def np_bce(t, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def test_mrcnn_mask_loss_matches_numpy():
    ids = np.array([[1, 0, 2], [0, 0, 2]], np.int32)
    target = (RNG.random((2, 3, 5, 5)) > 0.5).astype(np.float32)
    pred = RNG.random((2, 3, 5, 5, 3)).astype(np.float32)
    pred[0, 0, 0, 0, 1] = 0.0  # exact 0 and 1 are clipped with Keras' epsilon, not log(0)
    pred[0, 0, 0, 1, 1] = 1.0
    target[0, 0, 0, 0], target[0, 0, 0, 1] = 1.0, 0.0
    pred[0, 1] = np.nan  # a negative RoI
    pixels = [np_bce(target[b, t], pred[b, t, :, :, ids[b, t]])
              for b in range(2) for t in range(3) if ids[b, t] > 0]
    expected = np.mean(pixels)
    got = scalar(mrcnn_mask_loss_graph(target, ids, pred))
    assert np.isfinite(got) and got == pytest.approx(expected, rel=1e-5)
    assert -np.log(np.float32(1e-7)) < 17  # the clipped terms are bounded
    assert scalar(mrcnn_mask_loss_graph(target, np.zeros_like(ids), pred)) == 0.0


def test_losses_in_tf_function_with_dynamic_batch_and_finite_gradients():
    spec = tf.TensorSpec

    @tf.function(input_signature=[spec([None, None, 4]), spec([None, None], tf.int32),
                                  spec([None, None, None, 4]), spec([None, None, 5, 5]),
                                  spec([None, None, 5, 5, None])], autograph=False)
    def both(target_bbox, ids, pred_bbox, target_masks, pred_logits):
        with tf.GradientTape() as tape:
            tape.watch([pred_bbox, pred_logits])
            loss = (mrcnn_bbox_loss_graph(target_bbox, ids, pred_bbox)
                    + mrcnn_mask_loss_graph(target_masks, ids, tf.sigmoid(pred_logits)))
        return loss, tape.gradient(loss, [pred_bbox, pred_logits])

    ids = np.zeros((3, 2), np.int32)  # nothing positive
    loss, grads = both(np.zeros((3, 2, 4), np.float32), ids, np.zeros((3, 2, 4, 4), np.float32),
                       np.zeros((3, 2, 5, 5), np.float32), np.zeros((3, 2, 5, 5, 4), np.float32))
    assert float(loss) == 0.0 and all(np.all(g.numpy() == 0) for g in grads)
    ids[1, 0] = 2
    pred_bbox = RNG.normal(size=(3, 2, 4, 4)).astype(np.float32)
    target_bbox = RNG.normal(size=(3, 2, 4)).astype(np.float32)
    target_masks = (RNG.random((3, 2, 5, 5)) > 0.5).astype(np.float32)
    logits = RNG.normal(size=(3, 2, 5, 5, 4)).astype(np.float32)
    loss, grads = both(target_bbox, ids, pred_bbox, target_masks, logits)
    probs = 1 / (1 + np.exp(-logits.astype(float)))
    expected = np_bbox_loss(target_bbox, ids, pred_bbox) + np_bce(target_masks[1, 0],
                                                                  probs[1, 0, :, :, 2]).mean()
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    nonzero = np.argwhere(np.any(grads[0].numpy() != 0, axis=-1))
    np.testing.assert_array_equal(nonzero, [[1, 0, 2]])  # only the positive's class gets gradient


# ------------------------------------------------------------------------------------------------
def test_l2_weight_decay_skips_gamma_and_beta():
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, name="fc1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="fc2")(x))
    for w in model.weights:
        w.assign(RNG.normal(size=w.shape).astype(np.float32))
    decay = 0.01
    expected = sum(decay * np.mean(np.asarray(w.numpy(), float) ** 2)
                   for w in model.trainable_weights if w.name not in ("gamma", "beta"))
    assert len(model.trainable_weights) == 6  # 2 kernels, 2 biases, gamma, beta
    got = scalar(l2_weight_decay(model.trainable_weights, decay))
    assert got == pytest.approx(expected, rel=1e-5)
    everything = sum(decay * np.mean(np.asarray(w.numpy(), float) ** 2)
                     for w in model.trainable_weights)
    assert abs(got - everything) > 1e-6
    assert scalar(l2_weight_decay([], decay)) == 0.0
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]], name="res2a_branch2a/kernel")
    g = tf.Variable([5.0], name="bn2a/gamma")
    assert scalar(l2_weight_decay([v, g], 0.5)) == pytest.approx(0.5 * 30 / 4)


def test_rpn_and_class_losses_in_tf_function_with_dynamic_shapes():
    spec = tf.TensorSpec

    @tf.function(input_signature=[spec([None, None, 1], tf.int32), spec([None, None, 2]),
                                  spec([None, None, 4]), spec([None, None, 4]),
                                  spec([None, None], tf.int32), spec([None, None, None]),
                                  spec([None, None])], autograph=False)
    def losses(match, rpn_logits, rpn_target, rpn_pred, ids, logits, active):
        return (rpn_class_loss_graph(match, rpn_logits),
                rpn_bbox_loss_graph(None, rpn_target, match, rpn_pred),
                mrcnn_class_loss_graph(ids, logits, active))

    match = RNG.integers(-1, 2, size=(3, 7, 1)).astype(np.int32)
    rpn_logits = RNG.normal(size=(3, 7, 2)).astype(np.float32)
    rpn_target = RNG.normal(size=(3, 5, 4)).astype(np.float32)
    rpn_pred = RNG.normal(size=(3, 7, 4)).astype(np.float32)
    ids = RNG.integers(0, 3, size=(3, 4)).astype(np.int32)
    logits = RNG.normal(size=(3, 4, 3)).astype(np.float32)
    active = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 0]], np.float32)
    got = [float(x) for x in losses(match, rpn_logits, rpn_target, rpn_pred, ids, logits, active)]
    m = match[..., 0]
    expected = [np.mean([np_softmax_ce(rpn_logits[b, a], int(m[b, a] == 1))
                         for b in range(3) for a in range(7) if m[b, a] != 0]),
                np_rpn_bbox_loss(rpn_target, m, rpn_pred),
                np_class_loss(ids, logits, active)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
