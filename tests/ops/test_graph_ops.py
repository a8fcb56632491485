"""The inference graph's maths against NumPy reference computations: anchors, deltas, RoI level
assignment, crop_and_resize alignment, proposal NMS, detection refinement."""

import math

import numpy as np
import pytest
import tensorflow as tf

from mrcnn import boxes as np_boxes
from mrcnn.anchors import compute_backbone_shapes, generate_anchors, get_anchors
from mrcnn.config import Config
from mrcnn.ops import box_ops, detection_ops, proposal_ops, spatial_transform_ops


class CocoLike(Config):
    NAME = "coco"
    NUM_CLASSES = 81


def random_boxes(rng, n, size=1.0, min_side=0.01):
    y1 = rng.uniform(0, size * 0.8, n)
    x1 = rng.uniform(0, size * 0.8, n)
    h = rng.uniform(min_side, size * 0.5, n)
    w = rng.uniform(min_side, size * 0.5, n)
    return np.stack([y1, x1, y1 + h, x1 + w], axis=1).astype(np.float32)


# ----------------------------------------------------------------------------- anchors
def test_anchors_match_brute_force_order_and_values():
    scale, ratios, shape, stride = 32, [0.5, 1, 2], (5, 7), 4
    got = generate_anchors(scale, ratios, shape, stride, 1)
    expected = []
    for i in range(shape[0]):
        for j in range(shape[1]):
            for r in ratios:
                h, w = scale / math.sqrt(r), scale * math.sqrt(r)
                cy, cx = i * stride, j * stride
                expected.append([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2])
    np.testing.assert_allclose(got, np.array(expected), rtol=0, atol=1e-9)


def test_anchor_stride_two_skips_cells():
    got = generate_anchors(16, [1], (6, 6), 8, 2)
    centres = (got[:, :2] + got[:, 2:]) / 2
    assert len(got) == 9
    np.testing.assert_array_equal(np.unique(centres[:, 0]), [0, 16, 32])


def test_pyramid_anchor_count_and_normalization_for_coco():
    config = CocoLike()
    shapes = compute_backbone_shapes(config, (1024, 1024))
    np.testing.assert_array_equal(shapes, [[256, 256], [128, 128], [64, 64], [32, 32], [16, 16]])
    pixel = get_anchors(config, (1024, 1024), normalized=False)
    norm = get_anchors(config, (1024, 1024))
    assert pixel.shape == norm.shape == (261888, 4)
    # Levels come in order P2..P6: the last anchors are the 512-pixel ones.
    last_h = pixel[-2, 2] - pixel[-2, 0]
    assert last_h == pytest.approx(512, rel=1e-5)
    np.testing.assert_allclose(norm, np_boxes.norm_boxes(pixel, (1024, 1024)), atol=1e-6)


# ----------------------------------------------------------------------------- boxes
def test_apply_box_deltas_matches_numpy_and_clamps():
    rng = np.random.default_rng(0)
    boxes = random_boxes(rng, 50, size=100.0, min_side=1.0)
    deltas = rng.normal(0, 0.5, (50, 4)).astype(np.float32)
    got = box_ops.apply_box_deltas(tf.constant(boxes), tf.constant(deltas)).numpy()
    np.testing.assert_allclose(got, np_boxes.apply_box_deltas(boxes, deltas), rtol=1e-5,
                               atol=1e-3)
    # A huge log-scale delta is clamped instead of overflowing to inf.
    huge = np.array([[0, 0, 200.0, 200.0]], np.float32)
    out = box_ops.apply_box_deltas(tf.constant([[0, 0, 10.0, 10.0]]), tf.constant(huge)).numpy()
    assert np.all(np.isfinite(out))
    assert out[0, 2] - out[0, 0] == pytest.approx(10 * 1000 / 16, rel=1e-4)


def test_box_refinement_inverts_apply_box_deltas():
    rng = np.random.default_rng(1)
    boxes = random_boxes(rng, 30)
    gt = random_boxes(rng, 30)
    deltas = box_ops.box_refinement(tf.constant(boxes), tf.constant(gt))
    np.testing.assert_allclose(deltas.numpy(), np_boxes.box_refinement(boxes, gt), rtol=1e-4,
                               atol=1e-5)
    back = box_ops.apply_box_deltas(tf.constant(boxes), deltas).numpy()
    np.testing.assert_allclose(back, gt, atol=1e-5)


