"""Training: the train step, ``set_trainable``, compile, checkpoints and ``train()``
(Matterport ``MaskRCNN.compile``, ``set_trainable``, ``train``).

The training model is a Keras functional model whose last five outputs are the losses; its own
``train_step`` adds them with ``LOSS_WEIGHTS`` plus Matterport's L2 weight decay and applies SGD
with momentum and per-tensor ``clipnorm``. No private Keras attributes are used.

Under a ``tf.distribute`` strategy with N > 1 replicas (``mrcnn.distribute``), checked against
Keras 3.15's TensorFlow trainer and optimizer: ``fit`` runs ``train_step`` once per replica, the
optimizer all-reduces the gradients by SUM (no division by N), clips *before* that all-reduce
(``clipnorm`` per replica) and the loss trackers average the replicas' values. So here:

* each loss is the replica's share of the global-batch mean (``mrcnn.losses.global_count``) and
  the L2 term is added as ``L2 / N`` per replica: the summed gradients are exactly those of the
  global-batch loss plus L2 once;
* ``train_step`` all-reduces the gradients itself, clips each tensor to ``GRADIENT_CLIP_NORM``
  (after unscaling a float16 loss scale), and hands ``g / N`` to the optimizer, compiled without
  ``clipnorm``, whose own SUM gives back ``g``: the same clipping as on one device;
* the logged values are multiplied by N, so their replica mean is the global-batch loss.

With ``MIXED_PRECISION = "mixed_float16"`` the optimizer is a ``LossScaleOptimizer`` and the
train step scales the loss with ``optimizer.scale_loss``.
"""

import contextlib
import logging
import math
import os
import re
import sys

import keras
import tensorflow as tf

from mrcnn import (backup, distribute, function_options, losses, optimizer, precision,
                   signals, weights)
