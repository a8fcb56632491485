"""Tests for mrcnn.weights: the Keras 2 HDF5 layout of Matterport's mask_rcnn_coco.h5."""

import json
import logging
import os
import shutil

import h5py
import keras
import numpy as np
import pytest

from mrcnn import weights as W
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
REAL_TRUNCATED = DATA / "weights" / "mask_rcnn_coco.first4MB.h5"
REAL_LAYERS_JSON = DATA / "weights" / "mask_rcnn_coco.layers.json"
L = keras.layers


def build_model(num_classes=4, conv1_filters=4, seed=0):
    """A small functional model with Matterport's layer names and a nested rpn_model."""
    inp = keras.Input((16, 16, 3), name="input_image")
    x = L.ZeroPadding2D(1, name="zero_padding2d_1")(inp)
    x = L.Conv2D(conv1_filters, 3, name="conv1")(x)
    x = L.BatchNormalization(name="bn_conv1")(x)
    x = L.Activation("relu", name="activation_1")(x)
    x = L.Conv2D(8, 3, padding="same", name="res2a_branch2a")(x)
    x = L.BatchNormalization(name="bn2a_branch2a")(x)

    fmap = keras.Input((None, None, 8), name="input_rpn_feature_map")
    shared = L.Conv2D(6, 3, padding="same", activation="relu", name="rpn_conv_shared")(fmap)
    cls = L.Conv2D(6, 1, name="rpn_class_raw")(shared)
    box = L.Conv2D(12, 1, name="rpn_bbox_pred")(shared)
    rpn = keras.Model(fmap, [cls, box], name="rpn_model")
    rpn_class, rpn_bbox = rpn(x)

    pooled = L.GlobalAveragePooling2D(name="pool_squeeze")(x)
    logits = L.Dense(num_classes, name="mrcnn_class_logits")(pooled)
    bbox = L.Dense(4 * num_classes, name="mrcnn_bbox_fc")(pooled)
    bbox = L.Reshape((num_classes, 4), name="mrcnn_bbox")(bbox)
    seq = L.Reshape((1, 8), name="roi_reshape")(pooled)
    td = L.TimeDistributed(L.Dense(3), name="mrcnn_mask_conv1")(seq)
    model = keras.Model(inp, [rpn_class, rpn_bbox, logits, bbox, td], name="mask_rcnn")
    randomize(model, seed)
    return model


def randomize(model, seed):
    rng = np.random.default_rng(seed)
    for var in model.weights:
        var.assign(rng.normal(size=tuple(var.shape)).astype("float32"))


def snapshot(model):
    return {layer.name: [w.numpy() for w in layer.weights] for layer in model.layers}


def assert_same(a, b, names=None):
    for name in names if names is not None else a:
        assert len(a[name]) == len(b[name]), name
        for x, y in zip(a[name], b[name]):
            np.testing.assert_array_equal(x, y, err_msg=name)


def assert_differs(a, b, name):
    assert any(not np.array_equal(x, y) for x, y in zip(a[name], b[name])), name


# Top-level layers with weights, in Keras 3's model.layers order (a topological order that is not
# the order of construction: mrcnn_bbox_fc comes before rpn_model here).
WEIGHTED = [layer.name for layer in build_model().layers if layer.weights]
assert sorted(WEIGHTED) == sorted([
    "conv1", "bn_conv1", "res2a_branch2a", "bn2a_branch2a", "rpn_model",
    "mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_mask_conv1",
])


def _weights_of(model):
    return {
        layer.name: list(zip(W._variable_names(layer), map(W._to_numpy, W._layer_variables(layer))))
        for layer in model.layers if layer.weights
    }


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A file saved from a model with seed 1, and that model's weights."""
    model = build_model(seed=1)
    path = tmp_path_factory.mktemp("w") / "model.h5"
    W.save_weights(model, path)
    return path, snapshot(model), [layer.name for layer in model.layers]


# --------------------------------------------------------------------------------- round trips


def test_round_trip_by_name_and_by_order(saved):
    path, want, _ = saved
    for by_name in (True, False):
        model = build_model(seed=2)
        report = W.load_weights(model, path, by_name=by_name)
        assert_same(want, snapshot(model))
        assert report.by_name is by_name
        assert report.loaded == WEIGHTED
        assert report.kept_initial == [] and report.excluded == [] and report.not_in_model == []


