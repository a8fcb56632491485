"""What ``detect()`` does around the network, as TensorFlow functions, for an exported model.

``MaskRCNN.detect`` molds images with NumPy and scikit-image (``mrcnn.image.resize_image``,
``mold_image``, ``compose_image_meta``), computes anchors with NumPy (``mrcnn.anchors``) and
unmolds with NumPy (``mrcnn.transform.unmold_detections``, ``mrcnn.masks.paste_masks``). The
functions here compute the same values inside a TensorFlow graph, so that a SavedModel
(``mrcnn.export``) takes raw uint8 images and returns final detections:

* ``resize_scale`` / ``resize_like_skimage`` / ``mold_images``: Matterport's ``resize_image`` in
  the modes ``"square"``, ``"pad64"`` and ``"none"`` (``"crop"`` is random and for training only),
  bit for bit: the bilinear resize reproduces ``skimage.transform.resize(order=1,
  mode="constant", preserve_range=True)`` (``scipy.ndimage.zoom`` with ``grid_mode=True``:
  sample ``(o + 0.5) * in / out - 0.5``, zeros outside the image, the four taps summed in
  scipy's order in float64), clipped to the image's range and truncated to uint8 as
  ``resize_image`` does. ``tf.image.resize`` (bilinear, no antialias) agrees inside the image
  but clamps at the border instead of blending with zeros, which changes the outer rows and
  columns of an enlarged image (measured on three demo photos enlarged to 1024: 0.5-0.7 % of the
  pixels, by up to 95 grey levels).
* ``compose_image_meta_graph``: the ``image_meta`` rows of ``mrcnn.image_meta``.
* ``pyramid_anchors``: ``mrcnn.anchors.get_anchors`` for a molded size known only in the graph.
* ``unmold_detections_graph`` / ``paste_masks_graph``: ``unmold_detections`` and
  ``paste_masks`` for a batch, with the detections that leave the image dropped and the kept
  rows packed at the front (padding rows zero).

Boxes are (y1, x1, y2, x2); pixel boxes have exclusive y2, x2; normalized boxes use the
``(H - 1, W - 1)`` convention of ``mrcnn.boxes.norm_boxes``.
"""

import numpy as np
import tensorflow as tf

#: The ``IMAGE_RESIZE_MODE`` values an exported model supports ("crop" is training-only).
SERVING_RESIZE_MODES = ("square", "pad64", "none")


def resize_scale(height, width, min_dim, max_dim, min_scale, mode):
    """The scale of ``mrcnn.image.resize_image`` for an image size, as a float64 tensor.

    Args:
        height, width: scalar int tensors, the image size in pixels.
        min_dim, max_dim, min_scale: ``IMAGE_MIN_DIM``, ``IMAGE_MAX_DIM``, ``IMAGE_MIN_SCALE``
            (Python numbers or None).
        mode: ``"square"``, ``"pad64"`` or ``"none"``.

    Returns:
        float64 scalar: ``max(1, min_dim / min(H, W))``, raised to ``min_scale``, and in
        ``"square"`` mode lowered to ``max_dim / max(H, W)`` when ``round(max(H, W) * scale)``
        exceeds ``max_dim`` (Python's ``round`` and ``tf.round`` both round half to even);
        1 in ``"none"`` mode.

    Raises:
        ValueError: unknown mode.
    """
    _check_mode(mode)
    one = tf.constant(1.0, tf.float64)
    if mode == "none":
        return one
    h = tf.cast(height, tf.float64)
    w = tf.cast(width, tf.float64)
    scale = one
    if min_dim:
        scale = tf.maximum(one, float(min_dim) / tf.minimum(h, w))
    if min_scale:
        scale = tf.maximum(scale, float(min_scale))
    if max_dim and mode == "square":
        image_max = tf.maximum(h, w)
        scale = tf.where(tf.round(image_max * scale) > float(max_dim),
                         float(max_dim) / image_max, scale)
    return scale


