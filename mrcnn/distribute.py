"""Data-parallel training on ``tf.distribute``: which strategy a ``MaskRCNN`` runs under, how the
training data is split over workers and replicas, who writes checkpoints, and what a lost worker
looks like.

Strategy (``choose_strategy``), replacing Matterport's ``ParallelModel``:

* an explicit ``strategy`` argument wins;
* ``TF_CONFIG`` set -> ``tf.distribute.MultiWorkerMirroredStrategy`` (every worker runs the same
  script; each uses all its local GPUs, or its CPU), with collective timeouts;
* ``config.GPU_COUNT > 1`` -> ``tf.distribute.MirroredStrategy`` over the first ``GPU_COUNT``
  visible GPUs (``ValueError`` naming both counts when fewer are visible);
* else TensorFlow's default strategy (one device, as before).

``IMAGES_PER_GPU`` is the batch of one replica; the global batch is ``IMAGES_PER_GPU *
strategy.num_replicas_in_sync`` (``global_batch_size``), i.e. ``BATCH_SIZE`` on one machine.
"""

import contextlib
import json
import os

import tensorflow as tf

__all__ = ["COLLECTIVE_TIMEOUT_ENV", "DEFAULT_COLLECTIVE_TIMEOUT_S", "WorkerLostError",
           "parse_tf_config", "choose_strategy", "is_multi_worker", "is_chief",
           "global_batch_size", "distribute_dataset", "collective_errors"]

# Seconds one collective (all-reduce, broadcast) may wait for the other workers before it fails;
# the environment variable overrides the default.
COLLECTIVE_TIMEOUT_ENV = "MRCNN_COLLECTIVE_TIMEOUT_S"
DEFAULT_COLLECTIVE_TIMEOUT_S = 600.0


class WorkerLostError(RuntimeError):
    """A collective of a multi-worker strategy failed: another worker died, was killed or stopped
    answering within the collective timeout."""


def parse_tf_config(value=None):
    """The parsed ``TF_CONFIG`` (``value`` or the environment's), or None when it is unset/empty.

    Returns:
        dict with ``cluster`` (job name -> list of "host:port") and ``task`` (``type``, ``index``).

    Raises:
        ValueError: not JSON, or without ``cluster`` / ``task`` entries that name a job of the
            cluster and an index inside it (the message shows the expected form).
    """
    text = os.environ.get("TF_CONFIG", "") if value is None else value
    if not text or not text.strip():
        return None
    example = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}')
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}); expected e.g. {example}") from None
    cluster = spec.get("cluster") if isinstance(spec, dict) else None
    task = spec.get("task") if isinstance(spec, dict) else None
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
        raise ValueError(f"TF_CONFIG needs a \"cluster\" and a \"task\" entry; expected e.g. "
                         f"{example}")
    job, index = task.get("type"), task.get("index")
    if job not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[job]):
        raise ValueError(f"TF_CONFIG task {task!r} does not name a task of the cluster "
                         f"{cluster!r}; expected e.g. {example}")
    return spec


def _collective_timeout():
    text = os.environ.get(COLLECTIVE_TIMEOUT_ENV)
    if not text:
        return DEFAULT_COLLECTIVE_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ValueError(f"{COLLECTIVE_TIMEOUT_ENV} = {text!r}: must be a number of seconds > 0")
    return value


