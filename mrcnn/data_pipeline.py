"""Training inputs: ground truth per image, RPN targets, and the ``tf.data`` input pipeline.

Mirrors Matterport's ``model.load_image_gt``, ``build_rpn_targets``, ``build_detection_targets``,
``generate_random_rois`` and ``data_generator`` (same signatures and results), and adds
``TrainingExampleLoader`` (one molded training example per image id, thread-safe and seedable)
and ``build_dataset`` (a ``tf.data.Dataset`` over it, which replaces Matterport's
multiprocessing ``fit_generator`` queue: one shuffled index stream, parallel threads, no
duplicated images, no hang when images fail).

Conventions: pixel boxes (y1, x1, y2, x2) with exclusive y2/x2; masks [H, W, N] bool; class id 0
is background and negative class ids mark crowd instances (COCO ``iscrowd``).
"""

import logging
import threading
import warnings

import numpy as np
import tensorflow as tf

from mrcnn.anchors import get_anchors
from mrcnn.augmentation import augment as _augment
from mrcnn.augmentation import augmentation_kind
from mrcnn.boxes import BoxCoder, compute_overlaps, extract_bboxes
from mrcnn.image import mold_image, resize, resize_image, to_pixel_range
from mrcnn.image_meta import compose_image_meta
from mrcnn.masks import expand_mask, minimize_mask, resize_mask

logger = logging.getLogger("mrcnn")

__all__ = ["load_image_gt", "build_rpn_targets", "build_detection_targets",
           "generate_random_rois", "data_generator", "TrainingExampleLoader", "SkippedImages",
           "build_dataset", "TRAINING_INPUT_NAMES"]

# Order of the training model's inputs (Matterport §2.10), and of build_dataset's tuples.
TRAINING_INPUT_NAMES = ("input_image", "input_image_meta", "input_rpn_match", "input_rpn_bbox",
                        "input_gt_class_ids", "input_gt_boxes", "input_gt_masks")

# RPN anchor labelling thresholds (Matterport's values).
RPN_POSITIVE_IOU = 0.7
RPN_NEGATIVE_IOU = 0.3
RPN_CROWD_IOU = 0.001
# Largest [anchors x boxes] IoU block computed at once (bounds memory for big images).
_OVERLAP_CHUNK_ELEMENTS = 2 ** 20


def _rng_or_default(rng):
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def _image_name(dataset, image_id):
    """The image's reference (``image_reference``) or path, for messages."""
    ref = ""
    try:
        ref = dataset.image_reference(image_id)
    except Exception:  # noqa: BLE001 - only used for messages
        pass
    if not ref:
        try:
            ref = dataset.image_info[image_id].get("path") or ""
        except Exception:  # noqa: BLE001
            ref = ""
    return f"image {image_id}" + (f" ({ref})" if ref else "")


# ----------------------------------------------------------------------------------------------
# load_image_gt
def _resize(image, config, rng):
    """``resize_image`` with the config's settings; in "crop" mode with ``rng`` the crop position
    comes from ``rng`` (``resize_image`` draws it from Python's global ``random``)."""
    mode = config.IMAGE_RESIZE_MODE
    if mode != "crop" or rng is None:
        return resize_image(image, min_dim=config.IMAGE_MIN_DIM, min_scale=config.IMAGE_MIN_SCALE,
                            max_dim=config.IMAGE_MAX_DIM, mode=mode)
    min_dim = int(config.IMAGE_MIN_DIM)
    # "pad64" scales exactly as "crop" does (no max_dim cap); strip its padding, then crop.
    padded, window, scale, _, _ = resize_image(image, min_dim=min_dim,
                                               min_scale=config.IMAGE_MIN_SCALE, mode="pad64")
    y1, x1, y2, x2 = window
    scaled = padded[y1:y2, x1:x2]
    h, w = scaled.shape[:2]
    y = int(rng.integers(0, h - min_dim + 1))
    x = int(rng.integers(0, w - min_dim + 1))
    crop = (y, x, min_dim, min_dim)
    return (scaled[y:y + min_dim, x:x + min_dim], (0, 0, min_dim, min_dim), scale,
            [(0, 0), (0, 0), (0, 0)], crop)


