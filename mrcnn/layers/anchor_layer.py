"""``AnchorsLayer``: the training graph's fixed anchors, as a constant (named "anchors").

Matterport returned a ``tf.Variable`` from a Lambda layer here, which TF2 rejects ("Variables were
created within a Lambda layer"); a constant broadcast to the batch does the same job.
"""

import keras
import numpy as np
import tensorflow as tf


class AnchorsLayer(keras.layers.Layer):
    """``image [B, H, W, C]`` -> the anchors ``[B, A, 4]`` (normalized), repeated per image.

    Args:
        anchors: float [A, 4] normalized anchors for ``config.IMAGE_SHAPE``.
    """

    def __init__(self, anchors, **kwargs):
        super().__init__(**kwargs)
        self.anchors = np.asarray(anchors, dtype=np.float32)

    def call(self, image):
        anchors = tf.constant(self.anchors)
        return tf.broadcast_to(anchors[tf.newaxis], tf.concat([tf.shape(image)[:1],
                                                               tf.shape(anchors)], axis=0))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.anchors.shape
