"""Matterport's NumPy training-data helpers, for notebooks and debugging: the Python batch
generator ``data_generator`` (on the same ``TrainingExampleLoader`` as ``build_dataset``) and the
NumPy twins of the graph's targets, ``generate_random_rois`` and ``build_detection_targets``
(Matterport ``model.*`` of the same names). Training uses ``mrcnn.input_pipeline.build_dataset``
and ``mrcnn.ops.target_ops``.
"""

import numpy as np

from mrcnn.boxes import BoxCoder, compute_overlaps
from mrcnn.example_loader import TRAINING_INPUT_NAMES, TrainingExampleLoader
from mrcnn.image import resize
from mrcnn.masks import expand_mask
from mrcnn.rng import as_generator

__all__ = ["data_generator", "generate_random_rois", "build_detection_targets"]


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
    rng = as_generator(rng)
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
    rng = as_generator(rng)
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
