"""Tests for samples/shapes/shapes.py (ShapesConfig, ShapesDataset)."""

import math
import random
import subprocess
import sys

import numpy as np
import pytest

from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
SHAPES_DIR = ROOT / "samples" / "shapes"
if str(SHAPES_DIR) not in sys.path:
    sys.path.insert(0, str(SHAPES_DIR))

import shapes  # noqa: E402


def _dataset(count=24, size=128, seed=7):
    ds = shapes.ShapesDataset()
    ds.load_shapes(count, size, size, seed=seed)
    ds.prepare()
    return ds


def _full_masks(ds, image_id):
    """Un-occluded mask of every shape, drawn independently."""
    info = ds.image_info[image_id]
    return [ds.draw_shape(np.zeros((info["height"], info["width"]), np.uint8), name, dims, 1)
            .astype(bool) for name, _, dims in info["shapes"]]


def _iou(a, b):
    ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def test_config_values():
    c = shapes.ShapesConfig()
    assert c.NAME == "shapes" and c.GPU_COUNT == 1 and c.IMAGES_PER_GPU == 8
    assert c.NUM_CLASSES == 4 and c.IMAGE_MIN_DIM == 128 and c.IMAGE_MAX_DIM == 128
    assert tuple(c.RPN_ANCHOR_SCALES) == (8, 16, 32, 64, 128)
    assert c.TRAIN_ROIS_PER_IMAGE == 32 and c.STEPS_PER_EPOCH == 100
    assert c.VALIDATION_STEPS == 5
    assert c.BATCH_SIZE == 8 and list(c.IMAGE_SHAPE) == [128, 128, 3]


def test_classes_and_image_info():
    ds = _dataset(count=10)
    assert ds.class_names == ["BG", "square", "circle", "triangle"]
    assert ds.num_images == 10
    for image_id in ds.image_ids:
        info = ds.image_info[image_id]
        assert info["path"] is None and info["source"] == "shapes"
        assert info["height"] == info["width"] == 128
        assert 1 <= len(info["shapes"]) <= 4
        assert ds.image_reference(image_id) is info["shapes"]
        bg = np.asarray(info["bg_color"])
        assert bg.shape == (3,) and bg.min() >= 0 and bg.max() <= 255


def test_masks_align_with_drawn_pixels_and_occlusion():
    ds = _dataset(count=40, seed=11)
    occluded_somewhere = False
    for image_id in ds.image_ids:
        info = ds.image_info[image_id]
        image = ds.load_image(image_id)
        mask, class_ids = ds.load_mask(image_id)
        n = len(info["shapes"])
        assert image.dtype == np.uint8 and image.shape == (128, 128, 3)
        assert mask.dtype == np.uint8 and mask.shape == (128, 128, n)
        assert class_ids.dtype == np.int32
        assert set(np.unique(mask)) <= {0, 1}
        assert mask.sum(axis=-1).max() <= 1  # each pixel belongs to at most one shape
        full = _full_masks(ds, image_id)
        for i, (name, color, _) in enumerate(info["shapes"]):
            assert class_ids[i] == ds.class_names.index(name)
            m = mask[:, :, i].astype(bool)
            # every mask pixel shows the shape's colour
            assert np.all(image[m] == np.array(color, np.uint8))
            # the visible part is the full shape minus what later shapes cover
            later = np.zeros_like(m)
            for j in range(i + 1, n):
                later |= full[j]
            np.testing.assert_array_equal(m, full[i] & ~later)
            if np.any(full[i] & later):
                occluded_somewhere = True
        background = ~mask.any(axis=-1)
        assert np.all(image[background] == np.asarray(info["bg_color"], np.uint8))
        # masks cover exactly the union of the drawn shapes
        np.testing.assert_array_equal(~background, np.any(full, axis=0))
    assert occluded_somewhere, "no overlapping shapes in 40 images: occlusion not exercised"


