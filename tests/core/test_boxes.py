"""mrcnn.boxes (and the mrcnn.utils entry point) against brute-force NumPy / hand computations."""

import sys
import types

import numpy as np
import pytest
import skimage.io

from mrcnn.boxes import (SCALE_CLAMP, BoxCoder, apply_box_deltas, box_refinement, compute_iou,
                         compute_overlaps, denorm_boxes, extract_bboxes, non_max_suppression,
                         norm_boxes, trim_zeros)
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
NUCLEUS = DATA / "dsb2018_nucleus_subset" / "stage1_train"


def _nucleus_masks(image_id, limit=None):
    files = sorted((NUCLEUS / image_id / "masks").glob("*.png"))[:limit]
    return np.stack([skimage.io.imread(f) > 0 for f in files], axis=-1)


def _random_boxes(rng, n, size=100):
    y1 = rng.integers(0, size, n)
    x1 = rng.integers(0, size, n)
    return np.stack([y1, x1, y1 + rng.integers(1, 40, n), x1 + rng.integers(1, 40, n)],
                    1).astype(np.float64)


def _iou(a, b):
    """Plain-Python IoU of two (y1, x1, y2, x2) boxes."""
    ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_extract_bboxes_on_real_nucleus_masks():
    image_id = sorted(p.name for p in NUCLEUS.iterdir())[0]
    mask = _nucleus_masks(image_id)
    boxes = extract_bboxes(mask)
    assert boxes.dtype == np.int32 and boxes.shape == (mask.shape[-1], 4)
    for i in range(mask.shape[-1]):
        ys, xs = np.where(mask[:, :, i])
        assert boxes[i].tolist() == [ys.min(), xs.min(), ys.max() + 1, xs.max() + 1]


def test_extract_bboxes_empty_and_edges():
    mask = np.zeros((5, 7, 3), bool)
    mask[4, 6, 1] = True               # single pixel in the corner
    mask[:, :, 2] = True               # full image
    boxes = extract_bboxes(mask)
    assert boxes.tolist() == [[0, 0, 0, 0], [4, 6, 5, 7], [0, 0, 5, 7]]
    assert extract_bboxes(np.zeros((4, 4, 0))).shape == (0, 4)
    with pytest.raises(ValueError, match=r"\[H, W, N\]"):
        extract_bboxes(np.zeros((4, 4)))


def test_compute_overlaps_matches_brute_force():
    rng = np.random.default_rng(1)
    b1, b2 = _random_boxes(rng, 30), _random_boxes(rng, 17)
    ov = compute_overlaps(b1, b2)
    assert ov.shape == (30, 17) and ov.dtype == np.float64
    ref = np.array([[_iou(a, b) for b in b2] for a in b1])
    np.testing.assert_allclose(ov, ref, rtol=1e-12)
    assert compute_overlaps(b1, np.zeros((0, 4))).shape == (30, 0)
    # Hand example: two 10x10 boxes overlapping by 5x10 -> 50 / 150.
    assert compute_overlaps([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)
    # Degenerate pair: zero union gives 0, not NaN.
    assert compute_overlaps([[3, 3, 3, 3]], [[3, 3, 3, 3]])[0, 0] == 0


def test_compute_iou_matches_brute_force():
    rng = np.random.default_rng(2)
    boxes = _random_boxes(rng, 25)
    box = boxes[0]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    iou = compute_iou(box, boxes, areas[0], areas)
    np.testing.assert_allclose(iou, [_iou(box, b) for b in boxes], rtol=1e-12)
    assert iou[0] == pytest.approx(1.0)


def _nms_reference(boxes, scores, threshold):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        if all(_iou(boxes[i], boxes[k]) <= threshold for k in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.7])
def test_non_max_suppression_matches_reference(threshold):
    rng = np.random.default_rng(int(threshold * 10))
    boxes = _random_boxes(rng, 80, size=60)
    scores = rng.permutation(80).astype(np.float64)  # distinct scores: order well defined
    keep = non_max_suppression(boxes, scores, threshold)
    assert keep.dtype == np.int32
    assert keep.tolist() == _nms_reference(boxes, scores, threshold)
    # Kept boxes do not overlap more than the threshold; every dropped box does.
    ov = compute_overlaps(boxes[keep], boxes[keep])
    np.fill_diagonal(ov, 0)
    assert (ov <= threshold).all()
    dropped = np.setdiff1d(np.arange(80), keep)
    assert (compute_overlaps(boxes[dropped], boxes[keep]).max(axis=1) > threshold).all()


