"""``LossLayer``: one of the five Mask R-CNN losses as a graph node with Matterport's name
(``rpn_class_loss``, ``rpn_bbox_loss``, ``mrcnn_class_loss``, ``mrcnn_bbox_loss``,
``mrcnn_mask_loss``), so the training model outputs each loss as a scalar."""

import keras

from mrcnn import losses

_LOSS_FUNCTIONS = {
    "rpn_class_loss": lambda config, args: losses.rpn_class_loss_graph(*args),
    "rpn_bbox_loss": lambda config, args: losses.rpn_bbox_loss_graph(config, *args),
    "mrcnn_class_loss": lambda config, args: losses.mrcnn_class_loss_graph(*args),
    "mrcnn_bbox_loss": lambda config, args: losses.mrcnn_bbox_loss_graph(*args),
    "mrcnn_mask_loss": lambda config, args: losses.mrcnn_mask_loss_graph(*args),
}
LOSS_NAMES = tuple(_LOSS_FUNCTIONS)


class LossLayer(keras.layers.Layer):
    """Computes the loss its ``name`` names from the inputs of that loss function in
    ``mrcnn.losses`` (same order); returns a float32 scalar."""

    def __init__(self, config=None, **kwargs):
        super().__init__(**kwargs)
        if self.name not in _LOSS_FUNCTIONS:
            raise ValueError(f"LossLayer name must be one of {LOSS_NAMES}, not {self.name!r}")
        self.config = config

    def call(self, inputs):
        return _LOSS_FUNCTIONS[self.name](self.config, inputs)

    def compute_output_shape(self, input_shape):
        return ()
