"""Bounding-box utilities (NumPy); Matterport's ``utils`` box functions.

Boxes are (y1, x1, y2, x2). Pixel boxes have exclusive y2/x2 (one past the last pixel), so
their area is ``(y2 - y1) * (x2 - x1)`` with no "+1". Normalized boxes map the pixel box
(y1, x1, y2 - 1, x2 - 1) by (H - 1, W - 1) into [0, 1] (the ``tf.image.crop_and_resize``
convention), see ``norm_boxes``.
"""

import math

import numpy as np

# Default upper bound of the log size deltas (dh, dw) before exp, in box decoding (here and in
# mrcnn.ops.box_ops). It only guards float32 against overflow: exp(SCALE_CLAMP) = 1e30, so a box
# up to 3.4e8 pixels (or normalized units) still decodes to finite float32 coordinates
# (float32 max 3.4e38), whereas exp alone overflows from dh = 88.7 and then gives inf and NaN
# (``-inf + inf``) coordinates. Deltas below it decode exactly as Matterport's unclamped exp; above
# it Matterport's box side (if finite at all) is over 1e30 times the input's, and so is this one:
# clipped to a window, both span it. Detectron2 and torchvision clamp at
# log(1000 / 16) instead, a box growing at most 62.5 times, which changes boxes that Matterport
# decodes (random weights exceed it).
SCALE_CLAMP = math.log(1e30)


def _as_boxes(boxes, name):
    boxes = np.asarray(boxes)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must be an [N, 4] array of (y1, x1, y2, x2) boxes, got shape "
                         f"{boxes.shape}")
    return boxes


def extract_bboxes(mask):
    """Tight pixel boxes of instance masks (Matterport ``utils.extract_bboxes``).

    Args:
        mask: [H, W, N] array; non-zero pixels belong to the instance.

    Returns:
        int32 [N, 4] boxes (y1, x1, y2, x2), y2/x2 exclusive (last index + 1). An empty mask gives
        (0, 0, 0, 0).

    Raises:
        ValueError: ``mask`` is not 3-D.
    """
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"extract_bboxes: mask must be [H, W, N], got shape {mask.shape}; "
                         "add a last axis for a single mask (mask[..., None])")
    h, w, n = mask.shape
    boxes = np.zeros([n, 4], dtype=np.int32)
    if n == 0 or h == 0 or w == 0:
        return boxes
    mask = mask != 0
    rows = mask.any(axis=1)  # [H, N]
    cols = mask.any(axis=0)  # [W, N]
    present = rows.any(axis=0)
    y1 = np.argmax(rows, axis=0)
    y2 = h - np.argmax(rows[::-1], axis=0)
    x1 = np.argmax(cols, axis=0)
    x2 = w - np.argmax(cols[::-1], axis=0)
    boxes[present] = np.stack([y1, x1, y2, x2], axis=1)[present]
    return boxes


def compute_iou(box, boxes, box_area, boxes_area):
    """IoU of one box with many (Matterport ``utils.compute_iou``).

    Args:
        box: [4] box (y1, x1, y2, x2).
        boxes: [M, 4] boxes.
        box_area: float, the area of ``box``.
        boxes_area: [M] areas of ``boxes``.

    Returns:
        float [M] IoU. Pairs with a zero union give 0 (the original divided by zero).

    Areas are passed in so that callers can compute them once; no "+1" pixel convention is used.
    """
    box = np.asarray(box)
    boxes = np.asarray(boxes)
    y1 = np.maximum(box[0], boxes[:, 0])
    y2 = np.minimum(box[2], boxes[:, 2])
    x1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[3], boxes[:, 3])
    intersection = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = box_area + np.asarray(boxes_area) - intersection
    return _safe_divide(intersection, union)


