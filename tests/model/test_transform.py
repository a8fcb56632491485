"""mrcnn.transform: molding, batching by molded shape and unmolding, on real photos and
Matterport's per-instance formulas."""

import numpy as np
import pytest
import skimage.io

import mrcnn.model as modellib
from mrcnn import image_meta, masks as np_masks
from mrcnn.transform import (MoldedBatch, group_by_molded_shape, mold_inputs, mold_one,
                             molded_batches)
from tests.conftest import SmallConfig
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))


class AsIsConfig(SmallConfig):
    """Molds without resizing, so that photos of different sizes mold to different shapes."""
    IMAGE_RESIZE_MODE = "none"


@pytest.fixture(scope="module")
def photos():
    # 375x500, 448x640, 375x500, 640x425: two of one shape, then two shapes of one image each.
    return [skimage.io.imread(PHOTOS[i]) for i in (1, 0, 6, 3)]


def test_unmold_detections_matches_per_instance_reference():
    rng = np.random.default_rng(0)
    config = SmallConfig()
    original = (375, 500, 3)
    molded = (128, 128, 3)
    window = np.array([17, 0, 111, 128])  # a 375x500 photo in a 128 square
    n, dmax, nc = 6, 10, config.NUM_CLASSES
    detections = np.zeros((dmax, 6), np.float32)
    y1 = rng.uniform(0.15, 0.6, n)
    x1 = rng.uniform(0.0, 0.6, n)
    detections[:n, 0], detections[:n, 1] = y1, x1
    detections[:n, 2] = y1 + rng.uniform(0.02, 0.2, n)
    detections[:n, 3] = x1 + rng.uniform(0.02, 0.3, n)
    detections[:n, 4] = rng.integers(1, nc, n)
    detections[:n, 5] = np.sort(rng.uniform(0.5, 1, n))[::-1]
    mrcnn_mask = rng.uniform(size=(dmax, 28, 28, nc)).astype(np.float32)
    boxes, class_ids, scores, full = modellib.MaskRCNN.unmold_detections(
        None, detections, mrcnn_mask, original, molded, window)
    # Reference: Matterport's formulas, one instance at a time.
    wy1, wx1, wy2, wx2 = (window - [0, 0, 1, 1]) / np.array([127, 127, 127, 127])
    wh, ww = wy2 - wy1, wx2 - wx1
    ref = (detections[:n, :4] - [wy1, wx1, wy1, wx1]) / [wh, ww, wh, ww]
    ref = np.around(ref * [374, 499, 374, 499] + [0, 0, 1, 1]).astype(np.int32)
    np.testing.assert_array_equal(boxes, ref)
    np.testing.assert_array_equal(class_ids, detections[:n, 4].astype(np.int32))
    for i in range(n):
        expected = np_masks.unmold_mask(mrcnn_mask[i, :, :, class_ids[i]], boxes[i], original)
        assert (full[:, :, i] != expected).mean() < 1e-4


def test_empty_detections_give_bool_masks():
    detections = np.zeros((5, 6), np.float32)
    boxes, class_ids, scores, full = modellib.MaskRCNN.unmold_detections(
        None, detections, np.zeros((5, 28, 28, 4), np.float32), (30, 40, 3), (64, 64, 3),
        [0, 0, 64, 64])
    assert full.shape == (30, 40, 0) and full.dtype == bool
    assert boxes.shape == (0, 4) and class_ids.shape == (0,) and scores.shape == (0,)


def test_mold_one_is_one_row_of_mold_inputs(photos):
    config = SmallConfig()
    molded, metas, windows = mold_inputs(photos, config)
    assert molded.shape == (4, 128, 128, 3) and molded.dtype == np.float32
    assert metas.shape == (4, config.IMAGE_META_SIZE) and windows.dtype == np.int32
    for i, photo in enumerate(photos):
        one = mold_one(photo, config)
        np.testing.assert_array_equal(one[0], molded[i])
        np.testing.assert_array_equal(one[1], metas[i])
        np.testing.assert_array_equal(one[2], windows[i])
        np.testing.assert_array_equal(image_meta.window(metas[i]), windows[i])
        np.testing.assert_array_equal(image_meta.original_image_shape(metas[i]), photo.shape)
    # A 375x500 photo in a 128 square: scale 128 / 500, height 96, centred.
    np.testing.assert_array_equal(windows[0], [16, 0, 112, 128])


def test_mold_inputs_refuses_images_of_different_molded_sizes(photos):
    with pytest.raises(ValueError, match="same size"):
        mold_inputs(photos, AsIsConfig())


def test_molded_batches_group_by_shape_in_first_seen_order(photos):
    config = AsIsConfig()
    molded = [mold_inputs([photo], config) for photo in photos]
    groups = group_by_molded_shape(molded)
    assert list(groups.items()) == [((375, 500, 3), [0, 2]), ((448, 640, 3), [1]),
                                    ((640, 425, 3), [3])]

    batches = list(molded_batches(molded, 1))
    assert [b.indices for b in batches] == [[0], [2], [1], [3]]
    batches = list(molded_batches(molded, 2))
    assert [b.indices for b in batches] == [[0, 2], [1], [3]]
    for batch in batches:
        assert isinstance(batch, MoldedBatch)
        assert batch.images.shape == (len(batch.indices),) + batch.shape
        for j, i in enumerate(batch.indices):
            np.testing.assert_array_equal(batch.images[j], molded[i][0][0])
            np.testing.assert_array_equal(batch.image_metas[j], molded[i][1][0])
            np.testing.assert_array_equal(batch.windows[j], molded[i][2][0])
            # "none" mode: the window is the whole photo, the meta says the photo's shape.
            np.testing.assert_array_equal(batch.windows[j], [0, 0] + list(photos[i].shape[:2]))
            np.testing.assert_array_equal(image_meta.image_shape(batch.image_metas[j]),
                                          photos[i].shape)


def test_molded_batches_refuse_bad_arguments_when_called(photos):
    config = SmallConfig()
    molded = [mold_inputs([photo], config) for photo in photos[:2]]
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
            molded_batches(molded, bad)
    with pytest.raises(ValueError, match=r"molded\[0\] must be one image's mold_inputs"):
        molded_batches([mold_inputs(photos[:2], config)], 2)
    with pytest.raises(ValueError, match=r"molded\[1\] must be one image's"):
        group_by_molded_shape([molded[0], molded[1][:2]])