def _taps(in_size, out_size):
    """Indices into the 1-pixel zero-padded input and weights of the two bilinear taps."""
    out = tf.range(out_size, dtype=tf.float64)
    coord = (out + 0.5) * (tf.cast(in_size, tf.float64) / tf.cast(out_size, tf.float64)) - 0.5
    lower = tf.floor(coord)
    frac = coord - lower
    index = tf.cast(lower, tf.int32) + 1  # +1: the zero padding
    return index, index + 1, 1.0 - frac, frac


def resize_like_skimage(images, out_height, out_width):
    """Bilinear resize of ``skimage.transform.resize(order=1, mode="constant", cval=0,
    preserve_range=True, anti_aliasing=False)`` followed by ``clip`` and the cast back to the
    input dtype, as ``mrcnn.image.resize_image`` does (mirrors Matterport ``utils.resize``).

    Args:
        images: uint8 (or other integer) [B, H, W, C] tensor.
        out_height, out_width: scalar int tensors, the output size.

    Returns:
        [B, out_height, out_width, C] of the input dtype: each sample computed in float64 as
        scipy does (taps at ``(o + 0.5) * in / out - 0.5``, zeros outside the image, products
        ``value * wy * wx`` summed over the taps in scipy's order), clipped to each image's
        own [min, max] and truncated.
    """
    dtype = images.dtype
    lo = tf.cast(tf.reduce_min(images, axis=[1, 2, 3], keepdims=True), tf.float64)
    hi = tf.cast(tf.reduce_max(images, axis=[1, 2, 3], keepdims=True), tf.float64)
    # Gathers on the integer pixels, float64 after (TFLite has no float64 gather).
    x = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    y0, y1, wy0, wy1 = _taps(tf.shape(images)[1], out_height)
    x0, x1, wx0, wx1 = _taps(tf.shape(images)[2], out_width)
    top = tf.gather(x, y0, axis=1)
    bottom = tf.gather(x, y1, axis=1)
    wy0 = wy0[None, :, None, None]
    wy1 = wy1[None, :, None, None]
    wx0 = wx0[None, None, :, None]
    wx1 = wx1[None, None, :, None]

    def tap(rows, cols):
        return tf.cast(tf.gather(rows, cols, axis=2), tf.float64)
    total = tap(top, x0) * wy0 * wx0
    total += tap(top, x1) * wy0 * wx1
    total += tap(bottom, x0) * wy1 * wx0
    total += tap(bottom, x1) * wy1 * wx1
    total = tf.clip_by_value(total, lo, hi)
    return tf.cast(tf.floor(total), dtype)


def _check_mode(mode):
    if mode not in SERVING_RESIZE_MODES:
        hint = (' ("crop" takes a random crop: it is for training only)' if mode == "crop"
                else "")
        raise ValueError(f"IMAGE_RESIZE_MODE {mode!r} cannot be exported{hint}; use one of "
                         f"{', '.join(repr(m) for m in SERVING_RESIZE_MODES)}")


def _pad_to_multiple(size, multiple):
    """(before, after) padding to the next multiple, split as ``mrcnn.image`` splits it."""
    total = (multiple - size % multiple) % multiple
    return total // 2, total - total // 2