def _safe_divide(num, den):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape), dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def compute_overlaps(boxes1, boxes2):
    """Pairwise IoU of two sets of boxes (Matterport ``utils.compute_overlaps``), vectorised.

    Args:
        boxes1: [N, 4] boxes (y1, x1, y2, x2).
        boxes2: [M, 4] boxes.

    Returns:
        float64 [N, M] IoU; pairs with a zero union give 0.

    Raises:
        ValueError: an input is not [K, 4].
    """
    b1 = _as_boxes(boxes1, "boxes1").astype(np.float64)
    b2 = _as_boxes(boxes2, "boxes2").astype(np.float64)
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    y1 = np.maximum(b1[:, None, 0], b2[None, :, 0])
    x1 = np.maximum(b1[:, None, 1], b2[None, :, 1])
    y2 = np.minimum(b1[:, None, 2], b2[None, :, 2])
    x2 = np.minimum(b1[:, None, 3], b2[None, :, 3])
    intersection = np.maximum(y2 - y1, 0) * np.maximum(x2 - x1, 0)
    union = area1[:, None] + area2[None, :] - intersection
    return _safe_divide(intersection, union)


def non_max_suppression(boxes, scores, threshold):
    """Greedy non-maximum suppression (Matterport ``utils.non_max_suppression``).

    Boxes are visited by descending score; each kept box removes the remaining boxes whose IoU
    with it is greater than ``threshold``.

    Args:
        boxes: [N, 4] boxes (y1, x1, y2, x2), pixel or normalized.
        scores: [N] scores.
        threshold: IoU above which a lower-scored box is suppressed.

    Returns:
        int32 [K] indices into ``boxes`` of the kept boxes, highest score first. Empty input gives
        an empty int32 array (the original asserted N > 0).

    Raises:
        ValueError: shapes do not match.
    """
    boxes = _as_boxes(boxes, "boxes")
    scores = np.asarray(scores).reshape(-1)
    if scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"non_max_suppression: {boxes.shape[0]} boxes but {scores.shape[0]} "
                         "scores; pass one score per box")
    if boxes.shape[0] == 0:
        return np.zeros([0], dtype=np.int32)
    if boxes.dtype.kind != "f":
        boxes = boxes.astype(np.float32)
    y1, x1, y2, x2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (y2 - y1) * (x2 - x1)
    ixs = scores.argsort()[::-1]
    pick = []
    while ixs.size > 0:
        i = ixs[0]
        pick.append(i)
        rest = ixs[1:]
        iou = compute_iou(boxes[i], boxes[rest], area[i], area[rest])
        ixs = rest[iou <= threshold]
    return np.array(pick, dtype=np.int32)


def _centers_and_sizes(boxes):
    """(cy, cx, h, w) of [N, 4] boxes, each [N]: the box coding's frame."""
    height = boxes[:, 2] - boxes[:, 0]
    width = boxes[:, 3] - boxes[:, 1]
    return boxes[:, 0] + 0.5 * height, boxes[:, 1] + 0.5 * width, height, width


def apply_box_deltas(boxes, deltas, scale_clamp=SCALE_CLAMP):
    """Applies refinement deltas to boxes (Matterport ``utils.apply_box_deltas``).

    ``cy += dy * h; cx += dx * w; h *= exp(dh); w *= exp(dw)``, then ``y1 = cy - h / 2``,
    ``y2 = y1 + h`` (same for x). Deltas are not multiplied by any std-dev (``BoxCoder`` does
    that).

    Unlike Matterport, ``dh`` and ``dw`` are clamped at ``scale_clamp`` (default ``SCALE_CLAMP``
    = log(1e30), a box growing 1e30 times) before ``exp``, as in ``mrcnn.ops.box_ops``. Below
    the clamp the result is Matterport's, bit for bit; above it Matterport's box is more than
    1e30 times its input size, inf, or NaN (``-inf + inf``) once ``exp`` overflows. Pass
    ``scale_clamp=None`` for Matterport's unclamped arithmetic.

    Args:
        boxes: [N, 4] boxes (y1, x1, y2, x2).
        deltas: [N, 4] (dy, dx, log(dh), log(dw)).
        scale_clamp: upper bound of dh and dw before ``exp``, or None for no bound.

    Returns:
        float32 [N, 4] boxes.

    Raises:
        ValueError: shapes are not [N, 4] and equal.
    """
    boxes = _as_boxes(boxes, "boxes").astype(np.float32)
    deltas = _as_boxes(deltas, "deltas")
    if deltas.shape != boxes.shape:
        raise ValueError(f"apply_box_deltas: boxes {boxes.shape} and deltas {deltas.shape} must "
                         "have the same shape")
    center_y, center_x, height, width = _centers_and_sizes(boxes)
    center_y = center_y + deltas[:, 0] * height
    center_x = center_x + deltas[:, 1] * width
    dh, dw = deltas[:, 2], deltas[:, 3]
    if scale_clamp is not None:
        dh = np.minimum(dh, scale_clamp)
        dw = np.minimum(dw, scale_clamp)
    height = height * np.exp(dh)
    width = width * np.exp(dw)
    y1 = center_y - 0.5 * height
    x1 = center_x - 0.5 * width
    return np.stack([y1, x1, y1 + height, x1 + width], axis=1).astype(np.float32)