def test_saved_layout_is_keras2(saved):
    path, want, layer_names = saved
    with h5py.File(path, "r") as f:
        names = f.attrs["layer_names"]
        assert names.dtype.kind == "S"  # fixed-length bytes, like Keras 2
        assert [n.decode() for n in names] == layer_names  # all layers, weightless included
        assert "input_image" in layer_names and "mrcnn_bbox" in layer_names
        assert f.attrs["backend"] in ("tensorflow", b"tensorflow")
        assert "keras_version" in f.attrs
        assert list(f["conv1"].attrs["weight_names"]) == [b"conv1/kernel:0", b"conv1/bias:0"]
        assert [n.decode() for n in f["bn_conv1"].attrs["weight_names"]] == [
            "bn_conv1/gamma:0", "bn_conv1/beta:0",
            "bn_conv1/moving_mean:0", "bn_conv1/moving_variance:0",
        ]
        assert [n.decode() for n in f["rpn_model"].attrs["weight_names"]] == [
            "rpn_conv_shared/kernel:0", "rpn_conv_shared/bias:0",
            "rpn_class_raw/kernel:0", "rpn_class_raw/bias:0",
            "rpn_bbox_pred/kernel:0", "rpn_bbox_pred/bias:0",
        ]
        # TimeDistributed: the wrapper's name, the inner layer's weights
        assert list(f["mrcnn_mask_conv1"].attrs["weight_names"]) == [
            b"mrcnn_mask_conv1/kernel:0", b"mrcnn_mask_conv1/bias:0"]
        np.testing.assert_array_equal(f["conv1/conv1/kernel:0"][()], want["conv1"][0])
        np.testing.assert_array_equal(
            f["rpn_model/rpn_bbox_pred/bias:0"][()], want["rpn_model"][5])
        assert len(f["input_image"].attrs["weight_names"]) == 0
    assert W.read_layer_names(path) == layer_names
    shapes = W.read_weight_shapes(path)
    assert shapes["conv1"] == [(3, 3, 3, 4), (4,)]
    assert shapes["rpn_model"] == [(3, 3, 8, 6), (6,), (1, 1, 6, 6), (6,), (1, 1, 6, 12), (12,)]
    assert shapes["mrcnn_bbox_fc"] == [(8, 16), (16,)]
    assert shapes["activation_1"] == []
    assert W.read_weight_names(path)["bn_conv1"][3] == "bn_conv1/moving_variance:0"


def test_keras3_legacy_loader_reads_our_file(saved):
    path, want, _ = saved
    model = build_model(seed=3)
    model.load_weights(str(path))  # Keras 3's own legacy-HDF5 reader, by order
    assert_same(want, snapshot(model))


def test_str_attributes_written_by_hand(tmp_path, saved):
    """h5py 3 returns variable-length string attributes as str (Matterport issue #2594)."""
    _, want, layer_names = saved
    path = tmp_path / "str_attrs.h5"
    vlen = h5py.string_dtype("utf-8")
    model = build_model(seed=1)
    with h5py.File(path, "w") as f:
        f.attrs.create("layer_names", layer_names, dtype=vlen)
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.2.4"
        for layer in model.layers:
            g = f.create_group(layer.name)
            names = W._variable_names(layer)
            g.attrs.create("weight_names", names, dtype=vlen)
            for n, v in zip(names, W._layer_variables(layer)):
                g[n] = v.numpy()
    with h5py.File(path, "r") as f:
        assert isinstance(f.attrs["layer_names"][0], str)
    target = build_model(seed=5)
    W.load_weights(target, path, by_name=True)
    assert_same(want, snapshot(target))


def test_chunked_layer_names(tmp_path, saved):
    _, want, layer_names = saved
    src = build_model(seed=1)
    weights = _weights_of(src)
    path = tmp_path / "chunked.h5"
    W.write_matterport_layout(path, layer_names, weights, max_attr_bytes=64)
    with h5py.File(path, "r") as f:
        assert "layer_names" not in f.attrs
        assert "layer_names0" in f.attrs and "layer_names1" in f.attrs
        assert "weight_names0" in f["rpn_model"].attrs  # weight_names chunk too
    assert W.read_layer_names(path) == layer_names
    for by_name in (True, False):
        target = build_model(seed=6)
        W.load_weights(target, path, by_name=by_name)
        assert_same(want, snapshot(target))