from mrcnn.config import NUMERIC_RULES, check_number
from mrcnn.layer_walk import is_nested_model, walk_layers
from mrcnn.layers.loss_layer import LOSS_NAMES
from mrcnn.ops import target_ops
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

    def _compute_losses(self, data, training, replicas=1):
        # fit() passes the 7 (or 8) input tensors as they come from the dataset; test_on_batch()
        # and friends wrap them as (x, y, sample_weight).
        if isinstance(data, (tuple, list)) and data and isinstance(data[0], (tuple, list)):
            data = data[0]
        # Distributed datasets carry the bool GT masks as uint8 (mrcnn.distribute).
        data = [tf.cast(x, spec.dtype) if x.dtype != spec.dtype else x
                for x, spec in zip(data, self.inputs)]
        outputs = self(data, training=training)
        named = dict(zip(LOSS_NAMES, outputs[-len(LOSS_NAMES):]))
        config = self.mrcnn_config
        total = tf.add_n([tf.reshape(named[name], []) * float(config.LOSS_WEIGHTS.get(name, 1.0))
                          for name in LOSS_NAMES])
        # Once over all replicas: each adds 1/N of it (see the module docstring).
        total += losses.l2_weight_decay(self.trainable_weights, config.WEIGHT_DECAY) / replicas
        return total, named

    def _track(self, total, named, replicas=1):
        # Under N replicas the values are shares of the global-batch losses: N times a share,
        # averaged over the replicas by the trackers, is the global-batch value.
        self.loss_trackers["loss"].update_state(total * replicas)
        for name, value in named.items():
            self.loss_trackers[name].update_state(value * replicas)
        logs = {name: tracker.result() for name, tracker in self.loss_trackers.items()}
        if distribute.is_multi_worker(self.distribute_strategy):
            # Keras 3.15 averages the logs of a MultiWorkerMirroredStrategy with
            # strategy.reduce("MEAN", log, axis=0), which fails on a scalar; as [1] each log
            # comes back as the scalar mean over the replicas.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _reduce_and_clip(self, grads, replicas):
        """All-reduced (summed) gradients, clipped per tensor to ``clip_norm_after_all_reduce``
        (in unscaled units), divided by ``replicas`` for the optimizer's own SUM."""
        context = tf.distribute.get_replica_context()
        present = [i for i, g in enumerate(grads) if g is not None]
        reduced = context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
        clip = getattr(self, "clip_norm_after_all_reduce", None)
        scale = tf.cast(self.optimizer.scale_loss(tf.constant(1.0)), tf.float32)
        if clip is not None:
            reduced = [g * tf.cast(scale, g.dtype) for g in optimizer.clip_by_norm_each(
                [g / tf.cast(scale, g.dtype) for g in reduced], clip)]
        out = list(grads)
        for i, g in zip(present, reduced):
            out[i] = g / replicas
        return out

    def make_train_function(self, force=False):
        """Keras's train function, called under ``mrcnn.function_options.training()`` (on a
        machine without a GPU, no Grappler memory optimizer: the first step is about 0.7 s
        faster, the steady step and peak memory the same)."""
        super().make_train_function(force)  # sets self.train_function (returns None)
        self.train_function = function_options.with_training_options(self.train_function)
        return self.train_function

    def make_test_function(self, force=False):
        """Keras's test function, under the same options as the train function."""
        super().make_test_function(force)  # sets self.test_function (returns None)
        self.test_function = function_options.with_training_options(self.test_function)
        return self.test_function

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras 3.15's ``fit`` builds the model from its first distributed batch, which it
        averages as one nested structure with ``strategy.reduce("MEAN", batch)``; under a
        ``MultiWorkerMirroredStrategy`` that fails ("Attempt to convert a value (PerReplica...)
        to a Tensor") before the first step. The build needs only the batch's shapes and
        dtypes: there, this replica's own part of it is handed on instead (no collective)."""
        strategy = getattr(self, "_distribute_strategy", None)
        if iterator is None or strategy is None or not distribute.is_multi_worker(strategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            batch = tf.nest.map_structure(
                lambda v: (strategy.experimental_local_results(v)[0]
                           if isinstance(v, tf.distribute.DistributedValues) else v), next(it))
            break
        else:
            batch = None
        with strategy.scope():
            self._symbolic_build(data_batch=batch)

    def train_step(self, data):
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        seed = self.mrcnn_config.SEED
        sampling = contextlib.nullcontext()
        if seed is not None:
            # RoI sampling keyed on (SEED, step), each replica its rows of the global batch:
            # repeatable, resumable at any step, the same however the batch is split.
            sampling = target_ops.sampling_seed(
                tf.stack([tf.constant(int(seed), tf.int64),
                          tf.cast(self.optimizer.iterations, tf.int64)]),
                replica=context.replica_id_in_sync_group, replicas=replicas)
        with tf.GradientTape() as tape, sampling:
            total, named = self._compute_losses(data, training=True, replicas=replicas)
            scaled = self.optimizer.scale_loss(total)
        variables = self.trainable_variables
        grads = tape.gradient(scaled, variables)
        if replicas > 1:
            grads = self._reduce_and_clip(grads, replicas)
        self.optimizer.apply(grads, variables)
        return self._track(total, named, replicas)

    def test_step(self, data):
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        total, named = self._compute_losses(data, training=False, replicas=replicas)
        return self._track(total, named, replicas)


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
    ``compile``; ``mrcnn.optimizer.SGD``: Keras's SGD values in fewer graph ops); the losses
    come from the model's own train step.

    Created in the scope of the model's strategy (``keras_model.distribute_strategy``), so the
    optimizer's slots are mirrored like the variables. With several replicas the clipping moves
    into the train step, after the gradients' all-reduce (the optimizer gets no ``clipnorm``;
    ``keras_model.clip_norm_after_all_reduce`` holds it). ``MIXED_PRECISION = "mixed_float16"``
    wraps the SGD in ``keras.optimizers.LossScaleOptimizer``.

    Raises:
        ValueError: ``learning_rate`` is not a number > 0 or ``momentum`` not one in [0, 1)
            (the rules of ``Config.LEARNING_RATE`` / ``LEARNING_MOMENTUM``).
    """
    check_number("learning_rate", learning_rate, *NUMERIC_RULES["LEARNING_RATE"])
    check_number("momentum", momentum, *NUMERIC_RULES["LEARNING_MOMENTUM"])
    clipnorm = config.GRADIENT_CLIP_NORM
    clipnorm = None if clipnorm is None else float(clipnorm)
    strategy = keras_model.distribute_strategy
    replicated = strategy.num_replicas_in_sync > 1
    with strategy.scope():
        # Plain floats: Keras refuses an int or NumPy momentum, which the rules accept.
        sgd = optimizer.SGD(learning_rate=float(learning_rate), momentum=float(momentum),
                            clipnorm=None if replicated else clipnorm)
        sgd = precision.wrap_optimizer(sgd, config.MIXED_PRECISION)
        keras_model.clip_norm_after_all_reduce = clipnorm if replicated else None
        keras_model.compile(optimizer=sgd)
        # The momentum slots now, eagerly: created inside fit()'s first traced step instead, their
        # initializers are lifted out of the graph one by one and tf.function traces the whole step
        # a second time (a function that creates variables is traced again without them).
        sgd.build(keras_model.trainable_variables)


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

    Under the model's strategy (``mrcnn.distribute``) the data are distributed with
    ``distribute_datasets_from_function`` (each worker reads ``image_ids[i::workers]``, so every
    image is seen once per epoch over all workers; ``IMAGES_PER_GPU`` per replica), and only the
    chief writes checkpoints and TensorBoard logs (atomically, as on one device).

    Issue 13: with ``Config.SEED`` (or ``seed``) the run is reproducible; the full state is
    backed up every ``Config.BACKUP_EVERY_STEPS`` steps (``mrcnn.backup``); a model that loaded
    a step backup (``load_weights(find_last())``) continues at the step after it (the rest of
    that epoch, then whole epochs: same folder and epoch numbering); in the main thread SIGTERM
    / SIGINT finish the step, write the backup, print one line and exit (``mrcnn.signals``).

    Raises:
        SystemExit: status 143 / 130 after SIGTERM / SIGINT (``KeyboardInterrupt`` in IPython).
        ValueError: a loaded step backup of another ``STEPS_PER_EPOCH`` or other trainable
            layers; not a training model; ``learning_rate`` is not a number > 0 (checked as
            ``Config.LEARNING_RATE`` is, before any data is loaded); a configuration value
            breaks its rule (``Config.validate``).
        mrcnn.distribute.WorkerLostError: a collective of a multi-worker run failed (another
            worker died or timed out).
    """
    from mrcnn.data_pipeline import build_dataset

    if mrcnn_model.mode != "training":
        raise ValueError('train() needs a model built with mode="training"')
    check_number("train(learning_rate=...)", learning_rate, *NUMERIC_RULES["LEARNING_RATE"])
    config = mrcnn_model.config
    config.validate("training")  # values may have been changed since the model was built
    layers = LAYER_REGEX.get(layers, layers)

    if seed is None:
        seed = config.SEED
    # Under a multi-replica strategy each worker reads its own shard of the images, in batches
    # of IMAGES_PER_GPU per replica (mrcnn.distribute).
    strategy = mrcnn_model.keras_model.distribute_strategy
    per_replica = (config.IMAGES_PER_GPU if strategy.num_replicas_in_sync > 1
                   else config.BATCH_SIZE)
    spe = config.STEPS_PER_EPOCH

    def datasets(step):
        # The seeded streams continue at global step ``step`` (mrcnn.backup).
        train_data = distribute.distribute_dataset(
            strategy, lambda shard, batch_size: build_dataset(
                train_dataset, config, shuffle=True, augmentation=augmentation,
                no_augmentation_sources=no_augmentation_sources, seed=seed,
                batch_size=batch_size, shard=shard, start=step * batch_size), per_replica)
        val_data = distribute.distribute_dataset(
            strategy, lambda shard, batch_size: build_dataset(
                val_dataset, config, shuffle=True, seed=seed, batch_size=batch_size,
                shard=shard), per_replica)
        return train_data, val_data

    # A step backup loaded by load_weights(find_last()) (mrcnn.backup): continue after it.
    resume = getattr(mrcnn_model, "_resume_backup", None)
    mrcnn_model._resume_backup = None
    if resume is not None and resume[0]["steps_per_epoch"] != spe:
        raise ValueError(f"the step backup was written with STEPS_PER_EPOCH = "
                         f"{resume[0]['steps_per_epoch']}, the config has {spe}: resume with "
                         "the same config, or load the epoch .h5 checkpoint")
    start_step = resume[0]["global_step"] if resume else mrcnn_model.epoch * spe

    # Checkpoints and TensorBoard logs: the chief only (every worker of a multi-worker run).
    chief = distribute.is_chief(strategy)
    stop = signals.StopOnSignal()
    backup_cb = backup.BackupCallback(
        backup.backup_path(mrcnn_model.log_dir, config.NAME), start_step, spe, per_replica,
        seed, every=config.BACKUP_EVERY_STEPS, stop=stop, write=chief,
        learning_rate=float(learning_rate))
    callbacks = [StopOnNaN()]
    if chief:
        os.makedirs(mrcnn_model.log_dir, exist_ok=True)
        callbacks += [keras.callbacks.TensorBoard(log_dir=mrcnn_model.log_dir, histogram_freq=0,
                                                  write_graph=False),
                      MatterportCheckpoint(mrcnn_model.checkpoint_path)]
    if custom_callbacks:
        # Before TensorBoard and the checkpoint, so that they see what the callbacks log.
        callbacks = callbacks[:1] + list(custom_callbacks) + callbacks[1:]
    callbacks.append(backup_cb)  # last: a stop signal is seen after every other callback ran

    print(f"\nStarting at epoch {mrcnn_model.epoch}. LR={learning_rate}\n")
    print(f"Checkpoint Path: {mrcnn_model.checkpoint_path}")
    set_trainable(mrcnn_model.keras_model, layers)
    compile_model(mrcnn_model.keras_model, config, learning_rate, config.LEARNING_MOMENTUM)
    if resume is not None:
        backup.restore_optimizer(mrcnn_model.keras_model, resume[0], resume[2])
        mrcnn_model.keras_model.optimizer.learning_rate.assign(float(learning_rate))
        print(f"Resuming after global step {start_step} (epoch {start_step // spe + 1}, step "
              f"{start_step % spe} of {spe}) from the step backup")

    # Runs of fit: the rest of a partly trained epoch (resume), then whole epochs.
    runs = []
    first_epoch = start_step // spe
    if start_step % spe and first_epoch < epochs:
        runs.append((first_epoch, first_epoch + 1, spe - start_step % spe, start_step))
        first_epoch += 1
    if epochs > first_epoch:
        runs.append((first_epoch, epochs, spe, first_epoch * spe))

    history = None
    try:
        with stop, distribute.collective_errors(strategy):
            for initial_epoch, end_epoch, steps, step in runs:
                train_data, val_data = datasets(step)
                history = mrcnn_model.keras_model.fit(
                    train_data, initial_epoch=initial_epoch, epochs=end_epoch,
                    steps_per_epoch=steps, callbacks=callbacks,
                    validation_data=val_data, validation_steps=config.VALIDATION_STEPS,
                    shuffle=False)
    except BaseException as e:
        # Destroy the input pipeline here, not at interpreter exit (where it deadlocks).
        release_input_pipeline(e, mrcnn_model.keras_model)
        if isinstance(e, backup.TrainingInterrupted):
            _exit_interrupted(e, mrcnn_model, chief)
        raise
    if stop.signum is not None:
        # The signal came after the last training step (validation, last checkpoint): the run
        # is complete, but the caller asked it to stop, so it exits all the same.
        backup_cb.save()
        _exit_interrupted(backup.TrainingInterrupted(stop.signum, backup_cb.path), mrcnn_model,
                          chief)
    mrcnn_model.epoch = max(mrcnn_model.epoch, epochs)
    return history


def _exit_interrupted(e, mrcnn_model, chief):
    """One line on where the backup is and how to resume, then ``SystemExit(128 + signum)``
    (143 for SIGTERM, 130 for SIGINT); in IPython/Jupyter a ``KeyboardInterrupt`` instead (the
    kernel stays alive)."""
    where = e.path if chief else "on the chief worker"
    print(f"\nTraining stopped by signal {e.signum} after the step backup {where}; resume with "
          f"model.load_weights(model.find_last(), by_name=True) and the same train(...) call "
          f"(model_dir={mrcnn_model.model_dir!r}).", flush=True)
    ipython = sys.modules.get("IPython")
    if ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None:
        raise KeyboardInterrupt(str(e)) from None
    raise SystemExit(128 + e.signum) from None
