"""mrcnn.masks against scipy/skimage references and real nucleus masks."""

import numpy as np
import pytest
import scipy.ndimage
import skimage.io
import skimage.transform

import mrcnn.masks as masks_mod
from mrcnn.boxes import extract_bboxes
from mrcnn.image import resize_image
from mrcnn.masks import (compute_overlaps_masks, expand_mask, minimize_mask, mold_mask,
                         paste_masks, resize_mask, unmold_mask)
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
NUCLEUS = DATA / "dsb2018_nucleus_subset" / "stage1_train"


def _nucleus(index):
    image_id = sorted(p.name for p in NUCLEUS.iterdir())[index]
    image = skimage.io.imread(NUCLEUS / image_id / "images" / f"{image_id}.png")[..., :3]
    files = sorted((NUCLEUS / image_id / "masks").glob("*.png"))
    return image, np.stack([skimage.io.imread(f) > 0 for f in files], axis=-1)


@pytest.fixture(scope="module")
def nucleus():
    return _nucleus(2)  # 256 x 320, 70 nuclei


def _ref_resize(m, shape):
    """skimage.transform.resize exactly as Matterport's utils.resize calls it."""
    return skimage.transform.resize(m, shape, order=1, mode="constant", cval=0, clip=True,
                                    preserve_range=False, anti_aliasing=False)


def _mask_iou(a, b):
    return np.logical_and(a, b).sum() / np.logical_or(a, b).sum()


# --- resize_mask ------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [0.37, 0.999, 1.5, 2.048, 3.1])
def test_resize_mask_equals_scipy_zoom(scale):
    rng = np.random.default_rng(int(scale * 100))
    mask = rng.random((57, 91, 4)) > 0.6
    padding = [(3, 4), (0, 2), (0, 0)]
    out = resize_mask(mask, scale, padding)
    ref = np.pad(scipy.ndimage.zoom(mask, [scale, scale, 1], order=0), padding)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, ref)
    crop = (2, 5, 20, 30)
    out = resize_mask(mask, scale, padding, crop)
    ref = scipy.ndimage.zoom(mask, [scale, scale, 1], order=0)[2:22, 5:35]
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("mode,min_dim,max_dim", [("square", 400, 512), ("pad64", 256, None),
                                                  ("crop", 256, None), ("none", None, None)])
def test_resize_mask_follows_resize_image_on_real_data(nucleus, mode, min_dim, max_dim):
    image, mask = nucleus
    resized, window, scale, padding, crop = resize_image(image, min_dim, max_dim, mode=mode)
    out = resize_mask(mask, scale, padding, crop)
    assert out.shape == resized.shape[:2] + (mask.shape[-1],)
    if crop is None:
        y1, x1, y2, x2 = window
        outside = np.ones(out.shape[:2], bool)
        outside[y1:y2, x1:x2] = False
        assert not out[outside].any()
        # Total mask area scales with scale ** 2.
        assert out.sum() == pytest.approx(mask.sum() * scale ** 2, rel=0.05)


def test_resize_mask_empty_instances():
    out = resize_mask(np.zeros((10, 12, 0), bool), 2.0, [(1, 1), (0, 0), (0, 0)])
    assert out.shape == (22, 24, 0)


# --- minimize / expand ------------------------------------------------------------------------

def test_minimize_mask_matches_reference(nucleus):
    _, mask = nucleus
    bbox = extract_bboxes(mask)
    mini = minimize_mask(bbox, mask, (56, 56))
    assert mini.shape == (56, 56, mask.shape[-1]) and mini.dtype == bool
    for i in range(0, mask.shape[-1], 7):
        y1, x1, y2, x2 = bbox[i]
        ref = np.around(_ref_resize(mask[y1:y2, x1:x2, i].astype(np.float64), (56, 56)))
        np.testing.assert_array_equal(mini[:, :, i], ref.astype(bool))


def test_minimize_expand_round_trip_on_real_masks():
    for index in (0, 2, 5):
        _, mask = _nucleus(index)
        bbox = extract_bboxes(mask)
        back = expand_mask(bbox, minimize_mask(bbox, mask, (56, 56)), mask.shape)
        assert back.shape == mask.shape and back.dtype == bool
        ious = [_mask_iou(mask[..., i], back[..., i]) for i in range(mask.shape[-1])]
        assert min(ious) > 0.9
        # A coarse mini mask loses detail but stays close.
        back = expand_mask(bbox, minimize_mask(bbox, mask, (8, 8)), mask.shape)
        assert np.mean([_mask_iou(mask[..., i], back[..., i])
                        for i in range(mask.shape[-1])]) > 0.7


