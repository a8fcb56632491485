"""mrcnn.ground_truth (load_image_gt) on real data (COCO tiny, DSB2018 nuclei), against
independent computations."""

import logging

import numpy as np
import pytest

from mrcnn.boxes import extract_bboxes
from mrcnn.example_loader import TrainingExampleLoader
from mrcnn.ground_truth import load_image_gt
from mrcnn.image import mold_image, resize_image
from mrcnn.masks import expand_mask, minimize_mask
from tests.data.training_data import (  # noqa: F401 - fixtures are used by their names
    CocoTinyDataset, NucleusConfig, NucleusDataset, _crowd_image, _nucleus_names, coco, coco_ds,
    config)


# ------------------------------------------------------------------------------------------------
# load_image_gt
def test_load_image_gt_coco(coco_ds, config):
    image_id = _crowd_image(coco_ds)
    image, meta, class_ids, bbox, mask = load_image_gt(coco_ds, config, image_id)
    original = coco_ds.load_image(image_id)
    expected_image, window, scale, padding, _ = resize_image(original, 256, 256, mode="square")
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, expected_image)

    # image_meta layout
    assert meta.shape == (12 + 81,)
    assert meta[0] == image_id
    np.testing.assert_array_equal(meta[1:4], original.shape)
    np.testing.assert_array_equal(meta[4:7], (256, 256, 3))
    np.testing.assert_array_equal(meta[7:11], window)
    assert meta[11] == pytest.approx(scale)
    np.testing.assert_array_equal(meta[12:], np.ones(81))  # one source: every class active

    assert class_ids.dtype == np.int32 and bbox.dtype == np.int32 and mask.dtype == bool
    assert mask.shape == (256, 256, len(class_ids)) and bbox.shape == (len(class_ids), 4)
    assert (class_ids < 0).sum() >= 1  # the crowd instance is kept, with a negative id
    np.testing.assert_array_equal(bbox, extract_bboxes(mask))
    assert mask.any(axis=(0, 1)).all()

    # Boxes agree with COCO's own annotation boxes, scaled into the molded image.
    anns = [a for a in coco_ds.image_info[image_id]["annotations"] if not a["iscrowd"]]
    top, left = padding[0][0], padding[1][0]
    coco_boxes = np.array([[a["bbox"][1] * scale + top, a["bbox"][0] * scale + left,
                            (a["bbox"][1] + a["bbox"][3]) * scale + top,
                            (a["bbox"][0] + a["bbox"][2]) * scale + left] for a in anns])
    ours = bbox[class_ids > 0]
    assert len(ours) == len(anns)  # every non-crowd instance survived the 0.4 downscale
    assert np.abs(ours - coco_boxes).max() < 2.5
    expected_ids = [coco_ds.map_source_class_id(f"coco.{a['category_id']}") for a in anns]
    np.testing.assert_array_equal(class_ids[class_ids > 0], expected_ids)


def test_mini_mask_round_trip(coco_ds, config):
    full = load_image_gt(coco_ds, config, 0, use_mini_mask=False)
    mini = load_image_gt(coco_ds, config, 0, use_mini_mask=True)
    np.testing.assert_array_equal(full[0], mini[0])
    np.testing.assert_array_equal(full[3], mini[3])
    assert mini[4].shape == (56, 56, len(full[2]))
    np.testing.assert_array_equal(mini[4], minimize_mask(full[3], full[4], (56, 56)))
    restored = expand_mask(mini[3], mini[4], (256, 256))
    big = full[4].sum(axis=(0, 1)) >= 200
    assert big.sum() >= 3
    inter = (restored & full[4]).sum(axis=(0, 1))[big]
    union = (restored | full[4]).sum(axis=(0, 1))[big]
    assert (inter / union).min() > 0.75


def test_load_image_gt_drops_empty_masks_with_warning(coco_ds, config, caplog):
    class WithEmpty(CocoTinyDataset):
        def load_mask(self, image_id):
            mask, ids = super().load_mask(image_id)
            empty = np.zeros(mask.shape[:2] + (1,), dtype=bool)
            speck = empty.copy()
            speck[1, 1] = True  # one pixel: lost by the 0.4 nearest-neighbour downscale
            return np.concatenate([mask, empty, speck], -1), np.append(ids, [3, 4]).astype(np.int32)

    ds = WithEmpty().load(coco_ds.coco, limit=1)
    ds.prepare()
    reference = load_image_gt(coco_ds, config, 0)
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        image, meta, class_ids, bbox, mask = load_image_gt(ds, config, 0)
    np.testing.assert_array_equal(class_ids, reference[2])
    np.testing.assert_array_equal(mask, reference[4])
    text = caplog.text
    assert ds.image_info[0]["path"] in text and "dropped 1 instance(s) with an empty mask" in text
    assert "1 that vanished when the image was resized" in text


