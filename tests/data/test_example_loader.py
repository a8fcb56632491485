"""mrcnn.example_loader (TrainingExampleLoader, SkippedImages) on real COCO tiny data: examples,
skipped images, errors instead of hangs."""

import logging
import threading

import albumentations as A
import numpy as np
import pytest
import tensorflow as tf

from mrcnn.anchors import get_anchors
from mrcnn.boxes import apply_box_deltas
from mrcnn.data_generator import data_generator
from mrcnn.example_loader import TRAINING_INPUT_NAMES, SkippedImages, TrainingExampleLoader
from mrcnn.ground_truth import load_image_gt
from mrcnn.image import mold_image
from mrcnn.input_pipeline import build_dataset
from tests.data.training_data import (  # noqa: F401 - fixtures are used by their names
    CocoConfig, CocoTinyDataset, coco, coco_ds, config)


# ------------------------------------------------------------------------------------------------
# TrainingExampleLoader
def test_loader_example(coco_ds, config):
    loader = TrainingExampleLoader(coco_ds, config, seed=0)
    image_id = next(i for i in coco_ds.image_ids if len(coco_ds.load_mask(i)[1]) > 20)
    image, meta, class_ids, boxes, masks = load_image_gt(coco_ds, config, image_id,
                                                         use_mini_mask=True)
    ex = loader(image_id)
    assert list(ex) == list(TRAINING_INPUT_NAMES)
    a = len(loader.anchors)
    expected = {"input_image": ((256, 256, 3), np.float32), "input_image_meta": ((93,), np.float32),
                "input_rpn_match": ((a, 1), np.int32), "input_rpn_bbox": ((256, 4), np.float32),
                "input_gt_class_ids": ((20,), np.int32), "input_gt_boxes": ((20, 4), np.float32),
                "input_gt_masks": ((56, 56, 20), np.bool_)}
    for name, (shape, dtype) in expected.items():
        assert ex[name].shape == shape and ex[name].dtype == dtype, name
    np.testing.assert_array_equal(ex["input_image"], mold_image(image, config))
    np.testing.assert_allclose(ex["input_image_meta"], meta, rtol=1e-6)
    np.testing.assert_array_equal(loader.anchors, get_anchors(config, (256, 256), normalized=False))

    # More than MAX_GT_INSTANCES: a random subset, the masks following their boxes.
    assert len(class_ids) > 20 and (ex["input_gt_class_ids"] != 0).all()
    rows = [int(np.flatnonzero((boxes == b).all(axis=1))[0]) for b in ex["input_gt_boxes"]]
    assert len(set(rows)) == 20
    np.testing.assert_array_equal(ex["input_gt_class_ids"], class_ids[rows])
    np.testing.assert_array_equal(ex["input_gt_masks"], masks[:, :, rows])

    # RPN targets: balanced, and the deltas decode onto GT boxes (all instances, not the subset).
    match = ex["input_rpn_match"][:, 0]
    n_pos = (match == 1).sum()
    assert 0 < n_pos <= 128 and n_pos + (match == -1).sum() == 256
    decoded = apply_box_deltas(loader.anchors[match == 1],
                               ex["input_rpn_bbox"][:n_pos] * np.asarray(config.RPN_BBOX_STD_DEV))
    gt = boxes[class_ids > 0].astype(np.float32)
    assert np.abs(decoded[:, None, :] - gt[None]).max(axis=2).min(axis=1).max() < 1e-2

    # Fewer instances: zero padding.
    small = next(i for i in coco_ds.image_ids if 0 < len(coco_ds.load_mask(i)[1]) < 5)
    ex = loader(small)
    n = len(load_image_gt(coco_ds, config, small)[2])
    assert (ex["input_gt_class_ids"][:n] != 0).all() and not ex["input_gt_class_ids"][n:].any()
    assert not ex["input_gt_boxes"][n:].any() and not ex["input_gt_masks"][..., n:].any()


