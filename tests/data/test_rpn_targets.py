"""mrcnn.rpn_targets (build_rpn_targets) on real COCO tiny boxes, against a brute-force
labelling."""

import numpy as np
import pytest

from mrcnn.anchors import get_anchors
from mrcnn.boxes import apply_box_deltas, compute_overlaps
from mrcnn.ground_truth import load_image_gt
from mrcnn.rpn_targets import build_rpn_targets
from tests.data.training_data import (  # noqa: F401 - fixtures are used by their names
    CocoConfig, _crowd_image, coco, coco_ds, config)


# ------------------------------------------------------------------------------------------------
# build_rpn_targets against a brute-force labelling
def _iou_columns(anchors, boxes):
    """IoU, one GT box at a time, with the same float64 arithmetic order as compute_overlaps."""
    anchors = anchors.astype(np.float64)
    area = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    cols = []
    for b in np.asarray(boxes, dtype=np.float64):
        h = np.maximum(np.minimum(anchors[:, 2], b[2]) - np.maximum(anchors[:, 0], b[0]), 0)
        w = np.maximum(np.minimum(anchors[:, 3], b[3]) - np.maximum(anchors[:, 1], b[1]), 0)
        inter = h * w
        union = area + (b[2] - b[0]) * (b[3] - b[1]) - inter
        cols.append(np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0))
    return np.stack(cols, axis=1) if cols else np.zeros((len(anchors), 0))


def _brute_force_rpn(anchors, class_ids, boxes, std):
    """Unbalanced labels and per-anchor deltas, anchor by anchor."""
    crowd = class_ids < 0
    iou = _iou_columns(anchors, boxes[~crowd])
    crowd_iou = _iou_columns(anchors, boxes[crowd])
    col_max = iou.max(axis=0) if iou.shape[1] else np.zeros(0)
    labels = np.zeros(len(anchors), dtype=np.int32)
    deltas = np.zeros((len(anchors), 4))
    gt = boxes[~crowd].astype(np.float64)
    for a in range(len(anchors)):
        row = iou[a]
        best = row.max() if row.size else 0.0
        touches_crowd = crowd_iou.shape[1] and crowd_iou[a].max() >= 0.001
        if best < 0.3 and not touches_crowd:
            labels[a] = -1
        if best >= 0.7 or np.any((row == col_max) & (col_max > 0)):
            labels[a] = 1
            g = gt[int(np.argmax(row))]
            y1, x1, y2, x2 = anchors[a].astype(np.float64)
            h, w = y2 - y1, x2 - x1
            gh, gw = g[2] - g[0], g[3] - g[1]
            deltas[a] = [((g[0] + g[2]) / 2 - (y1 + y2) / 2) / h,
                         ((g[1] + g[3]) / 2 - (x1 + x2) / 2) / w, np.log(gh / h), np.log(gw / w)]
    return labels, deltas / std, iou, crowd_iou


@pytest.fixture(scope="module")
def rpn_case(coco_ds, config):
    image_id = _crowd_image(coco_ds)
    _, _, class_ids, boxes, _ = load_image_gt(coco_ds, config, image_id)
    extra_boxes = np.array([[100, 100, 140, 140],   # contains 9 equal 32x32 anchors: a 9-way tie
                            [50, 50, 54, 54],       # tiny: 64 enclosing anchors tie, IoU < 0.3
                            [2000, 2000, 2010, 2010]])  # overlaps no anchor: adds no positive
    # 16 boxes equal to 32 x 32 anchors: enough positives for the balancing to subsample.
    centres = np.arange(176, 240, 16)
    cy, cx = np.meshgrid(centres, centres, indexing="ij")
    on_anchors = np.stack([cy - 16, cx - 16, cy + 16, cx + 16], axis=-1).reshape(-1, 4)
    class_ids = np.concatenate([class_ids, [5, 6, 7], np.full(16, 9)]).astype(np.int32)
    boxes = np.concatenate([boxes, extra_boxes, on_anchors]).astype(np.int32)
    anchors = get_anchors(config, (256, 256), normalized=False)
    std = np.asarray(config.RPN_BBOX_STD_DEV)
    return anchors, class_ids, boxes, _brute_force_rpn(anchors, class_ids, boxes, std)