def load_image_gt(dataset, config, image_id, augment=False, augmentation=None,
                  use_mini_mask=False, *, rng=None):
    """Loads an image and its ground truth, resized and augmented for training (Matterport
    ``model.load_image_gt``).

    Steps: ``dataset.load_image``, its pixel values put on the 0-255 scale or refused
    (``mrcnn.image.to_pixel_range``: float images in [0, 1] are multiplied by 255, bool images
    become 0 / 255, NaN and ambiguous float ranges raise), and ``dataset.load_mask``;
    ``resize_image`` with the config's ``IMAGE_MIN_DIM``, ``IMAGE_MIN_SCALE``,
    ``IMAGE_MAX_DIM``, ``IMAGE_RESIZE_MODE`` and ``resize_mask`` with the same
    scale/padding/crop; the deprecated 50 % horizontal flip if
    ``augment``; ``augmentation.augment`` if ``augmentation``; instances whose mask is empty (or
    whose box has zero height or width) are dropped with their class ids; boxes are computed from
    the masks (``extract_bboxes``; boxes the dataset may hold are ignored); mini masks if
    ``use_mini_mask``. Dropped instances are logged on the ``"mrcnn"`` logger: at WARNING level
    when the mask was empty in ``load_mask`` or vanished when the image was scaled, at DEBUG level
    when a random crop or the augmentation moved it out of the image (expected, not a data error).

    Args:
        dataset: a prepared ``Dataset``.
        config: a ``Config``.
        image_id: internal image id (index into ``dataset.image_info``).
        augment: deprecated (DeprecationWarning): flip left/right with probability 0.5. Use
            ``augmentation`` instead.
        augmentation: imgaug augmenter, albumentations transform or callable; see
            ``mrcnn.augmentation.augment``. It must keep the image size.
        use_mini_mask: return masks cropped to their boxes and resized to
            ``config.MINI_MASK_SHAPE`` (``minimize_mask``).
        rng: optional ``np.random.Generator`` for every random choice of this call (flip, crop
            position in "crop" mode, augmentation). Without it the flip uses a fresh generator,
            the crop Python's ``random`` and the augmentation its own random state.

    Returns:
        image: [H, W, C] resized image, dtype of ``load_image`` (uint8 for usual files;
            float32 for a float [0, 1] image, scaled to [0, 255]; uint8 for a bool one).
        image_meta: float64 [12 + dataset.num_classes] (``compose_image_meta``; active class ids
            are 1 for the classes of the image's source).
        class_ids: int32 [N] (negative = crowd).
        bbox: int32 [N, 4] pixel boxes of the masks (y1, x1, y2, x2), exclusive ends.
        mask: bool [H, W, N], or [MINI_MASK_SHAPE[0], MINI_MASK_SHAPE[1], N] with
            ``use_mini_mask``.

    Raises:
        ValueError: ``load_image`` returned NaN / infinite values or a float range that fits
            neither [0, 1] nor [0, 255]; ``load_mask`` returned masks whose size differs from
            the image's or whose count differs from the class ids', or a class id that is not
            an integer in ``1 .. dataset.num_classes - 1`` (or its negative, for a crowd); the
            augmentation changed the image size.
        Any error of ``load_image`` / ``load_mask``.
    """
    if augment:
        warnings.warn("load_image_gt(augment=True) is deprecated: pass augmentation= instead, "
                      "e.g. albumentations.HorizontalFlip(p=0.5)", DeprecationWarning,
                      stacklevel=2)
    return _load_image_gt(dataset, config, image_id, augment, augmentation, use_mini_mask, rng)


def _checked_class_ids(dataset, image_id, class_ids):
    """``load_mask``'s class ids as int32 [N], or a ValueError naming the image when one is not
    an integer in 1 .. num_classes - 1 (or its negative, Matterport's crowd marker)."""
    raw = np.asarray(class_ids).reshape(-1)
    if raw.size and (raw.dtype.kind not in "biuf"
                     or (raw.dtype.kind == "f" and not np.all(np.mod(raw, 1) == 0))):
        raise ValueError(f"load_mask of {_image_name(dataset, image_id)} returned class ids "
                         f"{raw[:10].tolist()} ({raw.dtype}); they must be integers (int32 [N])")
    ids = raw.astype(np.int64)
    num_classes = int(dataset.num_classes)
    bad = (ids == 0) | (np.abs(ids) >= num_classes)
    if bad.any():
        values = sorted({int(v) for v in ids[bad]})
        raise ValueError(
            f"load_mask of {_image_name(dataset, image_id)} returned class id(s) {values[:10]} "
            f"outside 1..{num_classes - 1}: the dataset has {num_classes} classes including BG "
            f"(0), so instance class ids must be 1..{num_classes - 1} (negative for crowds); "
            "add the class with add_class() and call prepare(), or fix load_mask")
    return ids.astype(np.int32)


def _load_image_gt(dataset, config, image_id, flip, augmentation, use_mini_mask, rng):
    image = dataset.load_image(image_id)
    try:
        image = to_pixel_range(image, config, "the image of load_image")
    except ValueError as e:
        raise ValueError(f"{_image_name(dataset, image_id)}: {e}") from None
    mask, class_ids = dataset.load_mask(image_id)
    mask = np.asarray(mask)
    class_ids = _checked_class_ids(dataset, image_id, class_ids)
    if mask.ndim == 3 and mask.shape[-1] == 0 and class_ids.size == 0:
        mask = np.zeros(image.shape[:2] + (0,), dtype=bool)
    if mask.ndim != 3 or mask.shape[:2] != image.shape[:2]:
        raise ValueError(f"load_mask of {_image_name(dataset, image_id)} returned masks of shape "
                         f"{mask.shape}; expected [H, W, N] with the image's H, W "
                         f"{image.shape[:2]}")
    if mask.shape[-1] != class_ids.size:
        raise ValueError(f"load_mask of {_image_name(dataset, image_id)} returned {mask.shape[-1]} "
                         f"masks but {class_ids.size} class ids")
    mask = mask.astype(bool, copy=False)
    original_shape = image.shape
    present_loaded = mask.any(axis=(0, 1))

    image, window, scale, padding, crop = _resize(image, config, rng)
    mask = resize_mask(mask, scale, padding, crop)
    present_resized = mask.any(axis=(0, 1))

    if flip:
        if _rng_or_default(rng).random() < 0.5:
            image = np.fliplr(image)
            mask = np.fliplr(mask)

    if augmentation is not None:
        image, mask = _augment(image, mask, augmentation, rng=rng)

    bbox = extract_bboxes(mask)
    keep = mask.any(axis=(0, 1)) & (bbox[:, 2] > bbox[:, 0]) & (bbox[:, 3] > bbox[:, 1])
    if not keep.all():
        lost_load = ~present_loaded
        lost_scale = present_loaded & ~present_resized
        lost_later = present_resized & ~keep
        if config.IMAGE_RESIZE_MODE == "crop":  # the crop, not the scaling, removed them
            lost_later |= lost_scale
            lost_scale = np.zeros_like(lost_scale)
        name = _image_name(dataset, image_id)
        if lost_load.any() or lost_scale.any():
            logger.warning("%s: dropped %d instance(s) with an empty mask in load_mask and %d "
                           "that vanished when the image was resized (scale %.3g)", name,
                           int(lost_load.sum()), int(lost_scale.sum()), float(scale))
        if lost_later.any():
            logger.debug("%s: dropped %d instance(s) moved out of the image by the crop or "
                         "augmentation", name, int(lost_later.sum()))
        mask = mask[:, :, keep]
        class_ids = class_ids[keep]
        bbox = bbox[keep]

    source = dataset.image_info[image_id]["source"]
    active_class_ids = np.zeros([dataset.num_classes], dtype=np.int32)
    active_class_ids[dataset.source_class_ids[source]] = 1

    if use_mini_mask:
        mask = minimize_mask(bbox, mask, config.MINI_MASK_SHAPE)

    image_meta = compose_image_meta(image_id, original_shape, image.shape, window, scale,
                                    active_class_ids)
    return image, image_meta, class_ids, bbox, mask


