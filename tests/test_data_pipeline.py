"""mrcnn.data_pipeline on real data (COCO tiny, DSB2018 nuclei), against independent computations."""

import logging
import threading
import warnings
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import skimage.io
import skimage.transform
import tensorflow as tf
from pycocotools.coco import COCO

from mrcnn.anchors import get_anchors
from mrcnn.boxes import apply_box_deltas, compute_overlaps, extract_bboxes
from mrcnn.config import Config
from mrcnn.data_pipeline import (TRAINING_INPUT_NAMES, TrainingExampleLoader, build_dataset,
                                 build_detection_targets, build_rpn_targets, data_generator,
                                 generate_random_rois, load_image_gt)
from mrcnn.dataset import Dataset
from mrcnn.image import mold_image, resize_image
from mrcnn.masks import expand_mask, minimize_mask

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COCO_DIR = DATA / "coco_tiny"
NUCLEUS_DIR = DATA / "dsb2018_nucleus_subset" / "stage1_train"


# ------------------------------------------------------------------------------------------------
# Real datasets
class CocoTinyDataset(Dataset):
    """COCO tiny through pycocotools; crowd annotations get negative class ids."""

    def load(self, coco, subset="val", limit=None):
        self.coco = coco
        for cat_id in sorted(coco.getCatIds()):
            self.add_class("coco", cat_id, coco.loadCats(cat_id)[0]["name"])
        for coco_id in sorted(coco.getImgIds())[:limit]:
            info = coco.loadImgs(coco_id)[0]
            self.add_image("coco", coco_id, str(COCO_DIR / f"{subset}2017" / info["file_name"]),
                           annotations=coco.loadAnns(coco.getAnnIds(imgIds=coco_id)))
        return self

    def image_reference(self, image_id):
        return self.image_info[image_id]["path"]

    def load_mask(self, image_id):
        masks, class_ids = [], []
        for ann in self.image_info[image_id]["annotations"]:
            m = self.coco.annToMask(ann).astype(bool)
            if not m.any():
                continue
            class_id = self.map_source_class_id(f"coco.{ann['category_id']}")
            masks.append(m)
            class_ids.append(-class_id if ann["iscrowd"] else class_id)
        if not masks:
            return super().load_mask(image_id)
        return np.stack(masks, axis=-1), np.array(class_ids, dtype=np.int32)


class NucleusDataset(Dataset):
    """DSB2018 nuclei: RGBA image PNG plus one PNG per nucleus."""

    def load(self, names):
        self.add_class("nucleus", 1, "nucleus")
        for name in names:
            self.add_image("nucleus", name, str(NUCLEUS_DIR / name / "images" / f"{name}.png"))
        return self

    def load_mask(self, image_id):
        folder = Path(self.image_info[image_id]["path"]).parents[1] / "masks"
        masks = np.stack([skimage.io.imread(f) > 0 for f in sorted(folder.glob("*.png"))], -1)
        return masks, np.ones([masks.shape[-1]], dtype=np.int32)


class CocoConfig(Config):
    NAME = "coco_tiny_test"
    NUM_CLASSES = 81
    IMAGE_MIN_DIM = 256
    IMAGE_MAX_DIM = 256
    IMAGES_PER_GPU = 2
    MAX_GT_INSTANCES = 20


class NucleusConfig(Config):
    NAME = "nucleus_test"
    NUM_CLASSES = 2
    IMAGE_RESIZE_MODE = "crop"
    IMAGE_MIN_DIM = 256
    IMAGE_MAX_DIM = 256
    USE_MINI_MASK = False
    MAX_GT_INSTANCES = 50


@pytest.fixture(scope="module")
def coco():
    return COCO(str(COCO_DIR / "annotations" / "instances_val2017.json"))


@pytest.fixture(scope="module")
def coco_ds(coco):
    ds = CocoTinyDataset().load(coco, limit=12)
    ds.prepare()
    return ds


@pytest.fixture(scope="module")
def config():
    return CocoConfig()


def _crowd_image(ds):
    for i in ds.image_ids:
        if any(a["iscrowd"] for a in ds.image_info[i]["annotations"]):
            return int(i)
    raise AssertionError("no crowd image in the subset")


def _nucleus_names(size, count):
    rows = [line.split("\t") for line in
            (NUCLEUS_DIR.parent / "index.tsv").read_text().splitlines() if line.strip()]
    return [r[0] for r in rows if r[1] == size][:count]


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
    import mrcnn.data_pipeline as dp

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