def mold_images(images, mean_pixel, min_dim, max_dim, min_scale, mode):
    """Resizes, pads and mean-subtracts a batch of same-sized images (Matterport
    ``mold_inputs``: ``resize_image`` then ``mold_image``).

    Args:
        images: uint8 [B, H, W, C], one size for the whole batch.
        mean_pixel: C floats (``MEAN_PIXEL``).
        min_dim, max_dim, min_scale, mode: ``IMAGE_MIN_DIM``, ``IMAGE_MAX_DIM``,
            ``IMAGE_MIN_SCALE``, ``IMAGE_RESIZE_MODE`` (``"square"``, ``"pad64"``, ``"none"``).

    Returns:
        molded: float32 [B, h, w, C], the resized and zero-padded images minus ``mean_pixel``
            (``[B, max_dim, max_dim, C]`` in ``"square"`` mode).
        window: int32 [4], (y1, x1, y2, x2) of the real image in the molded one (the same for
            every image of the batch).
        scale: float64 scalar.

    Raises:
        ValueError: unknown or training-only mode; ``"square"`` without ``max_dim``;
            ``"pad64"`` without a ``min_dim`` that is a multiple of 64 (as ``resize_image``).
    """
    _check_mode(mode)
    if mode == "square" and not max_dim:
        raise ValueError('"square" mode needs IMAGE_MAX_DIM (the side of the square input)')
    if mode == "pad64" and (not min_dim or min_dim % 64):
        raise ValueError(f'"pad64" mode needs IMAGE_MIN_DIM to be a multiple of 64, got '
                         f"{min_dim!r}")
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    scale = resize_scale(height, width, min_dim, max_dim, min_scale, mode)
    if mode == "none":
        resized, new_h, new_w = images, height, width
    else:
        new_h = tf.cast(tf.round(tf.cast(height, tf.float64) * scale), tf.int32)
        new_w = tf.cast(tf.round(tf.cast(width, tf.float64) * scale), tf.int32)
        # At scale 1 the resize is the identity (every tap weight is 0 or 1), as resize_image's
        # skipping it; no branch, which keeps the graph convertible.
        resized = resize_like_skimage(images, new_h, new_w)
    if mode == "square":
        top = (max_dim - new_h) // 2
        left = (max_dim - new_w) // 2
        bottom = max_dim - new_h - top
        right = max_dim - new_w - left
    elif mode == "pad64":
        top, bottom = _pad_to_multiple(new_h, 64)
        left, right = _pad_to_multiple(new_w, 64)
    else:
        top = bottom = left = right = tf.constant(0, tf.int32)
    mean = tf.constant(np.asarray(mean_pixel, dtype=np.float32).reshape(-1))
    # Matterport pads the uint8 image with zeros and then subtracts the mean (the padding is
    # -MEAN_PIXEL in the network input), so pad before subtracting.
    padded = tf.pad(resized, [[0, 0], [top, bottom], [left, right], [0, 0]])
    molded = tf.cast(padded, tf.float32) - mean
    if mode == "square":
        molded = tf.ensure_shape(molded, [None, max_dim, max_dim, len(mean_pixel)])
    window = tf.stack([top, left, top + new_h, left + new_w])
    return molded, tf.cast(window, tf.int32), scale


def compose_image_meta_graph(original_shape, molded_shape, window, scale, num_classes,
                             batch_size):
    """``image_meta`` rows for a batch (``mrcnn.image_meta.compose_image_meta``), image_id 0
    and no active classes as in ``mold_inputs``.

    Args:
        original_shape: int [3] (H, W, C) of the images before molding.
        molded_shape: int [3] (h, w, C) after molding.
        window: int [4] pixel window in the molded image.
        scale: float scalar.
        num_classes: ``NUM_CLASSES``.
        batch_size: scalar int tensor B.

    Returns:
        float32 [B, 12 + num_classes].
    """
    row = tf.concat([
        tf.zeros([1], tf.float32),
        tf.cast(original_shape, tf.float32), tf.cast(molded_shape, tf.float32),
        tf.cast(window, tf.float32), tf.reshape(tf.cast(scale, tf.float32), [1]),
        tf.zeros([num_classes], tf.float32)], axis=0)
    return tf.tile(row[tf.newaxis], [batch_size, 1])