def box_refinement(box, gt_box):
    """Deltas that turn ``box`` into ``gt_box`` (Matterport ``utils.box_refinement``).

    ``[(gcy - cy) / h, (gcx - cx) / w, log(gh / h), log(gw / w)]``; not divided by the
    std-dev (``BoxCoder.encode`` does that). The inverse of ``apply_box_deltas``.

    Args:
        box: [N, 4] boxes (y1, x1, y2, x2); must have positive height and width.
        gt_box: [N, 4] target boxes.

    Returns:
        float32 [N, 4] deltas (dy, dx, dh, dw).

    Raises:
        ValueError: shapes are not [N, 4] and equal.
    """
    box = _as_boxes(box, "box").astype(np.float32)
    gt_box = _as_boxes(gt_box, "gt_box").astype(np.float32)
    if box.shape != gt_box.shape:
        raise ValueError(f"box_refinement: box {box.shape} and gt_box {gt_box.shape} must have "
                         "the same shape")
    center_y, center_x, height, width = _centers_and_sizes(box)
    gt_center_y, gt_center_x, gt_height, gt_width = _centers_and_sizes(gt_box)
    dy = (gt_center_y - center_y) / height
    dx = (gt_center_x - center_x) / width
    dh = np.log(gt_height / height)
    dw = np.log(gt_width / width)
    return np.stack([dy, dx, dh, dw], axis=1).astype(np.float32)


def _std_dev(std_dev, owner):
    std = np.asarray(std_dev, dtype=np.float64).reshape(-1)
    if std.shape != (4,) or not np.all(np.isfinite(std)) or not np.all(std > 0):
        raise ValueError(f"{owner}: std_dev must be 4 positive finite numbers (dy, dx, dh, dw), "
                         f"e.g. config.BBOX_STD_DEV, got {np.asarray(std_dev).tolist()}")
    return std


