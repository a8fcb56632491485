"""Moving per-RoI tensors between ``[B, R, ...]`` and a flat ``[K, ...]`` batch of RoIs.

The heads run their convolutions on flat RoI batches instead of Keras' ``TimeDistributed``
(which Keras 3 unrolls into one op per RoI when R is static). ``valid`` selects the RoIs that are
computed at all: the mask head runs on the real detections (inference) or the positive RoIs
(training) only where its BatchNorm uses moving statistics (``mrcnn.graph``).
"""

from collections.abc import Sequence

import keras
import tensorflow as tf


def _nonempty(valid):
    """``valid`` with RoI (0, 0) added when no RoI is valid: the convolutions never see an empty
    batch (oneDNN's Conv2DBackpropFilter fails on one)."""
    valid = tf.cast(valid, tf.bool)
    first = tf.scatter_nd(tf.constant([[0, 0]], tf.int64), [True], tf.shape(valid, out_type=tf.int64))
    return tf.logical_or(valid, tf.logical_and(first, tf.logical_not(tf.reduce_any(valid))))


@keras.saving.register_keras_serializable(package="mrcnn")
class PackRoIs(keras.layers.Layer):
    """``[x [B, R, ...], valid [B, R] bool]`` -> ``[K, ...]``, the rows where ``valid`` (row
    (0, 0) when none is)."""

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        x, valid = inputs
        return tf.boolean_mask(x, _nonempty(valid))

    def compute_output_shape(self, input_shape):
        return (None,) + tuple(input_shape[0][2:])


@keras.saving.register_keras_serializable(package="mrcnn")
class UnpackRoIs(keras.layers.Layer):
    """``[x [K, ...], valid [B, R] bool]`` -> ``[B, R, ...]`` with zeros where not ``valid``."""

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        x, valid = inputs
        packed = _nonempty(valid)
        shape = tf.concat([tf.shape(packed, out_type=tf.int64), tf.shape(x, out_type=tf.int64)[1:]],
                          axis=0)
        out = tf.scatter_nd(tf.where(packed), x, shape)
        keep = tf.cast(tf.cast(valid, tf.bool), x.dtype)
        return out * tf.reshape(keep, tf.concat([tf.shape(keep), tf.ones([x.shape.rank - 1],
                                                                         tf.int32)], 0))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1][:2]) + tuple(input_shape[0][1:])
