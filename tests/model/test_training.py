"""Training for real on COCO images (../shared/data/coco_tiny): the loss goes down when
overfitting two images, detect() then finds their objects, and a run stopped after epoch 1
resumes at epoch 2 in the same folder from find_last()."""

import math
import os
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import mrcnn.model as modellib
from mrcnn import boxes as np_boxes
from mrcnn import weights
from mrcnn.config import Config
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
sys.path.insert(0, str(ROOT / "samples" / "coco"))
import coco  # noqa: E402


class TinyConfig(Config):
    NAME = "tiny"
    NUM_CLASSES = 81
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 2
    IMAGE_MIN_DIM = 192
    IMAGE_MAX_DIM = 192
    RPN_ANCHOR_SCALES = (16, 32, 64, 128, 256)
    RPN_TRAIN_ANCHORS_PER_IMAGE = 128
    POST_NMS_ROIS_TRAINING = 300
    POST_NMS_ROIS_INFERENCE = 300
    TRAIN_ROIS_PER_IMAGE = 64
    MAX_GT_INSTANCES = 20
    STEPS_PER_EPOCH = 150
    VALIDATION_STEPS = 1
    DETECTION_MIN_CONFIDENCE = 0.5


class TinyInference(TinyConfig):
    IMAGES_PER_GPU = 1


def two_image_dataset():
    """Two real COCO val images with a few large, non-crowd objects each."""
    full = coco.CocoDataset()
    full.load_coco(str(DATA / "coco_tiny"), "val", "2017")
    full.prepare()
    chosen = []
    for image_id in full.image_ids:
        anns = [a for a in full.image_info[image_id]["annotations"] if not a["iscrowd"]]
        info = full.image_info[image_id]
        big = [a for a in anns if a["area"] > 0.05 * info["width"] * info["height"]]
        if 1 <= len(anns) <= 3 and len(big) == len(anns):
            chosen.append(image_id)
        if len(chosen) == 2:
            break
    dataset = coco.CocoDataset()
    for cls in full.class_info[1:]:
        dataset.add_class(cls["source"], cls["id"], cls["name"])
    for image_id in chosen:
        info = dict(full.image_info[image_id])
        dataset.add_image(info.pop("source"), info.pop("id"), info.pop("path"), **info)
    dataset.prepare()
    return dataset