# ------------------------------------------------------------------------------------------------
# Random RoIs and NumPy detection targets
def test_random_rois_and_detection_targets(coco_ds):
    class FullMasks(CocoConfig):
        USE_MINI_MASK = False

    config = FullMasks()
    image, _, class_ids, boxes, masks = load_image_gt(coco_ds, config, 1)
    rng = np.random.default_rng(0)
    rois = generate_random_rois(image.shape, 300, class_ids, boxes, rng=rng)
    assert rois.shape == (300, 4) and rois.dtype == np.int32
    assert (rois[:, 2] > rois[:, 0]).all() and (rois[:, 3] > rois[:, 1]).all()
    assert rois.min() >= 0 and rois[:, 2].max() < 256 and rois[:, 3].max() < 256
    per_box = int(0.9 * 300 / len(boxes))
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        block = rois[i * per_box:(i + 1) * per_box]
        h, w = y2 - y1, x2 - x1
        assert block[:, 0].min() >= max(y1 - h, 0) and block[:, 2].max() < min(y2 + h, 256)
        assert block[:, 1].min() >= max(x1 - w, 0) and block[:, 3].max() < min(x2 + w, 256)

    t_rois, t_class, t_bbox, t_mask = build_detection_targets(rois, class_ids, boxes, masks,
                                                              config, rng=rng)
    T = config.TRAIN_ROIS_PER_IMAGE
    assert t_rois.shape == (T, 4) and t_class.shape == (T,) and t_class.dtype == np.int32
    assert t_bbox.shape == (T, 81, 4) and t_mask.shape == (T, 28, 28, 81)
    iou = compute_overlaps(t_rois, boxes[class_ids > 0])
    pos = np.flatnonzero(t_class > 0)
    assert 0 < len(set(map(tuple, t_rois[pos]))) <= int(T * config.ROI_POSITIVE_RATIO)
    std = np.asarray(config.BBOX_STD_DEV)
    for i in pos:
        g = int(np.argmax(iou[i]))
        assert iou[i, g] > 0.5 and t_class[i] == class_ids[class_ids > 0][g]
        decoded = apply_box_deltas(t_rois[i:i + 1], t_bbox[i:i + 1, t_class[i]] * std)
        np.testing.assert_allclose(decoded[0], boxes[class_ids > 0][g], atol=1e-3)
        assert np.count_nonzero(t_bbox[i].any(axis=1)) <= 1
        y1, x1, y2, x2 = t_rois[i]
        expected = skimage.transform.resize(
            masks[:, :, class_ids > 0][y1:y2, x1:x2, g].astype(float), (28, 28), order=1,
            mode="constant", anti_aliasing=False)
        np.testing.assert_allclose(t_mask[i, :, :, t_class[i]], expected, atol=1e-5)
    neg = np.flatnonzero(t_class == 0)
    assert len(neg) > 0 and not t_bbox[neg].any() and not t_mask[neg].any()
    assert (iou[neg].max(axis=1) < 0.5).all()


