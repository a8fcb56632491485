"""``LossLayer``: one of the five Mask R-CNN losses as a graph node with Matterport's name
(``rpn_class_loss``, ``rpn_bbox_loss``, ``mrcnn_class_loss``, ``mrcnn_bbox_loss``,
``mrcnn_mask_loss``), so the training model outputs each loss as a scalar."""

from collections.abc import Sequence

import keras
import tensorflow as tf

from mrcnn import losses

_LOSS_FUNCTIONS = {
    "rpn_class_loss": losses.rpn_class_loss_graph,
    # Matterport's signature has a leading config, which the loss does not use.
    "rpn_bbox_loss": lambda *args: losses.rpn_bbox_loss_graph(None, *args),
    "mrcnn_class_loss": losses.mrcnn_class_loss_graph,
    "mrcnn_bbox_loss": losses.mrcnn_bbox_loss_graph,
    "mrcnn_mask_loss": losses.mrcnn_mask_loss_graph,
}
LOSS_NAMES = tuple(_LOSS_FUNCTIONS)


@keras.saving.register_keras_serializable(package="mrcnn")
class LossLayer(keras.layers.Layer):
    """Computes the loss its ``name`` names.

    The layer has no setting besides its ``name`` (one of ``LOSS_NAMES``); ``get_config`` is
    Keras' (name, trainable, dtype).

    Inputs: the tensors of that loss function in ``mrcnn.losses``, in its order (without
    Matterport's unused ``config`` of ``rpn_bbox_loss_graph``).
    Output: float32 scalar ``[]``.

    Raises:
        ValueError: ``name`` is not one of ``LOSS_NAMES``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.name not in _LOSS_FUNCTIONS:
            raise ValueError(f"LossLayer name must be one of {LOSS_NAMES}, not {self.name!r}")

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        return _LOSS_FUNCTIONS[self.name](*inputs)

    def compute_output_shape(self, input_shape):
        return ()