@pytest.fixture(scope="module")
def overfit(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("logs")
    keras.utils.set_random_seed(0)
    dataset = two_image_dataset()
    model = modellib.MaskRCNN("training", TinyConfig(), str(model_dir))
    first = FirstStep()
    history = model.train(dataset, dataset, learning_rate=0.02, epochs=1, layers="all",
                          custom_callbacks=[first])
    history.first_step = first.logs
    return model, dataset, history, model_dir


class FirstStep(keras.callbacks.Callback):
    """Keeps the losses of the first training step."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            self.logs = {k: float(v) for k, v in logs.items()}


def test_overfitting_two_real_images_lowers_the_losses(overfit):
    model, _, history, _ = overfit
    # The progress-bar logs carry the five losses and their validation versions.
    for name in ("rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss",
                 "mrcnn_mask_loss"):
        assert name in history.history and "val_" + name in history.history
    # Losses on the two images after training, against the first step's.
    from mrcnn.data_pipeline import build_dataset
    batch = next(iter(build_dataset(overfit[1], TinyConfig(), shuffle=False)))
    after = model.keras_model.test_on_batch(batch, return_dict=True)
    assert after["loss"] < 0.3 * history.first_step["loss"]
    # The mask loss starts near 0.96 here and must at least drop by a third: on this repository's
    # development machine (AVX-512) it ends at 0.11-0.17, but one CI machine ended at 0.45 with the
    # same seed (the run is not bit-reproducible across CPUs), so the bound leaves that margin; the
    # next test checks that the trained model finds the objects.
    assert after["mrcnn_mask_loss"] < 0.7 * history.first_step["mrcnn_mask_loss"]
    assert after["mrcnn_mask_loss"] < math.log(2)  # below a head that predicts 0.5 everywhere


def test_train_and_test_steps_run_under_mrcnn_training_options(overfit):
    # mrcnn.function_options.training(): no Grappler memory optimizer without a GPU.
    keras_model = overfit[0].keras_model
    assert getattr(keras_model.train_function, "_mrcnn_training_options", False)
    assert getattr(keras_model.test_function, "_mrcnn_training_options", False)


def test_overfit_model_detects_the_training_objects(overfit):
    model, dataset, _, model_dir = overfit
    checkpoint = model.find_last()
    assert checkpoint.endswith("mask_rcnn_tiny_0001.h5")
    inference = modellib.MaskRCNN("inference", TinyInference(), str(model_dir))
    inference.load_weights(checkpoint, by_name=True)
    found = 0
    total = 0
    for image_id in dataset.image_ids:
        image = dataset.load_image(image_id)
        mask, class_ids = dataset.load_mask(image_id)
        keep = class_ids > 0
        gt_boxes = np_boxes.extract_bboxes(mask[..., keep])
        r = inference.detect([image])[0]
        for box, cls in zip(gt_boxes, class_ids[keep]):
            total += 1
            same = r["rois"][r["class_ids"] == cls]
            if len(same) and np_boxes.compute_overlaps(box[None], same).max() >= 0.5:
                found += 1
    assert found >= max(1, total // 2), (found, total)


def test_train_checks_the_learning_rate_and_config_values_first(overfit):
    model, dataset, _, _ = overfit
    epoch = model.epoch  # epochs=epoch: even without the checks, nothing would be trained
    for bad in (-0.01, 0, "0.01", True, float("nan")):
        with pytest.raises(ValueError, match=r"train\(learning_rate=\.\.\.\) = .*must be a "
                                             r"number > 0"):
            model.train(dataset, dataset, learning_rate=bad, epochs=epoch, layers="heads")
    with pytest.raises(ValueError, match="momentum = 5: must be a number in"):
        model.compile(learning_rate=0.01, momentum=5)
    model.compile(learning_rate=np.float32(0.01), momentum=0)  # NumPy and int numbers are fine
    model.config.LEARNING_MOMENTUM = 5  # changed after the model was built
    try:
        with pytest.raises(ValueError, match="LEARNING_MOMENTUM = 5"):
            model.train(dataset, dataset, learning_rate=0.01, epochs=epoch, layers="heads")
    finally:
        model.config.LEARNING_MOMENTUM = TinyConfig.LEARNING_MOMENTUM
    assert model.epoch == epoch


def test_stopped_training_resumes_at_the_next_epoch_in_the_same_folder(tmp_path):
    class Short(TinyConfig):
        STEPS_PER_EPOCH = 1
    dataset = two_image_dataset()
    model = modellib.MaskRCNN("training", Short(), str(tmp_path))
    model.train(dataset, dataset, learning_rate=0.001, epochs=1, layers="heads")
    first = model.find_last()
    assert os.path.basename(first) == "mask_rcnn_tiny_0001.h5"
    # The checkpoint is in the Keras 2 layout of mask_rcnn_coco.h5.
    names = weights.read_layer_names(first)
    assert "rpn_model" in names and "mrcnn_mask" in names and "proposal_targets" in names

    restarted = modellib.MaskRCNN("training", Short(), str(tmp_path))
    restarted.load_weights(restarted.find_last(), by_name=True)
    assert restarted.epoch == 1
    assert restarted.log_dir == os.path.dirname(first)
    restarted.train(dataset, dataset, learning_rate=0.001, epochs=2, layers="all")
    assert restarted.epoch == 2
    files = sorted(os.listdir(os.path.dirname(first)))
    assert "mask_rcnn_tiny_0002.h5" in files
    assert restarted.find_last() == os.path.join(os.path.dirname(first), "mask_rcnn_tiny_0002.h5")
    assert not [f for f in files if f.endswith(".tmp")]
    # TensorBoard logs go to the same folder.
    assert list(Path(os.path.dirname(first)).rglob("events.out.tfevents.*"))


def test_nan_loss_stops_training_with_the_loss_name(tmp_path):
    class Exploding(TinyConfig):
        STEPS_PER_EPOCH = 3
        GRADIENT_CLIP_NORM = 1e30
    dataset = two_image_dataset()
    model = modellib.MaskRCNN("training", Exploding(), str(tmp_path))
    with pytest.raises(FloatingPointError, match=r"loss became (nan|inf).*step \d"):
        model.train(dataset, dataset, learning_rate=1e12, epochs=1, layers="all")