def pyramid_anchors(image_height, image_width, scales, ratios, feature_strides, anchor_stride):
    """``mrcnn.anchors.get_anchors`` (normalized) for a molded size known in the graph.

    The same arithmetic as ``generate_pyramid_anchors`` in float64 (feature maps of
    ``ceil(H / stride)`` cells, centres on the cells' top-left samples, ratio order within a
    cell, levels P2 first), then ``norm_boxes``.

    Args:
        image_height, image_width: scalar int tensors, the molded size in pixels.
        scales: one anchor side per level (``RPN_ANCHOR_SCALES``).
        ratios: width/height ratios (``RPN_ANCHOR_RATIOS``).
        feature_strides: one stride per level (``BACKBONE_STRIDES``).
        anchor_stride: ``RPN_ANCHOR_STRIDE``.

    Returns:
        float32 [A, 4] normalized anchors (y1, x1, y2, x2).
    """
    levels = []
    for scale, stride in zip(scales, feature_strides):
        ratio = np.asarray(ratios, dtype=np.float64).reshape(-1)
        heights = tf.constant(float(scale) / np.sqrt(ratio))
        widths = tf.constant(float(scale) * np.sqrt(ratio))
        rows = (image_height + stride - 1) // stride
        cols = (image_width + stride - 1) // stride
        ys = tf.cast(tf.range(0, rows, anchor_stride) * stride, tf.float64)
        xs = tf.cast(tf.range(0, cols, anchor_stride) * stride, tf.float64)
        cy = tf.reshape(tf.tile(ys[:, None], [1, tf.size(xs)]), [-1, 1])
        cx = tf.reshape(tf.tile(xs[None, :], [tf.size(ys), 1]), [-1, 1])
        boxes = tf.stack([cy - 0.5 * heights, cx - 0.5 * widths,
                          cy + 0.5 * heights, cx + 0.5 * widths], axis=-1)
        levels.append(tf.reshape(boxes, [-1, 4]))
    anchors = tf.concat(levels, axis=0)
    h = tf.cast(image_height, tf.float64)
    w = tf.cast(image_width, tf.float64)
    norm = tf.stack([h - 1, w - 1, h - 1, w - 1])
    shift = tf.constant([0.0, 0.0, 1.0, 1.0], tf.float64)
    return tf.cast((anchors - shift) / norm, tf.float32)


def unmold_detections_graph(detections, masks, original_hw, molded_hw, window):
    """Final detections in original-image pixels for a batch (``unmold_detections`` without
    the pasting; see ``paste_masks_graph``).

    Args:
        detections: float32 [B, D, 6] rows (y1, x1, y2, x2, class_id, score), boxes normalized
            to the molded image; rows from the first class_id 0 on are padding.
        masks: float32 [B, D, mh, mw], each row's mask of its own class.
        original_hw: int [2] (H, W) of the images before molding.
        molded_hw: int [2] (h, w) of the molded images.
        window: int [4] pixel window of the real image in the molded one.

    Returns:
        dict of ``num_detections`` int32 [B]; ``boxes`` float32 [B, D, 4] pixel boxes
        (integer values, exclusive ends) clipped to the original image; ``class_ids`` int32
        [B, D]; ``scores`` float32 [B, D]; ``masks`` float32 [B, D, mh, mw]. Detections whose
        box has no area in the original image are dropped (as ``unmold_detections``); the
        kept ones come first in their order (descending score), the rest are zeros.
    """
    class_ids = tf.cast(detections[..., 4], tf.int32)
    valid = tf.math.cumprod(tf.cast(class_ids != 0, tf.int32), axis=1) > 0
    molded = tf.cast(molded_hw, tf.float64)
    win = (tf.cast(window, tf.float64) - tf.constant([0.0, 0.0, 1.0, 1.0], tf.float64)) / \
        tf.stack([molded[0] - 1, molded[1] - 1, molded[0] - 1, molded[1] - 1])
    win = tf.cast(win, tf.float32)  # norm_boxes returns float32; the rest follows in float32
    wh, ww = win[2] - win[0], win[3] - win[1]
    size = tf.cast(original_hw, tf.float64)

    def pixel_boxes(normalized):
        """Elementwise: the same values for each row wherever it stands."""
        boxes = (normalized - tf.stack([win[0], win[1], win[0], win[1]])) / \
            tf.stack([wh, ww, wh, ww])
        boxes = tf.round(tf.cast(boxes, tf.float64) * tf.stack([size[0] - 1, size[1] - 1,
                                                                size[0] - 1, size[1] - 1])
                         + tf.constant([0.0, 0.0, 1.0, 1.0], tf.float64))
        return tf.clip_by_value(boxes, 0.0, tf.stack([size[0], size[1], size[0], size[1]]))

    boxes = pixel_boxes(detections[..., :4])
    keep = valid & (boxes[..., 2] > boxes[..., 0]) & (boxes[..., 3] > boxes[..., 1])
    # Kept rows first, in their order; then zero the rest. Only float32 and integer tensors
    # are gathered: TFLite has no float64 gather, and its converter moves a cast that follows
    # the float64 arithmetic past a gather, so the pixel boxes are recomputed from the
    # gathered float32 rows (elementwise: the same values).
    order = tf.argsort(tf.cast(tf.logical_not(keep), tf.int32), axis=1, stable=True)
    keep = tf.gather(keep, order, batch_dims=1)
    keep_f = tf.cast(keep, tf.float32)
    boxes = pixel_boxes(tf.gather(detections[..., :4], order, batch_dims=1))
    return {
        "num_detections": tf.reduce_sum(tf.cast(keep, tf.int32), axis=1),
        "boxes": tf.cast(boxes, tf.float32) * keep_f[..., None],
        "class_ids": tf.gather(class_ids, order, batch_dims=1) * tf.cast(keep, tf.int32),
        "scores": tf.gather(detections[..., 5], order, batch_dims=1) * keep_f,
        "masks": tf.gather(masks, order, batch_dims=1) * keep_f[..., None, None],
    }