def test_load_image_gt_scales_float_unit_images_and_refuses_nan(coco_ds, config, caplog):
    class UnitFloat(CocoTinyDataset):
        """load_image returns float [0, 1] images (e.g. skimage.img_as_float); image 1 has NaNs."""

        def load_image(self, image_id):
            image = super().load_image(image_id) / 255.0
            if image_id == 1:
                image[:10, :10] = np.nan
            return image

    ds = UnitFloat().load(coco_ds.coco, limit=3)
    ds.prepare()
    reference = load_image_gt(coco_ds, config, 0)
    image, meta, class_ids, bbox, mask = load_image_gt(ds, config, 0)
    assert image.dtype == np.float32 and image.max() > 200  # 0-255, not a black image
    # The uint8 path truncates after resizing; the float one keeps the fraction.
    np.testing.assert_allclose(image, reference[0], atol=1.0 + 1e-3)
    np.testing.assert_array_equal(class_ids, reference[2])
    np.testing.assert_array_equal(mask, reference[4])
    with pytest.raises(ValueError, match=r"image 1 .*NaN"):
        load_image_gt(ds, config, 1)
    # The training loader skips the NaN image, names it and counts it.
    loader = TrainingExampleLoader(ds, config, seed=0)
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        examples = [loader(i) for i in range(3)]
    assert examples[1] is None and examples[0] is not None and examples[2] is not None
    assert loader.skipped.count == 1 and "NaN" in loader.skipped.reasons[1]
    assert ds.image_info[1]["path"] in caplog.text
    np.testing.assert_allclose(examples[0]["input_image"],
                               mold_image(reference[0], config), atol=1.0 + 1e-3)


def test_load_image_gt_crop_mode_is_a_real_crop_and_seedable():
    ds = NucleusDataset().load(_nucleus_names("360x360", 2))
    ds.prepare()
    config = NucleusConfig()
    original = ds.load_image(0)
    full_mask, _ = ds.load_mask(0)
    results = [load_image_gt(ds, config, 0, rng=np.random.default_rng(s)) for s in (1, 1, 2, 3)]
    for a, b in zip(results[0], results[1]):
        np.testing.assert_array_equal(a, b)  # same seed, same crop
    offsets = set()
    for image, meta, class_ids, bbox, mask in results:
        assert image.shape == (256, 256, 3)
        np.testing.assert_array_equal(meta[7:11], (0, 0, 256, 256))
        # Find the crop in the original (scale 1 for a 360 x 360 image) by brute force.
        # Offsets at which 64 scattered pixels match, then a full comparison.
        py, px = np.random.default_rng(0).integers(0, 256, (2, 64))
        ys, xs = np.mgrid[0:105, 0:105]
        hits = (original[py[:, None, None] + ys, px[:, None, None] + xs]
                == image[py, px][:, None, None]).all(axis=(0, -1))
        found = [(y, x) for y, x in np.argwhere(hits)
                 if np.array_equal(original[y:y + 256, x:x + 256], image)]
        assert len(found) == 1
        y, x = found[0]
        offsets.add((y, x))
        cropped = full_mask[y:y + 256, x:x + 256]
        np.testing.assert_array_equal(mask, cropped[:, :, cropped.any(axis=(0, 1))])
        np.testing.assert_array_equal(bbox, extract_bboxes(mask))
        assert (class_ids == 1).all()
    assert len(offsets) >= 2


def test_deprecated_augment_flag_flips_half_the_time(coco_ds, config):
    plain = load_image_gt(coco_ds, config, 1)
    flipped = 0
    for seed in range(10):
        with pytest.warns(DeprecationWarning, match="augment"):
            image, _, class_ids, bbox, mask = load_image_gt(coco_ds, config, 1, augment=True,
                                                            rng=np.random.default_rng(seed))
        if np.array_equal(image, plain[0]):
            np.testing.assert_array_equal(mask, plain[4])
        else:
            np.testing.assert_array_equal(image, plain[0][:, ::-1])
            np.testing.assert_array_equal(mask, plain[4][:, ::-1])
            flipped += 1
        np.testing.assert_array_equal(bbox, extract_bboxes(mask))
    assert 1 <= flipped <= 9
