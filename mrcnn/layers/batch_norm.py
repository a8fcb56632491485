"""``BatchNorm`` (Matterport ``model.BatchNorm``) with a fixed training mode."""

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