def _paste_weights(starts, sizes, in_size, out_size):
    """[B, D, out_size, in_size] bilinear weights of ``masks._interp_matrices`` for boxes
    starting at ``starts`` with ``sizes`` pixels (zero rows outside the box)."""
    sizes = tf.cast(sizes, tf.float64)
    o = tf.range(out_size, dtype=tf.float64)[None, None, :] - tf.cast(starts, tf.float64)[..., None]
    in_box = (o >= 0) & (o < sizes[..., None])
    coord = (o + 0.5) * (float(in_size) / tf.maximum(sizes, 1.0)[..., None]) - 0.5
    lower = tf.floor(coord)
    frac = coord - lower
    lower = tf.cast(lower, tf.int32)
    # One-hot rows by comparison (tf.one_hot of rank > 1 has no ONNX conversion); an index
    # outside [0, in_size) gives a zero row: the "grid-constant" zeros.
    taps = tf.range(in_size)

    def one_hot(index):
        return tf.cast(tf.equal(index[..., None], taps), tf.float64)
    weights = (one_hot(lower) * (1.0 - frac)[..., None]
               + one_hot(lower + 1) * frac[..., None])
    return weights * tf.cast(in_box, tf.float64)[..., None], in_box


def paste_masks_graph(masks, boxes, height, width, threshold=0.5):
    """Full-image masks (``mrcnn.masks.paste_masks`` for a batch): each soft mask resized
    bilinearly to its box (``skimage.transform.resize`` order 1, mode "constant"), clipped to
    the mask's own value range, thresholded (``>= threshold``) and placed in the image.

    Args:
        masks: float32 [B, D, mh, mw] soft masks.
        boxes: float32 [B, D, 4] integer-valued pixel boxes (exclusive ends) inside the image;
            zero boxes (padding rows) give empty masks.
        height, width: scalar int tensors, the image size.
        threshold: the mask threshold (0.5 in ``detect()``).

    Returns:
        uint8 [B, D, height, width], 1 inside the instance.
    """
    mh, mw = masks.shape[-2], masks.shape[-1]
    rows, in_rows = _paste_weights(boxes[..., 0], boxes[..., 2] - boxes[..., 0], mh, height)
    cols, in_cols = _paste_weights(boxes[..., 1], boxes[..., 3] - boxes[..., 1], mw, width)
    rows = tf.cast(rows, masks.dtype)
    cols = tf.cast(cols, masks.dtype)
    resized = tf.matmul(rows, tf.matmul(masks, cols, transpose_b=True))
    lo = tf.reduce_min(masks, axis=[-2, -1], keepdims=True)
    hi = tf.reduce_max(masks, axis=[-2, -1], keepdims=True)
    resized = tf.clip_by_value(resized, lo, hi)
    inside = in_rows[..., :, None] & in_cols[..., None, :]
    return tf.cast((resized >= threshold) & inside, tf.uint8)