def test_non_max_suppression_empty_and_int_boxes():
    keep = non_max_suppression(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert keep.dtype == np.int32 and keep.shape == (0,)
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.int32)
    assert non_max_suppression(boxes, np.array([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    with pytest.raises(ValueError, match="scores"):
        non_max_suppression(boxes, np.array([0.9, 0.8]), 0.5)


def test_box_refinement_hand_example_and_inverse():
    box = np.array([[0, 0, 10, 20]], np.float32)      # cy 5, cx 10, h 10, w 20
    gt = np.array([[5, 10, 25, 30]], np.float32)      # cy 15, cx 20, h 20, w 20
    deltas = box_refinement(box, gt)
    assert deltas.dtype == np.float32
    np.testing.assert_allclose(deltas[0], [1.0, 0.5, np.log(2.0), 0.0], rtol=1e-6)
    np.testing.assert_allclose(apply_box_deltas(box, deltas), gt, atol=1e-4)

    rng = np.random.default_rng(3)
    boxes = _random_boxes(rng, 50)
    targets = _random_boxes(rng, 50)
    out = apply_box_deltas(boxes, box_refinement(boxes, targets))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, targets, atol=1e-3)


def test_apply_box_deltas_hand_example():
    out = apply_box_deltas(np.array([[10, 10, 20, 30]]), np.array([[0.5, -0.25, np.log(3), 0]]))
    # h 10, w 20, cy 15 + 5 = 20, cx 20 - 5 = 15, h -> 30.
    np.testing.assert_allclose(out, [[5, 5, 35, 25]], atol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        apply_box_deltas(np.zeros((2, 4)), np.zeros((3, 4)))


def _nucleus_boxes_and_references(count):
    """Real GT boxes (the first nucleus image's masks) and reference boxes around them."""
    image_id = sorted(p.name for p in NUCLEUS.iterdir())[0]
    gt = extract_bboxes(_nucleus_masks(image_id, limit=count)).astype(np.float64)
    rng = np.random.default_rng(7)
    h, w = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    cy, cx = gt[:, 0] + h / 2 + rng.uniform(-0.3, 0.3, len(gt)) * h, gt[:, 1] + w / 2
    rh, rw = h * rng.uniform(0.5, 2, len(gt)), w * rng.uniform(0.5, 2, len(gt))
    refs = np.stack([cy - rh / 2, cx - rw / 2, cy + rh / 2, cx + rw / 2], axis=1)
    return refs, gt


def test_box_coder_encodes_with_the_std_dev_and_decodes_back_on_real_boxes():
    refs, gt = _nucleus_boxes_and_references(12)
    std = [0.1, 0.1, 0.2, 0.2]
    coder = BoxCoder(std)
    deltas = coder.encode(refs, gt)
    assert deltas.dtype == np.float32 and deltas.shape == gt.shape
    # Matterport's build_rpn_targets arithmetic: float32 refinement, float64 division.
    np.testing.assert_array_equal(
        deltas, (box_refinement(refs, gt) / np.array(std, np.float64)).astype(np.float32))
    np.testing.assert_allclose(coder.decode(refs, deltas), gt, atol=1e-3)
    np.testing.assert_array_equal(coder.decode(refs, deltas),
                                  apply_box_deltas(refs, deltas * np.array(std)))
    for bad in ([0.1, 0.1, 0.2], [0.1, 0.1, 0.2, 0.0], [0.1, np.nan, 0.2, 0.2]):
        with pytest.raises(ValueError, match="std_dev must be 4 positive"):
            BoxCoder(bad)


def test_apply_box_deltas_clamp_only_guards_overflow():
    boxes = np.array([[10, 20, 42, 52], [0, 0, 1000, 800], [5, 5, 6, 6]], np.float32)
    dh = np.array([20.0, 4.5, -3.0], np.float32)
    deltas = np.stack([np.full(3, 0.25), np.full(3, -0.5), dh, dh[::-1]], 1).astype(np.float32)
    # Below the clamp: Matterport's unclamped arithmetic, bit for bit.
    np.testing.assert_array_equal(apply_box_deltas(boxes, deltas),
                                  apply_box_deltas(boxes, deltas, scale_clamp=None))
    assert SCALE_CLAMP == pytest.approx(np.log(1e30))
    # Far above: Matterport's exp overflows (inf, then y2 = -inf + inf = NaN); clamped it is
    # finite and, clipped to the image, the whole image.
    huge = np.array([[0.0, 0.0, 1e4, 1e4]] * 3, np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        unclamped = apply_box_deltas(boxes, huge, scale_clamp=None)
    assert not np.isfinite(unclamped).all()
    out = apply_box_deltas(boxes, huge)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(np.clip(out, 0, [1024, 1024, 1024, 1024]),
                                  np.tile([0, 0, 1024, 1024], (3, 1)))
    tight = apply_box_deltas(boxes, huge, scale_clamp=np.log(2.0))
    np.testing.assert_allclose(tight[:, 2] - tight[:, 0], 2 * (boxes[:, 2] - boxes[:, 0]))


def test_norm_and_denorm_boxes():
    shape = (480, 640)
    boxes = np.array([[0, 0, 480, 640], [10, 20, 110, 220]])
    norm = norm_boxes(boxes, shape)
    assert norm.dtype == np.float32
    np.testing.assert_allclose(norm[0], [0, 0, 1, 1])
    np.testing.assert_allclose(norm[1], [10 / 479, 20 / 639, 109 / 479, 219 / 639], rtol=1e-6)
    back = denorm_boxes(norm, shape)
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, boxes)
    # An image shape [H, W, C] works as well.
    np.testing.assert_array_equal(norm_boxes(boxes, (480, 640, 3)), norm)


def test_trim_zeros():
    x = np.array([[0, 0, 0, 0], [1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 0, 5]])
    np.testing.assert_array_equal(trim_zeros(x), x[[1, 3]])
    with pytest.raises(ValueError, match="2-D"):
        trim_zeros(np.zeros(4))


def test_utils_entry_point_reexports():
    from mrcnn import boxes, dataset, image, masks, metrics, utils
    assert utils.extract_bboxes is boxes.extract_bboxes
    assert utils.compute_ap is metrics.compute_ap
    assert utils.resize_image is image.resize_image and utils.resize is image.resize
    assert utils.unmold_mask is masks.unmold_mask
    assert utils.Dataset is dataset.Dataset
    from mrcnn import anchors
    assert utils.generate_anchors is anchors.generate_anchors
    assert utils.generate_pyramid_anchors is anchors.generate_pyramid_anchors
    assert utils.COCO_MODEL_URL.endswith("/v2.0/mask_rcnn_coco.h5")
    for name in ("compute_iou", "compute_overlaps", "compute_overlaps_masks",
                 "non_max_suppression", "apply_box_deltas", "box_refinement", "resize_mask",
                 "minimize_mask", "expand_mask", "mold_mask", "trim_zeros", "compute_matches",
                 "compute_ap_range", "compute_recall", "batch_slice", "download_trained_weights",
                 "norm_boxes", "denorm_boxes"):
        assert callable(getattr(utils, name)), name


def test_batch_slice_logic_with_a_stand_in_tensorflow(monkeypatch):
    # batch_slice only needs tf.stack; a NumPy stand-in keeps this test fast.
    fake = types.SimpleNamespace(stack=lambda values, axis=0, name=None: np.stack(values, axis))
    monkeypatch.setitem(sys.modules, "tensorflow", fake)
    from mrcnn.utils import batch_slice
    a = np.arange(24).reshape(3, 2, 4)
    b = np.arange(3) * 10
    single = batch_slice([a, b], lambda x, y: x.sum(axis=0) + y, 3)
    np.testing.assert_array_equal(single, a.sum(axis=1) + b[:, None])
    first, second = batch_slice(a, lambda x: (x[0], x.max()), 3, names=["f", "s"])
    np.testing.assert_array_equal(first, a[:, 0])
    np.testing.assert_array_equal(second, a.max(axis=(1, 2)))
    with pytest.raises(ValueError, match="batch_size"):
        batch_slice(a, lambda x: x, 0)
