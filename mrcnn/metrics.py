"""Per-image detection metrics (NumPy): Matterport's ``utils.compute_ap`` family.

These are the VOC-style, per-image numbers of the original (mask IoU matching, all-point AP
over all classes together). For COCO-style evaluation over a dataset use
``mrcnn.evaluation``.
"""

import numpy as np

from mrcnn.boxes import compute_overlaps, trim_zeros
from mrcnn.masks import compute_overlaps_masks


def _prepare(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores,
             pred_masks):
    """Trims zero padding, sorts predictions by score and computes mask IoU [pred, gt]."""
    gt_boxes = trim_zeros(np.asarray(gt_boxes).reshape(-1, 4))
    pred_boxes = trim_zeros(np.asarray(pred_boxes).reshape(-1, 4))
    n_gt, n_pred = gt_boxes.shape[0], pred_boxes.shape[0]
    gt_class_ids = np.asarray(gt_class_ids).reshape(-1)
    pred_class_ids = np.asarray(pred_class_ids).reshape(-1)
    pred_scores = np.asarray(pred_scores).reshape(-1)
    gt_masks = np.asarray(gt_masks)
    pred_masks = np.asarray(pred_masks)
    for name, arr, need in (("gt_class_ids", gt_class_ids, n_gt),
                            ("pred_class_ids", pred_class_ids, n_pred),
                            ("pred_scores", pred_scores, n_pred)):
        if arr.shape[0] < need:
            raise ValueError(f"{name} has {arr.shape[0]} entries but there are {need} non-zero "
                             "boxes; pass one entry per box")
    for name, arr, need in (("gt_masks", gt_masks, n_gt), ("pred_masks", pred_masks, n_pred)):
        if arr.ndim != 3 or arr.shape[-1] < need:
            raise ValueError(f"{name} must be [H, W, N] with one mask per non-zero box (N >= "
                             f"{need}), got shape {arr.shape}")
    gt_masks = gt_masks[..., :n_gt]
    pred_scores = pred_scores[:n_pred]
    indices = np.argsort(pred_scores)[::-1]
    pred_class_ids = pred_class_ids[indices]
    pred_scores = pred_scores[indices]
    pred_masks = pred_masks[..., indices]
    overlaps = compute_overlaps_masks(pred_masks, gt_masks)
    return gt_class_ids[:n_gt], pred_class_ids, overlaps


def _match(overlaps, pred_class_ids, gt_class_ids, iou_threshold, score_threshold):
    """Greedy matching of score-sorted predictions to GT on an IoU matrix [pred, gt]."""
    n_pred, n_gt = overlaps.shape
    pred_match = -1 * np.ones([n_pred])
    gt_match = -1 * np.ones([n_gt])
    for i in range(n_pred):
        # GT candidates by descending IoU, cut at the first one below score_threshold.
        sorted_ixs = np.argsort(overlaps[i])[::-1]
        low = np.flatnonzero(overlaps[i, sorted_ixs] < score_threshold)
        if low.size > 0:
            sorted_ixs = sorted_ixs[:low[0]]
        for j in sorted_ixs:
            if gt_match[j] > -1:
                continue
            if overlaps[i, j] < iou_threshold:
                break
            if pred_class_ids[i] == gt_class_ids[j]:
                gt_match[j] = i
                pred_match[i] = j
                break
    return gt_match, pred_match


def compute_matches(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores,
                    pred_masks, iou_threshold=0.5, score_threshold=0.0):
    """Matches predictions to ground truth by mask IoU (Matterport ``utils.compute_matches``).

    All-zero (padding) boxes are trimmed, predictions are sorted by descending score, then each
    prediction in turn takes the unmatched GT of highest IoU (candidates with IoU below
    ``score_threshold`` are dropped) if that IoU is >= ``iou_threshold`` and the class is equal;
    a candidate of another class is skipped and the next one tried.

    Args:
        gt_boxes: [N, 4] GT pixel boxes (y1, x1, y2, x2); zero rows are padding.
        gt_class_ids: [N] int class ids.
        gt_masks: [H, W, N] GT masks.
        pred_boxes: [M, 4] predicted boxes; zero rows are padding.
        pred_class_ids: [M] int class ids.
        pred_scores: [M] float confidences.
        pred_masks: [H, W, M] predicted masks (binarised with > 0.5).
        iou_threshold: minimum mask IoU of a match.
        score_threshold: GT candidates with an IoU below this are ignored (despite its name it
            applies to IoU, as in the original).

    Returns:
        gt_match: float [N] index of the matched prediction (in score order), -1 if none.
        pred_match: float [M] index of the matched GT, -1 if none; predictions in descending
            score order.
        overlaps: float [M, N] mask IoU, rows in descending score order.

    Raises:
        ValueError: the class ids, scores or masks do not match the boxes.
    """
    gt_class_ids, pred_class_ids, overlaps = _prepare(
        gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores, pred_masks)
    gt_match, pred_match = _match(overlaps, pred_class_ids, gt_class_ids, iou_threshold,
                                  score_threshold)
    return gt_match, pred_match, overlaps