def test_long_layer_name_list_is_chunked_at_the_keras2_limit(tmp_path):
    names = [f"layer_with_a_rather_long_name_{i:05d}" for i in range(2500)]  # ~90 KB
    path = tmp_path / "long.h5"
    W.write_matterport_layout(path, names, {})
    with h5py.File(path, "r") as f:
        chunks = [k for k in f.attrs if k.startswith("layer_names")]
        assert "layer_names" not in chunks and len(chunks) >= 2
        assert all(f.attrs[k].nbytes <= W.HDF5_OBJECT_HEADER_LIMIT for k in chunks)
    assert W.read_layer_names(path) == names


def test_full_model_save_descends_into_model_weights(tmp_path, saved):
    """Keras full-model .h5 saves keep the weights under a 'model_weights' group."""
    _, want, _ = saved
    src = build_model(seed=1)
    path = tmp_path / "full_model.h5"
    src.save(path)  # Keras 3 legacy HDF5: names without ':0', TimeDistributed 'x/dense/kernel'
    with h5py.File(path, "r") as f:
        assert "layer_names" not in f.attrs and "model_weights" in f
    for by_name in (True, False):
        target = build_model(seed=7)
        report = W.load_weights(target, path, by_name=by_name)
        assert_same(want, snapshot(target))
        assert report.loaded == WEIGHTED


def test_real_layer_list_with_empty_groups(tmp_path, saved):
    """write_matterport_layout with the real file's 406 names; weightless layers: empty groups."""
    _, want, _ = saved
    real = json.loads(REAL_LAYERS_JSON.read_text())
    names = real["layer_names"]
    assert len(names) == 406
    src = build_model(seed=1)
    weights = _weights_of(src)
    assert set(weights) <= set(names)  # the small model only uses real Matterport names
    path = tmp_path / "coco_layout.h5"
    W.write_matterport_layout(path, names, weights, keras_version=real["keras_version"])
    assert W.read_layer_names(path) == names
    with h5py.File(path, "r") as f:
        assert f.attrs["keras_version"] in ("2.0.8", b"2.0.8")
        assert len(f["res4w_branch2c"].attrs["weight_names"]) == 0
    target = build_model(seed=8)
    report = W.load_weights(target, path, by_name=True)
    assert_same(want, snapshot(target))
    assert report.not_in_model == []  # the other 398 groups hold no weights


def test_by_order_with_the_same_layers_in_another_order_matches_names(tmp_path, saved):
    """Keras 3 orders layers differently from Keras 2; same names in another order pair by name."""
    _, want, layer_names = saved
    path = tmp_path / "reversed.h5"
    W.write_matterport_layout(path, layer_names[::-1], _weights_of(build_model(seed=1)))
    model = build_model(seed=20)
    report = W.load_weights(model, path, by_name=False)
    assert_same(want, snapshot(model))
    assert report.reordered and not report.by_name
    assert "matched by name" in report.summary()


def test_by_order_ignores_names_like_keras(tmp_path, saved):
    """Different names in the same order load by position (Keras 2 load_weights semantics)."""
    _, want, layer_names = saved
    weights = {f"{k}_old": v for k, v in _weights_of(build_model(seed=1)).items()}
    path = tmp_path / "renamed.h5"
    W.write_matterport_layout(path, [f"{n}_old" for n in layer_names], weights)
    model = build_model(seed=21)
    report = W.load_weights(model, path)
    assert_same(want, snapshot(model))
    assert not report.reordered and report.loaded == WEIGHTED
    with pytest.raises(ValueError, match="none of the model's layers"):
        W.load_weights(model, path, by_name=True)


# ------------------------------------------------------------------------------ by-name details


