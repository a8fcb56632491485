"""Training: the train step, ``set_trainable``, compile, checkpoints and ``train()``
(Matterport ``MaskRCNN.compile``, ``set_trainable``, ``train``).

The training model is a Keras functional model whose last five outputs are the losses; its own
``train_step`` adds them with ``LOSS_WEIGHTS`` plus Matterport's L2 weight decay and applies SGD
with momentum and per-tensor ``clipnorm``. No private Keras attributes are used.
"""

import logging
import math
import os
import re

import keras
import tensorflow as tf

from mrcnn import losses, weights
from mrcnn.config import NUMERIC_RULES, check_number
from mrcnn.layer_walk import is_nested_model, walk_layers
from mrcnn.layers.loss_layer import LOSS_NAMES
from mrcnn.pipeline_teardown import release_input_pipeline

logger = logging.getLogger("mrcnn")

# Layer-name regexes of train(layers=...), as Matterport's.
HEADS_REGEX = r"(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)"
LAYER_REGEX = {
    "heads": HEADS_REGEX,
    "3+": r"(res3.*)|(bn3.*)|(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|" + HEADS_REGEX,
    "4+": r"(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|" + HEADS_REGEX,
    "5+": r"(res5.*)|(bn5.*)|" + HEADS_REGEX,
    "all": ".*",
}


