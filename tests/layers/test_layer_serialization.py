"""One layer convention (issue 8, item 3): every layer of ``mrcnn.layers`` takes explicit plain
constructor arguments, stores them in ``get_config``, is registered under the package "mrcnn",
and round-trips through ``get_config``/``from_config`` with the same outputs; the inference
model saves and loads as a ``.keras`` file and ``keras.models.clone_model`` copies it, with
identical outputs on a real photo. Matterport's ``config=`` construction still works and only
fills the explicit arguments."""

import json

import keras
import numpy as np
import pytest
import skimage.io
import tensorflow as tf

import mrcnn.model as modellib
from mrcnn import graph
from mrcnn.anchors import compute_backbone_shapes, get_anchors
from mrcnn.config import Config
from mrcnn.layers.anchor_layer import AnchorsLayer
from mrcnn.layers.batch_norm import BatchNorm
from mrcnn.layers.detection_layer import DetectionLayer
from mrcnn.layers.detection_target_layer import DetectionTargetLayer
from mrcnn.layers.loss_layer import LOSS_NAMES, LossLayer
from mrcnn.layers.proposal_layer import ProposalLayer
from mrcnn.layers.roi_align import PyramidROIAlign
from mrcnn.layers.roi_packing import PackRoIs, UnpackRoIs
from tests.conftest import SmallInferenceConfig
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))
FPN = ["fpn_p2", "fpn_p3", "fpn_p4", "fpn_p5"]
LAYER_CLASSES = [AnchorsLayer, BatchNorm, DetectionLayer, DetectionTargetLayer, LossLayer,
                 PackRoIs, ProposalLayer, PyramidROIAlign, UnpackRoIs]


