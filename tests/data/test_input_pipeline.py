"""mrcnn.input_pipeline (build_dataset, the tf.data pipeline) on real data (COCO tiny, DSB2018
nuclei): shapes, epochs, shuffling, seeds, crop mode."""

import albumentations as A
import numpy as np
import tensorflow as tf

from mrcnn.anchors import get_anchors
from mrcnn.boxes import extract_bboxes
from mrcnn.input_pipeline import build_dataset
from tests.data.training_data import (  # noqa: F401 - fixtures are used by their names
    NucleusConfig, NucleusDataset, _nucleus_names, coco, coco_ds, config)


# ------------------------------------------------------------------------------------------------
# build_dataset
def _epoch_ids(dataset):
    return [int(i) for batch in dataset for i in batch[1][:, 0].numpy()]


def test_build_dataset_batches(coco_ds, config):
    dataset = build_dataset(coco_ds, config, seed=3)
    a = len(get_anchors(config, (256, 256), normalized=False))
    shapes = [(2, 256, 256, 3), (2, 93), (2, a, 1), (2, 256, 4), (2, 20), (2, 20, 4),
              (2, 56, 56, 20)]
    dtypes = [tf.float32, tf.float32, tf.int32, tf.float32, tf.int32, tf.float32, tf.bool]
    assert isinstance(dataset.element_spec, tuple) and len(dataset.element_spec) == 7
    for spec, shape, dtype in zip(dataset.element_spec, shapes, dtypes):
        assert tuple(spec.shape) == shape and spec.dtype == dtype
    ids = []
    for batch in dataset.take(12):  # two epochs of 12 images, repeated
        assert [tuple(t.shape) for t in batch] == shapes
        ids.extend(int(i) for i in batch[1][:, 0].numpy())
        match = batch[2].numpy()[..., 0]
        assert ((match == 1).sum(axis=1) + (match == -1).sum(axis=1) == 256).all()
    assert sorted(ids[:12]) == list(range(12)) and sorted(ids[12:]) == list(range(12))
    assert ids[:12] != ids[12:]


def test_build_dataset_epochs_shuffle_and_seed(coco_ds, config):
    augmentation = A.Compose([A.HorizontalFlip(p=0.5), A.Affine(rotate=(-20, 20), p=0.7)])

    def two_epochs(seed):
        dataset = build_dataset(coco_ds, config, seed=seed, augmentation=augmentation,
                                batch_size=3, repeat=False)
        epochs = []
        for _ in range(2):
            batches = list(dataset)
            epochs.append(([int(i) for b in batches for i in b[1][:, 0].numpy()],
                           np.concatenate([b[5].numpy() for b in batches])))
        return epochs

    first = two_epochs(11)
    for ids, _ in first:
        assert sorted(ids) == list(range(12))  # every image exactly once
    assert first[0][0] != first[1][0]  # reshuffled each epoch
    again = two_epochs(11)
    for (ids_a, boxes_a), (ids_b, boxes_b) in zip(first, again):
        assert ids_a == ids_b
        np.testing.assert_array_equal(boxes_a, boxes_b)  # same augmentations
    other = two_epochs(12)
    assert other[0][0] != first[0][0]

    unseeded = build_dataset(coco_ds, config, shuffle=False, batch_size=4, repeat=False)
    assert sorted(_epoch_ids(unseeded)) == list(range(12))


def test_build_dataset_crop_mode_nuclei():
    ds = NucleusDataset().load(_nucleus_names("256x256", 3) + _nucleus_names("360x360", 3))
    ds.prepare()
    config = NucleusConfig()
    dataset = build_dataset(ds, config, seed=5, batch_size=2, repeat=False,
                            augmentation=A.Compose([A.RandomRotate90(p=1)]))
    batches = list(dataset)
    assert len(batches) == 3
    for batch in batches:
        images, metas, _, _, class_ids, boxes, masks = (t.numpy() for t in batch)
        assert masks.shape == (2, 256, 256, 50)
        for b in range(2):
            n = int((class_ids[b] > 0).sum())
            assert n > 0 and (class_ids[b, :n] == 1).all()
            np.testing.assert_array_equal(boxes[b, :n], extract_bboxes(masks[b, :, :, :n]))
    assert sorted(int(m) for b in batches for m in b[1][:, 0].numpy()) == list(range(6))
