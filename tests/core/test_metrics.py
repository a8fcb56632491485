"""mrcnn.metrics: hand-worked AP example and a brute-force independent implementation."""

import numpy as np
import pytest
import skimage.io

from mrcnn.boxes import extract_bboxes
from mrcnn.metrics import compute_ap, compute_ap_range, compute_matches, compute_recall
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
NUCLEUS = DATA / "dsb2018_nucleus_subset" / "stage1_train"


def _rect_masks(rects, shape=(10, 10)):
    masks = np.zeros(shape + (len(rects),), bool)
    for i, (y1, x1, y2, x2) in enumerate(rects):
        masks[y1:y2, x1:x2, i] = True
    return masks


@pytest.fixture
def hand_example():
    # GT: two 5x5 squares of class 1 on top, a 5x10 band of class 2 below.
    gt_rects = [(0, 0, 5, 5), (0, 5, 5, 10), (5, 0, 10, 10)]
    gt_class_ids = np.array([1, 1, 2])
    # Predictions (score): p0 (.9) = g0, class 1 -> TP.
    # p1 (.8) duplicates g0 -> g0 already taken, next IoU is 0 -> FP.
    # p2 (.7) = g2 but class 1 -> class mismatch, next IoU 0 -> FP.
    # p3 (.6) rows 5-9, cols 0-7, class 2: IoU with g2 = 40 / 50 = 0.8 -> TP at IoU 0.5.
    pred_rects = [(0, 0, 5, 5), (0, 0, 5, 5), (5, 0, 10, 10), (5, 0, 10, 8)]
    pred_class_ids = np.array([1, 1, 1, 2])
    pred_scores = np.array([0.9, 0.8, 0.7, 0.6])
    # Shuffle the predictions and add zero padding rows: both must not matter.
    order = [2, 0, 3, 1]
    gt_boxes = np.concatenate([[list(r) for r in gt_rects], np.zeros((2, 4))])
    pred_boxes = np.concatenate([[list(pred_rects[i]) for i in order], np.zeros((1, 4))])
    return dict(gt_boxes=gt_boxes, gt_class_ids=np.concatenate([gt_class_ids, [0, 0]]),
                gt_masks=np.concatenate([_rect_masks(gt_rects), np.zeros((10, 10, 2), bool)], -1),
                pred_boxes=pred_boxes,
                pred_class_ids=np.concatenate([pred_class_ids[order], [0]]),
                pred_scores=np.concatenate([pred_scores[order], [0]]),
                pred_masks=np.concatenate([_rect_masks([pred_rects[i] for i in order]),
                                           np.zeros((10, 10, 1), bool)], -1))


def _args(ex):
    return (ex["gt_boxes"], ex["gt_class_ids"], ex["gt_masks"], ex["pred_boxes"],
            ex["pred_class_ids"], ex["pred_scores"], ex["pred_masks"])


def test_compute_matches_hand_example(hand_example):
    gt_match, pred_match, overlaps = compute_matches(*_args(hand_example))
    assert pred_match.tolist() == [0, -1, -1, 2]   # predictions in score order
    assert gt_match.tolist() == [0, -1, 3]
    assert overlaps.shape == (4, 3)
    assert overlaps[3, 2] == pytest.approx(0.8) and overlaps[1, 0] == 1


def test_compute_ap_hand_example(hand_example):
    # TP, FP, FP, TP over 3 GT: precision 1, 1/2, 1/3, 1/2 at recall 1/3, 1/3, 1/3, 2/3.
    # Envelope: 1 up to recall 1/3, then 1/2 up to 2/3, then 0 -> AP = 1/3 + 1/6 = 1/2.
    ap, precisions, recalls, _ = compute_ap(*_args(hand_example))
    assert ap == pytest.approx(0.5)
    np.testing.assert_allclose(precisions, [1, 1, 0.5, 0.5, 0.5, 0])
    np.testing.assert_allclose(recalls, [0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1], rtol=1e-6)
    # At IoU 0.85 the last prediction (IoU 0.8) is a FP: AP = 1/3.
    assert compute_ap(*_args(hand_example), iou_threshold=0.85)[0] == pytest.approx(1 / 3)


def test_compute_ap_range_accepts_numpy_thresholds(hand_example, capsys):
    ap = compute_ap_range(*_args(hand_example), iou_thresholds=np.array([0.5, 0.85]), verbose=1)
    assert ap == pytest.approx((0.5 + 1 / 3) / 2)
    assert "AP @0.50-0.85" in capsys.readouterr().out
    # Default thresholds 0.5:0.95: the mean of compute_ap at each.
    expected = np.mean([compute_ap(*_args(hand_example), iou_threshold=t)[0]
                        for t in np.arange(0.5, 1.0, 0.05)])
    assert compute_ap_range(*_args(hand_example), verbose=0) == pytest.approx(expected)
    with pytest.raises(ValueError, match="empty"):
        compute_ap_range(*_args(hand_example), iou_thresholds=[], verbose=0)


