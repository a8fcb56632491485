"""``BatchNorm`` (Matterport ``model.BatchNorm``) with a fixed training mode, and
``uses_batch_statistics``: whether it normalizes with batch statistics in a given model mode."""

import keras


@keras.saving.register_keras_serializable(package="mrcnn")
class BatchNorm(keras.layers.BatchNormalization):
    """Keras batch normalization (epsilon 1e-3, momentum 0.99, axis -1) whose mode is fixed.

    Weights, in order: gamma, beta, moving_mean, moving_variance, each float32 [channels].
    Input and output: any float tensor [..., channels] (channels on ``axis``).

    Args:
        train_bn: ``config.TRAIN_BN``. False: always use and never update the moving statistics
            (frozen BN), while gamma and beta still train when the layer is trainable. True:
            always use batch statistics. None: Keras' usual behaviour (batch statistics when
            called with ``training=True``, i.e. in the train step).

    Which statistics normalize follows Matterport's ``training=`` argument and does not depend
    on ``trainable``: Keras 2's BatchNorm used batch statistics whenever it ran in training mode,
    frozen or not, while Keras 3's switches a non-trainable layer to its moving statistics.

    The moving statistics are updated only where Keras 2 updated them: in the train step (the
    layer called with ``training=True``), with batch statistics, on a trainable layer. So
    ``detect()``, ``evaluate`` and the validation steps never change them (Keras 2's predict and
    test functions ran no update ops), and neither does a train step on a layer frozen by
    ``set_trainable`` (Keras 2.1+ dropped the update ops of non-trainable layers from
    ``model.updates``), although both normalize with batch statistics when ``train_bn`` says so.

    Matterport passed ``training=False`` at graph-building time; under Keras 3 a functional
    model's ``fit`` overrides that argument with ``training=True``, so the mode is a constructor
    argument here; the call-time ``training`` only says whether this is the train step.

    Raises:
        ValueError: ``renorm=True`` (not Matterport's; not supported), or a mask passed where
            the layer normalizes with batch statistics outside the train step.
    """

    def __init__(self, *args, train_bn=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.renorm:
            raise ValueError("mrcnn BatchNorm does not support renorm=True; use "
                             "keras.layers.BatchNormalization for batch renormalization")
        self.train_bn = train_bn

    def call(self, inputs, training=None, mask=None):
        train_step = bool(training)
        batch_stats = train_step if self.train_bn is None else bool(self.train_bn)
        if not batch_stats:
            return super().call(inputs, training=False, mask=mask)
        if train_step and self.trainable:
            return super().call(inputs, training=True, mask=mask)
        return self._normalize_with_batch_statistics(inputs, mask)

    def _normalize_with_batch_statistics(self, inputs, mask):
        """Keras' training-mode normalization without assigning the moving statistics."""
        if mask is not None:
            raise ValueError(f"{self.name}: masks are not supported with batch statistics "
                             "outside the train step; call the layer without a mask")
        compute_dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = keras.ops.cast(inputs, compute_dtype)
        axis = self.axis % len(x.shape)
        mean, variance = keras.ops.moments(
            x, axes=[i for i in range(len(x.shape)) if i != axis],
            synchronized=self.synchronized)
        gamma = keras.ops.cast(self.gamma, compute_dtype) if self.scale else None
        beta = keras.ops.cast(self.beta, compute_dtype) if self.center else None
        outputs = keras.ops.batch_normalization(x, mean, variance, axis=self.axis, offset=beta,
                                                scale=gamma, epsilon=self.epsilon)
        return keras.ops.cast(outputs, self.compute_dtype)

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
        ran with learning phase 0, so the inference model uses the moving statistics). The
        answer does not depend on which layers ``set_trainable`` froze.

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