# ----------------------------------------------------------------------------------------------
# RPN targets
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
    rng = _rng_or_default(rng)
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


# ----------------------------------------------------------------------------------------------
# Random RoIs and NumPy detection targets (debugging / notebooks)
def _distinct_sorted_pairs(rng, lo, hi, k):
    """[G, k, 2] pairs of distinct integers in [lo, hi) per row, sorted within each pair."""
    lo = lo[:, None]
    hi = hi[:, None]
    a = rng.integers(lo, hi, size=(lo.shape[0], k))
    b = rng.integers(lo, hi - 1, size=(lo.shape[0], k))
    b = b + (b >= a)
    return np.sort(np.stack([a, b], axis=-1), axis=-1)


def generate_random_rois(image_shape, count, gt_class_ids, gt_boxes, rng=None):
    """Random pixel RoIs around and away from the GT boxes (Matterport
    ``model.generate_random_rois``), for debugging the heads without an RPN.

    ``int(0.9 * count / N)`` RoIs per GT box have corners drawn uniformly in the box grown by its
    own height/width on each side (clipped to the image); the rest are drawn anywhere in the image.
    Each coordinate pair is two distinct integers in ``[lo, hi)``, sorted, so every RoI has a
    positive height and width.

    Args:
        image_shape: (H, W[, C]) of the image.
        count: number of RoIs.
        gt_class_ids: [N] class ids (unused, kept for Matterport's signature).
        gt_boxes: [N, 4] pixel GT boxes (y1, x1, y2, x2).
        rng: optional ``np.random.Generator``.

    Returns:
        int32 [count, 4] pixel boxes (y1, x1, y2, x2): GT-box RoIs first (N blocks in GT order),
        then the image-wide ones.

    Raises:
        ValueError: the image is smaller than 2 pixels in a dimension, or ``count`` < 0.
    """
    rng = _rng_or_default(rng)
    height, width = (int(s) for s in tuple(image_shape)[:2])
    count = int(count)
    if count < 0:
        raise ValueError(f"generate_random_rois: count must be >= 0, got {count}")
    if height < 2 or width < 2:
        raise ValueError(f"generate_random_rois: image {height}x{width} is too small for RoIs")
    gt_boxes = np.asarray(gt_boxes).reshape(-1, 4).astype(np.int64)
    rois = np.zeros([count, 4], dtype=np.int32)
    per_box = int(0.9 * count / gt_boxes.shape[0]) if gt_boxes.shape[0] else 0
    if per_box:
        y1, x1, y2, x2 = gt_boxes.T
        h = y2 - y1
        w = x2 - x1
        ry1, ry2 = np.maximum(y1 - h, 0), np.minimum(y2 + h, height)
        rx1, rx2 = np.maximum(x1 - w, 0), np.minimum(x2 + w, width)
        # Keep at least two candidate values per axis (a degenerate GT box grows nothing).
        ry2 = np.maximum(ry2, np.minimum(ry1 + 2, height))
        ry1 = np.minimum(ry1, ry2 - 2)
        rx2 = np.maximum(rx2, np.minimum(rx1 + 2, width))
        rx1 = np.minimum(rx1, rx2 - 2)
        ys = _distinct_sorted_pairs(rng, ry1, ry2, per_box)
        xs = _distinct_sorted_pairs(rng, rx1, rx2, per_box)
        box_rois = np.stack([ys[..., 0], xs[..., 0], ys[..., 1], xs[..., 1]], axis=-1)
        rois[:per_box * gt_boxes.shape[0]] = box_rois.reshape(-1, 4)
    remaining = count - per_box * gt_boxes.shape[0]
    if remaining > 0:
        ys = _distinct_sorted_pairs(rng, np.array([0]), np.array([height]), remaining)[0]
        xs = _distinct_sorted_pairs(rng, np.array([0]), np.array([width]), remaining)[0]
        rois[count - remaining:] = np.stack([ys[:, 0], xs[:, 0], ys[:, 1], xs[:, 1]], axis=-1)
    return rois


