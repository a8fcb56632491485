"""The training input pipeline as a ``tf.data.Dataset`` over a ``TrainingExampleLoader``: it
replaces Matterport's multiprocessing ``fit_generator`` queue (one shuffled index stream,
parallel threads, no duplicated images, no hang when images fail)."""

import numpy as np
import tensorflow as tf

from mrcnn.example_loader import TrainingExampleLoader

__all__ = ["build_dataset"]


def build_dataset(dataset, config, shuffle=True, augmentation=None, no_augmentation_sources=None,
                  seed=None, batch_size=None, repeat=True, *, loader=None, shard=None,
                  start=0):
    """The training input pipeline as a ``tf.data.Dataset`` (replaces Matterport's
    ``data_generator`` + ``fit_generator(workers=..., use_multiprocessing=True)``).

    Pipeline: the indices of ``dataset.image_ids``, each paired with a random key from
    ``tf.data.Dataset.random(seed)`` -> ``shuffle(len, seed=seed, reshuffle_each_iteration=True)``
    (if ``shuffle``) -> ``repeat()`` (if ``repeat``) -> parallel ``map`` of a
    ``TrainingExampleLoader`` through ``tf.numpy_function`` (threads, ``AUTOTUNE``) -> skipped
    images filtered out -> ``batch(batch_size, drop_remainder=True)`` -> ``prefetch``.

    Each epoch (each pass over the repeat, or each iteration with ``repeat=False``) visits every
    image exactly once, in a new order when shuffling. With a ``seed``, the orders, the
    augmentations and all other random choices are repeatable (the parallel map then keeps the
    order, ``deterministic=True``); without one, elements may come out in completion order.
    Skipped images are counted in ``loader.skipped``; when every image fails, iterating raises a
    ``tf.errors.OpError`` whose message says that all N images failed and gives the first
    reasons.

    Args:
        dataset: a prepared ``Dataset``.
        config: a ``Config`` ("square" or "crop" resize mode; ``NUM_CLASSES`` equal to the
            dataset's).
        shuffle: shuffle the image order each epoch.
        augmentation: see ``mrcnn.augmentation.augment``.
        no_augmentation_sources: sources not to augment.
        seed: int >= 0 or None.
        batch_size: images per batch; default ``config.BATCH_SIZE``.
        repeat: repeat forever (for ``fit(steps_per_epoch=...)``); False gives one epoch per
            iteration.
        loader: an existing ``TrainingExampleLoader`` to use (then ``augmentation``,
            ``no_augmentation_sources`` and ``seed`` only seed the order); keep a reference to
            read ``loader.skipped``.
        shard: ``(index, count)``: read only ``image_ids[index::count]`` (one worker's part of
            a multi-worker run, ``mrcnn.distribute``; the ``count`` shards together hold every
            image once); None reads all.
        start: elements of the (shuffled, repeated) id stream to skip before loading, cheaply
            (no image is loaded for them): with a ``seed``, the dataset then continues the
            stream of a fresh one at that position (resuming at a step, ``mrcnn.backup``).

    Returns:
        ``tf.data.Dataset`` of tuples of 7 tensors, in training-model input order
        (``TRAINING_INPUT_NAMES``), with B = batch size:
        ``input_image`` float32 [B, H, W, C] (molded), ``input_image_meta`` float32
        [B, IMAGE_META_SIZE], ``input_rpn_match`` int32 [B, A, 1], ``input_rpn_bbox`` float32
        [B, RPN_TRAIN_ANCHORS_PER_IMAGE, 4], ``input_gt_class_ids`` int32 [B, MAX_GT_INSTANCES],
        ``input_gt_boxes`` float32 [B, MAX_GT_INSTANCES, 4] (pixels), ``input_gt_masks`` bool
        [B, mh, mw, MAX_GT_INSTANCES] (``MINI_MASK_SHAPE`` or ``IMAGE_SHAPE[:2]``).
        The dataset also carries the loader as its ``mrcnn_loader`` attribute when the attribute
        can be set.

    Raises:
        ValueError / TypeError: as ``TrainingExampleLoader``; ``batch_size`` < 1; a ``shard``
            that is not ``(index, count)`` with ``0 <= index < count``, or an empty shard.
    """
    if loader is None:
        loader = TrainingExampleLoader(dataset, config, augmentation=augmentation,
                                       no_augmentation_sources=no_augmentation_sources,
                                       seed=seed)
    batch_size = int(batch_size or config.BATCH_SIZE)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    signature = loader.output_signature()
    dtypes = [tf.as_dtype(d) for _, _, d in signature]
    zeros = tuple(np.zeros(s, dtype=d) for _, s, d in signature)

    def load(image_id, key):
        example = loader(int(image_id), key=int(key))
        if example is None:
            return (np.False_,) + zeros
        return (np.True_,) + tuple(example[name] for name, _, _ in signature)

    def load_graph(image_id, key):
        out = tf.numpy_function(load, [image_id, key], [tf.bool] + dtypes, stateful=True,
                                name="load_training_example")
        ok, tensors = out[0], out[1:]
        ok.set_shape([])
        for t, (_, s, _) in zip(tensors, signature):
            t.set_shape(s)
        return (ok,) + tuple(tensors)

    ids = np.asarray(dataset.image_ids, dtype=np.int64)
    if shard is not None:
        try:
            index, count = (int(v) for v in shard)
        except (TypeError, ValueError):
            index, count = -1, 0
        if not 0 <= index < count:
            raise ValueError(f"shard must be (index, count) with 0 <= index < count, "
                             f"got {shard!r}")
        ids = ids[index::count]
        if not len(ids):
            raise ValueError(f"shard {index} of {count} holds no image: the dataset has only "
                             f"{len(dataset.image_ids)}; use fewer workers or more images")
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(ids),
                              tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)))
    if shuffle:
        ds = ds.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if start:
        ds = ds.skip(int(start))
    ds = ds.map(load_graph, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=seed is not None)
    ds = ds.filter(lambda ok, *tensors: ok)
    ds = ds.map(lambda ok, *tensors: tuple(tensors))
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    try:
        ds.mrcnn_loader = loader
    except Exception:  # noqa: BLE001 - attribute is a convenience only
        pass
    return ds
