"""``AnchorsLayer``: the training graph's fixed anchors, as a constant (named "anchors").

Matterport returned a ``tf.Variable`` from a Lambda layer here, which TF2 rejects ("Variables were
created within a Lambda layer"); a constant broadcast to the batch does the same job. The layer
is built from the anchor settings (a few numbers, which ``get_config`` stores), not from the
anchors array, so a saved model's config stays small.
"""

import keras
import numpy as np
import tensorflow as tf

from mrcnn.anchors import generate_pyramid_anchors
from mrcnn.boxes import norm_boxes
from mrcnn.layers.config_args import int_list


@keras.saving.register_keras_serializable(package="mrcnn")
class AnchorsLayer(keras.layers.Layer):
    """``image [B, H, W, C]`` -> the anchors ``[B, A, 4]`` float32 (normalized for
    ``image_shape``), the same for every image.

    The anchors are ``mrcnn.anchors.get_anchors(config, image_shape)``: pyramid anchors from
    ``generate_pyramid_anchors`` normalized with ``boxes.norm_boxes``.

    Args:
        scales: one anchor side per level, pixels (``RPN_ANCHOR_SCALES``).
        ratios: anchor width/height ratios (``RPN_ANCHOR_RATIOS``).
        feature_shapes: [L, 2] ints, the feature-map size of each level
            (``anchors.compute_backbone_shapes(config, image_shape)``).
        feature_strides: L ints, the stride of each level (``BACKBONE_STRIDES``).
        anchor_stride: int, anchors every ``anchor_stride`` feature cells (``RPN_ANCHOR_STRIDE``).
        image_shape: (H, W) of the molded image in pixels (``IMAGE_SHAPE[:2]``).

    Raises:
        ValueError: ``scales``, ``feature_shapes`` and ``feature_strides`` have different
            lengths, or ``image_shape`` is not (H, W).
    """

    def __init__(self, scales, ratios, feature_shapes, feature_strides, anchor_stride,
                 image_shape, **kwargs):
        super().__init__(**kwargs)
        levels = len(scales)
        name = type(self).__name__
        self.scales = [float(s) for s in scales]
        self.ratios = [float(r) for r in ratios]
        shapes = np.asarray(feature_shapes)
        if shapes.shape != (levels, 2) or len(feature_strides) != levels:
            raise ValueError(f"{name}: scales has {levels} levels, so feature_shapes must be "
                             f"[{levels}, 2] and feature_strides {levels} values; got "
                             f"{list(shapes.shape)} and {len(feature_strides)}")
        self.feature_shapes = [[int(h), int(w)] for h, w in shapes]
        self.feature_strides = [int(s) for s in feature_strides]
        self.anchor_stride = int(anchor_stride)
        self.image_shape = int_list(image_shape, 2, name, "image_shape")
        self._anchors = norm_boxes(
            generate_pyramid_anchors(self.scales, self.ratios, self.feature_shapes,
                                     self.feature_strides, self.anchor_stride),
            self.image_shape)

    @property
    def anchors(self):
        """float32 [A, 4] normalized anchors (a copy)."""
        return self._anchors.copy()

    def call(self, image: tf.Tensor) -> tf.Tensor:
        anchors = tf.constant(self._anchors)
        return tf.broadcast_to(anchors[tf.newaxis], tf.concat([tf.shape(image)[:1],
                                                               tf.shape(anchors)], axis=0))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._anchors.shape

    def get_config(self):
        return {**super().get_config(), "scales": self.scales, "ratios": self.ratios,
                "feature_shapes": self.feature_shapes, "feature_strides": self.feature_strides,
                "anchor_stride": self.anchor_stride, "image_shape": self.image_shape}
