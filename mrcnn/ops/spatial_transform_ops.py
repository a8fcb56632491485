"""RoIAlign over the feature pyramid (Matterport ``PyramidROIAlign``), as tensor functions.

Each RoI is pooled from one pyramid level chosen by its size (FPN paper, Eq. 1):
``k = clip(4 + round(log2(sqrt(h * w) / 224)), 2, 5)`` with h, w in pixels of the molded image.
Pooling is ``tf.image.crop_and_resize`` (bilinear, one sample per output cell, normalized boxes
mapping 0..1 to pixel centres 0..size-1), as Matterport does.
"""

import tensorflow as tf

MIN_LEVEL = 2
MAX_LEVEL = 5


def roi_levels(boxes, image_shape):
    """Pyramid level of each box (FPN Eq. 1, Matterport's variant for normalized boxes).

    Args:
        boxes: float [..., 4] normalized (y1, x1, y2, x2).
        image_shape: (H, W) of the molded image in pixels (tensor or sequence).

    Returns:
        int32 [...] levels in 2..5. Degenerate and zero-padding boxes map to level 2.
        Rounding is half-to-even (``tf.round``), as in the original.
    """
    image_shape = tf.cast(image_shape, tf.float32)
    image_area = image_shape[0] * image_shape[1]
    h = boxes[..., 2] - boxes[..., 0]
    w = boxes[..., 3] - boxes[..., 1]
    # sqrt(h * w) * sqrt(image_area) / 224 is the box side in pixels over 224.
    level = 4.0 + tf.round(tf.math.log(tf.sqrt(h * w) * tf.sqrt(image_area) / 224.0)
                           / tf.math.log(2.0))
    level = tf.clip_by_value(level, float(MIN_LEVEL), float(MAX_LEVEL))
    # NaN (from 0/0 on degenerate boxes) also goes to the lowest level.
    level = tf.where(tf.math.is_nan(level), float(MIN_LEVEL), level)
    return tf.cast(level, tf.int32)


def multilevel_crop_and_resize(feature_maps, boxes, box_indices, image_shape, pool_shape):
    """Pools flat RoIs from the pyramid level each belongs to.

    Args:
        feature_maps: list of 4 float tensors [B, h_l, w_l, C] for P2..P5.
        boxes: float [K, 4] normalized boxes (gradients are stopped, as in the original).
        box_indices: int32 [K] batch index of each box.
        image_shape: (H, W) of the molded image in pixels.
        pool_shape: (ph, pw).

    Returns:
        float [K, ph, pw, C], in the order of ``boxes``.
    """
    boxes = tf.stop_gradient(boxes)
    box_indices = tf.stop_gradient(tf.cast(box_indices, tf.int32))
    levels = roi_levels(boxes, image_shape)
    pooled, positions = [], []
    for i, feature_map in enumerate(feature_maps):
        ix = tf.cast(tf.where(tf.equal(levels, MIN_LEVEL + i))[:, 0], tf.int32)
        pooled.append(tf.image.crop_and_resize(
            feature_map, tf.gather(boxes, ix), tf.gather(box_indices, ix), pool_shape,
            method="bilinear"))
        positions.append(ix)
    # Put the pooled RoIs back into the order of the input boxes.
    return tf.dynamic_stitch(positions, pooled)


def pyramid_roi_align(feature_maps, boxes, image_shape, pool_shape):
    """Batched RoIAlign: ``[B, N, 4]`` normalized boxes -> ``[B, N, ph, pw, C]``.

    Zero-padding boxes are pooled too (on level 2, a degenerate crop), as in the original.
    """
    batch = tf.shape(boxes)[0]
    num_boxes = tf.shape(boxes)[1]
    flat_boxes = tf.reshape(boxes, [-1, 4])
    box_indices = tf.repeat(tf.range(batch), num_boxes)
    pooled = multilevel_crop_and_resize(feature_maps, flat_boxes, box_indices, image_shape,
                                        pool_shape)
    channels = feature_maps[0].shape[-1] or tf.shape(feature_maps[0])[-1]
    return tf.reshape(pooled, tf.stack([batch, num_boxes, pool_shape[0], pool_shape[1],
                                        channels]))
