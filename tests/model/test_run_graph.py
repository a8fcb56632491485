"""MaskRCNN.run_graph with stage and layer names (the inspect_model notebook's way to see the
pipeline step by step) on a real photo: the proposal stages agree with the ProposalLayer."""

from pathlib import Path

import keras
import numpy as np
import pytest

import mrcnn.model as modellib
from mrcnn.config import Config
from mrcnn.image import read_image

from tests.paths import DATA_DIR

DATA = DATA_DIR


class Small(Config):
    NAME = "run_graph"
    NUM_CLASSES = 4
    BACKBONE = "resnet50"
    GPU_COUNT = IMAGES_PER_GPU = 1
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128
    POST_NMS_ROIS_INFERENCE = 100
    PRE_NMS_LIMIT = 500
    DETECTION_MIN_CONFIDENCE = 0.0


def test_stages_and_layers():
    keras.utils.set_random_seed(0)
    model = modellib.MaskRCNN("inference", Small(), model_dir="unused")
    image = read_image(sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))[0])
    r = model.run_graph([image], [
        ("pre_nms_anchors", "pre_nms_anchors"), ("refined_anchors", "refined_anchors"),
        ("refined_anchors_clipped", "refined_anchors_clipped"),
        ("post_nms_anchor_ix", "post_nms_anchor_ix"), ("proposals", "proposals"),
        ("rois", model.keras_model.get_layer("ROI").output), ("classifier", "classifier"),
        ("detections", "detections"), ("masks", "masks"), ("res4f_out", "res4f_out"),
    ])
    assert r["pre_nms_anchors"].shape == (1, 500, 4)
    assert r["refined_anchors"].shape == r["refined_anchors_clipped"].shape == (1, 500, 4)
    np.testing.assert_array_equal(r["refined_anchors_clipped"],
                                  np.clip(r["refined_anchors"], 0.0, 1.0))
    ix = r["post_nms_anchor_ix"][0]
    ix = ix[ix >= 0]
    assert 0 < len(ix) <= 100 and len(set(ix.tolist())) == len(ix)
    np.testing.assert_array_equal(r["proposals"][0, :len(ix)], r["refined_anchors_clipped"][0, ix])
    np.testing.assert_allclose(r["proposals"], r["rois"], atol=1e-6)
    assert r["classifier"].shape == (1, 100, 4)
    assert r["detections"].shape == (1, 100, 6)
    assert r["masks"].shape == (1, 100, 28, 28, 4)
    assert r["res4f_out"].shape[-1] == 1024
    with pytest.raises(ValueError, match="neither a layer of the model nor a stage"):
        model.run_graph([image], [("x", "no_such_layer")])
