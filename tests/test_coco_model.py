"""The full COCO ResNet101 model against the real mask_rcnn_coco.h5 layout: every weight-holding
layer is in the released file's layer list with the shapes Matterport's graph gives; a file in
that layout (the release's 406 layer names, generated weights) loads by name and detect() runs
end to end on a real photo."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.io

import mrcnn.model as modellib
from mrcnn import weights

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "samples" / "coco"))
import coco  # noqa: E402

REAL = json.loads((DATA / "weights" / "mask_rcnn_coco.layers.json").read_text())
NC = 81


class InferenceConfig(coco.CocoConfig):
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1


def expected_shapes(name):
    """Weight shapes of a layer of Matterport's COCO graph (reference section 2)."""
    def conv(k, cin, cout):
        return [(k, k, cin, cout), (cout,)]

    def bn(c):
        return [(c,)] * 4

    if name == "conv1":
        return conv(7, 3, 64)
    if name == "bn_conv1":
        return bn(64)
    if name == "rpn_model":
        return conv(3, 256, 512) + conv(1, 512, 6) + conv(1, 512, 12)
    if name.startswith(("res", "bn")) and "_branch" in name:
        stage = int(name[2] if name.startswith("bn") else name[3])
        block = name[3] if name.startswith("bn") else name[4]
        branch = name.split("_branch")[1]
        f = {2: 64, 3: 128, 4: 256, 5: 512}[stage]
        if name.startswith("bn"):
            return bn(4 * f if branch in ("2c", "1") else f)
        cin_first = {2: 64, 3: 256, 4: 512, 5: 1024}[stage]
        cin = cin_first if block == "a" else 4 * f
        return {"2a": conv(1, cin, f), "2b": conv(3, f, f), "2c": conv(1, f, 4 * f),
                "1": conv(1, cin, 4 * f)}[branch]
    fpn_in = {"fpn_c5p5": 2048, "fpn_c4p4": 1024, "fpn_c3p3": 512, "fpn_c2p2": 256}
    if name in fpn_in:
        return conv(1, fpn_in[name], 256)
    if name in ("fpn_p2", "fpn_p3", "fpn_p4", "fpn_p5"):
        return conv(3, 256, 256)
    heads = {
        "mrcnn_class_conv1": conv(7, 256, 1024), "mrcnn_class_bn1": bn(1024),
        "mrcnn_class_conv2": conv(1, 1024, 1024), "mrcnn_class_bn2": bn(1024),
        "mrcnn_class_logits": [(1024, NC), (NC,)], "mrcnn_bbox_fc": [(1024, 4 * NC), (4 * NC,)],
        "mrcnn_mask_deconv": [(2, 2, 256, 256), (256,)], "mrcnn_mask": conv(1, 256, NC),
    }
    for i in range(1, 5):
        heads[f"mrcnn_mask_conv{i}"] = conv(3, 256, 256)
        heads[f"mrcnn_mask_bn{i}"] = bn(256)
    return heads[name]


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
    rng = np.random.default_rng(0)
    by_layer = {}
    for layer in model.keras_model.layers:
        if not layer.weights:
            continue
        names = weights._variable_names(layer) if hasattr(weights, "_variable_names") else None
        arrays = [rng.normal(0, 0.01, tuple(w.shape)).astype(np.float32) for w in layer.weights]
        if layer.name.startswith("bn") or "_bn" in layer.name:
            arrays[3] = np.abs(arrays[3]) + 1.0  # positive variances
        by_layer[layer.name] = list(zip(names or [f"w{i}" for i in range(len(arrays))], arrays))
    path = tmp_path / "mask_rcnn_coco.h5"
    weights.write_matterport_layout(str(path), REAL["layer_names"], by_layer,
                                    keras_version=REAL["keras_version"])
    assert weights.read_layer_names(str(path)) == REAL["layer_names"]

    report = model.load_weights(str(path), by_name=True)
    assert len(report.loaded) == 233 and not report.kept_initial
    got = model.keras_model.get_layer("mrcnn_bbox_fc").get_weights()[0]
    np.testing.assert_array_equal(got, by_layer["mrcnn_bbox_fc"][0][1])
    rpn = model.keras_model.get_layer("rpn_model").get_weights()
    np.testing.assert_array_equal(rpn[4], by_layer["rpn_model"][4][1])

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