class BoxCoder:
    """Box deltas scaled by a std-dev, both ways (NumPy): the box coding of the RPN and the
    box head, ``mrcnn.ops.box_ops.BoxCoder``'s twin.

    ``encode(boxes, targets) = box_refinement(boxes, targets) / std_dev`` (training targets, as
    Matterport's ``build_rpn_targets`` / ``build_detection_targets``);
    ``decode(boxes, deltas) = apply_box_deltas(boxes, deltas * std_dev, scale_clamp)`` (as
    Matterport's ``ProposalLayer`` / ``refine_detections_graph``). Pixel or normalized boxes
    (y1, x1, y2, x2); the deltas are unitless.

    Args:
        std_dev: 4 positive numbers (dy, dx, dh, dw), ``config.RPN_BBOX_STD_DEV`` or
            ``config.BBOX_STD_DEV``; kept as float64.
        scale_clamp: upper bound of the scaled dh, dw before ``exp`` (default ``SCALE_CLAMP``, an
            overflow guard only), or None.

    Raises:
        ValueError: ``std_dev`` is not 4 positive finite numbers.
    """

    def __init__(self, std_dev, scale_clamp=SCALE_CLAMP):
        self.std_dev = _std_dev(std_dev, "BoxCoder")
        self.scale_clamp = None if scale_clamp is None else float(scale_clamp)

    def __repr__(self):
        return f"BoxCoder(std_dev={self.std_dev.tolist()}, scale_clamp={self.scale_clamp})"

    def encode(self, boxes, targets):
        """Deltas that turn ``boxes`` into ``targets``, divided by the std-dev.

        Args:
            boxes: [N, 4] reference boxes (anchors, RoIs) with positive height and width.
            targets: [N, 4] boxes to reach, same coordinates.

        Returns:
            float32 [N, 4] ``(dy, dx, log(dh), log(dw)) / std_dev`` (the division in float64).

        Raises:
            ValueError: shapes are not [N, 4] and equal.
        """
        return (box_refinement(boxes, targets) / self.std_dev).astype(np.float32)

    def decode(self, boxes, deltas):
        """Boxes refined by deltas that were divided by the std-dev (the inverse of ``encode``).

        Args:
            boxes: [N, 4] reference boxes.
            deltas: [N, 4] predicted or encoded deltas.

        Returns:
            float32 [N, 4] boxes, not clipped.

        Raises:
            ValueError: shapes are not [N, 4] and equal.
        """
        deltas = _as_boxes(deltas, "deltas")
        return apply_box_deltas(boxes, deltas * self.std_dev, scale_clamp=self.scale_clamp)


def _hw(shape):
    shape = tuple(int(s) for s in np.asarray(shape).reshape(-1))
    if len(shape) < 2:
        raise ValueError(f"shape must be (height, width) (or an image shape [H, W, C]), got "
                         f"{shape}")
    return shape[0], shape[1]


def norm_boxes(boxes, shape):
    """Pixel boxes -> normalized boxes (Matterport ``utils.norm_boxes``).

    ``(boxes - [0, 0, 1, 1]) / [H - 1, W - 1, H - 1, W - 1]``: the exclusive pixel ends become
    inclusive, so (0, 0, H, W) maps to (0, 0, 1, 1).

    Args:
        boxes: [..., 4] pixel boxes (y1, x1, y2, x2), y2/x2 exclusive.
        shape: (height, width) in pixels; an image shape [H, W, C] is accepted too.

    Returns:
        float32 [..., 4] normalized boxes.
    """
    h, w = _hw(shape)
    scale = np.array([h - 1, w - 1, h - 1, w - 1], dtype=np.float64)
    shift = np.array([0, 0, 1, 1], dtype=np.float64)
    return ((np.asarray(boxes) - shift) / scale).astype(np.float32)


def denorm_boxes(boxes, shape):
    """Normalized boxes -> pixel boxes (Matterport ``utils.denorm_boxes``).

    ``round(boxes * [H - 1, W - 1, H - 1, W - 1] + [0, 0, 1, 1])``, the inverse of
    ``norm_boxes``.

    Args:
        boxes: [..., 4] normalized boxes (y1, x1, y2, x2).
        shape: (height, width) in pixels; an image shape [H, W, C] is accepted too.

    Returns:
        int32 [..., 4] pixel boxes, y2/x2 exclusive.
    """
    h, w = _hw(shape)
    scale = np.array([h - 1, w - 1, h - 1, w - 1], dtype=np.float64)
    shift = np.array([0, 0, 1, 1], dtype=np.float64)
    return np.around(np.asarray(boxes) * scale + shift).astype(np.int32)


def trim_zeros(x):
    """Drops the rows that are all zero (Matterport ``utils.trim_zeros``).

    Args:
        x: [rows, cols] array, e.g. zero-padded boxes.

    Returns:
        The rows of ``x`` that have at least one non-zero value.

    Raises:
        ValueError: ``x`` is not 2-D.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"trim_zeros: expected a 2-D array, got shape {x.shape}")
    return x[~np.all(x == 0, axis=1)]
