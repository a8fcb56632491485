"""mrcnn.data_generator (Matterport's data_generator, generate_random_rois,
build_detection_targets) on real COCO tiny data, and the public names of the training-input
modules as mrcnn.model and mrcnn.data_pipeline re-export them."""

import warnings

import numpy as np
import skimage.transform

from mrcnn.boxes import apply_box_deltas, compute_overlaps
from mrcnn.data_generator import build_detection_targets, data_generator, generate_random_rois
from mrcnn.ground_truth import load_image_gt
from tests.data.training_data import (  # noqa: F401 - fixtures are used by their names
    CocoConfig, coco, coco_ds, config)


# ------------------------------------------------------------------------------------------------
# Random RoIs and NumPy detection targets
def test_random_rois_and_detection_targets(coco_ds):
    class FullMasks(CocoConfig):
        USE_MINI_MASK = False

    config = FullMasks()
    image, _, class_ids, boxes, masks = load_image_gt(coco_ds, config, 1)
    rng = np.random.default_rng(0)
    rois = generate_random_rois(image.shape, 300, class_ids, boxes, rng=rng)
    assert rois.shape == (300, 4) and rois.dtype == np.int32
    assert (rois[:, 2] > rois[:, 0]).all() and (rois[:, 3] > rois[:, 1]).all()
    assert rois.min() >= 0 and rois[:, 2].max() < 256 and rois[:, 3].max() < 256
    per_box = int(0.9 * 300 / len(boxes))
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        block = rois[i * per_box:(i + 1) * per_box]
        h, w = y2 - y1, x2 - x1
        assert block[:, 0].min() >= max(y1 - h, 0) and block[:, 2].max() < min(y2 + h, 256)
        assert block[:, 1].min() >= max(x1 - w, 0) and block[:, 3].max() < min(x2 + w, 256)

    t_rois, t_class, t_bbox, t_mask = build_detection_targets(rois, class_ids, boxes, masks,
                                                              config, rng=rng)
    T = config.TRAIN_ROIS_PER_IMAGE
    assert t_rois.shape == (T, 4) and t_class.shape == (T,) and t_class.dtype == np.int32
    assert t_bbox.shape == (T, 81, 4) and t_mask.shape == (T, 28, 28, 81)
    iou = compute_overlaps(t_rois, boxes[class_ids > 0])
    pos = np.flatnonzero(t_class > 0)
    assert 0 < len(set(map(tuple, t_rois[pos]))) <= int(T * config.ROI_POSITIVE_RATIO)
    std = np.asarray(config.BBOX_STD_DEV)
    for i in pos:
        g = int(np.argmax(iou[i]))
        assert iou[i, g] > 0.5 and t_class[i] == class_ids[class_ids > 0][g]
        decoded = apply_box_deltas(t_rois[i:i + 1], t_bbox[i:i + 1, t_class[i]] * std)
        np.testing.assert_allclose(decoded[0], boxes[class_ids > 0][g], atol=1e-3)
        assert np.count_nonzero(t_bbox[i].any(axis=1)) <= 1
        y1, x1, y2, x2 = t_rois[i]
        expected = skimage.transform.resize(
            masks[:, :, class_ids > 0][y1:y2, x1:x2, g].astype(float), (28, 28), order=1,
            mode="constant", anti_aliasing=False)
        np.testing.assert_allclose(t_mask[i, :, :, t_class[i]], expected, atol=1e-5)
    neg = np.flatnonzero(t_class == 0)
    assert len(neg) > 0 and not t_bbox[neg].any() and not t_mask[neg].any()
    assert (iou[neg].max(axis=1) < 0.5).all()


# ------------------------------------------------------------------------------------------------
# data_generator
def test_data_generator_structure(coco_ds, config):
    gen = data_generator(coco_ds, config, batch_size=2, seed=0)
    ids = []
    for _ in range(6):
        inputs, outputs = next(gen)
        assert len(inputs) == 7 and outputs == []
        assert inputs[0].shape == (2, 256, 256, 3) and inputs[0].dtype == np.float32
        assert inputs[5].dtype == np.int32 and inputs[6].shape == (2, 56, 56, 20)
        ids.extend(int(i) for i in inputs[1][:, 0])
    assert sorted(ids) == list(range(12))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        gen = data_generator(coco_ds, config, batch_size=2, random_rois=64,
                             detection_targets=True, augment=True, seed=0)
        inputs, outputs = next(gen)
    assert len(inputs) == 9 and len(outputs) == 3
    T = config.TRAIN_ROIS_PER_IMAGE
    assert inputs[7].shape == (2, 64, 4) and inputs[8].shape == (2, T, 4)
    assert outputs[0].shape == (2, T, 1) and outputs[1].shape == (2, T, 81, 4)
    assert outputs[2].shape == (2, T, 28, 28, 81)


# ------------------------------------------------------------------------------------------------
# Public names
def test_training_input_names_are_reexported_where_they_were():
    import importlib

    import mrcnn.data_pipeline as dp
    import mrcnn.model as modellib

    homes = {"load_image_gt": "ground_truth", "build_rpn_targets": "rpn_targets",
             "TrainingExampleLoader": "example_loader", "SkippedImages": "example_loader",
             "TRAINING_INPUT_NAMES": "example_loader", "build_dataset": "input_pipeline",
             "data_generator": "data_generator", "build_detection_targets": "data_generator",
             "generate_random_rois": "data_generator"}
    assert sorted(dp.__all__) == sorted(homes)
    for name, home in homes.items():
        assert getattr(dp, name) is getattr(importlib.import_module(f"mrcnn.{home}"), name), name
    for name in ("load_image_gt", "build_rpn_targets", "data_generator",
                 "build_detection_targets", "generate_random_rois"):
        assert getattr(modellib, name) is getattr(dp, name), name