def test_loader_checks_config(coco_ds):
    class Pad64(CocoConfig):
        IMAGE_RESIZE_MODE = "pad64"

    with pytest.raises(ValueError, match="square"):
        TrainingExampleLoader(coco_ds, Pad64())

    class FewClasses(CocoConfig):
        NUM_CLASSES = 5

    with pytest.raises(ValueError, match="NUM_CLASSES"):
        TrainingExampleLoader(coco_ds, FewClasses())


class FlakyCoco(CocoTinyDataset):
    """Images in ``broken`` cannot be read; images in ``crowd_only`` keep only crowd masks."""

    broken = ()
    crowd_only = ()

    def load_image(self, image_id):
        if image_id in self.broken:
            raise OSError(f"cannot read {self.image_info[image_id]['path']}: truncated file")
        return super().load_image(image_id)

    def load_mask(self, image_id):
        mask, ids = super().load_mask(image_id)
        if image_id in self.crowd_only:
            ids = -np.abs(ids)
        return mask, ids


def test_skipped_images_are_counted_and_logged(coco, config, caplog):
    ds = FlakyCoco().load(coco, limit=8)
    ds.broken = (2, 5)
    ds.crowd_only = (6,)
    ds.prepare()
    loader = TrainingExampleLoader(ds, config, seed=1)
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        seen = [int(batch[1][0, 0]) for batch in
                build_dataset(ds, config, seed=1, batch_size=1, repeat=False, loader=loader)]
    assert sorted(seen) == [0, 1, 3, 4, 7]
    assert loader.skipped.count == 3 and loader.skipped.successes == 5
    reasons = loader.skipped.reasons
    assert set(reasons) == {2, 5, 6}
    assert "OSError" in reasons[2] and "truncated" in reasons[2]
    assert "no instance with a positive class id" in reasons[6]
    for i in (2, 5, 6):
        assert ds.image_info[i]["path"] in caplog.text


class BadClassCoco(CocoTinyDataset):
    """``load_mask`` of the images in ``bad`` (image id -> class id) gives its first instance
    that class id instead of the real one."""

    bad = {}

    def load_mask(self, image_id):
        mask, ids = super().load_mask(image_id)
        if image_id in self.bad:
            ids = ids.copy()
            ids[0] = self.bad[image_id]
        return mask, ids


def test_class_ids_outside_the_classes_name_the_image_and_skip_it(coco, config, caplog):
    ds = BadClassCoco().load(coco, limit=4)
    ds.prepare()
    assert ds.num_classes == config.NUM_CLASSES == 81
    for value in (81, 0, -81, 1000):
        ds.bad = {2: value}
        with pytest.raises(ValueError, match=rf"image 2 .*class id\(s\) \[{value}\] outside "
                                             r"1\.\.80"):
            load_image_gt(ds, config, 2)
    ds.bad = {2: -3}  # a crowd of class 3: fine
    assert -3 in load_image_gt(ds, config, 2)[2]

    ds.bad = {2: 81}
    loader = TrainingExampleLoader(ds, config, seed=0)
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        examples = [loader(i) for i in range(4)]
    assert [e is None for e in examples] == [False, False, True, False]
    assert loader.skipped.count == 1 and loader.skipped.successes == 3
    assert "outside 1..80" in loader.skipped.reasons[2]
    assert ds.image_info[2]["path"] in caplog.text and "[81]" in caplog.text
    for e in examples[:2] + examples[3:]:
        assert e["input_gt_class_ids"].max() <= 80

    # Every image bad: an error with the reasons, not a crash deep in TensorFlow.
    ds.bad = {i: 200 for i in range(4)}
    loader = TrainingExampleLoader(ds, config, seed=0)
    assert [loader(i) for i in range(3)] == [None] * 3
    with pytest.raises(RuntimeError, match=r"All 4 images(.|\n)*outside 1\.\.80"):
        loader(3)