def test_exclude(saved, caplog):
    path, want, _ = saved
    model = build_model(seed=9)
    before = snapshot(model)
    report = W.load_weights(model, path, exclude=["rpn_model"])
    after = snapshot(model)
    assert_same(before, after, ["rpn_model"])  # the whole nested model is skipped
    assert_same(want, after, [n for n in WEIGHTED if n != "rpn_model"])
    assert report.by_name and report.excluded == ["rpn_model"]
    assert report.kept_initial == ["rpn_model"]

    model = build_model(seed=10)
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        report = W.load_weights(model, path, exclude=["rpn_conv_shared"])
    assert_same(want, snapshot(model))  # an inner name has no effect
    assert report.excluded == [] and report.exclude_not_found == ["rpn_conv_shared"]
    assert any("rpn_conv_shared" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


def test_exclude_forces_by_name(tmp_path, saved):
    """A file with a subset of layers cannot load by order; a non-empty exclude loads by name."""
    _, want, layer_names = saved
    src = build_model(seed=1)
    keep = ["conv1", "bn_conv1"]
    weights = {name: value for name, value in _weights_of(src).items() if name in keep}
    path = tmp_path / "subset.h5"
    W.write_matterport_layout(path, keep, weights)
    with pytest.raises(ValueError, match=r"file has 2 layers with weights but the model has 8"):
        W.load_weights(build_model(seed=11), path, by_name=False)
    model = build_model(seed=11)
    before = snapshot(model)
    report = W.load_weights(model, path, by_name=False, exclude=["mrcnn_bbox"])
    after = snapshot(model)
    assert report.by_name and report.loaded == keep
    assert_same(want, after, keep)
    others = [n for n in WEIGHTED if n not in keep]
    assert_same(before, after, others)  # model layers absent from the file keep their values
    assert report.kept_initial == others
    assert report.excluded == ["mrcnn_bbox"]


def test_variable_name_prefixes_differ(tmp_path, saved):
    """Weights are matched by position in weight_names, not by the exact variable string."""
    _, want, layer_names = saved
    src = build_model(seed=1)
    weights = {}
    for layer in src.layers:
        if layer.weights:
            names = [n.replace("/", "_1/", 1) for n in W._variable_names(layer)]
            names = [f"prefix/{n}" if i % 2 else n for i, n in enumerate(names)]
            weights[layer.name] = list(zip(names, map(W._to_numpy, W._layer_variables(layer))))
    assert weights["conv1"][0][0] == "conv1_1/kernel:0"
    path = tmp_path / "prefixed.h5"
    W.write_matterport_layout(path, layer_names, weights)
    with h5py.File(path, "r") as f:
        assert "conv1/conv1_1/kernel:0" in f
    target = build_model(seed=12)
    W.load_weights(target, path, by_name=True)
    assert_same(want, snapshot(target))


def test_file_layers_not_in_model_are_reported(tmp_path, saved):
    _, want, layer_names = saved
    src = build_model(seed=1)
    weights = _weights_of(src)
    weights["res2b_branch2a"] = [("res2b_branch2a/kernel:0", np.ones((1, 1, 8, 8), "float32"))]
    path = tmp_path / "extra.h5"
    W.write_matterport_layout(path, layer_names + ["res2b_branch2a", "activation_9"], weights)
    target = build_model(seed=13)
    report = W.load_weights(target, path, by_name=True)
    assert report.not_in_model == ["res2b_branch2a"]
    assert_same(want, snapshot(target))


# --------------------------------------------------------------------------------------- errors


def test_class_head_mismatch_gives_exclude_hint_and_changes_nothing(saved):
    path, want, _ = saved  # trained for 4 classes
    model = build_model(num_classes=2, seed=14)
    before = snapshot(model)
    with pytest.raises(ValueError) as info:
        W.load_weights(model, path, by_name=True)
    msg = str(info.value)
    assert "'mrcnn_class_logits'" in msg and "weight 0" in msg
    assert "mrcnn_class_logits/kernel:0" in msg
    assert "(8, 2)" in msg and "(8, 4)" in msg  # model's and file's shapes
    assert "'mrcnn_bbox_fc'" in msg and "(8, 8)" in msg and "(8, 16)" in msg
    assert "different number of classes" in msg
    assert "NUM_CLASSES = 4 in the file, 2 in the model" in msg
    hint = 'exclude=["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask"]'
    assert f"by_name=True, {hint}" in msg
    assert "No weights were changed" in msg
    assert_same(before, snapshot(model))  # conv1 etc. were not loaded either

    # the recipe from the message works
    report = W.load_weights(model, path, by_name=True, exclude=W.FINE_TUNE_EXCLUDE)
    after = snapshot(model)
    assert_same(want, after, ["conv1", "bn_conv1", "rpn_model", "mrcnn_mask_conv1"])
    assert_same(before, after, ["mrcnn_class_logits", "mrcnn_bbox_fc"])
    assert sorted(report.excluded) == ["mrcnn_bbox", "mrcnn_bbox_fc", "mrcnn_class_logits"]
    assert report.exclude_not_found == ["mrcnn_mask"]


def test_backbone_shape_mismatch_has_no_class_hint(saved):
    path, _, _ = saved
    model = build_model(conv1_filters=5, seed=15)
    before = snapshot(model)
    with pytest.raises(ValueError) as info:
        W.load_weights(model, path)  # by order
    msg = str(info.value)
    assert "'conv1'" in msg and "(3, 3, 3, 5)" in msg and "(3, 3, 3, 4)" in msg
    assert "'bn_conv1'" in msg and "bn_conv1/moving_variance:0" in msg
    assert "different number of classes" not in msg
    assert_same(before, snapshot(model))


def test_weight_count_mismatch(tmp_path, saved):
    path, _, layer_names = saved
    src = build_model(seed=1)
    weights = _weights_of(src)
    weights["conv1"] = weights["conv1"][:1]  # kernel only, as if use_bias=False
    bad = tmp_path / "count.h5"
    W.write_matterport_layout(bad, layer_names, weights)
    model = build_model(seed=16)
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"'conv1'.*model has 2 weight\(s\).*file has 1") as info:
        W.load_weights(model, bad, by_name=True)
    assert "conv1/bias:0" in str(info.value)
    assert_same(before, snapshot(model))