def build_detection_targets(rpn_rois, gt_class_ids, gt_boxes, gt_masks, config, rng=None):
    """NumPy targets for the box/class/mask heads (Matterport ``model.build_detection_targets``),
    for debugging and for ``data_generator(random_rois=..., detection_targets=True)``. The
    training graph uses ``mrcnn.ops.target_ops`` instead.

    Crowd and padding GT (class id <= 0) are ignored. A RoI is foreground when its max IoU with a
    GT box is > 0.5 and background when it is < 0.5. At most ``int(TRAIN_ROIS_PER_IMAGE *
    ROI_POSITIVE_RATIO)`` foreground RoIs are kept (random subset), background RoIs fill the rest;
    if there are still fewer than ``TRAIN_ROIS_PER_IMAGE``, kept RoIs are repeated at random.
    Foreground RoIs get their highest-IoU GT box's class, the deltas
    ``BoxCoder(BBOX_STD_DEV).encode(roi, gt)`` (``box_refinement(roi, gt) / BBOX_STD_DEV``) in
    that class's slot, and that GT mask cropped to the RoI and resized bilinearly to
    ``MASK_SHAPE`` (soft values, not thresholded). Background RoIs get zeros.

    Args:
        rpn_rois: [R, 4] int pixel RoIs (y1, x1, y2, x2), R > 0.
        gt_class_ids: int [N] class ids (> 0 used).
        gt_boxes: int [N, 4] pixel GT boxes.
        gt_masks: bool [H, W, N] full masks, or mini masks [mh, mw, N] spanning each GT box when
            ``config.USE_MINI_MASK`` (expanded into ``config.IMAGE_SHAPE``).
        config: a ``Config``.
        rng: optional ``np.random.Generator``.

    Returns:
        rois: [T, 4] RoIs (rpn_rois' dtype), T = ``TRAIN_ROIS_PER_IMAGE``, foreground first.
        class_ids: int32 [T].
        bboxes: float32 [T, NUM_CLASSES, 4] deltas, non-zero only in each RoI's class slot.
        masks: float32 [T, MASK_SHAPE[0], MASK_SHAPE[1], NUM_CLASSES].

    Raises:
        ValueError: no RoIs; no positive GT instance; or no RoI can be sampled (every RoI has an
            IoU of exactly 0.5).
    """
    rng = _rng_or_default(rng)
    rpn_rois = np.asarray(rpn_rois).reshape(-1, 4)
    if rpn_rois.shape[0] == 0:
        raise ValueError("build_detection_targets: rpn_rois is empty")
    gt_class_ids = np.asarray(gt_class_ids).reshape(-1)
    gt_boxes = np.asarray(gt_boxes).reshape(-1, 4)
    gt_masks = np.asarray(gt_masks)
    instances = np.flatnonzero(gt_class_ids > 0)
    if instances.size == 0:
        raise ValueError("build_detection_targets: needs at least one GT instance with a class "
                         "id > 0")
    gt_class_ids = gt_class_ids[instances].astype(np.int32)
    gt_boxes = gt_boxes[instances]
    gt_masks = gt_masks[:, :, instances]

    overlaps = compute_overlaps(rpn_rois, gt_boxes)  # [R, G]
    assignment = overlaps.argmax(axis=1)
    iou_max = overlaps[np.arange(overlaps.shape[0]), assignment]
    roi_gt_boxes = gt_boxes[assignment].astype(np.float64)
    roi_gt_class_ids = gt_class_ids[assignment]

    fg_ids = np.flatnonzero(iou_max > 0.5)
    bg_ids = np.flatnonzero(iou_max < 0.5)
    total = int(config.TRAIN_ROIS_PER_IMAGE)
    fg_count = int(total * config.ROI_POSITIVE_RATIO)
    keep_fg = rng.choice(fg_ids, fg_count, replace=False) if fg_ids.size > fg_count else fg_ids
    remaining = total - keep_fg.size
    keep_bg = rng.choice(bg_ids, remaining, replace=False) if bg_ids.size > remaining else bg_ids
    keep = np.concatenate([keep_fg, keep_bg]).astype(np.int64)
    remaining = total - keep.size
    if remaining > 0:
        if keep.size == 0:
            raise ValueError("build_detection_targets: no foreground or background RoI to "
                             "sample (every RoI has an IoU of exactly 0.5 with its GT box)")
        keep = np.concatenate([keep, rng.choice(keep, remaining, replace=True)])
    roi_gt_boxes[keep_bg] = 0
    roi_gt_class_ids[keep_bg] = 0

    rois = rpn_rois[keep]
    class_ids = roi_gt_class_ids[keep].astype(np.int32)
    assigned = assignment[keep]
    boxes_of_rois = roi_gt_boxes[keep]

    num_classes = int(config.NUM_CLASSES)
    bboxes = np.zeros([total, num_classes, 4], dtype=np.float32)
    pos = np.flatnonzero(class_ids > 0)
    if pos.size:
        coder = BoxCoder(config.BBOX_STD_DEV)
        bboxes[pos, class_ids[pos]] = coder.encode(rois[pos], boxes_of_rois[pos])

    mask_shape = tuple(int(s) for s in config.MASK_SHAPE)
    masks = np.zeros((total,) + mask_shape + (num_classes,), dtype=np.float32)
    full_masks = {}
    for i in pos:
        gt_id = int(assigned[i])
        if gt_id not in full_masks:
            if config.USE_MINI_MASK:
                full_masks[gt_id] = expand_mask(gt_boxes[gt_id:gt_id + 1],
                                                gt_masks[:, :, gt_id:gt_id + 1],
                                                tuple(config.IMAGE_SHAPE[:2]))[:, :, 0]
            else:
                full_masks[gt_id] = gt_masks[:, :, gt_id].astype(bool)
        y1, x1, y2, x2 = np.asarray(rois[i]).astype(np.int64)
        crop = full_masks[gt_id][max(y1, 0):y2, max(x1, 0):x2]
        if crop.size:
            masks[i, :, :, class_ids[i]] = resize(crop, mask_shape)
    return rois, class_ids, bboxes, masks