def test_skipped_images_record_methods_say_when_to_give_up(coco_ds):
    """The loader's skip accounting through SkippedImages' public methods alone."""
    skipped = SkippedImages()
    n = 2
    assert skipped.record_skip(0, "unreadable", True, n, 3) == (True, None)
    assert skipped.record_skip(1, "no positive", False, n, 3) == (True, None)
    assert skipped.record_skip(1, "no positive", False, n, 3) == (False, None)
    assert skipped.consecutive == 3 and skipped.count == 3
    # The third uncertain failure of image 1: every image has failed, none succeeded.
    assert skipped.record_skip(1, "no positive again", False, n, 3) == (False, "all")
    assert skipped.reasons == {0: "unreadable", 1: "no positive again"}
    assert "no positive again" in skipped.summary(coco_ds)
    assert coco_ds.image_info[0]["path"] in skipped.summary(coco_ds)

    skipped.record_success()
    assert skipped.consecutive == 0 and skipped.successes == 1
    results = [skipped.record_skip(i % n, "unreadable", True, n, 3)[1] for i in range(3 * n)]
    assert results == [None] * (3 * n - 1) + ["streak"]  # 3 epochs of skips in a row


def _run_with_timeout(fn, seconds=60):
    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            outcome["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the pipeline hung"
    return outcome


def test_all_images_failing_raises_instead_of_hanging(coco, config):
    ds = FlakyCoco().load(coco, limit=4)
    ds.broken = (0, 1, 2, 3)
    ds.prepare()
    for repeat in (True, False):
        dataset = build_dataset(ds, config, seed=0, batch_size=1, repeat=repeat)
        outcome = _run_with_timeout(lambda: next(iter(dataset)))
        assert isinstance(outcome.get("error"), tf.errors.OpError)
        message = str(outcome["error"])
        assert "All 4 images" in message and "OSError" in message and "truncated" in message

    outcome = _run_with_timeout(lambda: next(data_generator(ds, config, batch_size=1)))
    assert isinstance(outcome.get("error"), RuntimeError)
    assert "All 4 images" in str(outcome["error"])

    # Images without any positive instance: the same error, naming the reason.
    ds = FlakyCoco().load(coco, limit=3)
    ds.crowd_only = (0, 1, 2)
    ds.prepare()
    outcome = _run_with_timeout(lambda: next(iter(build_dataset(ds, config, batch_size=1))))
    assert "no instance with a positive class id" in str(outcome.get("error"))


def test_random_failures_are_retried_before_giving_up(coco, config):
    """With a random pipeline, "no positive instance" may be bad luck: 3 tries per image."""
    ds = FlakyCoco().load(coco, limit=2)
    ds.crowd_only = (0, 1)
    ds.prepare()
    loader = TrainingExampleLoader(ds, config, augmentation=A.HorizontalFlip(p=0.5), seed=0)
    assert [loader(i % 2) for i in range(5)] == [None] * 5
    assert loader.skipped.count == 5
    with pytest.raises(RuntimeError, match="All 2 images"):
        loader(1)

    # Files that become unreadable after some successes: give up after 3 epochs of failures.
    ds.crowd_only = ()
    loader = TrainingExampleLoader(ds, config, seed=0)
    assert loader(0) is not None
    ds.broken = (0, 1)
    assert [loader(i % 2) for i in range(5)] == [None] * 5
    with pytest.raises(RuntimeError, match="last 6 attempts"):
        loader(1)
    ds.broken = ()

    # Repeatable per key; the key changes the random choices.
    loader = TrainingExampleLoader(ds, config, augmentation=A.Affine(rotate=(-30, 30), p=1),
                                   seed=4)
    a, b, c = loader(0, key=7), loader(0, key=7), loader(0, key=8)
    for name in TRAINING_INPUT_NAMES:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["input_image"], c["input_image"])
