"""Box operations on tensors (Matterport ``apply_box_deltas_graph``, ``clip_boxes_graph``,
``overlaps_graph``, ``box_refinement_graph``, ``norm_boxes_graph``, ``denorm_boxes_graph``) and
``BoxCoder``, the box coding (std-dev scaling and log-scale clamp) that the graph uses.

Boxes are (y1, x1, y2, x2) along the last axis; any leading axes broadcast. Deltas are
(dy, dx, log(dh), log(dw)): centre shifts in units of the box size and log size ratios.
"""

import math

import tensorflow as tf

from mrcnn import boxes as np_boxes
from mrcnn.boxes import SCALE_CLAMP  # noqa: F401 - the coder's default, documented there

# Default bound of ``apply_box_deltas`` called on its own: a box can grow at most 1000/16 = 62.5
# times per side (Detectron2's and torchvision's value). The model decodes through ``BoxCoder``,
# whose default is the overflow guard ``SCALE_CLAMP`` instead, so that boxes decode as
# Matterport's wherever Matterport's are finite.
BBOX_LOG_SCALE_CLIP = math.log(1000.0 / 16.0)


def _centers_and_sizes(boxes):
    """(cy, cx, h, w) of [..., 4] boxes, each [...]: the box coding's frame."""
    height = boxes[..., 2] - boxes[..., 0]
    width = boxes[..., 3] - boxes[..., 1]
    return boxes[..., 0] + 0.5 * height, boxes[..., 1] + 0.5 * width, height, width


def apply_box_deltas(boxes, deltas, log_scale_clip=BBOX_LOG_SCALE_CLIP):
    """Applies deltas to boxes.

    Args:
        boxes: float [..., 4] (y1, x1, y2, x2), pixels or normalized.
        deltas: float [..., 4] (dy, dx, dh, dw), already multiplied by the std-dev.
        log_scale_clip: upper bound for dh and dw before ``exp`` (None: no clamp). The default
            ``BBOX_LOG_SCALE_CLIP`` differs from Matterport's unclamped ``exp`` from dh = 4.14;
            ``BoxCoder`` passes its own ``scale_clamp``.

    Returns:
        float [..., 4] refined boxes in the coordinates of ``boxes``.
    """
    center_y, center_x, height, width = _centers_and_sizes(boxes)
    dh, dw = deltas[..., 2], deltas[..., 3]
    if log_scale_clip is not None:
        dh = tf.minimum(dh, log_scale_clip)
        dw = tf.minimum(dw, log_scale_clip)
    center_y += deltas[..., 0] * height
    center_x += deltas[..., 1] * width
    height *= tf.exp(dh)
    width *= tf.exp(dw)
    y1 = center_y - 0.5 * height
    x1 = center_x - 0.5 * width
    return tf.stack([y1, x1, y1 + height, x1 + width], axis=-1)


def clip_boxes(boxes, window):
    """Clips boxes into a window.

    Args:
        boxes: float [..., N, 4].
        window: float [4] or [..., 4] (wy1, wx1, wy2, wx2), broadcast over N.

    Returns:
        float [..., N, 4].
    """
    window = tf.cast(window, boxes.dtype)
    # expand_dims, not window[..., tf.newaxis, :]: tf2onnx turns that slice of a [4] window
    # into an ONNX Slice naming axis 0 twice, which ONNX Runtime refuses to load.
    wy1, wx1, wy2, wx2 = tf.unstack(tf.expand_dims(window, -2), axis=-1)
    y1, x1, y2, x2 = tf.unstack(boxes, axis=-1)
    y1 = tf.minimum(tf.maximum(y1, wy1), wy2)
    x1 = tf.minimum(tf.maximum(x1, wx1), wx2)
    y2 = tf.minimum(tf.maximum(y2, wy1), wy2)
    x2 = tf.minimum(tf.maximum(x2, wx1), wx2)
    return tf.stack([y1, x1, y2, x2], axis=-1)


def overlaps(boxes1, boxes2):
    """IoU between two sets of boxes (no +1 pixel convention, as Matterport).

    Args:
        boxes1: float [..., N, 4].
        boxes2: float [..., M, 4] (same leading axes).

    Returns:
        float [..., N, M] IoU; 0 where the union is empty.
    """
    b1 = boxes1[..., :, tf.newaxis, :]
    b2 = boxes2[..., tf.newaxis, :, :]
    y1 = tf.maximum(b1[..., 0], b2[..., 0])
    x1 = tf.maximum(b1[..., 1], b2[..., 1])
    y2 = tf.minimum(b1[..., 2], b2[..., 2])
    x2 = tf.minimum(b1[..., 3], b2[..., 3])
    intersection = tf.maximum(x2 - x1, 0) * tf.maximum(y2 - y1, 0)
    area1 = (b1[..., 2] - b1[..., 0]) * (b1[..., 3] - b1[..., 1])
    area2 = (b2[..., 2] - b2[..., 0]) * (b2[..., 3] - b2[..., 1])
    union = area1 + area2 - intersection
    return tf.math.divide_no_nan(intersection, union)


