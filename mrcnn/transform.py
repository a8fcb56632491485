"""Pre- and post-processing around the inference graph, NumPy: molding images for the network
(Matterport ``MaskRCNN.mold_inputs``), grouping molded images into batches of one shape (what
Matterport's ``MaskRCNN.detect`` left to the caller), and unmolding the detections back to the
original images (Matterport ``MaskRCNN.unmold_detections``).
"""

from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from mrcnn.boxes import denorm_boxes, norm_boxes
from mrcnn.image import mold_image, resize_image
from mrcnn.image_meta import compose_image_meta
from mrcnn.masks import paste_masks


def mold_inputs(images, config):
    """Resizes, pads and normalizes images for the network (Matterport
    ``MaskRCNN.mold_inputs``).

    Args:
        images: list of [H, W, C] arrays (C = ``IMAGE_CHANNEL_COUNT``), possibly of different
            sizes.
        config: the model's ``Config``.

    Returns:
        molded_images: float32 [N, h, w, C] (all images must mold to the same size; mold them
            one at a time and batch them with ``molded_batches`` otherwise).
        image_metas: float64 [N, 12 + NUM_CLASSES] (image_id 0, no active classes).
        windows: int32 [N, 4] pixel box (y1, x1, y2, x2) of the real image in the molded one.

    Raises:
        ValueError: the molded images differ in size.
    """
    molded = [mold_one(image, config) for image in images]
    shapes = {m[0].shape for m in molded}
    if len(shapes) > 1:
        raise ValueError("After resizing, all images must have the same size; got "
                         f"{sorted(shapes)}. Check IMAGE_RESIZE_MODE and image sizes.")
    return (np.stack([m[0] for m in molded]), np.stack([m[1] for m in molded]),
            np.stack([m[2] for m in molded]))


def mold_one(image, config):
    """One image -> (molded float32 [h, w, C], image_meta float64 [META], window int32 [4]):
    the per-image step of ``mold_inputs`` (image_id 0, no active classes)."""
    molded_image, window, scale, _, _ = resize_image(
        image, min_dim=config.IMAGE_MIN_DIM, min_scale=config.IMAGE_MIN_SCALE,
        max_dim=config.IMAGE_MAX_DIM, mode=config.IMAGE_RESIZE_MODE)
    molded_image = mold_image(molded_image, config)
    meta = compose_image_meta(0, image.shape, molded_image.shape, window, scale,
                              np.zeros([config.NUM_CLASSES], dtype=np.int32))
    return molded_image, meta, np.asarray(window, dtype=np.int32)


class MoldedBatch(NamedTuple):
    """One batch of images of the same molded shape (from ``molded_batches``).

    Fields:
        shape: (h, w, C) tuple of ints, the molded shape of every image in the batch.
        indices: list of ints, the positions of the batch's images in the input list.
        images: float32 [b, h, w, C] molded images.
        image_metas: float64 [b, META] (``mrcnn.image_meta``).
        windows: int32 [b, 4] pixel box (y1, x1, y2, x2) of each real image in its molded one.
    """

    shape: tuple
    indices: list
    images: np.ndarray
    image_metas: np.ndarray
    windows: np.ndarray


def _check_molded(molded):
    for i, m in enumerate(molded):
        if len(m) != 3 or any(np.ndim(a) < 1 or len(a) != 1 for a in m):
            raise ValueError(
                f"molded[{i}] must be one image's mold_inputs([image]) result (molded [1, h, w, "
                "C], image_meta [1, META], window [1, 4]); mold the images one at a time")


def group_by_molded_shape(molded):
    """Groups molded images by their molded shape, in the order each shape is first seen.

    Args:
        molded: list with one ``mold_inputs([image], config)`` result per image: (float32
            [1, h, w, C], image_meta [1, META], window int32 [1, 4]).

    Returns:
        OrderedDict molded shape (h, w, C) -> list of the indices into ``molded`` of the
        images of that shape, in input order.

    Raises:
        ValueError: an entry of ``molded`` is not a one-image ``mold_inputs`` result.
    """
    _check_molded(molded)
    groups = OrderedDict()
    for i, (m, _, _) in enumerate(molded):
        groups.setdefault(m.shape[1:], []).append(i)
    return groups