def test_box_coder_matches_its_numpy_twin():
    rng = np.random.default_rng(11)
    std = [0.1, 0.1, 0.2, 0.2]
    for size, min_side in ((1.0, 0.01), (1024.0, 4.0)):  # normalized and pixel boxes
        boxes = random_boxes(rng, 40, size, min_side)
        targets = random_boxes(rng, 40, size, min_side)
        coder, twin = box_ops.BoxCoder(std), np_boxes.BoxCoder(std)
        deltas = coder.encode(tf.constant(boxes), tf.constant(targets)).numpy()
        assert deltas.dtype == np.float32
        np.testing.assert_allclose(deltas, twin.encode(boxes, targets), rtol=1e-5, atol=1e-5)
        # Twice the std-dev halves the deltas (the std-dev is a per-coordinate divisor).
        np.testing.assert_allclose(box_ops.BoxCoder(np.multiply(std, 2)).encode(
            tf.constant(boxes), tf.constant(targets)).numpy(), deltas / 2, rtol=1e-6, atol=1e-7)
        predicted = rng.normal(0, 2, (40, 4)).astype(np.float32)
        got = coder.decode(tf.constant(boxes), tf.constant(predicted)).numpy()
        np.testing.assert_allclose(got, twin.decode(boxes, predicted), rtol=1e-5,
                                   atol=1e-5 * size)
        back = coder.decode(tf.constant(boxes), tf.constant(deltas)).numpy()
        np.testing.assert_allclose(back, targets, atol=1e-5 * size)
    # Leading axes broadcast, as in the batched graph.
    batched = coder.decode(tf.constant(boxes[None]), tf.constant(predicted[None])).numpy()
    np.testing.assert_array_equal(batched[0], coder.decode(tf.constant(boxes),
                                                           tf.constant(predicted)).numpy())
    with pytest.raises(ValueError, match="std_dev must be 4 positive"):
        box_ops.BoxCoder([0.1, 0.1, 0.2])


def test_box_coder_default_clamp_decodes_as_unclamped_matterport():
    """The default clamp acts only where Matterport's exp would give an unusable box: deltas up
    to dh = 20 decode exactly as unclamped, dh = 1e4 gives a finite box, the window once
    clipped (normalized and pixel boxes)."""
    rng = np.random.default_rng(12)
    std = np.array([0.1, 0.1, 0.2, 0.2], np.float32)
    coder = box_ops.BoxCoder(std)
    for size, window in ((1.0, [0.0, 0.0, 1.0, 1.0]), (1024.0, [0.0, 0.0, 1024.0, 1024.0])):
        boxes = random_boxes(rng, 64, size, 0.01 * size)
        deltas = rng.normal(0, 1, (64, 4)).astype(np.float32)
        deltas[:, 2:] = rng.uniform(-5, 20, (64, 2)) / std[2:]  # scaled dh, dw up to 20
        deltas[0, 2:] = 20 / std[2:]
        got = coder.decode(tf.constant(boxes), tf.constant(deltas)).numpy()
        reference = box_ops.apply_box_deltas(tf.constant(boxes), tf.constant(deltas) * std,
                                             log_scale_clip=None).numpy()
        np.testing.assert_array_equal(got, reference)
        growth = (got[:, 2] - got[:, 0]) / (boxes[:, 2] - boxes[:, 0])
        assert np.isfinite(got).all() and growth.max() > 1e8  # far past Detectron2's 62.5
        np.testing.assert_array_equal(np_boxes.BoxCoder(std).decode(boxes, deltas),
                                      np_boxes.apply_box_deltas(boxes, deltas * std.astype(float),
                                                                scale_clamp=None))

        huge = np.tile(np.array([[0.5, -0.5, 1e4, 1e4]], np.float32), (64, 1))
        out = coder.decode(tf.constant(boxes), tf.constant(huge))
        assert np.isfinite(out.numpy()).all()
        clipped = box_ops.clip_boxes(out, tf.constant(window)).numpy()
        np.testing.assert_array_equal(clipped, np.tile([window], (64, 1)))
        unclamped = box_ops.BoxCoder(std, scale_clamp=None).decode(tf.constant(boxes),
                                                                   tf.constant(huge)).numpy()
        assert not np.isfinite(unclamped).all()  # what Matterport's graph computes


def test_overlaps_matches_numpy_iou():
    rng = np.random.default_rng(2)
    b1, b2 = random_boxes(rng, 20, 50), random_boxes(rng, 15, 50)
    got = box_ops.overlaps(tf.constant(b1), tf.constant(b2)).numpy()
    np.testing.assert_allclose(got, np_boxes.compute_overlaps(b1, b2), atol=1e-6)


def test_clip_boxes_and_norm_round_trip():
    boxes = tf.constant([[-5.0, 3.0, 40.0, 120.0], [10.0, -1.0, 12.0, 5.0]])
    clipped = box_ops.clip_boxes(boxes, tf.constant([0.0, 0.0, 32.0, 100.0])).numpy()
    np.testing.assert_array_equal(clipped, [[0, 3, 32, 100], [10, 0, 12, 5]])
    pixel = np.array([[0, 0, 64, 64], [10, 20, 30, 50]], np.int32)
    norm = box_ops.norm_boxes(pixel, (64, 128))
    np.testing.assert_allclose(norm.numpy(), np_boxes.norm_boxes(pixel, (64, 128)), atol=1e-7)
    np.testing.assert_array_equal(box_ops.denorm_boxes(norm, (64, 128)).numpy(), pixel)


