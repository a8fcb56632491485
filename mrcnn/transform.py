"""Pre- and post-processing around the inference graph (Matterport ``MaskRCNN.mold_inputs`` and
``MaskRCNN.unmold_detections``), NumPy.
"""

import numpy as np

from mrcnn.boxes import denorm_boxes, norm_boxes
from mrcnn.image import mold_image, resize_image
from mrcnn.image_meta import compose_image_meta
from mrcnn.masks import paste_masks


def mold_inputs(images, config):
    """Resizes, pads and normalizes images for the network.

    Args:
        images: list of [H, W, C] arrays (C = ``IMAGE_CHANNEL_COUNT``), possibly of different
            sizes.
        config: the model's ``Config``.

    Returns:
        molded_images: float32 [N, h, w, C] (all images must mold to the same size; group them
            first otherwise).
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
    """One image -> (molded float32 [h, w, C], image_meta [META], window int32 [4])."""
    molded_image, window, scale, _, _ = resize_image(
        image, min_dim=config.IMAGE_MIN_DIM, min_scale=config.IMAGE_MIN_SCALE,
        max_dim=config.IMAGE_MAX_DIM, mode=config.IMAGE_RESIZE_MODE)
    molded_image = mold_image(molded_image, config)
    meta = compose_image_meta(0, image.shape, molded_image.shape, window, scale,
                              np.zeros([config.NUM_CLASSES], dtype=np.int32))
    return molded_image, meta, np.asarray(window, dtype=np.int32)


def unmold_detections(detections, mrcnn_mask, original_image_shape, image_shape, window):
    """Turns one image's network outputs into Matterport's detection arrays.

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