# ------------------------------------------------------------------------------------------------
# TrainingExampleLoader
def test_loader_example(coco_ds, config):
    loader = TrainingExampleLoader(coco_ds, config, seed=0)
    image_id = next(i for i in coco_ds.image_ids if len(coco_ds.load_mask(i)[1]) > 20)
    image, meta, class_ids, boxes, masks = load_image_gt(coco_ds, config, image_id,
                                                         use_mini_mask=True)
    ex = loader(image_id)
    assert list(ex) == list(TRAINING_INPUT_NAMES)
    a = len(loader.anchors)
    expected = {"input_image": ((256, 256, 3), np.float32), "input_image_meta": ((93,), np.float32),
                "input_rpn_match": ((a, 1), np.int32), "input_rpn_bbox": ((256, 4), np.float32),
                "input_gt_class_ids": ((20,), np.int32), "input_gt_boxes": ((20, 4), np.float32),
                "input_gt_masks": ((56, 56, 20), np.bool_)}
    for name, (shape, dtype) in expected.items():
        assert ex[name].shape == shape and ex[name].dtype == dtype, name
    np.testing.assert_array_equal(ex["input_image"], mold_image(image, config))
    np.testing.assert_allclose(ex["input_image_meta"], meta, rtol=1e-6)
    np.testing.assert_array_equal(loader.anchors, get_anchors(config, (256, 256), normalized=False))

    # More than MAX_GT_INSTANCES: a random subset, the masks following their boxes.
    assert len(class_ids) > 20 and (ex["input_gt_class_ids"] != 0).all()
    rows = [int(np.flatnonzero((boxes == b).all(axis=1))[0]) for b in ex["input_gt_boxes"]]
    assert len(set(rows)) == 20
    np.testing.assert_array_equal(ex["input_gt_class_ids"], class_ids[rows])
    np.testing.assert_array_equal(ex["input_gt_masks"], masks[:, :, rows])

    # RPN targets: balanced, and the deltas decode onto GT boxes (all instances, not the subset).
    match = ex["input_rpn_match"][:, 0]
    n_pos = (match == 1).sum()
    assert 0 < n_pos <= 128 and n_pos + (match == -1).sum() == 256
    decoded = apply_box_deltas(loader.anchors[match == 1],
                               ex["input_rpn_bbox"][:n_pos] * np.asarray(config.RPN_BBOX_STD_DEV))
    gt = boxes[class_ids > 0].astype(np.float32)
    assert np.abs(decoded[:, None, :] - gt[None]).max(axis=2).min(axis=1).max() < 1e-2

    # Fewer instances: zero padding.
    small = next(i for i in coco_ds.image_ids if 0 < len(coco_ds.load_mask(i)[1]) < 5)
    ex = loader(small)
    n = len(load_image_gt(coco_ds, config, small)[2])
    assert (ex["input_gt_class_ids"][:n] != 0).all() and not ex["input_gt_class_ids"][n:].any()
    assert not ex["input_gt_boxes"][n:].any() and not ex["input_gt_masks"][..., n:].any()


def test_loader_checks_config(coco_ds):
    class Pad64(CocoConfig):
        IMAGE_RESIZE_MODE = "pad64"

    with pytest.raises(ValueError, match="square"):
        TrainingExampleLoader(coco_ds, Pad64())

    class FewClasses(CocoConfig):
        NUM_CLASSES = 5

    with pytest.raises(ValueError, match="NUM_CLASSES"):
        TrainingExampleLoader(coco_ds, FewClasses())


class FlakyCoco(CocoTinyDataset):
    """Images in ``broken`` cannot be read; images in ``crowd_only`` keep only crowd masks."""

    broken = ()
    crowd_only = ()

    def load_image(self, image_id):
        if image_id in self.broken:
            raise OSError(f"cannot read {self.image_info[image_id]['path']}: truncated file")
        return super().load_image(image_id)

    def load_mask(self, image_id):
        mask, ids = super().load_mask(image_id)
        if image_id in self.crowd_only:
            ids = -np.abs(ids)
        return mask, ids


def test_skipped_images_are_counted_and_logged(coco, config, caplog):
    ds = FlakyCoco().load(coco, limit=8)
    ds.broken = (2, 5)
    ds.crowd_only = (6,)
    ds.prepare()
    loader = TrainingExampleLoader(ds, config, seed=1)
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        seen = [int(batch[1][0, 0]) for batch in
                build_dataset(ds, config, seed=1, batch_size=1, repeat=False, loader=loader)]
    assert sorted(seen) == [0, 1, 3, 4, 7]
    assert loader.skipped.count == 3 and loader.skipped.successes == 5
    reasons = loader.skipped.reasons
    assert set(reasons) == {2, 5, 6}
    assert "OSError" in reasons[2] and "truncated" in reasons[2]
    assert "no instance with a positive class id" in reasons[6]
    for i in (2, 5, 6):
        assert ds.image_info[i]["path"] in caplog.text


class BadClassCoco(CocoTinyDataset):
    """``load_mask`` of the images in ``bad`` (image id -> class id) gives its first instance
    that class id instead of the real one."""

    bad = {}

    def load_mask(self, image_id):
        mask, ids = super().load_mask(image_id)
        if image_id in self.bad:
            ids = ids.copy()
            ids[0] = self.bad[image_id]
        return mask, ids