def test_by_order_needs_equal_layer_counts(saved):
    path, _, _ = saved
    inp = keras.Input((4,), name="input_image")
    small = keras.Model(inp, L.Dense(2, name="conv1")(inp))
    with pytest.raises(ValueError,
                       match=r"file has 8 layers with weights but the model has 1.*by_name=True"):
        W.load_weights(small, path)


def test_truncated_real_download():
    real = json.loads(REAL_LAYERS_JSON.read_text())
    expected = real["hdf5_end_of_file_address"]
    actual = REAL_TRUNCATED.stat().st_size
    assert actual < expected
    with pytest.raises(W.WeightFileError) as info:
        W.load_weights(build_model(), REAL_TRUNCATED, by_name=True)
    msg = str(info.value)
    assert isinstance(info.value, OSError)
    assert "truncated" in msg and f"{expected:,}" in msg and f"{actual:,}" in msg
    assert "download" in msg and "download_trained_weights" in msg
    with pytest.raises(W.WeightFileError, match="truncated"):
        W.read_layer_names(REAL_TRUNCATED)


@pytest.mark.parametrize("kwargs", [{}, {"libver": "latest"}, {"userblock_size": 1024}])
def test_superblock_versions(tmp_path, kwargs):
    """Superblock v0 (default), v2/v3 (libver='latest') and a user block before the superblock."""
    path = tmp_path / "f.h5"
    with h5py.File(path, "w", **kwargs) as f:
        f["x"] = np.arange(5000.0)
    size = path.stat().st_size
    assert W.check_weight_file(path) == size
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[: size - 100])
    with pytest.raises(W.WeightFileError, match=rf"{size:,} bytes but it is only {size - 100:,}"):
        W.check_weight_file(cut)


def test_superblock_version_1_header(tmp_path):
    """v1 adds 4 bytes before the addresses; a hand-made header claiming 1 MB is truncated."""
    eof = 1 << 20
    undef = b"\xff" * 8
    header = (b"\x89HDF\r\n\x1a\n" + bytes([1, 0, 0, 0, 0, 8, 8, 0]) + b"\x04\x00\x10\x00"
              + b"\x00" * 4 + b"\x20\x00\x00\x00" + (0).to_bytes(8, "little") + undef
              + eof.to_bytes(8, "little") + undef)
    path = tmp_path / "v1.h5"
    path.write_bytes(header + b"\x00" * 1000)
    with pytest.raises(W.WeightFileError, match=r"1,048,576 bytes but it is only 1,0"):
        W.check_weight_file(path)
    path.write_bytes(header + b"\x00" * (eof - len(header)))
    assert W.check_weight_file(path) == eof


def test_not_hdf5_files(tmp_path):
    model = build_model()
    jpeg = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))[0]
    with pytest.raises(W.WeightFileError,
                       match=r"not an HDF5 weight file: it is a JPEG image.*Expected"):
        W.load_weights(model, jpeg)
    text = tmp_path / "weights.h5"
    text.write_text("these are not weights\n")
    with pytest.raises(W.WeightFileError,
                       match=r"not an HDF5 weight file: it looks like a text file"):
        W.load_weights(model, text)
    html = tmp_path / "mask_rcnn_coco.h5"
    html.write_text("<!DOCTYPE html><html><body>Not Found</body></html>")
    with pytest.raises(W.WeightFileError, match="HTML page"):
        W.load_weights(model, html)
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    with pytest.raises(W.WeightFileError, match="empty"):
        W.load_weights(model, empty)
    with pytest.raises(FileNotFoundError, match="download_trained_weights"):
        W.load_weights(model, tmp_path / "missing.h5")


