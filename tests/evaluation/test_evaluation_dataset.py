"""COCO-style evaluation of any Dataset (mrcnn.evaluation) on real nucleus images, and the callback.

The dataset is 3 real DSB2018 images (one PNG per nucleus) loaded through a Dataset subclass; the
model is a stand-in whose detect() returns the ground truth, or a perturbed version of it.
"""

import glob
import hashlib

import keras
import numpy as np
import pytest
import skimage.io

from mrcnn.boxes import extract_bboxes
from mrcnn.dataset import Dataset
from mrcnn.evaluation import (STAT_NAMES, COCOEvalCallback, dataset_to_coco, evaluate_dataset)
from tests.paths import DATA_DIR, REPO_ROOT

# pycocotools 2.0.11 + NumPy 2 warn inside mask.decode; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

ROOT = REPO_ROOT
DATA = DATA_DIR
NUCLEUS = DATA / "dsb2018_nucleus_subset" / "stage1_train"
IMAGE_IDS = ["8e507d58f4c27cd2a82bee79fe27b069befd62a46fdaed20970a95a2ba819c7b",
             "8ecdb93582b2d5270457b36651b62776256ade3aaa2d7432ae65c14f07432d49",
             "e1bcb583985325d0ef5f3ef52957d0371c96d4af767b13e48102bca9d5351a9b"]
AP = STAT_NAMES.index("AP")


class NucleusDataset(Dataset):
    def load_nucleus(self, image_ids, crowd_first=False):
        self.crowd_first = crowd_first
        self.add_class("nucleus", 1, "nucleus")
        for image_id in image_ids:
            self.add_image("nucleus", image_id=image_id,
                           path=str(NUCLEUS / image_id / "images" / f"{image_id}.png"))

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        files = sorted(glob.glob(str(NUCLEUS / info["id"] / "masks" / "*.png")))
        masks = np.stack([skimage.io.imread(f) > 0 for f in files], axis=-1)
        class_ids = np.ones(masks.shape[-1], np.int32)
        if self.crowd_first:
            class_ids[0] = -1
        return masks, class_ids


@pytest.fixture(scope="module")
def dataset():
    ds = NucleusDataset()
    ds.load_nucleus(IMAGE_IDS)
    ds.prepare()
    return ds


def _key(image):
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


class FakeModel:
    """detect() returns the ground truth of each image, optionally perturbed."""

    def __init__(self, dataset, perturb=False, empty_image=None, batch_size=2):
        self.dataset = dataset
        self.perturb = perturb
        self.empty_image = empty_image
        self.config = type("FakeConfig", (), {"BATCH_SIZE": batch_size})()
        self.ids = {_key(dataset.load_image(i)): i for i in dataset.image_ids}
        self.calls = []

    def ground_truth(self, image_id):
        masks, class_ids = self.dataset.load_mask(image_id)
        keep = class_ids > 0
        masks, class_ids = masks[..., keep], class_ids[keep]
        scores = np.linspace(0.99, 0.9, len(class_ids)).astype(np.float32)
        if self.perturb:
            # Miss the first nucleus, shift the second by 4 pixels, add a false positive.
            masks = masks[..., 1:].copy()
            class_ids, scores = class_ids[1:], scores[1:]
            masks[..., 0] = np.roll(masks[..., 0], 4, axis=(0, 1))
            fp = np.zeros(masks.shape[:2] + (1,), bool)
            fp[:10, :10] = True
            masks = np.concatenate([masks, fp], axis=-1)
            class_ids = np.append(class_ids, 1).astype(np.int32)
            scores = np.append(scores, 0.95).astype(np.float32)
        return masks, class_ids, scores

    def detect(self, images, verbose=0):
        self.calls.append(len(images))
        out = []
        for image in images:
            image_id = self.ids[_key(image)]
            if image_id == self.empty_image:
                h, w = image.shape[:2]
                out.append({"rois": np.zeros([0, 4], np.int32),
                            "class_ids": np.zeros([0], np.int32),
                            "scores": np.zeros([0], np.float32),
                            "masks": np.zeros([h, w, 0], bool)})
                continue
            masks, class_ids, scores = self.ground_truth(image_id)
            out.append({"rois": extract_bboxes(masks), "class_ids": class_ids,
                        "scores": scores, "masks": masks})
        return out


def test_dataset_to_coco_builds_the_ground_truth(dataset):
    coco = dataset_to_coco(dataset)
    assert coco.getImgIds() == [0, 1, 2]
    assert coco.loadCats(coco.getCatIds()) == [{"id": 1, "name": "nucleus",
                                                "supercategory": "nucleus"}]
    total = 0
    for image_id in dataset.image_ids:
        masks, _ = dataset.load_mask(image_id)
        img = coco.imgs[int(image_id)]
        assert (img["height"], img["width"]) == masks.shape[:2]
        assert img["source_id"] == IMAGE_IDS[image_id]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[int(image_id)]))
        assert len(anns) == masks.shape[-1]
        boxes = extract_bboxes(masks)
        for k, ann in enumerate(anns):
            np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), masks[..., k])
            assert ann["area"] == masks[..., k].sum()
            y1, x1, y2, x2 = boxes[k]
            assert ann["bbox"] == [x1, y1, x2 - x1, y2 - y1]
            assert ann["iscrowd"] == 0 and ann["category_id"] == 1
        total += len(anns)
    assert total == 18