def test_minimize_mask_zero_area_box():
    mask = np.zeros((10, 10, 1), bool)
    with pytest.raises(ValueError, match="area of zero"):
        minimize_mask(extract_bboxes(mask), mask, (56, 56))


# --- unmold / mold ----------------------------------------------------------------------------

def test_unmold_mask_matches_reference():
    rng = np.random.default_rng(0)
    soft = rng.random((28, 28)).astype(np.float32)
    bbox = np.array([10, 20, 47, 33])
    full = unmold_mask(soft, bbox, (60, 50, 3))
    assert full.shape == (60, 50) and full.dtype == bool
    ref = np.zeros((60, 50), bool)
    ref[10:47, 20:33] = _ref_resize(soft, (37, 13)) >= 0.5
    np.testing.assert_array_equal(full, ref)
    with pytest.raises(ValueError, match="outside"):
        unmold_mask(soft, [10, 20, 70, 33], (60, 50))
    with pytest.raises(ValueError, match="empty"):
        unmold_mask(soft, [10, 20, 10, 33], (60, 50))


class _MaskConfig:
    MASK_SHAPE = [28, 28]


def test_mold_mask_is_the_inverse_of_unmold_mask(nucleus):
    _, mask = nucleus
    molded = mold_mask(mask, _MaskConfig)
    assert molded.shape == (28, 28, mask.shape[-1]) and molded.dtype == np.float32
    assert molded.min() >= 0 and molded.max() <= 1
    bbox = extract_bboxes(mask)
    back = paste_masks(np.moveaxis(molded, -1, 0), bbox, mask.shape)
    ious = [_mask_iou(mask[..., i], back[..., i]) for i in range(mask.shape[-1])]
    assert min(ious) > 0.9
    # A single 2-D mask, with an explicit box.
    y1, x1, y2, x2 = bbox[0]
    one = mold_mask(mask[..., 0], _MaskConfig, bbox=bbox[0])
    np.testing.assert_allclose(one, _ref_resize(mask[y1:y2, x1:x2, 0].astype(float), (28, 28)),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        mold_mask(np.zeros((5, 5)), _MaskConfig)


# --- paste_masks ------------------------------------------------------------------------------

def _boxes_of_many_sizes(rng, height, width):
    fixed = [
        [0, 0, height, width],                    # whole image
        [0, 0, 1, 1],                             # one pixel in the corner
        [height - 1, width - 1, height, width],   # one pixel in the other corner
        [5, 0, 6, width],                         # one pixel tall, full width
        [0, width - 1, height, width],            # one pixel wide at the right edge
        [3, 4, 30, 5],                            # one pixel wide
        [height - 20, 10, height, 12],            # two pixels wide at the bottom edge
        [0, 7, 13, 21],                           # smaller than the mask (downsampling)
        [10, 10, 38, 38],                         # exactly the mask size
        [1, 2, 57, 86],                           # exactly twice
    ]
    y1 = rng.integers(0, height - 1, 40)
    x1 = rng.integers(0, width - 1, 40)
    y2 = y1 + 1 + rng.integers(0, height - y1)
    x2 = x1 + 1 + rng.integers(0, width - x1)
    y2, x2 = np.minimum(y2, height), np.minimum(x2, width)
    return np.concatenate([np.array(fixed), np.stack([y1, x1, y2, x2], 1)]).astype(np.int32)


def _soft_masks(rng, n, h, w, dtype):
    # Smooth random fields through a sigmoid, like the mask head's outputs, plus uniform noise.
    field = scipy.ndimage.gaussian_filter(rng.normal(size=(n, h, w)), sigma=(0, 2, 2)) * 8
    soft = 1 / (1 + np.exp(-field))
    soft[: n // 3] = rng.random((n // 3, h, w))
    return soft.astype(dtype)


def _check_against_unmold(masks, boxes, shape):
    out = paste_masks(masks, boxes, shape)
    ref = np.stack([unmold_mask(m, b, shape) for m, b in zip(masks, boxes)], axis=-1)
    assert out.shape == ref.shape and out.dtype == bool
    diff = np.argwhere(out != ref)
    assert len(diff) <= max(2, 1e-5 * out.size)
    for y, x, i in diff:
        # Allowed only where the interpolated value is within 1e-5 of the threshold.
        y1, x1, y2, x2 = boxes[i]
        value = _ref_resize(masks[i].astype(np.float64), (y2 - y1, x2 - x1))[y - y1, x - x1]
        assert abs(value - 0.5) < 1e-5
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask_shape", [(28, 28), (14, 21)])
def test_paste_masks_equals_stacked_unmold_mask(dtype, mask_shape):
    rng = np.random.default_rng(mask_shape[1])
    height, width = 90, 120
    boxes = _boxes_of_many_sizes(rng, height, width)
    masks = _soft_masks(rng, len(boxes), *mask_shape, dtype)
    out = _check_against_unmold(masks, boxes, (height, width, 3))
    assert out.any()


def test_paste_masks_in_several_chunks(monkeypatch):
    monkeypatch.setattr(masks_mod, "_PASTE_CHUNK_ELEMENTS", 3000)
    rng = np.random.default_rng(7)
    boxes = _boxes_of_many_sizes(rng, 90, 120)
    _check_against_unmold(_soft_masks(rng, len(boxes), 28, 28, np.float32), boxes, (90, 120))


def test_paste_masks_edge_behaviour_of_constant_masks():
    # skimage clips to the input range, so a constant 0.6 mask fills its whole box even though
    # the zero-padded edge interpolation alone (e.g. 0.6 * 0.625) falls below 0.5 ...
    boxes = np.array([[2, 3, 40, 9], [0, 0, 1, 50], [10, 10, 11, 11]])
    filled = paste_masks(np.full((3, 28, 28), 0.6, np.float32), boxes, (50, 50))
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        assert filled[y1:y2, x1:x2, i].all() and filled[..., i].sum() == (y2 - y1) * (x2 - x1)
    # ... while a mask that is 0.6 inside and 0 on its border is cut at the box edge.
    soft = np.zeros((1, 4, 4))
    soft[0, 1:3, 1:3] = 0.6
    _check_against_unmold(soft, np.array([[0, 0, 16, 16]]), (16, 16))


def test_paste_masks_empty_and_errors():
    out = paste_masks(np.zeros((0, 28, 28), np.float32), np.zeros((0, 4), np.int32), (30, 40, 3))
    assert out.shape == (30, 40, 0) and out.dtype == bool
    soft = np.ones((1, 28, 28))
    with pytest.raises(ValueError, match="outside"):
        paste_masks(soft, [[0, 0, 31, 5]], (30, 40))
    with pytest.raises(ValueError, match="empty"):
        paste_masks(soft, [[4, 4, 4, 9]], (30, 40))
    with pytest.raises(ValueError, match="one box per mask"):
        paste_masks(soft, np.zeros((2, 4), int), (30, 40))
    with pytest.raises(ValueError, match=r"\[N, h, w\]"):
        paste_masks(np.ones((28, 28, 1, 2)), [[0, 0, 3, 3]], (30, 40))
    with pytest.raises(ValueError, match="integer"):
        paste_masks(soft, [[0.5, 0, 3, 3]], (30, 40))


# --- compute_overlaps_masks -------------------------------------------------------------------

def test_compute_overlaps_masks_matches_brute_force(nucleus):
    _, mask = nucleus
    rng = np.random.default_rng(0)
    # Predictions: the real masks shifted by a pixel plus random blobs; compare all pairs.
    pred = np.concatenate([np.roll(mask[..., :10], 1, axis=0),
                           rng.random(mask.shape[:2] + (3,)) > 0.7], axis=-1)
    ov = compute_overlaps_masks(pred, mask)
    assert ov.shape == (13, mask.shape[-1])
    for i in range(pred.shape[-1]):
        for j in range(0, mask.shape[-1], 5):
            inter = np.sum(pred[..., i] & mask[..., j])
            union = np.sum(pred[..., i] | mask[..., j])
            assert ov[i, j] == pytest.approx(inter / union)
    # Soft masks are binarised with > 0.5.
    soft = np.where(mask[..., :2], 0.7, 0.3)
    np.testing.assert_allclose(compute_overlaps_masks(soft, mask[..., :2]), np.eye(2) +
                               compute_overlaps_masks(mask[..., :2], mask[..., :2]) *
                               (1 - np.eye(2)))
    assert compute_overlaps_masks(mask, np.zeros(mask.shape[:2] + (0,))).shape == (70, 0)
