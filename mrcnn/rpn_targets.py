"""RPN training targets (Matterport ``model.build_rpn_targets``): anchor matching against the GT
boxes, positive/negative/neutral labels, balanced sampling, and the box deltas of the positives.

Boxes are pixel (y1, x1, y2, x2); class ids < 0 mark crowd boxes.
"""

import numpy as np

from mrcnn.boxes import BoxCoder, compute_overlaps
from mrcnn.rng import as_generator

__all__ = ["build_rpn_targets", "RPN_POSITIVE_IOU", "RPN_NEGATIVE_IOU", "RPN_CROWD_IOU"]

# RPN anchor labelling thresholds (Matterport's values).
RPN_POSITIVE_IOU = 0.7
RPN_NEGATIVE_IOU = 0.3
RPN_CROWD_IOU = 0.001
# Largest [anchors x boxes] IoU block computed at once (bounds memory for big images).
_OVERLAP_CHUNK_ELEMENTS = 2 ** 20


def _column_chunks(n_rows, n_cols):
    step = max(1, _OVERLAP_CHUNK_ELEMENTS // max(1, n_rows))
    return range(0, n_cols, step), step


def _anchor_matches(anchors, boxes):
    """Per anchor: max IoU and its first argmax over ``boxes``; per box: the anchors with its
    max IoU (all ties; none for a box that overlaps no anchor). Chunked over boxes."""
    n = anchors.shape[0]
    best = np.full(n, -1.0)
    argbest = np.zeros(n, dtype=np.int64)
    tied = []
    starts, step = _column_chunks(n, boxes.shape[0])
    for s in starts:
        ov = compute_overlaps(anchors, boxes[s:s + step])  # [A, c]
        col_max = ov.max(axis=0)
        hit = (ov == col_max[None, :]) & (col_max[None, :] > 0)
        tied.append(np.nonzero(hit.any(axis=1))[0])
        am = ov.argmax(axis=1)
        m = ov[np.arange(n), am]
        better = m > best  # strict: an earlier box keeps a tie, like np.argmax
        best[better] = m[better]
        argbest[better] = am[better] + s
    best = np.maximum(best, 0.0)
    tied = np.unique(np.concatenate(tied)) if tied else np.zeros(0, dtype=np.int64)
    return best, argbest, tied


def build_rpn_targets(image_shape, anchors, gt_class_ids, gt_boxes, config, rng=None):
    """RPN training targets: anchor labels and box deltas (Matterport ``model.build_rpn_targets``).

    1. Crowd boxes (class id < 0) are removed from the GT; an anchor whose IoU with any crowd box
       is >= 0.001 cannot be negative.
    2. Negative (-1): the anchor's max IoU with the GT boxes is < 0.3 (and it touches no crowd).
    3. Positive (+1): for each GT box, every anchor whose IoU equals that box's max IoU over all
       anchors (ties included; a GT box that overlaps no anchor at all adds none -- Matterport
       would then mark every zero-IoU anchor positive); and every anchor with max IoU >= 0.7.
       Positives override negatives.
    4. Balance: positives above ``RPN_TRAIN_ANCHORS_PER_IMAGE // 2`` are reset to 0 (neutral) at
       random, then negatives above ``RPN_TRAIN_ANCHORS_PER_IMAGE - positives`` likewise.
    5. ``rpn_bbox`` row ``i`` holds the deltas from the ``i``-th positive anchor (in anchor order)
       to its highest-IoU GT box (the first on ties), ``BoxCoder(RPN_BBOX_STD_DEV).encode(anchor,
       gt)`` (``box_refinement(anchor, gt) / RPN_BBOX_STD_DEV``); later rows are zero.

    Vectorised (IoU blocks of at most ~1M anchor x box pairs).

    Args:
        image_shape: [H, W, C] of the molded image (unused, kept for Matterport's signature).
        anchors: [A, 4] pixel anchors (y1, x1, y2, x2) (``get_anchors(..., normalized=False)``).
        gt_class_ids: int [N] class ids; negative = crowd.
        gt_boxes: [N, 4] pixel GT boxes.
        config: a ``Config``; ``RPN_TRAIN_ANCHORS_PER_IMAGE`` and ``RPN_BBOX_STD_DEV`` are used.
        rng: optional ``np.random.Generator`` for the balancing subsample.

    Returns:
        rpn_match: int32 [A], 1 positive, -1 negative, 0 neutral.
        rpn_bbox: float32 [RPN_TRAIN_ANCHORS_PER_IMAGE, 4] deltas (dy, dx, log(dh), log(dw)).

    Raises:
        ValueError: shapes do not fit ([A, 4] anchors, [N, 4] boxes with N class ids).
    """
    rng = as_generator(rng)
    anchors = np.asarray(anchors, dtype=np.float64)
    if anchors.ndim != 2 or anchors.shape[1] != 4:
        raise ValueError(f"build_rpn_targets: anchors must be [A, 4], got {anchors.shape}")
    gt_class_ids = np.asarray(gt_class_ids).reshape(-1)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    if gt_boxes.shape[0] != gt_class_ids.shape[0]:
        raise ValueError(f"build_rpn_targets: {gt_boxes.shape[0]} GT boxes but "
                         f"{gt_class_ids.shape[0]} class ids")
    total = int(config.RPN_TRAIN_ANCHORS_PER_IMAGE)
    n_anchors = anchors.shape[0]
    rpn_match = np.zeros([n_anchors], dtype=np.int32)
    rpn_bbox = np.zeros([total, 4], dtype=np.float32)

    crowd = gt_class_ids < 0
    if crowd.any():
        crowd_max, _, _ = _anchor_matches(anchors, gt_boxes[crowd])
        no_crowd = crowd_max < RPN_CROWD_IOU
        gt_boxes = gt_boxes[~crowd]
    else:
        no_crowd = np.ones([n_anchors], dtype=bool)

    if gt_boxes.shape[0]:
        anchor_max, anchor_argmax, best_anchors = _anchor_matches(anchors, gt_boxes)
    else:
        anchor_max = np.zeros([n_anchors])
        anchor_argmax = np.zeros([n_anchors], dtype=np.int64)
        best_anchors = np.zeros([0], dtype=np.int64)
    rpn_match[(anchor_max < RPN_NEGATIVE_IOU) & no_crowd] = -1
    rpn_match[best_anchors] = 1
    rpn_match[anchor_max >= RPN_POSITIVE_IOU] = 1

    positives = np.flatnonzero(rpn_match == 1)
    extra = positives.size - total // 2
    if extra > 0:
        rpn_match[rng.choice(positives, extra, replace=False)] = 0
    negatives = np.flatnonzero(rpn_match == -1)
    extra = negatives.size - (total - int(np.sum(rpn_match == 1)))
    if extra > 0:
        rpn_match[rng.choice(negatives, extra, replace=False)] = 0

    positives = np.flatnonzero(rpn_match == 1)
    if positives.size:
        coder = BoxCoder(config.RPN_BBOX_STD_DEV)
        rpn_bbox[:positives.size] = coder.encode(anchors[positives],
                                                 gt_boxes[anchor_argmax[positives]])
    return rpn_match, rpn_bbox