# ----------------------------------------------------------------------------- RoIAlign
def test_roi_levels_follow_fpn_equation_1():
    image = 1024
    sides = np.array([16, 100, 112, 158, 224, 317, 448, 700, 1000], np.float64)
    pixel = np.stack([np.zeros_like(sides), np.zeros_like(sides), sides, sides], 1)
    norm = np_boxes.norm_boxes(pixel, (image, image))
    got = spatial_transform_ops.roi_levels(tf.constant(norm), (image, image)).numpy()
    # Matterport's formula in normalized units.
    h = norm[:, 2] - norm[:, 0]
    w = norm[:, 3] - norm[:, 1]
    expected = np.clip(4 + np.round(np.log2(np.sqrt(h * w) / (224.0 / image))), 2, 5)
    np.testing.assert_array_equal(got, expected.astype(np.int32))
    assert got[0] == 2 and got[4] == 4 and got[-1] == 5
    zero = spatial_transform_ops.roi_levels(tf.zeros([3, 4]), (image, image)).numpy()
    np.testing.assert_array_equal(zero, [2, 2, 2])


def bilinear_numpy(fmap, y, x):
    h, w = fmap.shape[:2]
    if y < 0 or y > h - 1 or x < 0 or x > w - 1:
        return np.zeros(fmap.shape[2])
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    dy, dx = y - y0, x - x0
    top = fmap[y0, x0] * (1 - dx) + fmap[y0, x1] * dx
    bottom = fmap[y1, x0] * (1 - dx) + fmap[y1, x1] * dx
    return top * (1 - dy) + bottom * dy