def test_build_rpn_targets_matches_brute_force_without_balancing(rpn_case):
    anchors, class_ids, boxes, (labels, deltas, iou, crowd_iou) = rpn_case

    class Unbalanced(CocoConfig):
        RPN_TRAIN_ANCHORS_PER_IMAGE = 2 * len(anchors)  # never subsamples

    config = Unbalanced()
    rpn_match, rpn_bbox = build_rpn_targets((256, 256, 3), anchors, class_ids, boxes, config)
    assert rpn_match.dtype == np.int32 and rpn_match.shape == (len(anchors),)
    assert rpn_bbox.dtype == np.float32 and rpn_bbox.shape == (2 * len(anchors), 4)
    np.testing.assert_array_equal(rpn_match, labels)
    pos = np.flatnonzero(labels == 1)
    np.testing.assert_allclose(rpn_bbox[:len(pos)], deltas[pos], rtol=1e-5, atol=1e-5)
    assert not rpn_bbox[len(pos):].any()

    # The case exercises what it claims to.
    col_max = iou.max(axis=0)
    ties = (iou == col_max) & (col_max > 0)
    assert ties.sum(axis=0).max() >= 9  # multi-anchor ties
    far, tiny = len(col_max) - 17, len(col_max) - 18
    assert col_max[far] == 0 and col_max[tiny] < 0.3  # the far box and the tiny tied box
    assert (labels[ties[:, tiny]] == 1).all()  # tie positives below the 0.3 negative threshold
    low = (iou.max(axis=1) < 0.3) & (crowd_iou.max(axis=1) >= 0.001)
    assert (rpn_match[low & (labels != 1)] == 0).sum() > 0  # crowd-touching anchors not negative
    assert (iou.max(axis=1) >= 0.7).sum() > 0


def test_build_rpn_targets_chunked_overlaps(rpn_case, monkeypatch):
    """Large images split the IoU matrix into blocks of GT boxes; the result must not change."""
    import mrcnn.rpn_targets as dp

    anchors, class_ids, boxes, (labels, deltas, iou, _) = rpn_case
    # Some anchors have the same best IoU with two GT boxes: the first must win across blocks.
    top2 = np.sort(iou, axis=1)[:, -2:]
    assert ((top2[:, 0] == top2[:, 1]) & (top2[:, 1] >= 0.3) & (labels == 1)).any()

    class Unbalanced(CocoConfig):
        RPN_TRAIN_ANCHORS_PER_IMAGE = 2 * len(anchors)

    monkeypatch.setattr(dp, "_OVERLAP_CHUNK_ELEMENTS", 3 * len(anchors))  # 3 boxes per block
    rpn_match, rpn_bbox = build_rpn_targets((256, 256, 3), anchors, class_ids, boxes,
                                            Unbalanced())
    np.testing.assert_array_equal(rpn_match, labels)
    pos = np.flatnonzero(labels == 1)
    np.testing.assert_allclose(rpn_bbox[:len(pos)], deltas[pos], rtol=1e-5, atol=1e-5)


def test_build_rpn_targets_balancing(rpn_case, config):
    anchors, class_ids, boxes, (labels, deltas, _, _) = rpn_case
    results = []
    for seed in (0, 0, 1):
        results.append(build_rpn_targets((256, 256, 3), anchors, class_ids, boxes, config,
                                         rng=np.random.default_rng(seed)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert not np.array_equal(results[0][0], results[2][0])
    n_pos_all = (labels == 1).sum()
    assert n_pos_all > 128  # the positives are subsampled
    for rpn_match, rpn_bbox in results:
        pos = np.flatnonzero(rpn_match == 1)
        neg = np.flatnonzero(rpn_match == -1)
        assert len(pos) == 128 and len(neg) == 256 - 128
        assert (labels[pos] == 1).all() and (labels[neg] == -1).all()
        np.testing.assert_allclose(rpn_bbox[:128], deltas[pos], rtol=1e-5, atol=1e-5)
        assert not rpn_bbox[128:].any()


def test_build_rpn_targets_few_positives_and_no_gt(coco_ds, config):
    anchors = get_anchors(config, (256, 256), normalized=False)
    box = np.array([[60, 80, 150, 170]])
    rpn_match, rpn_bbox = build_rpn_targets((256, 256, 3), anchors, np.array([3]), box, config)
    n_pos = (rpn_match == 1).sum()
    assert 0 < n_pos < 128 and (rpn_match == -1).sum() == 256 - n_pos
    decoded = apply_box_deltas(anchors[rpn_match == 1],
                               rpn_bbox[:n_pos] * np.asarray(config.RPN_BBOX_STD_DEV))
    np.testing.assert_allclose(decoded, np.repeat(box, n_pos, axis=0), atol=1e-3)

    # Only a crowd: no positive, negatives away from the crowd only.
    crowd = np.array([[0, 0, 128, 128]])
    rpn_match, rpn_bbox = build_rpn_targets((256, 256, 3), anchors, np.array([-1]), crowd, config)
    assert (rpn_match == 1).sum() == 0 and (rpn_match == -1).sum() == 256
    assert compute_overlaps(anchors[rpn_match == -1], crowd).max() < 0.001
    assert not rpn_bbox.any()
    # Nothing at all.
    rpn_match, _ = build_rpn_targets((256, 256, 3), anchors, np.zeros(0), np.zeros((0, 4)), config)
    assert (rpn_match == -1).sum() == 256 and (rpn_match == 1).sum() == 0
