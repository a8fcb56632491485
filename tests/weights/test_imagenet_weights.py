"""ImageNet weights for both backbones (mrcnn.weights.imagenet, MaskRCNN.get_imagenet_weights),
from files in the two real layouts served on 127.0.0.1: Keras Applications' ResNet101 file
(built here from keras.applications.ResNet101(weights=None), saved in the Keras 2 layout that
file has) and Matterport's ResNet50 file (the backbone's own names). Every backbone layer must be
filled from the file and none left at its initial value."""

import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest

import mrcnn.model as modellib
from mrcnn import weights
from mrcnn.backbone import resnet_graph
from mrcnn.config import Config
from mrcnn.weights import imagenet

from tests.local_http import FileHandler, serve  # noqa: E402


def _generated(shape, rng, kind):
    if kind in ("gamma", "moving_variance"):
        return (1.0 + np.abs(rng.normal(0, 0.1, shape))).astype(np.float32)
    return rng.normal(0, 0.05, shape).astype(np.float32)


def write_keras_applications_resnet101(path, seed=0):
    """``keras.applications.ResNet101(weights=None, include_top=False)`` with generated values,
    written as Keras Applications' notop file is: Keras 2 layout, every layer in ``layer_names``
    (input, padding, activations included), weights named ``<layer>/<kind>:0``. Returns
    {layer: [arrays]}."""
    model = keras.applications.ResNet101(weights=None, include_top=False,
                                         input_shape=(None, None, 3))
    rng = np.random.default_rng(seed)
    by_layer, arrays = {}, {}
    for layer in model.layers:
        if not layer.weights:
            continue
        kinds = (["gamma", "beta", "moving_mean", "moving_variance"]
                 if isinstance(layer, keras.layers.BatchNormalization) else ["kernel", "bias"])
        assert len(kinds) == len(layer.weights), layer.name
        values = [_generated(tuple(w.shape), rng, k) for w, k in zip(layer.weights, kinds)]
        by_layer[layer.name] = [(f"{layer.name}/{k}:0", v) for k, v in zip(kinds, values)]
        arrays[layer.name] = values
    weights.write_matterport_layout(str(path), [layer.name for layer in model.layers], by_layer,
                                    keras_version="2.2.4")
    return arrays


def backbone_model(architecture):
    image = keras.Input((None, None, 3))
    return keras.Model(image, resnet_graph(image, architecture, stage5=True, train_bn=False)[1:])


def write_matterport_resnet50(path, seed=1):
    """Matterport's ImageNet ResNet50 file layout: the backbone's names (conv1, bn_conv1,
    res2a_branch2a, ...), generated values."""
    model = backbone_model("resnet50")
    rng = np.random.default_rng(seed)
    by_layer, arrays = {}, {}
    for layer in model.layers:
        if not layer.weights:
            continue
        names = weights._variable_names(layer)
        values = [_generated(tuple(w.shape), rng, n.split("/")[-1][:-2])
                  for w, n in zip(layer.weights, names)]
        by_layer[layer.name] = list(zip(names, values))
        arrays[layer.name] = values
    weights.write_matterport_layout(str(path), [layer.name for layer in model.layers], by_layer,
                                    keras_version="2.0.8")
    return arrays


def assert_every_layer_filled(model, path, expected):
    initial = {layer.name: [np.array(w) for w in layer.get_weights()]
               for layer in model.layers if layer.weights}
    report = weights.load_weights(model, path, by_name=True)
    assert report.kept_initial == [] and report.not_in_model == []
    assert sorted(report.loaded) == sorted(initial)
    for layer in model.layers:
        if not layer.weights:
            continue
        values = layer.get_weights()
        for before, after, want in zip(initial[layer.name], values, expected[layer.name]):
            np.testing.assert_array_equal(after, want, err_msg=layer.name)
            assert not np.array_equal(after, before), f"{layer.name} kept its initial value"