def molded_batches(molded, batch_size):
    """Batches molded images for the network: images of one molded shape together, at most
    ``batch_size`` per batch (the batching of Matterport's ``MaskRCNN.detect``, which instead
    required exactly ``BATCH_SIZE`` images of one size).

    Args:
        molded: list with one ``mold_inputs([image], config)`` result per image (see
            ``group_by_molded_shape``).
        batch_size: int >= 1, the most images per batch (``config.BATCH_SIZE``).

    Returns:
        an iterator of ``MoldedBatch`` tuples; all the batches of one shape come one after
        the other, shapes in the order they are first seen, images in input order within a
        shape.

    Raises:
        ValueError: ``batch_size`` is not a positive int, or an entry of ``molded`` is not a
            one-image ``mold_inputs`` result.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    # Checked here, when called, not at the first batch.
    return _batches(molded, group_by_molded_shape(molded), int(batch_size))


def _batches(molded, groups, batch_size):
    for shape, indices in groups.items():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            yield MoldedBatch(tuple(int(v) for v in shape), chunk,
                              np.concatenate([molded[i][0] for i in chunk]),
                              np.concatenate([molded[i][1] for i in chunk]),
                              np.concatenate([molded[i][2] for i in chunk]))


def unmold_detections(detections, mrcnn_mask, original_image_shape, image_shape, window):
    """Turns one image's network outputs into Matterport's detection arrays (Matterport
    ``MaskRCNN.unmold_detections``).

    Args:
        detections: [DMAX, 6] rows (y1, x1, y2, x2, class_id, score), boxes normalized to the
            molded image; padding rows have class_id 0.
        mrcnn_mask: [DMAX, h, w, NC] per-class soft masks, or [DMAX, h, w] masks of each row's
            own class.
        original_image_shape: (H, W, C) of the image before resizing.
        image_shape: (h, w, C) of the molded image.
        window: (y1, x1, y2, x2) pixel box of the real image inside the molded one.

    Returns:
        boxes: int32 [N, 4] pixel boxes (y1, x1, y2, x2, exclusive ends) in the original image.
        class_ids: int32 [N].
        scores: float32 [N].
        masks: bool [H, W, N] full-size masks (bool also when N = 0; Matterport gave float64).

    Detections whose box has no area in the original image are dropped. Masks are resized
    bilinearly to their box, thresholded at 0.5 and pasted, for all detections at once
    (``masks.paste_masks``).
    """
    detections = np.asarray(detections)
    zero_ix = np.where(detections[:, 4] == 0)[0]
    n = zero_ix[0] if zero_ix.shape[0] > 0 else detections.shape[0]

    boxes = detections[:n, :4]
    class_ids = detections[:n, 4].astype(np.int32)
    scores = detections[:n, 5].astype(np.float32)
    mrcnn_mask = np.asarray(mrcnn_mask)
    if mrcnn_mask.ndim == 4:
        masks = mrcnn_mask[np.arange(n), :, :, class_ids]
    else:
        masks = mrcnn_mask[:n]

    # Boxes from the molded image's normalized frame to the window's, then to original pixels.
    wy1, wx1, wy2, wx2 = norm_boxes(np.asarray(window, dtype=np.float64), image_shape[:2])
    wh, ww = wy2 - wy1, wx2 - wx1
    boxes = (boxes - np.array([wy1, wx1, wy1, wx1])) / np.array([wh, ww, wh, ww])
    boxes = denorm_boxes(boxes, original_image_shape[:2])

    height, width = original_image_shape[:2]
    boxes = np.clip(boxes, 0, [height, width, height, width])
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, class_ids, scores, masks = boxes[keep], class_ids[keep], scores[keep], masks[keep]
    full_masks = paste_masks(masks, boxes, original_image_shape[:2])
    return boxes.astype(np.int32), class_ids, scores, full_masks
