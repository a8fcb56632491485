"""RoIAlign over the feature pyramid (Matterport ``PyramidROIAlign``), as tensor functions.

Each RoI is pooled from one pyramid level chosen by its size (FPN paper, Eq. 1):
``k = clip(4 + round(log2(sqrt(h * w) / 224)), 2, 5)`` with h, w in pixels of the molded image.
Pooling is ``tf.image.crop_and_resize`` (bilinear, one sample per output cell, normalized boxes
mapping 0..1 to pixel centres 0..size-1), as Matterport does.

Its gradient with respect to the feature maps is not TensorFlow's: the CPU kernel of
``CropAndResizeGradImage`` (TensorFlow 2.21) splits the boxes over threads that add into the
same gradient image without synchronisation, so where RoIs overlap, additions are lost at
random. Measured on 2 cores with 200 overlapping boxes on a [1, 32, 32, 256] map: 2 of 5
calls lost updates (a channel's gradient sum off by up to 27, against 5e-5 box by box), which
made two seeded training runs end with different weights. ``crop_and_resize`` here computes
the same bilinear adjoint with ``tf.math.unsorted_segment_sum``: exact and repeatable on CPU
(tests/ops/test_roi_align_gradient.py); on GPU that op adds with atomics, and TensorFlow
documents a deterministic kernel for it under ``tf.config.experimental.enable_op_determinism``
(where TF's own ``CropAndResizeGradImage`` raises instead; not run here: no GPU).
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


def crop_and_resize_image_gradient(grads, boxes, box_indices, image_shape):
    """The adjoint of bilinear ``tf.image.crop_and_resize`` with respect to its image.

    The sampling is TensorFlow's (``crop_and_resize_op.cc``): output cell (y, x) of box
    (y1, x1, y2, x2) samples ``in_y = y1 * (H - 1) + y * (y2 - y1) * (H - 1) / (ph - 1)``
    (``0.5 * (y1 + y2) * (H - 1)`` when ph == 1), likewise in x; samples outside
    [0, H - 1] x [0, W - 1] and boxes whose batch index is outside [0, B) take no gradient.
    Each cell's gradient is split over its 4 neighbouring pixels with the bilinear weights and
    summed per pixel with one ``tf.math.unsorted_segment_sum`` over the 4 corners.

    Args:
        grads: float [K, ph, pw, C], the gradient of the crops.
        boxes: float32 [K, 4] normalized (y1, x1, y2, x2), as passed to crop_and_resize.
        box_indices: int32 [K] batch index of each box.
        image_shape: int32 [4], (B, H, W, C) of the image.

    Returns:
        float32 [B, H, W, C].
    """
    grads = tf.cast(grads, tf.float32)
    ph, pw = grads.shape[1], grads.shape[2]
    channels = tf.shape(grads)[3]
    image_shape = tf.cast(image_shape, tf.int32)
    batch, height, width = image_shape[0], image_shape[1], image_shape[2]
    y1, x1, y2, x2 = tf.unstack(tf.cast(boxes, tf.float32), axis=1)

    def samples(lo, hi, size, n):
        """[K, n] source indices (floor, ceil), lerp weights and validity along one axis."""
        last = tf.cast(size - 1, tf.float32)
        if n > 1:
            scale = (hi - lo) * (last / float(n - 1))
            pos = lo[:, None] * last + tf.range(n, dtype=tf.float32)[None, :] * scale[:, None]
        else:
            pos = (0.5 * (lo + hi) * last)[:, None]
        valid = (pos >= 0.0) & (pos <= last)
        pos = tf.where(valid, pos, 0.0)
        low = tf.floor(pos)
        return (tf.cast(low, tf.int32), tf.cast(tf.math.ceil(pos), tf.int32), pos - low,
                valid)

    top, bottom, y_lerp, y_valid = samples(y1, y2, height, ph)
    left, right, x_lerp, x_valid = samples(x1, x2, width, pw)
    box_indices = tf.cast(box_indices, tf.int32)
    box_valid = (box_indices >= 0) & (box_indices < batch)
    valid = tf.cast(y_valid[:, :, None] & x_valid[:, None, :] & box_valid[:, None, None],
                    tf.float32)
    row_base = tf.where(box_valid, box_indices, 0)[:, None] * height  # [K, 1]
    total = batch * height * width
    indices, weights = [], []
    for rows, wy in ((top, 1.0 - y_lerp), (bottom, y_lerp)):
        for cols, wx in ((left, 1.0 - x_lerp), (right, x_lerp)):
            indices.append((row_base + rows)[:, :, None] * width + cols[:, None, :])
            weights.append(wy[:, :, None] * wx[:, None, :] * valid)
    # [4, K, ph, pw] pixel of each corner of each cell and its weight; one sum over all four.
    data = grads[None] * tf.stack(weights)[..., None]
    out = tf.math.unsorted_segment_sum(tf.reshape(data, tf.stack([-1, channels])),
                                       tf.reshape(tf.stack(indices), [-1]), total)
    return tf.reshape(out, image_shape)


def crop_and_resize(image, boxes, box_indices, crop_size):
    """``tf.image.crop_and_resize(image, boxes, box_indices, crop_size, "bilinear")`` with an
    exact, repeatable gradient with respect to ``image`` (see the module docstring and
    ``crop_and_resize_image_gradient``); ``boxes`` and ``box_indices`` take no gradient.

    Args:
        image: float [B, H, W, C].
        boxes: float32 [K, 4] normalized (y1, x1, y2, x2); 0..1 maps to pixel centres 0..H-1.
        box_indices: int32 [K] in [0, B).
        crop_size: (ph, pw) Python ints.

    Returns:
        float32 [K, ph, pw, C] (as TensorFlow's op, whatever the image dtype).
    """
    boxes = tf.stop_gradient(boxes)
    box_indices = tf.stop_gradient(box_indices)

    @tf.custom_gradient
    def pool(image):
        crops = tf.image.crop_and_resize(image, boxes, box_indices, crop_size, method="bilinear")

        def grad(upstream):
            return tf.cast(crop_and_resize_image_gradient(upstream, boxes, box_indices,
                                                          tf.shape(image)), image.dtype)
        return crops, grad

    return pool(image)


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
        pooled.append(crop_and_resize(feature_map, tf.gather(boxes, ix),
                                      tf.gather(box_indices, ix), pool_shape))
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