def _ap_from_matches(gt_match, pred_match):
    n_gt = len(gt_match)
    hits = np.cumsum(pred_match > -1)
    precisions = hits / (np.arange(len(pred_match)) + 1)
    if n_gt:
        recalls = hits.astype(np.float32) / n_gt
    else:  # recall is undefined without ground truth
        recalls = np.full(len(pred_match), np.nan, dtype=np.float32)
    precisions = np.concatenate([[0], precisions, [0]])
    recalls = np.concatenate([[0], recalls, [1]])
    # Make precision monotone non-increasing from the right (the precision envelope).
    precisions = np.maximum.accumulate(precisions[::-1])[::-1]
    if n_gt == 0:
        return float("nan"), precisions, recalls
    indices = np.flatnonzero(recalls[:-1] != recalls[1:]) + 1
    ap = np.sum((recalls[indices] - recalls[indices - 1]) * precisions[indices])
    return float(ap), precisions, recalls


def compute_ap(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores,
               pred_masks, iou_threshold=0.5):
    """Average precision of one image at one IoU threshold (Matterport ``utils.compute_ap``).

    VOC all-point AP over the predictions in score order: precision is padded with 0 at both
    ends and recall with 0 and 1, precision is made monotone from the right, and the area is
    summed where recall changes. All classes are pooled (despite the name ``mAP`` this is a
    per-image AP).

    Args:
        As ``compute_matches`` (mask IoU matching).

    Returns:
        mAP: float AP; 0 with no predictions, NaN without ground truth (undefined).
        precisions: float [M + 2] precision envelope.
        recalls: float [M + 2] recalls.
        overlaps: float [M, N] mask IoU.

    Raises:
        ValueError: the class ids, scores or masks do not match the boxes.
    """
    gt_match, pred_match, overlaps = compute_matches(
        gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids, pred_scores, pred_masks,
        iou_threshold)
    ap, precisions, recalls = _ap_from_matches(gt_match, pred_match)
    return ap, precisions, recalls, overlaps


def compute_ap_range(gt_box, gt_class_id, gt_mask, pred_box, pred_class_id, pred_score,
                     pred_mask, iou_thresholds=None, verbose=1):
    """Mean AP over IoU thresholds (Matterport ``utils.compute_ap_range``).

    Args:
        As ``compute_ap``, plus:
        iou_thresholds: sequence or NumPy array of IoU thresholds; default
            ``np.arange(0.5, 1.0, 0.05)`` (0.5:0.95, COCO-style). A NumPy array works (the
            original failed on one).
        verbose: print the AP at each threshold and the mean.

    Returns:
        float: the mean of the APs.

    Raises:
        ValueError: ``iou_thresholds`` is empty, or the inputs do not match.
    """
    if iou_thresholds is None:
        iou_thresholds = np.arange(0.5, 1.0, 0.05)
    iou_thresholds = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)
    if iou_thresholds.size == 0:
        raise ValueError("compute_ap_range: iou_thresholds is empty; pass at least one "
                         "threshold or None for 0.5:0.95")
    # The mask IoU does not depend on the threshold: compute it once.
    gt_class_ids, pred_class_ids, overlaps = _prepare(
        gt_box, gt_class_id, gt_mask, pred_box, pred_class_id, pred_score, pred_mask)
    aps = []
    for iou_threshold in iou_thresholds:
        gt_match, pred_match = _match(overlaps, pred_class_ids, gt_class_ids, iou_threshold, 0.0)
        ap = _ap_from_matches(gt_match, pred_match)[0]
        if verbose:
            print(f"AP @{iou_threshold:.2f}:\t {ap:.3f}")
        aps.append(ap)
    mean_ap = float(np.mean(aps))
    if verbose:
        print(f"AP @{iou_thresholds[0]:.2f}-{iou_thresholds[-1]:.2f}:\t {mean_ap:.3f}")
    return mean_ap


def compute_recall(pred_boxes, gt_boxes, iou):
    """Box recall at an IoU threshold (Matterport ``utils.compute_recall``).

    Args:
        pred_boxes: [M, 4] predicted boxes (y1, x1, y2, x2).
        gt_boxes: [N, 4] GT boxes.
        iou: IoU threshold.

    Returns:
        recall: float, the fraction of GT boxes that are the best match (argmax IoU) of at least
            one prediction with IoU >= ``iou``; NaN when there is no GT box.
        positive_ids: int [K] indices of the predictions whose best IoU is >= ``iou``.
    """
    overlaps = compute_overlaps(np.asarray(pred_boxes).reshape(-1, 4),
                                np.asarray(gt_boxes).reshape(-1, 4))
    if overlaps.shape[1] == 0:
        return float("nan"), np.zeros([0], dtype=np.int64)
    iou_max = np.max(overlaps, axis=1)
    iou_argmax = np.argmax(overlaps, axis=1)
    positive_ids = np.flatnonzero(iou_max >= iou)
    matched_gt_boxes = iou_argmax[positive_ids]
    recall = len(set(matched_gt_boxes.tolist())) / overlaps.shape[1]
    return recall, positive_ids