# ----------------------------------------------------------------------------------------------
# One training example per image id
class SkippedImages:
    """Thread-safe record of the images a loader skipped.

    Attributes (read them under no lock; they are snapshots):
        count: total number of skips (an image skipped in several epochs counts each time).
        successes: number of examples produced.
        reasons: dict image_id -> the latest reason (insertion order = first skip order).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0
        self.successes = 0
        self._reasons = {}
        self._fails = {}
        self._certain = set()
        self._consecutive = 0

    @property
    def reasons(self):
        with self._lock:
            return dict(self._reasons)

    def __len__(self):
        return self.count

    def __repr__(self):
        return (f"SkippedImages(count={self.count}, images={len(self._reasons)}, "
                f"successes={self.successes})")

    def _success(self):
        with self._lock:
            self.successes += 1
            self._consecutive = 0

    def _record(self, image_id, reason, certain, num_images, retries):
        """Records a skip. Returns (first time for this image, give up: None, "all" when every
        image failed and none succeeded, "streak" after ``retries * num_images`` skips in a
        row)."""
        with self._lock:
            self.count += 1
            self._consecutive += 1
            first = image_id not in self._reasons
            self._reasons[image_id] = reason
            self._fails[image_id] = self._fails.get(image_id, 0) + 1
            if certain:
                self._certain.add(image_id)
            if self.successes == 0:
                hopeless = sum(1 for i, n in self._fails.items()
                               if i in self._certain or n >= retries)
                if hopeless >= num_images:
                    return first, "all"
            if self._consecutive >= retries * num_images:
                return first, "streak"
            return first, None

    def summary(self, dataset=None, limit=5):
        """The first ``limit`` skipped images and their reasons, one per line."""
        items = list(self.reasons.items())[:limit]
        lines = []
        for image_id, reason in items:
            name = _image_name(dataset, image_id) if dataset is not None else f"image {image_id}"
            lines.append(f"  {name}: {reason}")
        return "\n".join(lines)


class TrainingExampleLoader:
    """Produces one molded training example per image id (the per-image part of Matterport's
    ``data_generator``), for ``build_dataset`` and ``data_generator``.

    ``loader(image_id)`` runs ``load_image_gt`` (with ``config.USE_MINI_MASK``), skips the image
    when it has no positive instance, builds the RPN targets against the pixel anchors of
    ``config.IMAGE_SHAPE`` (computed once), randomly subsamples more than ``MAX_GT_INSTANCES``
    instances, molds the image and zero-pads the GT.

    Randomness is thread-safe and seedable: each call draws from its own
    ``np.random.default_rng([seed, key])``, where ``key`` is passed by the caller
    (``build_dataset`` passes a per-element random key from a seeded stream) or taken from an
    internal thread-safe call counter.

    Skipped images (``load_image``/``load_mask``/augmentation raised, ``load_mask`` returned a
    class id outside ``1 .. NUM_CLASSES - 1`` (negative for crowds) or ``load_image`` pixel
    values that ``to_pixel_range`` refuses, the result does not have ``IMAGE_SHAPE``, or no
    instance with a class id > 0 is left) make the call return None; the
    first skip of each image is logged as a warning naming the image and the reason (later ones at
    DEBUG level) and every skip is counted in ``loader.skipped`` (``SkippedImages``). When every
    image of the dataset has failed and none has succeeded, the call raises ``RuntimeError`` with
    the first reasons instead of returning None, so a training loop can never spin forever on a
    dataset that yields nothing. An image whose only failure is "no positive instance" while the
    pipeline is random (augmentation or "crop" mode) must fail 3 times to count as failed. It also
    raises after ``3 * len(dataset)`` skips in a row (e.g. the files became unreadable after some
    successes).

    Args:
        dataset: a prepared ``Dataset`` with at least one image and ``num_classes ==
            config.NUM_CLASSES``.
        config: a ``Config`` with ``IMAGE_RESIZE_MODE`` "square" or "crop" (training needs every
            image at ``IMAGE_SHAPE``).
        augmentation: see ``mrcnn.augmentation.augment``.
        no_augmentation_sources: sources (``image_info[i]["source"]``) not to augment.
        seed: int >= 0 for repeatable examples, or None.
        augment: deprecated 50 % horizontal flip (``load_image_gt(augment=True)``).

    Attributes:
        anchors: float32 [A, 4] pixel anchors for ``config.IMAGE_SHAPE``.
        skipped: ``SkippedImages``.
        mask_shape: (h, w) of ``input_gt_masks``.

    Raises:
        ValueError: the config or dataset cannot give fixed-size training examples (see Args).
        TypeError: unsupported augmentation.
    """

    RANDOM_FAILURE_RETRIES = 3

    def __init__(self, dataset, config, augmentation=None, no_augmentation_sources=None,
                 seed=None, *, augment=False):
        if config.IMAGE_RESIZE_MODE not in ("square", "crop"):
            raise ValueError(
                f'IMAGE_RESIZE_MODE = "{config.IMAGE_RESIZE_MODE}" gives images of varying size, '
                'but training needs every image at IMAGE_SHAPE: use "square" or "crop"')
        if not hasattr(dataset, "num_classes"):
            raise ValueError("The dataset is not prepared: call dataset.prepare() first")
        if int(dataset.num_classes) != int(config.NUM_CLASSES):
            raise ValueError(
                f"The dataset has {dataset.num_classes} classes (including BG) but "
                f"config.NUM_CLASSES = {config.NUM_CLASSES}; they must match (image_meta and the "
                "class head have one entry per class)")
        self.num_images = len(dataset.image_ids)
        if self.num_images == 0:
            raise ValueError("The dataset has no images: add images and call dataset.prepare()")
        augmentation_kind(augmentation)  # TypeError early for unsupported objects
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        if augment:
            warnings.warn("augment=True is deprecated: pass augmentation= instead, e.g. "
                          "albumentations.HorizontalFlip(p=0.5)", DeprecationWarning,
                          stacklevel=2)
        self.dataset = dataset
        self.config = config
        self.augmentation = augmentation
        self.no_augmentation_sources = set(no_augmentation_sources or ())
        self.augment = bool(augment)
        self.seed = seed
        self._entropy = int(seed) if seed is not None else int(np.random.SeedSequence().entropy)
        self._lock = threading.Lock()
        self._calls = 0
        self.skipped = SkippedImages()
        self.image_shape = tuple(int(s) for s in config.IMAGE_SHAPE)
        self.anchors = get_anchors(config, self.image_shape[:2], normalized=False)
        self.max_gt = int(config.MAX_GT_INSTANCES)
        self.mask_shape = (tuple(int(s) for s in config.MINI_MASK_SHAPE) if config.USE_MINI_MASK
                           else self.image_shape[:2])
        self._random = (augmentation is not None or self.augment
                        or config.IMAGE_RESIZE_MODE == "crop")

    # -- shapes and dtypes of one example, in TRAINING_INPUT_NAMES order
    def output_signature(self):
        """[(name, shape, numpy dtype)] of one example, in training-model input order."""
        c = self.config
        return [
            ("input_image", self.image_shape, np.float32),
            ("input_image_meta", (int(c.IMAGE_META_SIZE),), np.float32),
            ("input_rpn_match", (self.anchors.shape[0], 1), np.int32),
            ("input_rpn_bbox", (int(c.RPN_TRAIN_ANCHORS_PER_IMAGE), 4), np.float32),
            ("input_gt_class_ids", (self.max_gt,), np.int32),
            ("input_gt_boxes", (self.max_gt, 4), np.float32),
            ("input_gt_masks", self.mask_shape + (self.max_gt,), np.bool_),
        ]

    def rng(self, key=None):
        """The generator of one call: ``default_rng([seed, key])`` (key: next call number)."""
        if key is None:
            with self._lock:
                key = self._calls
                self._calls += 1
        return np.random.default_rng([self._entropy, int(key) & 0xFFFFFFFFFFFFFFFF])

    def __call__(self, image_id, key=None):
        """One molded, padded training example as a dict (``TRAINING_INPUT_NAMES`` keys), or None
        if the image is skipped. See the class docstring."""
        result = self.load(image_id, key)
        return None if result is None else result[0]

    def load(self, image_id, key=None):
        """Like ``__call__`` but returns ``(example, gt)`` where ``gt`` holds the unpadded,
        un-subsampled ``image`` (resized, not molded), ``class_ids``, ``boxes`` (int32) and
        ``masks``, as ``data_generator`` needs them for random RoIs; or None."""
        image_id = int(image_id)
        rng = self.rng(key)
        try:
            result = self._build(image_id, rng)
        except Exception as e:  # noqa: BLE001 - skipped and reported, as Matterport did
            return self._skip(image_id, f"{type(e).__name__}: {e}", certain=True)
        if result is None:
            return self._skip(image_id, "no instance with a positive class id (after resizing "
                              "and augmentation)", certain=not self._random)
        self.skipped._success()
        return result

    def _build(self, image_id, rng):
        augmentation = self.augmentation
        if self.no_augmentation_sources and \
                self.dataset.image_info[image_id]["source"] in self.no_augmentation_sources:
            augmentation = None
        # augment=True (deprecated) was warned about once, in __init__.
        image, image_meta, class_ids, boxes, masks = _load_image_gt(
            self.dataset, self.config, image_id, self.augment, augmentation,
            self.config.USE_MINI_MASK, rng)
        if tuple(image.shape) != self.image_shape:
            raise ValueError(f"the image has shape {tuple(image.shape)} after resizing but "
                             f"config.IMAGE_SHAPE is {self.image_shape} (check "
                             "IMAGE_CHANNEL_COUNT and the resize settings)")
        if len(image_meta) != int(self.config.IMAGE_META_SIZE):
            raise ValueError(f"image_meta has {len(image_meta)} values, expected "
                             f"config.IMAGE_META_SIZE = {self.config.IMAGE_META_SIZE}")
        if not np.any(class_ids > 0):
            return None

        rpn_match, rpn_bbox = build_rpn_targets(image.shape, self.anchors, class_ids, boxes,
                                                self.config, rng=rng)
        gt = {"image": image, "class_ids": class_ids, "boxes": boxes, "masks": masks}
        n = class_ids.shape[0]
        if n > self.max_gt:
            ids = np.sort(rng.choice(n, self.max_gt, replace=False))
            class_ids, boxes, masks = class_ids[ids], boxes[ids], masks[:, :, ids]
            n = self.max_gt
        gt_class_ids = np.zeros([self.max_gt], dtype=np.int32)
        gt_boxes = np.zeros([self.max_gt, 4], dtype=np.float32)
        gt_masks = np.zeros(self.mask_shape + (self.max_gt,), dtype=bool)
        gt_class_ids[:n] = class_ids
        gt_boxes[:n] = boxes
        gt_masks[:, :, :n] = masks
        example = {
            "input_image": mold_image(image, self.config),
            "input_image_meta": np.asarray(image_meta, dtype=np.float32),
            "input_rpn_match": rpn_match[:, np.newaxis],
            "input_rpn_bbox": rpn_bbox,
            "input_gt_class_ids": gt_class_ids,
            "input_gt_boxes": gt_boxes,
            "input_gt_masks": gt_masks,
        }
        return example, gt

    def _skip(self, image_id, reason, certain):
        first, give_up = self.skipped._record(image_id, reason, certain, self.num_images,
                                                 self.RANDOM_FAILURE_RETRIES)
        name = _image_name(self.dataset, image_id)
        (logger.warning if first else logger.debug)("Skipping %s: %s", name, reason)
        if give_up == "all":
            raise RuntimeError(
                f"All {self.num_images} images of the dataset failed to give a training example "
                f"({self.skipped.count} attempts, 0 successes). First reasons:\n"
                f"{self.skipped.summary(self.dataset)}")
        if give_up == "streak":
            raise RuntimeError(
                f"The last {self.skipped._consecutive} attempts ({self.RANDOM_FAILURE_RETRIES} x "
                f"the {self.num_images} images of the dataset) all failed to give a training "
                f"example. First reasons:\n{self.skipped.summary(self.dataset)}")
        return None


# ----------------------------------------------------------------------------------------------
# tf.data pipeline
def build_dataset(dataset, config, shuffle=True, augmentation=None, no_augmentation_sources=None,
                  seed=None, batch_size=None, repeat=True, *, loader=None):
    """The training input pipeline as a ``tf.data.Dataset`` (replaces Matterport's
    ``data_generator`` + ``fit_generator(workers=..., use_multiprocessing=True)``).

    Pipeline: the indices of ``dataset.image_ids``, each paired with a random key from
    ``tf.data.Dataset.random(seed)`` -> ``shuffle(len, seed=seed, reshuffle_each_iteration=True)``
    (if ``shuffle``) -> ``repeat()`` (if ``repeat``) -> parallel ``map`` of a
    ``TrainingExampleLoader`` through ``tf.numpy_function`` (threads, ``AUTOTUNE``) -> skipped
    images filtered out -> ``batch(batch_size, drop_remainder=True)`` -> ``prefetch``.

    Each epoch (each pass over the repeat, or each iteration with ``repeat=False``) visits every
    image exactly once, in a new order when shuffling. With a ``seed``, the orders, the
    augmentations and all other random choices are repeatable (the parallel map then keeps the
    order, ``deterministic=True``); without one, elements may come out in completion order.
    Skipped images are counted in ``loader.skipped``; when every image fails, iterating raises a
    ``tf.errors.OpError`` whose message says that all N images failed and gives the first
    reasons.

    Args:
        dataset: a prepared ``Dataset``.
        config: a ``Config`` ("square" or "crop" resize mode; ``NUM_CLASSES`` equal to the
            dataset's).
        shuffle: shuffle the image order each epoch.
        augmentation: see ``mrcnn.augmentation.augment``.
        no_augmentation_sources: sources not to augment.
        seed: int >= 0 or None.
        batch_size: images per batch; default ``config.BATCH_SIZE``.
        repeat: repeat forever (for ``fit(steps_per_epoch=...)``); False gives one epoch per
            iteration.
        loader: an existing ``TrainingExampleLoader`` to use (then ``augmentation``,
            ``no_augmentation_sources`` and ``seed`` only seed the order); keep a reference to
            read ``loader.skipped``.

    Returns:
        ``tf.data.Dataset`` of tuples of 7 tensors, in training-model input order
        (``TRAINING_INPUT_NAMES``), with B = batch size:
        ``input_image`` float32 [B, H, W, C] (molded), ``input_image_meta`` float32
        [B, IMAGE_META_SIZE], ``input_rpn_match`` int32 [B, A, 1], ``input_rpn_bbox`` float32
        [B, RPN_TRAIN_ANCHORS_PER_IMAGE, 4], ``input_gt_class_ids`` int32 [B, MAX_GT_INSTANCES],
        ``input_gt_boxes`` float32 [B, MAX_GT_INSTANCES, 4] (pixels), ``input_gt_masks`` bool
        [B, mh, mw, MAX_GT_INSTANCES] (``MINI_MASK_SHAPE`` or ``IMAGE_SHAPE[:2]``).
        The dataset also carries the loader as its ``mrcnn_loader`` attribute when the attribute
        can be set.

    Raises:
        ValueError / TypeError: as ``TrainingExampleLoader``; ``batch_size`` < 1.
    """
    if loader is None:
        loader = TrainingExampleLoader(dataset, config, augmentation=augmentation,
                                       no_augmentation_sources=no_augmentation_sources,
                                       seed=seed)
    batch_size = int(batch_size or config.BATCH_SIZE)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    signature = loader.output_signature()
    dtypes = [tf.as_dtype(d) for _, _, d in signature]
    zeros = tuple(np.zeros(s, dtype=d) for _, s, d in signature)

    def load(image_id, key):
        example = loader(int(image_id), key=int(key))
        if example is None:
            return (np.False_,) + zeros
        return (np.True_,) + tuple(example[name] for name, _, _ in signature)

    def load_graph(image_id, key):
        out = tf.numpy_function(load, [image_id, key], [tf.bool] + dtypes, stateful=True,
                                name="load_training_example")
        ok, tensors = out[0], out[1:]
        ok.set_shape([])
        for t, (_, s, _) in zip(tensors, signature):
            t.set_shape(s)
        return (ok,) + tuple(tensors)

    ids = np.asarray(dataset.image_ids, dtype=np.int64)
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(ids),
                              tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)))
    if shuffle:
        ds = ds.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(load_graph, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=seed is not None)
    ds = ds.filter(lambda ok, *tensors: ok)
    ds = ds.map(lambda ok, *tensors: tuple(tensors))
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    try:
        ds.mrcnn_loader = loader
    except Exception:  # noqa: BLE001 - attribute is a convenience only
        pass
    return ds


# ----------------------------------------------------------------------------------------------
# Matterport's Python generator
def data_generator(dataset, config, shuffle=True, augment=False, augmentation=None, random_rois=0,
                   batch_size=1, detection_targets=False, no_augmentation_sources=None, *,
                   seed=None):
    """Matterport's infinite batch generator (``model.data_generator``), for notebooks.

    Built on the same ``TrainingExampleLoader`` as ``build_dataset``: images are visited in a new
    random order each epoch (``shuffle``), images without a positive instance or failing to load
    are skipped and logged, and a ``RuntimeError`` is raised when every image fails (Matterport
    re-raised after its 5th error, or looped forever on images without instances). Training
    should use ``build_dataset``.

    Args:
        dataset, config, shuffle, augment (deprecated flip), augmentation,
        no_augmentation_sources: as ``TrainingExampleLoader`` / ``build_dataset``.
        random_rois: if > 0, also yield that many ``generate_random_rois`` per image.
        batch_size: images per batch.
        detection_targets: with ``random_rois``, also yield ``build_detection_targets`` of them.
        seed: int >= 0 or None; makes orders and random choices repeatable.

    Yields:
        ``(inputs, outputs)`` with ``inputs = [images float32 [B, H, W, C] (molded), image_meta
        float32 [B, META], rpn_match int32 [B, A, 1], rpn_bbox float32 [B, RPN_TRAIN_ANCHORS, 4],
        gt_class_ids int32 [B, MAX_GT], gt_boxes int32 [B, MAX_GT, 4] (pixels), gt_masks bool
        [B, mh, mw, MAX_GT]]`` and ``outputs = []``. With ``random_rois``, ``rpn_rois`` int32
        [B, random_rois, 4] is appended to the inputs; with ``detection_targets`` too, ``rois``
        int32 [B, T, 4] is appended and ``outputs = [class_ids int32 [B, T, 1], bbox float32
        [B, T, NUM_CLASSES, 4], mask float32 [B, T, 28, 28, NUM_CLASSES]]``.

    Raises:
        RuntimeError: every image of the dataset failed (from the first ``next``).
        ValueError / TypeError: as ``TrainingExampleLoader``.
    """
    loader = TrainingExampleLoader(dataset, config, augmentation=augmentation,
                                   no_augmentation_sources=no_augmentation_sources, seed=seed,
                                   augment=augment)
    order_rng = np.random.default_rng(None if seed is None else [int(seed), 1])
    image_ids = np.copy(dataset.image_ids)
    batch_size = int(batch_size)
    position = -1
    batch, extras = [], []
    while True:
        position = (position + 1) % len(image_ids)
        if shuffle and position == 0:
            order_rng.shuffle(image_ids)
        result = loader.load(image_ids[position])
        if result is None:
            continue
        example, gt = result
        extra = {}
        if random_rois:
            rpn_rois = generate_random_rois(gt["image"].shape, random_rois, gt["class_ids"],
                                            gt["boxes"], rng=order_rng)
            extra["rpn_rois"] = rpn_rois
            if detection_targets:
                rois, mrcnn_class_ids, mrcnn_bbox, mrcnn_mask = build_detection_targets(
                    rpn_rois, gt["class_ids"], gt["boxes"], gt["masks"], config, rng=order_rng)
                extra.update(rois=rois, mrcnn_class_ids=mrcnn_class_ids, mrcnn_bbox=mrcnn_bbox,
                             mrcnn_mask=mrcnn_mask)
        batch.append(example)
        extras.append(extra)
        if len(batch) < batch_size:
            continue
        inputs = [np.stack([e[name] for e in batch]) for name in TRAINING_INPUT_NAMES]
        inputs[5] = inputs[5].astype(np.int32)  # Matterport yields int32 pixel GT boxes
        outputs = []
        if random_rois:
            inputs.append(np.stack([x["rpn_rois"] for x in extras]))
            if detection_targets:
                inputs.append(np.stack([x["rois"] for x in extras]))
                outputs = [np.stack([x["mrcnn_class_ids"] for x in extras])[..., np.newaxis],
                           np.stack([x["mrcnn_bbox"] for x in extras]),
                           np.stack([x["mrcnn_mask"] for x in extras])]
        yield inputs, outputs
        batch, extras = [], []