def test_multilevel_crop_and_resize_samples_the_right_level_and_points():
    rng = np.random.default_rng(3)
    image = 256
    maps = [rng.normal(size=(2, image // s, image // s, 3)).astype(np.float32)
            for s in (4, 8, 16, 32)]
    boxes = random_boxes(rng, 12, 1.0, 0.02)
    box_indices = rng.integers(0, 2, 12).astype(np.int32)
    pool = (5, 4)
    got = spatial_transform_ops.multilevel_crop_and_resize(
        [tf.constant(m) for m in maps], tf.constant(boxes), tf.constant(box_indices),
        (image, image), pool).numpy()
    levels = spatial_transform_ops.roi_levels(tf.constant(boxes), (image, image)).numpy()
    for k, (box, b, level) in enumerate(zip(boxes, box_indices, levels)):
        fmap = maps[level - 2][b]
        h, w = fmap.shape[:2]
        y1, x1, y2, x2 = box
        for i in range(pool[0]):
            for j in range(pool[1]):
                y = y1 * (h - 1) + i * (y2 - y1) * (h - 1) / (pool[0] - 1)
                x = x1 * (w - 1) + j * (x2 - x1) * (w - 1) / (pool[1] - 1)
                np.testing.assert_allclose(got[k, i, j], bilinear_numpy(fmap, y, x),
                                           rtol=1e-4, atol=1e-4)


def test_pyramid_roi_align_keeps_batch_and_box_order():
    image = 128
    maps = [np.full((2, image // s, image // s, 1), float(level), np.float32)
            + np.arange(2, dtype=np.float32).reshape(2, 1, 1, 1) * 10
            for level, s in zip(range(2, 6), (4, 8, 16, 32))]
    sides = np.array([[10, 120, 40, 70], [60, 20, 90, 5]], np.float64)  # pixels per box
    pixel = np.stack([np.zeros_like(sides), np.zeros_like(sides), sides, sides], -1)
    norm = np_boxes.norm_boxes(pixel.reshape(-1, 4), (image, image)).reshape(2, 4, 4)
    got = spatial_transform_ops.pyramid_roi_align(
        [tf.constant(m) for m in maps], tf.constant(norm), (image, image), (3, 3)).numpy()
    levels = spatial_transform_ops.roi_levels(tf.constant(norm), (image, image)).numpy()
    expected = levels + np.arange(2).reshape(2, 1) * 10
    np.testing.assert_allclose(got[..., 0].mean(axis=(2, 3)), expected, atol=1e-5)


# ----------------------------------------------------------------------------- proposals
def test_generate_proposals_matches_numpy_pipeline():
    rng = np.random.default_rng(4)
    batch, n_anchors = 2, 400
    anchors = random_boxes(rng, n_anchors, 1.0, 0.05)
    probs_fg = rng.uniform(size=(batch, n_anchors)).astype(np.float32)
    probs = np.stack([1 - probs_fg, probs_fg], -1)
    deltas = rng.normal(0, 1, (batch, n_anchors, 4)).astype(np.float32)
    std = np.array([0.1, 0.1, 0.2, 0.2], np.float32)
    count, thr, pre = 50, 0.7, 300
    got = proposal_ops.generate_proposals(tf.constant(probs), tf.constant(deltas),
                                          tf.constant(anchors), count, thr, pre, std).numpy()
    for b in range(batch):
        order = np.argsort(-probs_fg[b], kind="stable")[:pre]
        refined = np_boxes.apply_box_deltas(anchors[order], deltas[b, order] * std)
        refined = np.clip(refined, 0, 1)
        keep = np_boxes.non_max_suppression(refined, probs_fg[b, order], thr)[:count]
        expected = np.zeros((count, 4), np.float32)
        expected[:len(keep)] = refined[keep]
        np.testing.assert_allclose(got[b], expected, atol=1e-5)


# ----------------------------------------------------------------------------- detections
def refine_detections_numpy(rois, probs, deltas, window, std, min_conf, max_inst, nms_thr):
    """Matterport's refine_detections_graph, per image, in NumPy."""
    class_ids = np.argmax(probs, axis=1)
    scores = probs[np.arange(len(probs)), class_ids]
    d = deltas[np.arange(len(probs)), class_ids] * std
    refined = np_boxes.apply_box_deltas(rois, d)
    refined = np.stack([np.clip(refined[:, 0], window[0], window[2]),
                        np.clip(refined[:, 1], window[1], window[3]),
                        np.clip(refined[:, 2], window[0], window[2]),
                        np.clip(refined[:, 3], window[1], window[3])], 1)
    keep = np.where(class_ids > 0)[0]
    if min_conf:
        keep = keep[scores[keep] >= min_conf]
    kept = []
    for c in np.unique(class_ids[keep]):
        ix = keep[class_ids[keep] == c]
        order = ix[np.argsort(-scores[ix], kind="stable")]
        sel = np_boxes.non_max_suppression(refined[order], scores[order], nms_thr)[:max_inst]
        kept.extend(order[sel])
    kept = np.array(kept, dtype=np.int64)
    kept = kept[np.argsort(-scores[kept], kind="stable")][:max_inst]
    out = np.zeros((max_inst, 6), np.float32)
    out[:len(kept)] = np.concatenate(
        [refined[kept], class_ids[kept, None], scores[kept, None]], axis=1)
    return out


@pytest.mark.parametrize("min_conf", [0.0, 0.4])
def test_refine_detections_matches_numpy(min_conf):
    rng = np.random.default_rng(5)
    batch, n, nc = 2, 120, 5
    rois = np.stack([random_boxes(rng, n, 1.0, 0.05) for _ in range(batch)])
    logits = rng.normal(0, 2, (batch, n, nc)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    deltas = rng.normal(0, 1, (batch, n, nc, 4)).astype(np.float32)
    window = np.array([[0.1, 0.0, 0.9, 1.0], [0.0, 0.05, 1.0, 0.95]], np.float32)
    std = np.array([0.1, 0.1, 0.2, 0.2], np.float32)
    got = detection_ops.refine_detections(tf.constant(rois), tf.constant(probs),
                                          tf.constant(deltas), tf.constant(window), std,
                                          min_conf, 30, 0.3).numpy()
    for b in range(batch):
        expected = refine_detections_numpy(rois[b], probs[b], deltas[b], window[b], std,
                                           min_conf, 30, 0.3)
        np.testing.assert_allclose(got[b], expected, atol=1e-5)


# ----------------------------------------------------------------------------- utils.batch_slice
def test_batch_slice_runs_per_image_and_stacks():
    from mrcnn import utils
    x = tf.reshape(tf.range(24, dtype=tf.float32), [3, 2, 4])
    y = tf.constant([1.0, 2.0, 3.0])
    single = utils.batch_slice([x, y], lambda a, b: tf.reduce_sum(a) * b, 3)
    np.testing.assert_allclose(single.numpy(), [np.sum(np.arange(8)) * 1,
                                                np.sum(np.arange(8, 16)) * 2,
                                                np.sum(np.arange(16, 24)) * 3])
    first, last = utils.batch_slice(x, lambda a: (a[0], a[-1]), 3, names=["first", "last"])
    np.testing.assert_array_equal(first.numpy(), x.numpy()[:, 0])
    np.testing.assert_array_equal(last.numpy(), x.numpy()[:, -1])
    with pytest.raises(ValueError, match="batch_size"):
        utils.batch_slice(x, lambda a: a, 0)