def _brute_force_ap(gt_masks, gt_class_ids, pred_masks, pred_class_ids, pred_scores, thr):
    """Independent AP: plain-Python matching, AP as the mean of interpolated precisions."""
    order = sorted(range(len(pred_scores)), key=lambda i: -pred_scores[i])
    n_gt = gt_masks.shape[-1]

    def iou(i, j):
        a, b = pred_masks[..., i], gt_masks[..., j]
        union = np.logical_or(a, b).sum()
        return np.logical_and(a, b).sum() / union if union else 0.0

    taken = set()
    hits = []
    for i in order:
        candidates = sorted(range(n_gt), key=lambda j: -iou(i, j))
        hit = False
        for j in candidates:
            if j in taken:
                continue
            if iou(i, j) < thr:
                break
            if pred_class_ids[i] == gt_class_ids[j]:
                taken.add(j)
                hit = True
                break
        hits.append(hit)
    precision = [sum(hits[:k + 1]) / (k + 1) for k in range(len(hits))]
    # Each true positive adds 1/n_gt recall at the best precision reachable from its rank on.
    return sum(max(precision[k:]) for k in range(len(hits)) if hits[k]) / n_gt


@pytest.mark.parametrize("seed", range(6))
def test_compute_ap_matches_brute_force_on_real_masks(seed):
    image_id = sorted(p.name for p in NUCLEUS.iterdir())[seed]
    files = sorted((NUCLEUS / image_id / "masks").glob("*.png"))[:12]
    gt_masks = np.stack([skimage.io.imread(f) > 0 for f in files], axis=-1)
    rng = np.random.default_rng(seed)
    n_gt = gt_masks.shape[-1]
    gt_class_ids = rng.integers(1, 3, n_gt)
    # Predictions: shifted / eroded copies of some GT (varied IoU), duplicates and misses.
    picks = rng.integers(0, n_gt, n_gt + 4)
    pred_masks = np.stack([np.roll(gt_masks[..., j], (rng.integers(-2, 3), rng.integers(-2, 3)),
                                   axis=(0, 1)) for j in picks], axis=-1)
    pred_masks = pred_masks[..., pred_masks.reshape(-1, len(picks)).any(0)]
    n_pred = pred_masks.shape[-1]
    pred_class_ids = np.where(rng.random(n_pred) < 0.8, gt_class_ids[picks[:n_pred]], 3 -
                              gt_class_ids[picks[:n_pred]])
    pred_scores = rng.permutation(n_pred) / n_pred + 0.01
    gt_boxes, pred_boxes = extract_bboxes(gt_masks), extract_bboxes(pred_masks)
    aps = []
    for thr in (0.3, 0.5, 0.75):
        ap = compute_ap(gt_boxes, gt_class_ids, gt_masks, pred_boxes, pred_class_ids,
                        pred_scores, pred_masks, iou_threshold=thr)[0]
        ref = _brute_force_ap(gt_masks, gt_class_ids, pred_masks, pred_class_ids, pred_scores,
                              thr)
        assert ap == pytest.approx(ref, abs=1e-6)
        aps.append(ap)
    assert len(set(np.round(aps, 6))) > 1  # the thresholds make a difference


def test_compute_ap_without_predictions_or_gt(hand_example):
    ex = hand_example
    ap, precisions, recalls, overlaps = compute_ap(
        ex["gt_boxes"], ex["gt_class_ids"], ex["gt_masks"], np.zeros((0, 4)), np.zeros(0),
        np.zeros(0), np.zeros((10, 10, 0)))
    assert ap == 0 and overlaps.shape == (0, 3)
    ap = compute_ap(np.zeros((0, 4)), np.zeros(0), np.zeros((10, 10, 0)), *_args(ex)[3:])[0]
    assert np.isnan(ap)
    with pytest.raises(ValueError, match="pred_masks"):
        compute_ap(*_args(ex)[:6], ex["pred_masks"][..., :2])


def test_compute_recall_matches_brute_force():
    rng = np.random.default_rng(5)
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 60]], float)
    pred = np.concatenate([gt + rng.integers(-3, 4, gt.shape), [[70, 70, 80, 80]],
                           gt[:1] + 1])
    for thr in (0.3, 0.5, 0.7, 0.9):
        recall, positive_ids = compute_recall(pred, gt, thr)
        ious = np.array([[_box_iou(p, g) for g in gt] for p in pred])
        ref_pos = [i for i in range(len(pred)) if ious[i].max() >= thr]
        assert positive_ids.tolist() == ref_pos
        assert recall == pytest.approx(len({int(np.argmax(ious[i])) for i in ref_pos}) / 3)
    # Every GT box recalled by itself.
    assert compute_recall(gt, gt, 0.5)[0] == 1.0


def _box_iou(a, b):
    ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ih * iw
    return ih * iw / union