def test_draw_shape_geometry():
    ds = shapes.ShapesDataset()
    sq = ds.draw_shape(np.zeros((100, 100), np.uint8), "square", (50, 40, 10), 1)
    ys, xs = np.nonzero(sq)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (30, 50, 40, 60)
    assert sq.sum() == 21 * 21
    circ = ds.draw_shape(np.zeros((100, 100, 3), np.uint8), "circle", (50, 50, 20), (9, 8, 7))
    inside = np.all(circ == (9, 8, 7), axis=-1)
    assert abs(inside.sum() - math.pi * 400) < 0.05 * math.pi * 400
    assert inside[50, 50] and not inside[50, 75] and not inside[20, 50]
    tri = ds.draw_shape(np.zeros((100, 100), np.uint8), "triangle", (50, 50, 20), 1)
    ys, xs = np.nonzero(tri)
    assert ys.min() == 30 and ys.max() == 70
    base = np.nonzero(tri[70])[0]
    half = 20 / math.sin(math.radians(60))
    assert abs(base.min() - (50 - half)) <= 1.5 and abs(base.max() - (50 + half)) <= 1.5
    assert np.nonzero(tri[31])[0].size < 6  # narrow apex at the top
    with pytest.raises(ValueError):
        ds.draw_shape(np.zeros((10, 10), np.uint8), "hexagon", (5, 5, 2), 1)


def test_random_shape_and_image_ranges():
    ds = shapes.ShapesDataset()
    rng = random.Random(5)
    for _ in range(200):
        name, color, (x, y, s) = ds.random_shape(128, 96, rng=rng)
        assert name in ("square", "circle", "triangle")
        assert all(0 <= c <= 255 and isinstance(c, int) for c in color) and len(color) == 3
        assert 20 <= y <= 128 - 21 and 20 <= x <= 96 - 21 and 20 <= s <= 32
    for _ in range(100):
        bg, shape_list = ds.random_image(128, 128, rng=rng)
        assert 1 <= len(shape_list) <= 4 and bg.shape == (3,)
        boxes = [(y - s, x - s, y + s, x + s) for _, _, (x, y, s) in shape_list]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert _iou(boxes[i], boxes[j]) <= 0.3
    with pytest.raises(ValueError):
        ds.load_shapes(3, 64, 64)
    with pytest.raises(ValueError):
        ds.load_shapes(-1, 128, 128)


def test_seeded_datasets_identical_unseeded_differ():
    a, b = _dataset(count=12, seed=123), _dataset(count=12, seed=123)
    for image_id in a.image_ids:
        assert a.image_info[image_id]["shapes"] == b.image_info[image_id]["shapes"]
        np.testing.assert_array_equal(a.load_image(image_id), b.load_image(image_id))
        np.testing.assert_array_equal(a.load_mask(image_id)[0], b.load_mask(image_id)[0])
    c = _dataset(count=12, seed=124)
    assert [i["shapes"] for i in c.image_info] != [i["shapes"] for i in a.image_info]
    u1, u2 = _dataset(count=12, seed=None), _dataset(count=12, seed=None)
    assert [i["shapes"] for i in u1.image_info] != [i["shapes"] for i in u2.image_info]
    # the global random state is neither used nor changed
    random.seed(0)
    state = random.getstate()
    _dataset(count=3, seed=None)
    assert random.getstate() == state


def test_load_mask_requires_prepare():
    ds = shapes.ShapesDataset()
    ds.load_shapes(1, 128, 128, seed=0)
    with pytest.raises(RuntimeError, match="prepare"):
        ds.load_mask(0)


def test_runs_as_script(tmp_path):
    res = subprocess.run([sys.executable, str(SHAPES_DIR / "shapes.py"), "--count", "2",
                          "--seed", "3", "--out", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("image ") == 2
    from PIL import Image
    ds = _dataset(count=2, seed=3)
    for i in range(2):
        with Image.open(tmp_path / f"shapes_{i}.png") as im:
            assert im.size == (128, 128)
            overlay = np.asarray(im.convert("RGB"))
        # the overlay differs from the plain image exactly around the shapes
        changed = np.any(overlay != ds.load_image(i), axis=-1)
        mask, _ = ds.load_mask(i)
        assert changed[mask.any(axis=-1)].mean() > 0.5
