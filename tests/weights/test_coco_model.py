"""The full COCO ResNet101 model against the real mask_rcnn_coco.h5 layout: every weight-holding
layer is in the released file's layer list with the shapes Matterport's graph gives; a file in
that layout (the release's 406 layer names, generated weights) loads by name and detect() runs
end to end on a real photo."""

import sys

import numpy as np
import pytest
import skimage.io

import mrcnn.model as modellib
from mrcnn import weights
from tests.coco_layout import NC, REAL, expected_shapes, write_release_like_file
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
sys.path.insert(0, str(ROOT / "samples" / "coco"))
import coco  # noqa: E402


class InferenceConfig(coco.CocoConfig):
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return modellib.MaskRCNN("inference", InferenceConfig(),
                             str(tmp_path_factory.mktemp("logs")))


def test_every_weighted_layer_is_in_the_release_file_with_matterport_shapes(model):
    real_names = set(REAL["layer_names"])
    assert len(REAL["layer_names"]) == 406
    weighted = [layer for layer in model.keras_model.layers if layer.weights]
    assert len(weighted) == 233
    for layer in weighted:
        assert layer.name in real_names, layer.name
        shapes = [tuple(w.shape) for w in layer.weights]
        assert shapes == expected_shapes(layer.name), layer.name


def test_release_layout_file_loads_by_name_and_detects(model, tmp_path):
    path = tmp_path / "mask_rcnn_coco.h5"
    by_layer = write_release_like_file(path)
    assert weights.read_layer_names(str(path)) == REAL["layer_names"]

    report = model.load_weights(str(path), by_name=True)
    assert len(report.loaded) == 233 and not report.kept_initial
    got = model.keras_model.get_layer("mrcnn_bbox_fc").get_weights()[0]
    np.testing.assert_array_equal(got, by_layer["mrcnn_bbox_fc"][0])
    rpn = model.keras_model.get_layer("rpn_model").get_weights()
    np.testing.assert_array_equal(rpn[4], by_layer["rpn_model"][4])

    image = skimage.io.imread(DATA / "matterport_demo_images" / "images" /
                              "12283150_12d37e6389_z.jpg")
    r = model.detect([image], verbose=1)[0]
    n = len(r["class_ids"])
    assert r["masks"].shape == image.shape[:2] + (n,) and r["masks"].dtype == bool
    assert r["rois"].dtype == np.int32 and r["scores"].dtype == np.float32
    assert np.all((r["class_ids"] >= 1) & (r["class_ids"] < NC))


def test_fine_tuning_on_another_class_count_needs_the_documented_exclude(model, tmp_path):
    path = tmp_path / "coco.h5"
    model.save_weights(str(path))

    class Two(InferenceConfig):
        NUM_CLASSES = 2
    small = modellib.MaskRCNN("inference", Two(), str(tmp_path))
    with pytest.raises(ValueError, match="mrcnn_class_logits") as e:
        small.load_weights(str(path), by_name=True)
    assert "exclude=" in str(e.value)
    report = small.load_weights(str(path), by_name=True, exclude=[
        "mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask"])
    assert set(report.kept_initial) == {"mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_mask"}


def test_truncated_release_download_is_rejected_with_sizes(model):
    with pytest.raises(OSError) as e:
        model.load_weights(str(DATA / "weights" / "mask_rcnn_coco.first4MB.h5"), by_name=True)
    message = str(e.value)
    assert "truncated" in message.lower()
    assert str(REAL["file_size_bytes"]) in message.replace(",", "")