def test_crowd_instances_become_iscrowd(dataset):
    crowded = NucleusDataset()
    crowded.load_nucleus(IMAGE_IDS[:1], crowd_first=True)
    crowded.prepare()
    coco = dataset_to_coco(crowded)
    anns = coco.loadAnns(coco.getAnnIds())
    assert [a["iscrowd"] for a in anns] == [1] + [0] * (len(anns) - 1)
    assert {a["category_id"] for a in anns} == {1}


def test_ground_truth_detections_score_ap_1(dataset, capsys):
    model = FakeModel(dataset)
    out = evaluate_dataset(model, dataset)
    assert model.calls == [2, 1]  # config.BATCH_SIZE images per detect() call
    assert set(out) == {"bbox", "segm", "time_per_image"}
    for eval_type in ("bbox", "segm"):
        assert out[eval_type].shape == (12,)
        assert out[eval_type][AP] == 1.0
        assert out[eval_type][STAT_NAMES.index("AR100")] == 1.0
    assert out["time_per_image"] >= 0
    printed = capsys.readouterr()
    assert printed.out.count("Average Precision") == 12


def test_perturbed_detections_score_less(dataset):
    out = evaluate_dataset(FakeModel(dataset, perturb=True), dataset, batch_size=3,
                           verbose=False)
    for eval_type in ("bbox", "segm"):
        assert 0.3 < out[eval_type][AP] < 1.0
        assert out[eval_type][STAT_NAMES.index("AR100")] < 1.0


def test_images_without_detections_and_limits(dataset):
    out = evaluate_dataset(FakeModel(dataset, empty_image=1), dataset, verbose=False)
    assert 0 < out["segm"][AP] < 1.0
    model = FakeModel(dataset, empty_image=1)
    # Only image 1, with no detection at all: AP 0, and no crash on an empty result list.
    out = evaluate_dataset(model, dataset, image_ids=[1], verbose=False)
    assert out["bbox"][AP] == 0 and out["segm"][AP] == 0
    model = FakeModel(dataset)
    out = evaluate_dataset(model, dataset, limit=1, batch_size=1, verbose=False)
    assert model.calls == [1] and out["segm"][AP] == 1.0


def test_shards_detect_each_image_once_and_merge_to_the_full_evaluation(dataset):
    from mrcnn.evaluation import evaluate_coco_results
    full = evaluate_dataset(FakeModel(dataset, perturb=True), dataset, verbose=False)
    shards, detected = [], []
    for index in range(2):
        model = FakeModel(dataset, perturb=True, batch_size=1)
        shards.append(evaluate_dataset(model, dataset, verbose=False, shard=(index, 2)))
        detected.append(len(model.calls))
    assert [s["image_ids"] for s in shards] == [[0, 2], [1]] and detected == [2, 1]
    results = [r for s in shards for r in s["results"]]
    gt = dataset_to_coco(dataset)
    for eval_type in ("bbox", "segm"):
        merged = evaluate_coco_results(gt, results, eval_type, verbose=False)
        np.testing.assert_array_equal(merged, full[eval_type])
    with pytest.raises(ValueError, match=r"shard must be \(I, N\) with 0 <= I < N"):
        evaluate_dataset(FakeModel(dataset), dataset, verbose=False, shard=(2, 2))
    with pytest.raises(ValueError, match="shard 3/4 of 3 images is empty"):
        evaluate_dataset(FakeModel(dataset), dataset, verbose=False, shard=(3, 4))


def test_bad_input_raises(dataset):
    unprepared = NucleusDataset()
    unprepared.load_nucleus(IMAGE_IDS[:1])
    with pytest.raises(ValueError, match="prepare"):
        dataset_to_coco(unprepared)

    class WrongCount(FakeModel):
        def detect(self, images, verbose=0):
            return super().detect(images)[:-1]
    with pytest.raises(ValueError, match="results for"):
        evaluate_dataset(WrongCount(dataset), dataset, verbose=False)
    with pytest.raises(ValueError, match="limit"):
        evaluate_dataset(FakeModel(dataset), dataset, limit=-1, verbose=False)

    class Background(NucleusDataset):
        def load_mask(self, image_id):
            masks, class_ids = super().load_mask(image_id)
            return masks, np.zeros_like(class_ids)
    bg = Background()
    bg.load_nucleus(IMAGE_IDS[:1])
    bg.prepare()
    with pytest.raises(ValueError, match="background"):
        dataset_to_coco(bg)


# ----------------------------------------------------------------------------- callback
MARKER = 0.25