def box_refinement(box, gt_box):
    """Deltas that turn ``box`` into ``gt_box`` (Matterport ``box_refinement_graph``).

    Args:
        box, gt_box: float [..., 4] (y1, x1, y2, x2), same coordinates.

    Returns:
        float32 [..., 4] (dy, dx, log(gh / h), log(gw / w)), not divided by the std-dev.
    """
    box = tf.cast(box, tf.float32)
    gt_box = tf.cast(gt_box, tf.float32)
    center_y, center_x, height, width = _centers_and_sizes(box)
    gt_center_y, gt_center_x, gt_height, gt_width = _centers_and_sizes(gt_box)
    dy = (gt_center_y - center_y) / height
    dx = (gt_center_x - center_x) / width
    dh = tf.math.log(gt_height / height)
    dw = tf.math.log(gt_width / width)
    return tf.stack([dy, dx, dh, dw], axis=-1)


class BoxCoder(np_boxes.BoxCoder):
    """Box deltas scaled by a std-dev, both ways, on tensors: the one place where the graph
    applies ``RPN_BBOX_STD_DEV`` / ``BBOX_STD_DEV`` (proposals and detections decode, the
    detection targets encode). Twin of ``mrcnn.boxes.BoxCoder`` (same arguments, validation and
    results up to float rounding), in the shape of Detectron2's ``Box2BoxTransform`` (weights,
    ``scale_clamp``) and torchvision's ``BoxCoder``.

    ``decode(boxes, deltas) = apply_box_deltas(boxes, deltas * std_dev, scale_clamp)`` as in
    Matterport's ``ProposalLayer`` and ``refine_detections_graph``;
    ``encode(boxes, targets) = box_refinement(boxes, targets) / std_dev`` as in Matterport's
    ``detection_targets_graph``.

    Why the default ``scale_clamp`` is ``SCALE_CLAMP`` = log(1e30): Matterport applies ``exp``
    unclamped, which overflows float32 from dh = 88.7 (inf and NaN coordinates). A clamp only
    as high as the overflow needs keeps every finite Matterport result: below log(1e30) the
    clamp does not act and the boxes are Matterport's bit for bit; above it a side grows 1e30
    times (finite for boxes up to 3.4e8, pixel or normalized) where Matterport's grew more (or
    overflowed), so once clipped to the image window that side spans the whole window for both
    (for any box side over 1e-29 of the window). Detectron2's log(1000 / 16) (a box grows at
    most 62.5 times) changed proposals and detections that Matterport decodes (random weights
    exceed dh = 4.14).

    Args:
        std_dev: 4 positive numbers (dy, dx, dh, dw), ``config.RPN_BBOX_STD_DEV`` or
            ``config.BBOX_STD_DEV``; applied in the dtype of the deltas (float32 in the graph).
        scale_clamp: upper bound of the scaled dh, dw before ``exp``, or None (no bound).

    Raises:
        ValueError: ``std_dev`` is not 4 positive finite numbers.
    """

    def _std(self, dtype):
        return tf.constant(self.std_dev, dtype)

    def encode(self, boxes, targets):
        """Deltas that turn ``boxes`` into ``targets``, divided by the std-dev.

        Args:
            boxes: float [..., 4] reference boxes (anchors, RoIs), positive height and width.
            targets: float [..., 4] boxes to reach, same coordinates and leading axes.

        Returns:
            float32 [..., 4] ``(dy, dx, log(dh), log(dw)) / std_dev``.
        """
        return box_refinement(boxes, targets) / self._std(tf.float32)

    def decode(self, boxes, deltas):
        """Boxes refined by deltas that were divided by the std-dev (the inverse of ``encode``).

        Args:
            boxes: float [..., 4] reference boxes.
            deltas: float [..., 4] predicted deltas (before std-dev scaling), same leading axes
                (or broadcastable).

        Returns:
            float [..., 4] boxes in the coordinates of ``boxes``, not clipped.
        """
        deltas = tf.convert_to_tensor(deltas)
        return apply_box_deltas(boxes, deltas * self._std(deltas.dtype),
                                log_scale_clip=self.scale_clamp)


def _norm_scale_shift(shape, dtype):
    shape = tf.cast(shape, dtype)
    h, w = shape[..., 0], shape[..., 1]
    scale = tf.stack([h, w, h, w], axis=-1) - tf.constant(1.0, dtype)
    shift = tf.constant([0.0, 0.0, 1.0, 1.0], dtype)
    return scale, shift


def norm_boxes(boxes, shape):
    """Pixel boxes (exclusive y2, x2) -> normalized boxes.

    Args:
        boxes: [..., 4] pixel boxes.
        shape: (H, W) of the image, a tensor or sequence.

    Returns:
        float32 [..., 4]: ``(boxes - [0, 0, 1, 1]) / [H - 1, W - 1, H - 1, W - 1]``.
    """
    scale, shift = _norm_scale_shift(shape, tf.float32)
    return tf.math.divide(tf.cast(boxes, tf.float32) - shift, scale)


def denorm_boxes(boxes, shape):
    """Normalized boxes -> int32 pixel boxes (exclusive y2, x2), rounded."""
    scale, shift = _norm_scale_shift(shape, tf.float32)
    return tf.cast(tf.round(tf.multiply(tf.cast(boxes, tf.float32), scale) + shift), tf.int32)
