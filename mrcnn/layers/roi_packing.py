"""Moving per-RoI tensors between ``[B, R, ...]`` and a flat ``[K, ...]`` batch of RoIs.

The heads run their convolutions on flat RoI batches instead of Keras' ``TimeDistributed``
(which Keras 3 unrolls into one op per RoI when R is static). ``valid`` selects the RoIs that are
computed at all: the inference mask head runs on the real detections only.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mrcnn")
class PackRoIs(keras.layers.Layer):
    """``[x [B, R, ...], valid [B, R] bool]`` -> ``[K, ...]``, the rows where ``valid``."""

    def call(self, inputs):
        x, valid = inputs
        return tf.boolean_mask(x, tf.cast(valid, tf.bool))

    def compute_output_shape(self, input_shape):
        return (None,) + tuple(input_shape[0][2:])


@keras.saving.register_keras_serializable(package="mrcnn")
class UnpackRoIs(keras.layers.Layer):
    """``[x [K, ...], valid [B, R] bool]`` -> ``[B, R, ...]`` with zeros where not ``valid``."""

    def call(self, inputs):
        x, valid = inputs
        valid = tf.cast(valid, tf.bool)
        shape = tf.concat([tf.shape(valid, out_type=tf.int64), tf.shape(x, out_type=tf.int64)[1:]],
                          axis=0)
        return tf.scatter_nd(tf.where(valid), x, shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1][:2]) + tuple(input_shape[0][1:])