def test_class_ids_outside_the_classes_name_the_image_and_skip_it(coco, config, caplog):
    ds = BadClassCoco().load(coco, limit=4)
    ds.prepare()
    assert ds.num_classes == config.NUM_CLASSES == 81
    for value in (81, 0, -81, 1000):
        ds.bad = {2: value}
        with pytest.raises(ValueError, match=rf"image 2 .*class id\(s\) \[{value}\] outside "
                                             r"1\.\.80"):
            load_image_gt(ds, config, 2)
    ds.bad = {2: -3}  # a crowd of class 3: fine
    assert -3 in load_image_gt(ds, config, 2)[2]

    ds.bad = {2: 81}
    loader = TrainingExampleLoader(ds, config, seed=0)
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        examples = [loader(i) for i in range(4)]
    assert [e is None for e in examples] == [False, False, True, False]
    assert loader.skipped.count == 1 and loader.skipped.successes == 3
    assert "outside 1..80" in loader.skipped.reasons[2]
    assert ds.image_info[2]["path"] in caplog.text and "[81]" in caplog.text
    for e in examples[:2] + examples[3:]:
        assert e["input_gt_class_ids"].max() <= 80

    # Every image bad: an error with the reasons, not a crash deep in TensorFlow.
    ds.bad = {i: 200 for i in range(4)}
    loader = TrainingExampleLoader(ds, config, seed=0)
    assert [loader(i) for i in range(3)] == [None] * 3
    with pytest.raises(RuntimeError, match=r"All 4 images(.|\n)*outside 1\.\.80"):
        loader(3)


def _run_with_timeout(fn, seconds=60):
    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            outcome["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the pipeline hung"
    return outcome


def test_all_images_failing_raises_instead_of_hanging(coco, config):
    ds = FlakyCoco().load(coco, limit=4)
    ds.broken = (0, 1, 2, 3)
    ds.prepare()
    for repeat in (True, False):
        dataset = build_dataset(ds, config, seed=0, batch_size=1, repeat=repeat)
        outcome = _run_with_timeout(lambda: next(iter(dataset)))
        assert isinstance(outcome.get("error"), tf.errors.OpError)
        message = str(outcome["error"])
        assert "All 4 images" in message and "OSError" in message and "truncated" in message

    outcome = _run_with_timeout(lambda: next(data_generator(ds, config, batch_size=1)))
    assert isinstance(outcome.get("error"), RuntimeError)
    assert "All 4 images" in str(outcome["error"])

    # Images without any positive instance: the same error, naming the reason.
    ds = FlakyCoco().load(coco, limit=3)
    ds.crowd_only = (0, 1, 2)
    ds.prepare()
    outcome = _run_with_timeout(lambda: next(iter(build_dataset(ds, config, batch_size=1))))
    assert "no instance with a positive class id" in str(outcome.get("error"))


def test_random_failures_are_retried_before_giving_up(coco, config):
    """With a random pipeline, "no positive instance" may be bad luck: 3 tries per image."""
    ds = FlakyCoco().load(coco, limit=2)
    ds.crowd_only = (0, 1)
    ds.prepare()
    loader = TrainingExampleLoader(ds, config, augmentation=A.HorizontalFlip(p=0.5), seed=0)
    assert [loader(i % 2) for i in range(5)] == [None] * 5
    assert loader.skipped.count == 5
    with pytest.raises(RuntimeError, match="All 2 images"):
        loader(1)

    # Files that become unreadable after some successes: give up after 3 epochs of failures.
    ds.crowd_only = ()
    loader = TrainingExampleLoader(ds, config, seed=0)
    assert loader(0) is not None
    ds.broken = (0, 1)
    assert [loader(i % 2) for i in range(5)] == [None] * 5
    with pytest.raises(RuntimeError, match="last 6 attempts"):
        loader(1)
    ds.broken = ()

    # Repeatable per key; the key changes the random choices.
    loader = TrainingExampleLoader(ds, config, augmentation=A.Affine(rotate=(-30, 30), p=1),
                                   seed=4)
    a, b, c = loader(0, key=7), loader(0, key=7), loader(0, key=8)
    for name in TRAINING_INPUT_NAMES:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["input_image"], c["input_image"])


# ------------------------------------------------------------------------------------------------
# build_dataset
def _epoch_ids(dataset):
    return [int(i) for batch in dataset for i in batch[1][:, 0].numpy()]


