"""Anchor generation (Matterport ``utils.generate_anchors`` / ``generate_pyramid_anchors`` and
``model.compute_backbone_shapes``), NumPy.

Anchor order is the order of the RPN outputs: pyramid levels P2..P6, then feature-map rows, then
columns, then ratios. Anchor centres sit on the top-left sample of each feature cell
(``(i * stride, j * stride)``), as in Matterport; the released COCO weights were trained that way.
"""

import math

import numpy as np


def compute_backbone_shapes(config, image_shape):
    """Feature-map sizes of the pyramid levels for an image shape.

    Args:
        config: a ``Config``; ``BACKBONE`` and ``BACKBONE_STRIDES`` are used.
        image_shape: (H, W[, C]) of the molded image, in pixels.

    Returns:
        int array [5, 2]: ``[[ceil(H / s), ceil(W / s)] for s in BACKBONE_STRIDES]``, or the
        result of ``config.COMPUTE_BACKBONE_SHAPE(image_shape)`` for a callable backbone.
    """
    if callable(config.BACKBONE):
        return np.asarray(config.COMPUTE_BACKBONE_SHAPE(image_shape))
    return np.array([[int(math.ceil(image_shape[0] / stride)),
                      int(math.ceil(image_shape[1] / stride))]
                     for stride in config.BACKBONE_STRIDES])


def generate_anchors(scales, ratios, shape, feature_stride, anchor_stride):
    """Anchors of one pyramid level, in pixels.

    Args:
        scales: anchor side length(s) in pixels (Matterport passes one scale per level).
        ratios: width/height ratios, e.g. [0.5, 1, 2].
        shape: (rows, cols) of the feature map.
        feature_stride: pixels per feature-map cell.
        anchor_stride: anchors every ``anchor_stride`` cells.

    Returns:
        float64 [rows * cols * len(scales) * len(ratios), 4] boxes (y1, x1, y2, x2) in pixels,
        ordered row-major over cells, then scale x ratio within a cell. Boxes may extend
        outside the image.
    """
    scales, ratios = np.meshgrid(np.array(scales, dtype=np.float64).reshape(-1),
                                 np.array(ratios, dtype=np.float64).reshape(-1))
    scales = scales.flatten()
    ratios = ratios.flatten()
    heights = scales / np.sqrt(ratios)
    widths = scales * np.sqrt(ratios)

    shifts_y = np.arange(0, shape[0], anchor_stride) * feature_stride
    shifts_x = np.arange(0, shape[1], anchor_stride) * feature_stride
    shifts_x, shifts_y = np.meshgrid(shifts_x, shifts_y)

    box_widths, box_centers_x = np.meshgrid(widths, shifts_x)
    box_heights, box_centers_y = np.meshgrid(heights, shifts_y)
    centers = np.stack([box_centers_y, box_centers_x], axis=2).reshape([-1, 2])
    sizes = np.stack([box_heights, box_widths], axis=2).reshape([-1, 2])
    return np.concatenate([centers - 0.5 * sizes, centers + 0.5 * sizes], axis=1)


def generate_pyramid_anchors(scales, ratios, feature_shapes, feature_strides, anchor_stride):
    """Anchors of all pyramid levels, concatenated in level order (P2 first).

    Args:
        scales: one anchor size per level, e.g. (32, 64, 128, 256, 512).
        ratios: width/height ratios shared by all levels.
        feature_shapes: [levels, 2] feature-map sizes (``compute_backbone_shapes``).
        feature_strides: [levels] strides in pixels.
        anchor_stride: anchor stride in cells.

    Returns:
        float64 [A, 4] pixel boxes (y1, x1, y2, x2).
    """
    return np.concatenate([
        generate_anchors(scales[i], ratios, feature_shapes[i], feature_strides[i], anchor_stride)
        for i in range(len(scales))], axis=0)


def get_anchors(config, image_shape, normalized=True):
    """Pyramid anchors for a molded image shape, for a model with ``config``.

    Returns:
        float32 [A, 4]; normalized (see ``boxes.norm_boxes``) when ``normalized`` else pixels.
    """
    backbone_shapes = compute_backbone_shapes(config, image_shape)
    anchors = generate_pyramid_anchors(config.RPN_ANCHOR_SCALES, config.RPN_ANCHOR_RATIOS,
                                       backbone_shapes, config.BACKBONE_STRIDES,
                                       config.RPN_ANCHOR_STRIDE)
    if not normalized:
        return anchors.astype(np.float32)
    h, w = image_shape[:2]
    scale = np.array([h - 1, w - 1, h - 1, w - 1], dtype=np.float64)
    shift = np.array([0, 0, 1, 1], dtype=np.float64)
    return ((anchors - shift) / scale).astype(np.float32)