def test_name_mapping():
    m = imagenet.keras_applications_name_to_mrcnn
    assert m("conv1_conv") == "conv1" and m("conv1_bn") == "bn_conv1"
    assert m("conv2_block1_0_conv") == "res2a_branch1"
    assert m("conv2_block1_0_bn") == "bn2a_branch1"
    assert m("conv3_block4_2_conv") == "res3d_branch2b"
    assert m("conv4_block1_1_conv") == "res4a_branch2a"
    assert m("conv4_block23_3_bn") == "bn4w_branch2c"
    assert m("conv5_block3_3_conv") == "res5c_branch2c"
    for name in ("input_1", "conv1_pad", "conv1_relu", "pool1_pool", "conv4_block2_add",
                 "conv4_block2_out", "conv2_block1_1_relu"):
        assert m(name) is None


def test_resnet101_from_keras_applications_file_fills_every_backbone_layer(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    source = served / Path(imagenet.RESNET101_IMAGENET_URL).name
    generated = write_keras_applications_resnet101(source)
    expected = {imagenet.keras_applications_name_to_mrcnn(k): v for k, v in generated.items()}
    cache = tmp_path / "cache"
    with serve(served) as base:
        path = imagenet.get_imagenet_weights("resnet101", cache_dir=cache,
                                             url=f"{base}/{source.name}")
        assert FileHandler.requests == [f"/{source.name}"]
        # Cached: no second download, no second conversion.
        again = imagenet.get_imagenet_weights("resnet101", cache_dir=cache,
                                              url=f"{base}/{source.name}")
        assert FileHandler.requests == [f"/{source.name}"]
    assert path == again == str(cache / imagenet.RESNET101_CONVERTED_FILENAME)
    names = weights.read_layer_names(path)
    assert len(names) == len(expected) == 1 + 1 + 4 * 2 + 2 * 3 * (3 + 4 + 23 + 3)
    assert "res4w_branch2c" in names and "bn4w_branch2c" in names
    model = backbone_model("resnet101")
    assert_every_layer_filled(model, path, expected)


def test_resnet50_matterport_file_fills_every_backbone_layer(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    source = served / Path(imagenet.RESNET50_IMAGENET_URL).name
    expected = write_matterport_resnet50(source)
    with serve(served) as base:
        path = imagenet.get_imagenet_weights("resnet50", cache_dir=tmp_path / "cache",
                                             url=f"{base}/{source.name}")
    assert Path(path).read_bytes() == source.read_bytes()
    assert_every_layer_filled(backbone_model("resnet50"), path, expected)


def test_model_method_follows_the_backbone(tmp_path, monkeypatch):
    monkeypatch.setenv("MRCNN_HOME", str(tmp_path))
    (tmp_path / imagenet.RESNET101_CONVERTED_FILENAME).write_bytes(b"converted")
    (tmp_path / Path(imagenet.RESNET50_IMAGENET_URL).name).write_bytes(b"resnet50")

    def path_for(backbone):
        config = types.SimpleNamespace(BACKBONE=backbone)
        return modellib.MaskRCNN.get_imagenet_weights(types.SimpleNamespace(config=config))

    assert Path(path_for("resnet101")).read_bytes() == b"converted"
    assert Path(path_for("resnet50")).read_bytes() == b"resnet50"
    with pytest.raises(ValueError, match="resnet50.*resnet101"):
        path_for(lambda *a, **k: None)
    assert modellib.IMAGENET_WEIGHTS_URL == imagenet.RESNET50_IMAGENET_URL
    assert Config.BACKBONE == "resnet101"


def test_a_file_of_another_network_is_refused(tmp_path):
    source = tmp_path / "resnet50_named.h5"
    write_matterport_resnet50(source)
    with pytest.raises(weights.WeightFileError, match="no Keras Applications ResNet layers"):
        imagenet.convert_keras_applications_resnet(source, tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()