def test_build_dataset_batches(coco_ds, config):
    dataset = build_dataset(coco_ds, config, seed=3)
    a = len(get_anchors(config, (256, 256), normalized=False))
    shapes = [(2, 256, 256, 3), (2, 93), (2, a, 1), (2, 256, 4), (2, 20), (2, 20, 4),
              (2, 56, 56, 20)]
    dtypes = [tf.float32, tf.float32, tf.int32, tf.float32, tf.int32, tf.float32, tf.bool]
    assert isinstance(dataset.element_spec, tuple) and len(dataset.element_spec) == 7
    for spec, shape, dtype in zip(dataset.element_spec, shapes, dtypes):
        assert tuple(spec.shape) == shape and spec.dtype == dtype
    ids = []
    for batch in dataset.take(12):  # two epochs of 12 images, repeated
        assert [tuple(t.shape) for t in batch] == shapes
        ids.extend(int(i) for i in batch[1][:, 0].numpy())
        match = batch[2].numpy()[..., 0]
        assert ((match == 1).sum(axis=1) + (match == -1).sum(axis=1) == 256).all()
    assert sorted(ids[:12]) == list(range(12)) and sorted(ids[12:]) == list(range(12))
    assert ids[:12] != ids[12:]


def test_build_dataset_epochs_shuffle_and_seed(coco_ds, config):
    augmentation = A.Compose([A.HorizontalFlip(p=0.5), A.Affine(rotate=(-20, 20), p=0.7)])

    def two_epochs(seed):
        dataset = build_dataset(coco_ds, config, seed=seed, augmentation=augmentation,
                                batch_size=3, repeat=False)
        epochs = []
        for _ in range(2):
            batches = list(dataset)
            epochs.append(([int(i) for b in batches for i in b[1][:, 0].numpy()],
                           np.concatenate([b[5].numpy() for b in batches])))
        return epochs

    first = two_epochs(11)
    for ids, _ in first:
        assert sorted(ids) == list(range(12))  # every image exactly once
    assert first[0][0] != first[1][0]  # reshuffled each epoch
    again = two_epochs(11)
    for (ids_a, boxes_a), (ids_b, boxes_b) in zip(first, again):
        assert ids_a == ids_b
        np.testing.assert_array_equal(boxes_a, boxes_b)  # same augmentations
    other = two_epochs(12)
    assert other[0][0] != first[0][0]

    unseeded = build_dataset(coco_ds, config, shuffle=False, batch_size=4, repeat=False)
    assert sorted(_epoch_ids(unseeded)) == list(range(12))


def test_build_dataset_crop_mode_nuclei():
    ds = NucleusDataset().load(_nucleus_names("256x256", 3) + _nucleus_names("360x360", 3))
    ds.prepare()
    config = NucleusConfig()
    dataset = build_dataset(ds, config, seed=5, batch_size=2, repeat=False,
                            augmentation=A.Compose([A.RandomRotate90(p=1)]))
    batches = list(dataset)
    assert len(batches) == 3
    for batch in batches:
        images, metas, _, _, class_ids, boxes, masks = (t.numpy() for t in batch)
        assert masks.shape == (2, 256, 256, 50)
        for b in range(2):
            n = int((class_ids[b] > 0).sum())
            assert n > 0 and (class_ids[b, :n] == 1).all()
            np.testing.assert_array_equal(boxes[b, :n], extract_bboxes(masks[b, :, :, :n]))
    assert sorted(int(m) for b in batches for m in b[1][:, 0].numpy()) == list(range(6))


# ------------------------------------------------------------------------------------------------
# data_generator
def test_data_generator_structure(coco_ds, config):
    gen = data_generator(coco_ds, config, batch_size=2, seed=0)
    ids = []
    for _ in range(6):
        inputs, outputs = next(gen)
        assert len(inputs) == 7 and outputs == []
        assert inputs[0].shape == (2, 256, 256, 3) and inputs[0].dtype == np.float32
        assert inputs[5].dtype == np.int32 and inputs[6].shape == (2, 56, 56, 20)
        ids.extend(int(i) for i in inputs[1][:, 0])
    assert sorted(ids) == list(range(12))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        gen = data_generator(coco_ds, config, batch_size=2, random_rois=64,
                             detection_targets=True, augment=True, seed=0)
        inputs, outputs = next(gen)
    assert len(inputs) == 9 and len(outputs) == 3
    T = config.TRAIN_ROIS_PER_IMAGE
    assert inputs[7].shape == (2, 64, 4) and inputs[8].shape == (2, T, 4)
    assert outputs[0].shape == (2, T, 1) and outputs[1].shape == (2, T, 81, 4)
    assert outputs[2].shape == (2, T, 28, 28, 81)