def test_no_common_layers(tmp_path):
    path = tmp_path / "other.h5"
    W.write_matterport_layout(
        path, ["input_1", "dense_7", "conv2d_3"],
        {"dense_7": [("dense_7/kernel:0", np.zeros((3, 2)))],
         "conv2d_3": [("conv2d_3/kernel:0", np.zeros((1, 1, 3, 2)))]},
    )
    model = build_model()
    with pytest.raises(ValueError, match="none of the model's layers") as info:
        W.load_weights(model, path, by_name=True)
    msg = str(info.value)
    assert "dense_7" in msg and "conv2d_3" in msg and "conv1" in msg and "bn_conv1" in msg


def test_keras3_weights_file_is_detected(tmp_path):
    model = build_model()
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    with pytest.raises(W.WeightFileError,
                       match=r"Keras 3 '.weights.h5' file.*keras_model.load_weights"):
        W.load_weights(model, path)


def test_hdf5_without_layer_names(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(W.WeightFileError, match=r"no 'layer_names' attribute.*data"):
        W.read_layer_names(path)


def test_damaged_file_missing_dataset(tmp_path, saved):
    path, _, _ = saved
    bad = tmp_path / "damaged.h5"
    shutil.copy(path, bad)
    with h5py.File(bad, "a") as f:
        del f["bn_conv1/bn_conv1/beta:0"]
    model = build_model(seed=17)
    before = snapshot(model)
    with pytest.raises(W.WeightFileError,
                       match=r"'bn_conv1' lists weight 'bn_conv1/beta:0'.*damaged"):
        W.load_weights(model, bad, by_name=True)
    assert_same(before, snapshot(model))


# --------------------------------------------------------------------------- writing, logging


def test_atomic_write_leaves_old_file_on_failure(tmp_path, saved):
    path, _, layer_names = saved
    target = tmp_path / "out.h5"
    shutil.copy(path, target)
    old = target.read_bytes()
    # "a/kernel:0" makes "a" a group, so the dataset "a" fails inside the writer
    weights = {"conv1": [("a/kernel:0", np.zeros(2)), ("a", np.zeros(2))]}
    with pytest.raises(Exception):
        W.write_matterport_layout(target, ["conv1"], weights)
    assert target.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["out.h5"]  # no temporary file left behind


def test_writer_validates_input(tmp_path):
    with pytest.raises(ValueError, match="not in layer_names"):
        W.write_matterport_layout(tmp_path / "a.h5", ["conv1"], {"conv2": []})
    with pytest.raises(ValueError, match="Duplicate layer names"):
        W.write_matterport_layout(tmp_path / "a.h5", ["conv1", "conv1"], {})
    with pytest.raises(ValueError, match="unique"):
        W.write_matterport_layout(
            tmp_path / "a.h5", ["conv1"], {"conv1": [("k:0", np.zeros(1)), ("k:0", np.zeros(1))]})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        W.save_weights(build_model(), tmp_path / "no_dir" / "a.h5")
    assert not (tmp_path / "a.h5").exists()


def test_log_line(saved, caplog):
    path, _, _ = saved
    model = build_model(num_classes=2, seed=18)
    with caplog.at_level(logging.INFO, logger="mrcnn"):
        W.load_weights(model, path, exclude=W.FINE_TUNE_EXCLUDE)
    lines = [r.getMessage() for r in caplog.records
             if r.name == "mrcnn" and r.levelno == logging.INFO]
    assert len(lines) == 1
    line = lines[0]
    assert "Loaded weights of 6 layers" in line and str(path) in line and "by name" in line
    assert "2 model layers kept their initial values" in line
    assert "mrcnn_class_logits (excluded)" in line and "mrcnn_bbox_fc (excluded)" in line

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mrcnn"):
        W.load_weights(build_model(seed=19), path, verbose=0)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]

    kept = [f"res4{c}" for c in "abcdefghijklmno"]
    long = W.LoadReport("x.h5", True, loaded=["a"], kept_initial=kept)
    text = long.summary()
    assert "15 model layers kept" in text and "res4j" in text and "res4k" not in text
    assert "(5 more)" in text


def test_public_names_and_a_light_import():
    import subprocess
    import sys

    for name in W.__all__:
        value = getattr(W, name)
        if callable(value):
            assert value.__module__.startswith("mrcnn.weights."), name
    assert W.FINE_TUNE_EXCLUDE[0] == "mrcnn_class_logits" and W.HDF5_OBJECT_HEADER_LIMIT == 64512
    # The CLI checks a weight file before it builds a model: mrcnn.weights loads no Keras.
    code = ("import sys, mrcnn.weights; "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