def tiny_maskrcnn_like_model(extra_layer=False, units=3):
    """A Keras model with a nested 'rpn_model' and a 'mrcnn_*' head, like MaskRCNN's graph."""
    inputs = keras.Input((4,), name="input_image")
    rpn_in = keras.Input((4,))
    rpn_out = keras.layers.Dense(units, name="rpn_conv_shared")(rpn_in)
    rpn = keras.Model(rpn_in, rpn_out, name="rpn_model")
    x = rpn(inputs)
    x = keras.layers.Activation("relu", name="relu")(x)  # no weights
    outputs = keras.layers.Dense(1, name="mrcnn_class_logits")(x)
    if extra_layer:
        outputs = keras.layers.Dense(1, name="only_in_inference")(outputs)
    return keras.Model(inputs, outputs)


class FakeInferenceModel(FakeModel):
    """detect() returns the ground truth only when it holds the trained (marker) weights."""

    def __init__(self, dataset, **kwargs):
        super().__init__(dataset, **kwargs)
        self.keras_model = tiny_maskrcnn_like_model()

    def detect(self, images, verbose=0):
        weights = self.keras_model.get_weights()
        trained = all(np.allclose(w, MARKER) for w in weights)
        results = super().detect(images)
        if not trained:  # untrained weights: nothing found
            for r, image in zip(results, images):
                r.update(rois=np.zeros([0, 4], np.int32), class_ids=np.zeros([0], np.int32),
                         scores=np.zeros([0], np.float32),
                         masks=np.zeros(image.shape[:2] + (0,), bool))
        return results


def _trained_model():
    model = tiny_maskrcnn_like_model()
    model.set_weights([np.full(w.shape, MARKER, np.float32) for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    return model


def test_callback_logs_ap_during_fit(dataset, tmp_path):
    import tensorflow as tf

    inference = FakeInferenceModel(dataset)
    assert not np.allclose(inference.keras_model.get_layer("rpn_model").get_weights()[0], MARKER)
    built = []

    def factory():
        built.append(1)
        return inference

    callback = COCOEvalCallback(factory, dataset, every=2, log_dir=str(tmp_path / "tb"),
                                verbose=0)
    model = _trained_model()
    x = np.ones([4, 4], np.float32)
    history = model.fit(x, np.zeros([4, 1], np.float32), epochs=4, batch_size=2, verbose=0,
                        callbacks=[callback])

    assert built == [1]  # the inference model is built once, at the first evaluation
    assert [epoch for epoch, _ in callback.results] == [1, 3]  # after epochs 2 and 4
    for key in ("val_bbox_AP", "val_bbox_AP50", "val_bbox_AP75", "val_segm_AP",
                "val_segm_AP50", "val_segm_AP75"):
        assert history.history[key] == [1.0, 1.0], key
    # Weights were copied into the inference model, nested rpn_model included.
    for layer_name in ("rpn_model", "mrcnn_class_logits"):
        for w in inference.keras_model.get_layer(layer_name).get_weights():
            np.testing.assert_allclose(w, MARKER)

    events = glob.glob(str(tmp_path / "tb" / "events.out.tfevents.*"))
    assert events
    logged = {}
    for path in events:
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                logged.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor))))
    assert logged["val_segm_AP"] == [(1, 1.0), (3, 1.0)]


def test_callback_writes_into_logs_and_checks_models(dataset):
    callback = COCOEvalCallback(FakeInferenceModel(dataset), dataset, limit=2, prefix="coco_",
                                stats=("AP", "APs", "AR100"), verbose=0)
    callback.set_model(_trained_model())
    logs = {"loss": 0.5}
    callback.on_epoch_end(0, logs)
    assert set(logs) == {"loss", "coco_bbox_AP", "coco_bbox_APs", "coco_bbox_AR100",
                         "coco_segm_AP", "coco_segm_APs", "coco_segm_AR100"}
    assert logs["coco_segm_AP"] == 1.0 and logs["coco_bbox_AR100"] == 1.0

    # Wrong inference models give clear errors.
    extra = FakeInferenceModel(dataset)
    extra.keras_model = tiny_maskrcnn_like_model(extra_layer=True)
    callback = COCOEvalCallback(extra, dataset, verbose=0)
    callback.set_model(_trained_model())
    with pytest.raises(ValueError, match="only_in_inference"):
        callback.on_epoch_end(0, {})
    other = FakeInferenceModel(dataset)
    other.keras_model = tiny_maskrcnn_like_model(units=5)
    callback = COCOEvalCallback(other, dataset, verbose=0)
    callback.set_model(_trained_model())
    with pytest.raises(ValueError, match="same configuration"):
        callback.on_epoch_end(0, {})

    with pytest.raises(ValueError, match="every"):
        COCOEvalCallback(FakeInferenceModel(dataset), dataset, every=0)
    with pytest.raises(ValueError, match="unknown stats"):
        COCOEvalCallback(FakeInferenceModel(dataset), dataset, stats=("mAP",))