class SmallConfig(SmallInferenceConfig):
    NAME = "layers"
    IMAGES_PER_GPU = 1
    POST_NMS_ROIS_TRAINING = 64
    TRAIN_ROIS_PER_IMAGE = 16
    MAX_GT_INSTANCES = 5


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The inference model on a real photo: its inputs, outputs and FPN maps (NumPy)."""
    keras.utils.set_random_seed(3)
    config = SmallConfig()
    model = modellib.MaskRCNN("inference", config, str(tmp_path_factory.mktemp("logs")))
    km = model.keras_model
    image = skimage.io.imread(PHOTOS[0])
    images, metas, _ = model.mold_inputs([image])
    anchors = model.get_anchors(images[0].shape)[np.newaxis]
    inputs = [images.astype(np.float32), metas.astype(np.float32), anchors]
    probe = keras.Model(km.inputs, list(km.outputs) + [km.get_layer(n).output for n in FPN])
    values = [np.asarray(v) for v in probe(inputs, training=False)]
    names = ["detections", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask", "rois", "rpn_class",
             "rpn_bbox"]
    out = dict(zip(names, values[:7]))
    assert np.count_nonzero(out["detections"][0, :, 4]) > 0  # real detections to compare
    return dict(config=config, model=km, inputs=inputs, outputs=values[:7], fpn=values[7:],
                **out)


def outputs_of(model, inputs):
    return [np.asarray(v) for v in model(inputs, training=False)]


def pseudo_ground_truth(run):
    """The first three proposals of positive area as GT (classes 1, 2, 3; all-true mini masks),
    so that the sampled RoIs include positives (random weights also propose zero-height boxes,
    which the targets drop as degenerate GT)."""
    mh, mw = run["config"].MINI_MASK_SHAPE
    rois = run["rois"][0]
    area = (rois[:, 2] - rois[:, 0]) * (rois[:, 3] - rois[:, 1])
    first = np.flatnonzero(area > 0)[:3]
    assert len(first) == 3
    return (np.array([[1, 2, 3]], np.int32), rois[np.newaxis, first],
            np.ones((1, mh, mw, 3), bool))


def layer_cases(run):
    """name -> (layer built the way graph.py builds it, its inputs from the real run)."""
    config = run["config"]
    image, meta, anchors = run["inputs"]
    h, w = image.shape[1:3]
    class_ids, gt_boxes, gt_masks = pseudo_ground_truth(run)
    valid = run["detections"][..., 4] > 0
    pooled = PyramidROIAlign([7, 7])([run["rois"], meta] + run["fpn"])
    target_class_ids = np.zeros((1, 16), np.int32)
    target_class_ids[0, :3] = class_ids[0]
    return {
        "ProposalLayer": (ProposalLayer(
            config.POST_NMS_ROIS_INFERENCE, config.RPN_NMS_THRESHOLD,
            pre_nms_limit=config.PRE_NMS_LIMIT, rpn_bbox_std_dev=config.RPN_BBOX_STD_DEV,
            name="ROI"), [run["rpn_class"], run["rpn_bbox"], anchors]),
        "DetectionLayer": (DetectionLayer(
            bbox_std_dev=config.BBOX_STD_DEV, min_confidence=config.DETECTION_MIN_CONFIDENCE,
            max_instances=config.DETECTION_MAX_INSTANCES,
            nms_threshold=config.DETECTION_NMS_THRESHOLD, name="mrcnn_detection"),
            [run["rois"], run["mrcnn_class"], run["mrcnn_bbox"], meta]),
        "PyramidROIAlign": (PyramidROIAlign([14, 14], name="roi_align_mask"),
                            [run["rois"], meta] + run["fpn"]),
        "DetectionTargetLayer": (DetectionTargetLayer(
            train_rois_per_image=16, roi_positive_ratio=0.33, bbox_std_dev=config.BBOX_STD_DEV,
            use_mini_mask=True, mask_shape=config.MASK_SHAPE, name="proposal_targets"),
            [run["rois"], class_ids, gt_boxes, gt_masks]),
        "AnchorsLayer": (AnchorsLayer(
            scales=config.RPN_ANCHOR_SCALES, ratios=config.RPN_ANCHOR_RATIOS,
            feature_shapes=compute_backbone_shapes(config, (h, w)),
            feature_strides=config.BACKBONE_STRIDES, anchor_stride=config.RPN_ANCHOR_STRIDE,
            image_shape=(h, w), name="anchors"), image),
        "LossLayer": (LossLayer(name="mrcnn_class_loss"),
                      [target_class_ids, np.log(run["mrcnn_class"][:, :16] + 1e-6),
                       np.ones((1, config.NUM_CLASSES), np.float32)]),
        "PackRoIs": (PackRoIs(), [run["mrcnn_mask"], valid]),
        "UnpackRoIs": (UnpackRoIs(), [run["mrcnn_mask"][valid], valid]),
        "BatchNorm": (BatchNorm(name="mrcnn_mask_bn1", train_bn=True), pooled),
    }


@pytest.mark.parametrize("name", [cls.__name__ for cls in LAYER_CLASSES])
def test_every_layer_round_trips_through_get_config(run, name):
    layer, inputs = layer_cases(run)[name]
    assert keras.saving.get_registered_name(type(layer)) == f"mrcnn>{name}"
    config = layer.get_config()
    assert "config" not in config  # explicit values only, no Config or dict of Config keys
    restored = type(layer).from_config(json.loads(json.dumps(config)))
    assert restored.get_config() == config
    again = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(layer))))
    assert type(again) is type(layer) and again.get_config() == config

    tf.random.set_seed(11)  # DetectionTargetLayer samples at random
    expected = layer(inputs)
    if layer.weights:
        restored(inputs)
        restored.set_weights(layer.get_weights())
    tf.random.set_seed(11)
    got = restored(inputs)
    expected = expected if isinstance(expected, list) else [expected]
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert np.array_equal(np.asarray(e), np.asarray(g))
    if name == "AnchorsLayer":
        assert np.array_equal(np.asarray(got[0])[0], get_anchors(run["config"], (128, 128)))
    if name == "DetectionTargetLayer":
        assert np.count_nonzero(np.asarray(got[1])) > 0  # some positives were sampled


def test_inference_model_saves_and_loads_as_keras_file(run, tmp_path):
    model = run["model"]
    path = tmp_path / "mask_rcnn.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # safe_mode: no Lambda layers to refuse
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in loaded.layers)
    assert loaded.get_layer("ROI").get_config() == model.get_layer("ROI").get_config()
    for a, b in zip(loaded.weights, model.weights):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    for expected, got in zip(run["outputs"], outputs_of(loaded, run["inputs"]), strict=True):
        assert np.array_equal(expected, got)


def test_inference_model_clones(run):
    model = run["model"]
    clone = keras.models.clone_model(model)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert not set(map(id, clone.layers)) & set(map(id, model.layers))
    assert (clone.get_layer("mrcnn_detection").get_config()
            == model.get_layer("mrcnn_detection").get_config())
    clone.set_weights(model.get_weights())
    for expected, got in zip(run["outputs"], outputs_of(clone, run["inputs"]), strict=True):
        assert np.array_equal(expected, got)


def test_training_model_layers_are_registered_and_round_trip():
    config = SmallConfig()
    km = graph.build_training_model(config)
    ours = [layer for layer in km.layers if type(layer).__module__.startswith("mrcnn.layers")]
    found = {type(layer) for layer in ours}
    assert {AnchorsLayer, BatchNorm, DetectionTargetLayer, LossLayer, ProposalLayer,
            PyramidROIAlign} <= found
    for layer in ours:
        assert keras.saving.get_registered_name(type(layer)).startswith("mrcnn>")
        config_ = layer.get_config()
        assert type(layer).from_config(json.loads(json.dumps(config_))).get_config() == config_
    assert [km.get_layer(n).name for n in LOSS_NAMES] == list(LOSS_NAMES)
    assert km.get_layer("proposal_targets").get_config()["train_rois_per_image"] == 16
    anchors = km.get_layer("anchors")
    assert np.array_equal(anchors.anchors, get_anchors(config, (128, 128)))
    assert len(json.dumps(anchors.get_config())) < 1000  # settings, not the anchors array


def test_matterport_config_argument_fills_the_explicit_arguments():
    config = SmallConfig()
    explicit = ProposalLayer(100, 0.7, pre_nms_limit=config.PRE_NMS_LIMIT,
                             rpn_bbox_std_dev=config.RPN_BBOX_STD_DEV, name="ROI")
    assert ProposalLayer(100, 0.7, config=config, name="ROI").get_config() == explicit.get_config()
    assert ProposalLayer(100, 0.7, config, name="ROI").get_config() == explicit.get_config()

    detection = DetectionLayer(config, name="mrcnn_detection").get_config()
    assert detection == DetectionLayer(
        bbox_std_dev=[0.1, 0.1, 0.2, 0.2], min_confidence=0.0, max_instances=20,
        nms_threshold=0.3, name="mrcnn_detection").get_config()
    # An explicit argument wins over the config.
    assert DetectionLayer(config, max_instances=7).get_config()["max_instances"] == 7

    targets = DetectionTargetLayer(config, name="proposal_targets")
    assert {k: targets.get_config()[k] for k in ("train_rois_per_image", "roi_positive_ratio",
                                                  "bbox_std_dev", "use_mini_mask", "mask_shape")} \
        == {"train_rois_per_image": 16, "roi_positive_ratio": 0.33,
            "bbox_std_dev": [0.1, 0.1, 0.2, 0.2], "use_mini_mask": True, "mask_shape": [28, 28]}
    assert targets.config.TRAIN_ROIS_PER_IMAGE == 16 and targets.config.MASK_SHAPE == [28, 28]
    # The layout get_config stored before (a dict of Config keys) still loads.
    old = {"name": "proposal_targets", "config": {
        "TRAIN_ROIS_PER_IMAGE": 16, "ROI_POSITIVE_RATIO": 0.33,
        "BBOX_STD_DEV": [0.1, 0.1, 0.2, 0.2], "USE_MINI_MASK": True, "MASK_SHAPE": [28, 28]}}
    assert DetectionTargetLayer.from_config(old).get_config() == targets.get_config()
    for layer in (explicit, targets):
        assert not any(isinstance(v, Config) for v in vars(layer).values())


def test_missing_or_bad_arguments_raise_naming_the_fix():
    with pytest.raises(ValueError, match=r"pre_nms_limit=.*PRE_NMS_LIMIT.*config="):
        ProposalLayer(100, 0.7)
    with pytest.raises(ValueError, match=r"bbox_std_dev=.*BBOX_STD_DEV"):
        DetectionLayer()
    with pytest.raises(ValueError, match=r"train_rois_per_image=.*TRAIN_ROIS_PER_IMAGE"):
        DetectionTargetLayer()

    class NoPreNms:
        RPN_BBOX_STD_DEV = [0.1, 0.1, 0.2, 0.2]
    with pytest.raises(ValueError, match=r"has no PRE_NMS_LIMIT"):
        ProposalLayer(100, 0.7, config=NoPreNms())
    with pytest.raises(ValueError, match=r"rpn_bbox_std_dev must have 4 values"):
        ProposalLayer(100, 0.7, pre_nms_limit=10, rpn_bbox_std_dev=[0.1, 0.2])
    with pytest.raises(ValueError, match=r"mask_shape must have 2 values"):
        DetectionTargetLayer(SmallConfig(), mask_shape=[28, 28, 1])
    with pytest.raises(ValueError, match=r"feature_shapes must be \[5, 2\]"):
        AnchorsLayer(scales=(8, 16, 32, 64, 128), ratios=(0.5, 1, 2),
                     feature_shapes=[[32, 32]] * 4, feature_strides=(4, 8, 16, 32, 64),
                     anchor_stride=1, image_shape=(128, 128))
    with pytest.raises(ValueError, match="LossLayer name must be one of"):
        LossLayer(name="rpn_loss")
