"""``BatchNorm`` (Matterport ``model.BatchNorm``) with a fixed training mode, and
``uses_batch_statistics``: whether it normalizes with batch statistics in a given model mode."""

import keras


@keras.saving.register_keras_serializable(package="mrcnn")
class BatchNorm(keras.layers.BatchNormalization):
    """Keras batch normalization (epsilon 1e-3, momentum 0.99, axis -1) whose mode is fixed.

    Weights, in order: gamma, beta, moving_mean, moving_variance, each [channels].

    Args:
        train_bn: ``config.TRAIN_BN``. False: always use and never update the moving statistics
            (frozen BN), while gamma and beta still train when the layer is trainable. True:
            always use batch statistics. None: Keras' usual behaviour.

    Matterport passed ``training=False`` at graph-building time; under Keras 3 a functional
    model's ``fit`` overrides that argument with ``training=True``, so the mode is a constructor
    argument here. An explicit ``training`` passed at call time is honoured only when
    ``train_bn`` is None.
    """

    def __init__(self, *args, train_bn=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.train_bn = train_bn

    def call(self, inputs, training=None, mask=None):
        if self.train_bn is not None:
            training = bool(self.train_bn)
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        return {**super().get_config(), "train_bn": self.train_bn}


def uses_batch_statistics(train_bn, training):
    """Whether ``BatchNorm(train_bn=train_bn)`` can normalize with batch statistics in a model
    built for training (``training=True``) or for inference (``training=False``).

    Args:
        train_bn: ``config.TRAIN_BN``: True, False or None.
        training: bool, the model's mode (``mode == "training"``).

    Returns:
        bool. True: always (batch statistics even at inference, as Matterport's
        ``training=True``). False: never (frozen BN). None: in training only (Keras' learning
        phase: the train step calls the model with ``training=True``; Matterport's ``predict``
        ran with learning phase 0, so the inference model uses the moving statistics).

    Where this is True, a BatchNorm layer's output for one RoI depends on every RoI in its
    batch, so the heads must see Matterport's RoI sets (``mrcnn.graph``).

    Raises:
        ValueError: ``train_bn`` is not True, False or None.
    """
    if train_bn is None:
        return bool(training)
    if train_bn not in (True, False):
        raise ValueError(f"TRAIN_BN must be True, False or None, not {train_bn!r}")
    return bool(train_bn)