class TrainingModel(keras.Model):
    """Functional Mask R-CNN training model with its own train and test steps.

    Keras logs ``loss`` (weighted sum of the five losses plus L2) and each of ``LOSS_NAMES``
    (``val_`` versions during validation).
    """

    def __init__(self, config, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mrcnn_config = config
        self.loss_trackers = {name: keras.metrics.Mean(name=name)
                              for name in ("loss",) + LOSS_NAMES}

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    def _compute_losses(self, data, training):
        # fit() passes the 7 (or 8) input tensors as they come from the dataset; test_on_batch()
        # and friends wrap them as (x, y, sample_weight).
        if isinstance(data, (tuple, list)) and data and isinstance(data[0], (tuple, list)):
            data = data[0]
        outputs = self(list(data), training=training)
        named = dict(zip(LOSS_NAMES, outputs[-len(LOSS_NAMES):]))
        config = self.mrcnn_config
        total = tf.add_n([tf.reshape(named[name], []) * float(config.LOSS_WEIGHTS.get(name, 1.0))
                          for name in LOSS_NAMES])
        total += losses.l2_weight_decay(self.trainable_weights, config.WEIGHT_DECAY)
        return total, named

    def _track(self, total, named):
        self.loss_trackers["loss"].update_state(total)
        for name, value in named.items():
            self.loss_trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            total, named = self._compute_losses(data, training=True)
        variables = self.trainable_variables
        grads = tape.gradient(total, variables)
        self.optimizer.apply(grads, variables)
        return self._track(total, named)

    def test_step(self, data):
        total, named = self._compute_losses(data, training=False)
        return self._track(total, named)


def set_trainable(keras_model, layer_regex, indent=0, verbose=1):
    """Sets ``trainable`` on the layers whose name fully matches ``layer_regex``.

    Mirrors Matterport ``MaskRCNN.set_trainable``. Walks nested models (``rpn_model``) with
    ``mrcnn.layer_walk.walk_layers``; layers without weights are skipped. With ``verbose``, prints
    the trainable layers as Matterport did (a nested model's layers ``indent + 4`` deeper).
    """
    if verbose > 0 and indent == 0:
        print("Selecting layers to train")
    for layer, depth in walk_layers(keras_model):
        if is_nested_model(layer):
            if verbose > 0:
                print(f"In model: {layer.name}")
            continue
        if not layer.weights:
            continue
        trainable = bool(re.fullmatch(layer_regex, layer.name))
        layer.trainable = trainable
        if trainable and verbose > 0:
            print(f"{' ' * (indent + 4 * depth)}{layer.name:20}   ({type(layer).__name__})")


def compile_model(keras_model, config, learning_rate, momentum):
    """SGD with momentum and per-tensor ``clipnorm = GRADIENT_CLIP_NORM`` (Matterport
    ``compile``); the losses come from the model's own train step.

    Raises:
        ValueError: ``learning_rate`` is not a number > 0 or ``momentum`` not one in [0, 1)
            (the rules of ``Config.LEARNING_RATE`` / ``LEARNING_MOMENTUM``).
    """
    check_number("learning_rate", learning_rate, *NUMERIC_RULES["LEARNING_RATE"])
    check_number("momentum", momentum, *NUMERIC_RULES["LEARNING_MOMENTUM"])
    clipnorm = config.GRADIENT_CLIP_NORM
    # Plain floats: Keras refuses an int or NumPy momentum, which the rules accept.
    optimizer = keras.optimizers.SGD(learning_rate=float(learning_rate), momentum=float(momentum),
                                     clipnorm=None if clipnorm is None else float(clipnorm))
    keras_model.compile(optimizer=optimizer)


class MatterportCheckpoint(keras.callbacks.Callback):
    """Writes ``checkpoint_path.format(epoch=N)`` (1-based) after every epoch, atomically, in the
    Keras 2 HDF5 layout of ``mask_rcnn_coco.h5`` (so ``find_last``/``load_weights`` resume)."""

    def __init__(self, checkpoint_path):
        super().__init__()
        self.checkpoint_path = checkpoint_path

    def on_epoch_end(self, epoch, logs=None):
        weights.save_weights(self.model, self.checkpoint_path.format(epoch=epoch + 1))


class StopOnNaN(keras.callbacks.Callback):
    """Stops training with an error naming the loss that became NaN or infinite and the step."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name in ("loss",) + LOSS_NAMES:
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                raise FloatingPointError(
                    f"{name} became {float(value)} at epoch {self.epoch + 1}, step {batch + 1}; "
                    "training stopped. Lower the learning rate, check the dataset for empty or "
                    "degenerate masks, or keep GRADIENT_CLIP_NORM set.")


def train(mrcnn_model, train_dataset, val_dataset, learning_rate, epochs, layers,
          augmentation=None, custom_callbacks=None, no_augmentation_sources=None, seed=None):
    """Trains ``mrcnn_model`` (a training-mode ``MaskRCNN``); see ``MaskRCNN.train``.

    Raises:
        ValueError: not a training model; ``learning_rate`` is not a number > 0 (checked as
            ``Config.LEARNING_RATE`` is, before any data is loaded); a configuration value
            breaks its rule (``Config.validate``).
    """
    from mrcnn.data_pipeline import build_dataset

    if mrcnn_model.mode != "training":
        raise ValueError('train() needs a model built with mode="training"')
    check_number("train(learning_rate=...)", learning_rate, *NUMERIC_RULES["LEARNING_RATE"])
    config = mrcnn_model.config
    config.validate("training")  # values may have been changed since the model was built
    layers = LAYER_REGEX.get(layers, layers)

    train_data = build_dataset(train_dataset, config, shuffle=True, augmentation=augmentation,
                               no_augmentation_sources=no_augmentation_sources, seed=seed)
    val_data = build_dataset(val_dataset, config, shuffle=True, seed=seed)

    os.makedirs(mrcnn_model.log_dir, exist_ok=True)
    callbacks = [
        StopOnNaN(),
        keras.callbacks.TensorBoard(log_dir=mrcnn_model.log_dir, histogram_freq=0,
                                    write_graph=False),
        MatterportCheckpoint(mrcnn_model.checkpoint_path),
    ]
    if custom_callbacks:
        # Before TensorBoard and the checkpoint, so that they see what the callbacks log.
        callbacks = callbacks[:1] + list(custom_callbacks) + callbacks[1:]

    print(f"\nStarting at epoch {mrcnn_model.epoch}. LR={learning_rate}\n")
    print(f"Checkpoint Path: {mrcnn_model.checkpoint_path}")
    set_trainable(mrcnn_model.keras_model, layers)
    compile_model(mrcnn_model.keras_model, config, learning_rate, config.LEARNING_MOMENTUM)

    history = None
    if epochs > mrcnn_model.epoch:
        try:
            history = mrcnn_model.keras_model.fit(
                train_data, initial_epoch=mrcnn_model.epoch, epochs=epochs,
                steps_per_epoch=config.STEPS_PER_EPOCH, callbacks=callbacks,
                validation_data=val_data, validation_steps=config.VALIDATION_STEPS,
                shuffle=False)
        except BaseException as e:
            # Destroy the input pipeline here, not at interpreter exit (where it deadlocks).
            release_input_pipeline(e, mrcnn_model.keras_model)
            raise
    mrcnn_model.epoch = max(mrcnn_model.epoch, epochs)
    return history
