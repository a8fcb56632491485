"""``PyramidROIAlign`` (Matterport ``model.PyramidROIAlign``)."""

from collections.abc import Sequence

import keras
import tensorflow as tf

from mrcnn import image_meta
from mrcnn.ops import spatial_transform_ops


@keras.saving.register_keras_serializable(package="mrcnn")
class PyramidROIAlign(keras.layers.Layer):
    """Pools each RoI from the FPN level that fits its size.

    Inputs: ``[boxes [B, N, 4] normalized, image_meta [B, META], P2, P3, P4, P5]`` with
    ``P_k [B, h_k, w_k, C]``. The molded image size is read from image 0's meta.
    Output: float32 ``[B, N, pool_h, pool_w, C]``.
    See ``mrcnn.ops.spatial_transform_ops``.

    Args:
        pool_shape: (pool_h, pool_w) ints, the output size per RoI (``[POOL_SIZE] * 2`` or
            ``[MASK_POOL_SIZE] * 2``).
    """

    def __init__(self, pool_shape, **kwargs):
        super().__init__(**kwargs)
        self.pool_shape = tuple(int(v) for v in pool_shape)

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        boxes, meta = inputs[0], inputs[1]
        feature_maps = list(inputs[2:])
        image_shape = image_meta.image_shape(meta)[0, :2]  # (H, W) of image 0's molded shape
        return spatial_transform_ops.pyramid_roi_align(feature_maps, boxes, image_shape,
                                                       self.pool_shape)

    def compute_output_shape(self, input_shape):
        return input_shape[0][:2] + self.pool_shape + (input_shape[2][-1],)

    def get_config(self):
        return {**super().get_config(), "pool_shape": list(self.pool_shape)}