def choose_strategy(config, strategy=None):
    """The ``tf.distribute.Strategy`` a model of ``config`` runs under (see the module docs).

    Create it before any other TensorFlow work of the process: ``MultiWorkerMirroredStrategy``
    must configure the collectives before TensorFlow initialises.

    Args:
        config: a ``Config`` (``GPU_COUNT``).
        strategy: an explicit strategy, returned as it is.

    Raises:
        ValueError: ``GPU_COUNT`` exceeds the visible GPUs (both counts named, with the fix);
            ``TF_CONFIG`` malformed (``parse_tf_config``); a bad collective timeout variable.
    """
    if strategy is not None:
        if not isinstance(strategy, tf.distribute.Strategy):
            raise ValueError(f"strategy must be a tf.distribute.Strategy, not "
                             f"{type(strategy).__name__}")
        return strategy
    gpu_count = int(config.GPU_COUNT)
    if parse_tf_config() is not None:
        options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=_collective_timeout())
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        local_gpus = len(tf.config.list_logical_devices("GPU"))
        if gpu_count > 1 and local_gpus < gpu_count:
            raise ValueError(f"GPU_COUNT = {gpu_count} but this worker sees {local_gpus} GPU(s); "
                             "lower GPU_COUNT or make the GPUs visible (CUDA_VISIBLE_DEVICES)")
        return strategy
    if gpu_count > 1:
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) < gpu_count:
            raise ValueError(
                f"GPU_COUNT = {gpu_count} but TensorFlow sees {len(gpus)} GPU(s); set "
                f"GPU_COUNT = {max(1, len(gpus))} (with IMAGES_PER_GPU images each) or make the "
                "GPUs visible (CUDA_VISIBLE_DEVICES, drivers)")
        return tf.distribute.MirroredStrategy([g.name for g in gpus[:gpu_count]])
    return tf.distribute.get_strategy()


def is_multi_worker(strategy):
    """True for a strategy whose replicas span several worker processes."""
    extended = strategy.extended
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


def is_chief(strategy):
    """Whether this process writes checkpoints and TensorBoard logs: always for one worker; for
    a multi-worker strategy, the task "chief" or else worker 0 (``extended.should_checkpoint``)."""
    return bool(getattr(strategy.extended, "should_checkpoint", True))


def global_batch_size(config, strategy):
    """Images per training step over all replicas and workers: ``IMAGES_PER_GPU *
    strategy.num_replicas_in_sync``."""
    return int(config.IMAGES_PER_GPU) * int(strategy.num_replicas_in_sync)


def distribute_dataset(strategy, make_dataset, per_replica_batch):
    """The training/validation data for ``fit`` under ``strategy``.

    Args:
        strategy: the model's strategy.
        make_dataset: ``f(shard=(index, count), batch_size=n) -> tf.data.Dataset``, where the
            dataset reads only the images ``image_ids[index::count]`` in batches of n
            (``mrcnn.input_pipeline.build_dataset`` takes both arguments).
        per_replica_batch: images per replica per step (``IMAGES_PER_GPU``).

    Returns:
        The dataset itself under a one-replica strategy; else
        ``strategy.distribute_datasets_from_function``: each worker (input pipeline) reads its
        own shard of the images, so every image is still seen once per epoch over all workers,
        and its per-replica batches go to its local replicas in turn. Its bool tensors (the
        GT masks) come as uint8 0/1: Keras 3.15's ``fit`` averages one distributed batch
        (``strategy.reduce("MEAN", ...)``) to build the model, which fails on bool;
        ``TrainingModel`` casts each input back to its model input's dtype.
    """
    if strategy.num_replicas_in_sync == 1 and not is_multi_worker(strategy):
        return make_dataset(shard=None, batch_size=per_replica_batch)

    def dataset_fn(context):
        shard = (context.input_pipeline_id, context.num_input_pipelines)
        ds = make_dataset(shard=shard if shard[1] > 1 else None, batch_size=per_replica_batch)
        return ds.map(_bool_as_uint8)

    return strategy.distribute_datasets_from_function(dataset_fn)


def _bool_as_uint8(*tensors):
    return tuple(tf.cast(t, tf.uint8) if t.dtype == tf.bool else t for t in tensors)


_COLLECTIVE_FAILURES = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                        tf.errors.CancelledError, tf.errors.AbortedError)


@contextlib.contextmanager
def collective_errors(strategy):
    """Turns the errors of a failed collective of a multi-worker strategy into one
    ``WorkerLostError`` that says what happened and what to do (other errors pass unchanged)."""
    try:
        yield
    except _COLLECTIVE_FAILURES as e:
        if not is_multi_worker(strategy):
            raise
        first = (e.message or str(e)).strip().splitlines()[0][:300]
        raise WorkerLostError(
            f"training stopped: a collective of the MultiWorkerMirroredStrategy failed "
            f"({type(e).__name__}: {first}). Another worker died, was killed or did not answer "
            f"within {_collective_timeout():g} s ({COLLECTIVE_TIMEOUT_ENV}). Restart all workers; "
            "train() resumes from the chief's last checkpoint with load_weights(find_last()).") \
            from e
