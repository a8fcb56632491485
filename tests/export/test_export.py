"""Export for serving (issue 9, items 1-3): the SavedModel of ``MaskRCNN.export`` takes raw
images (``serving_default``: uint8 arrays; ``serve_encoded``: JPEG bytes) and returns the final
detections; loaded with ``tf.saved_model.load`` in a fresh process where mrcnn cannot be
imported, it gives ``detect()``'s class ids, boxes (within 1 px), scores (within 1e-4) and masks
(IoU >= 0.98 after pasting) on three real photos of different sizes, for a small config and for
the COCO config with weights in the release layout. The in-graph pre- and post-processing
(``mrcnn.ops.serving_ops``) is checked against the NumPy code it mirrors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import skimage.io
import tensorflow as tf

import mrcnn.model as modellib
from mrcnn import function_options
from mrcnn import masks as np_masks
from mrcnn.anchors import get_anchors
from mrcnn.export import (METADATA_PATH, ServingModule, convert_to_tflite, export_saved_model,
                          tflite_custom_ops, tflite_run_error)
from mrcnn.image import resize_image
from mrcnn.ops import serving_ops
from tests.export.export_configs import SmallConfig
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
IMAGES = DATA / "matterport_demo_images" / "images"
# Three sizes: 375x500 (landscape), 640x425 (portrait), 626x640 (almost square).
PHOTO_NAMES = ["12283150_12d37e6389_z.jpg", "2502287818_41e4b0c4fb_z.jpg",
               "9118579087_f9ffa19e63_z.jpg"]
PHOTOS = [IMAGES / name for name in PHOTO_NAMES]
CHILD = ROOT / "tests" / "export" / "export_child.py"
OUTPUTS = ("num_detections", "boxes", "class_ids", "scores", "masks")


def sharpen_masks(keras_model, factor=40.0):
    """Random weights give mask probabilities all near 0.5; a larger mask-logit kernel gives
    masks with real foreground and background to compare after pasting."""
    layer = keras_model.get_layer("mrcnn_mask")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * factor, bias])


def run_child(saved_model, photos, tmp_path, signatures=("serving_default", "serve_encoded")):
    """Runs tests/export/export_child.py in a fresh isolated interpreter (mrcnn unimportable, cwd
    outside the repository, PYTHONPATH unset) with ``signatures``; returns its outputs (dict
    of arrays)."""
    inputs = {}
    for i, path in enumerate(photos):
        inputs[f"image_{i}"] = skimage.io.imread(path)
        inputs[f"encoded_{i}"] = np.frombuffer(Path(path).read_bytes(), np.uint8)
    np.savez(tmp_path / "inputs.npz", **inputs)
    work = tmp_path / "child"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(
        [sys.executable, "-I", str(CHILD), str(saved_model), str(tmp_path / "inputs.npz"),
         str(tmp_path / "out.npz"), ",".join(signatures)], cwd=work, env=env, capture_output=True, text=True,
        timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    return {k: out[k] for k in out.files}


SCORE_ATOL = 1e-4


def tie_order(expected, out, prefix, n):
    """The order of the exported rows that lines them up with ``detect()``'s: row i of
    ``detect()`` pairs with the first unpaired exported row of the same class, a box within 1 px
    and a score within SCORE_ATOL. Detections whose scores agree to within that tolerance (random
    weights give many) have no order of their own: the two graphs' float rounding may rank them
    either way. Anything else (a missing, extra or different detection) stays unpaired and fails."""
    scores, classes = out[f"{prefix}_scores"][:n], out[f"{prefix}_class_ids"][:n]
    boxes = out[f"{prefix}_boxes"][:n]
    order, free = [], list(range(n))
    for i in range(n):
        match = [j for j in free if classes[j] == expected["class_ids"][i]
                 and abs(scores[j] - expected["scores"][i]) <= SCORE_ATOL
                 and np.abs(boxes[j] - expected["rois"][i]).max() <= 1]
        if not match:
            return None
        order.append(match[0])
        free.remove(match[0])
    return np.asarray(order + list(range(n, len(scores))), np.int64)


def compare(expected, out, prefix, image_shape):
    """The exported model's outputs for one image against ``detect()``'s dict (rows of tied
    scores paired as ``tie_order`` says)."""
    n = int(out[f"{prefix}_num_detections"])
    assert n == len(expected["class_ids"]), prefix
    order = tie_order(expected, out, prefix, n)
    if order is not None:  # otherwise the checks below name the first difference
        keys = [k for k in out if k.startswith(prefix + "_") and k != f"{prefix}_num_detections"]
        out = dict(out, **{k: out[k][order] for k in keys})
    np.testing.assert_array_equal(out[f"{prefix}_class_ids"][:n], expected["class_ids"])
    np.testing.assert_allclose(out[f"{prefix}_boxes"][:n], expected["rois"], atol=1)
    np.testing.assert_allclose(out[f"{prefix}_scores"][:n], expected["scores"], atol=SCORE_ATOL)
    d = out[f"{prefix}_class_ids"].shape[0]
    for key in OUTPUTS[1:]:  # padding rows are zero
        assert not np.any(out[f"{prefix}_{key}"][n:]), (prefix, key)
    assert out[f"{prefix}_masks"].shape == (d, 28, 28)
    # The 28x28 soft masks pasted with mrcnn's NumPy paster give detect()'s masks ...
    boxes = out[f"{prefix}_boxes"][:n].astype(np.int32)
    pasted = np_masks.paste_masks(out[f"{prefix}_masks"][:n], boxes, image_shape)
    # ... and so do the masks pasted in the graph.
    full = out[f"{prefix}_full_masks"]
    assert full.dtype == np.uint8 and full.shape[0] == d
    in_graph = full[:n, :image_shape[0], :image_shape[1]].transpose(1, 2, 0).astype(bool)
    assert not full[:, image_shape[0]:].any() and not full[:, :, image_shape[1]:].any()
    for masks in (pasted, in_graph):
        inter = np.logical_and(masks, expected["masks"]).sum(axis=(0, 1))
        union = np.logical_or(masks, expected["masks"]).sum(axis=(0, 1))
        iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        assert iou.min() >= 0.98, (prefix, iou.min())
    return n


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small model with seeded weights, its detect() results on the photos, and the
    SavedModel that ``python -m mrcnn export`` writes from its weights file (full masks on)."""
    keras.utils.set_random_seed(3)
    tmp = tmp_path_factory.mktemp("export")
    model = modellib.MaskRCNN("inference", SmallConfig(), str(tmp / "logs"))
    sharpen_masks(model.keras_model)
    model.save_weights(str(tmp / "small.h5"))  # Matterport's layout
    images = [skimage.io.imread(p) for p in PHOTOS]
    expected = [model.detect([image])[0] for image in images]
    path = tmp / "saved_model"
    proc = subprocess.run(
        [sys.executable, "-m", "mrcnn", "export", "--weights", str(tmp / "small.h5"),
         "--config", "export_configs:SmallConfig", "--output", str(path), "--full-masks"],
        cwd=ROOT / "tests" / "export", env={**os.environ, "PYTHONPATH": str(ROOT),
                                 "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Wrote savedmodel model to {path}" in proc.stdout
    return dict(model=model, images=images, expected=expected, path=path, tmp=tmp)


def test_saved_model_matches_detect_in_a_process_without_mrcnn(small, tmp_path):
    out = run_child(small["path"], PHOTOS, tmp_path)
    total = masked = 0
    for i, (image, expected) in enumerate(zip(small["images"], small["expected"])):
        for signature in ("serving_default", "serve_encoded"):
            total += compare(expected, out, f"{signature}_{i}", image.shape)
        masked += int(expected["masks"].any(axis=(0, 1)).sum())
    assert total > 0 and masked > 0  # real detections and non-empty masks were compared

    specs = json.loads(str(out["signatures"]))
    assert specs["serving_default"]["inputs"] == {"images": ["uint8", [None, None, None, 3]]}
    assert specs["serve_encoded"]["inputs"] == {"encoded": ["string", [None]]}
    d = SmallConfig.DETECTION_MAX_INSTANCES
    for name in ("serving_default", "serve_encoded"):
        outputs = specs[name]["outputs"]
        assert outputs["num_detections"] == ["int32", [None]]
        assert outputs["boxes"] == ["float32", [None, d, 4]]
        assert outputs["class_ids"] == ["int32", [None, d]]
        assert outputs["scores"] == ["float32", [None, d]]
        assert outputs["masks"] == ["float32", [None, d, 28, 28]]
        assert outputs["full_masks"] == ["uint8", [None, d, None, None]]


def test_saved_model_cli_shows_the_signatures(small):
    proc = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir",
         str(small["path"]), "--all"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout
    for fragment in ("signature_def['serving_default']", "signature_def['serve_encoded']",
                     "inputs['images'] tensor_info", "dtype: DT_UINT8", "shape: (-1, -1, -1, 3)",
                     "inputs['encoded'] tensor_info", "dtype: DT_STRING",
                     "outputs['full_masks'] tensor_info", "outputs['num_detections']",
                     "shape: (-1, 20, 28, 28)"):
        assert fragment in text, fragment
    meta = json.loads((small["path"] / METADATA_PATH).read_text())
    assert meta["config"]["IMAGE_RESIZE_MODE"] == "square"
    assert meta["signatures"] == ["serve_encoded", "serving_default"]


def test_batch_of_same_size_images_matches_detect_with_that_batch(small, tmp_path):
    """serving_default runs a batch through the network at once, as detect() does with
    BATCH_SIZE > 1 (batching changes float rounding, so detect() runs the same batch).

    Run with Grappler off, as detect() runs on CPU: on this photo the random weights put many
    boxes above the image, which the window clips to zero height, and Grappler's rewrites
    change the float rounding that decides whether such a box keeps a sliver of height, and
    so what NMS suppresses (measured: one of 20 detections differs with Grappler on)."""
    class Two(SmallConfig):
        IMAGES_PER_GPU = 2
    model = modellib.MaskRCNN("inference", Two(), str(tmp_path))
    model.keras_model.set_weights(small["model"].keras_model.get_weights())
    image = small["images"][0]
    pair = [image, np.ascontiguousarray(image[:, ::-1])]
    expected = model.detect(pair)
    loaded = tf.saved_model.load(str(small["path"]))
    with function_options.inference():
        out = loaded.signatures["serving_default"](images=tf.constant(np.stack(pair)))
    assert out["num_detections"].shape == (2,)
    for i, r in enumerate(expected):
        got = {f"b_{k}": v.numpy()[i] for k, v in out.items()}
        compare(r, got, "b", image.shape)


def test_bad_requests_fail_with_a_message_naming_the_problem(small):
    model = tf.saved_model.load(str(small["path"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch is empty"):
        model.signatures["serving_default"](images=tf.zeros([0, 64, 64, 3], tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="no pixels"):
        model.signatures["serving_default"](images=tf.zeros([1, 0, 64, 3], tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError):
        model.signatures["serve_encoded"](encoded=tf.constant([b"not an image"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch is empty"):
        model.signatures["serve_encoded"](encoded=tf.constant([], tf.string))


def test_export_refuses_what_it_cannot_do(small, tmp_path):
    model = small["model"]
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        model.export(str(target))
    assert os.listdir(target) == ["keep.txt"]
    with pytest.raises(ValueError, match="unknown export format"):
        model.export(str(tmp_path / "x"), format="pb")

    class Crop(SmallConfig):
        IMAGE_RESIZE_MODE = "crop"
    with pytest.raises(ValueError, match="training only"):
        ServingModule(model.keras_model, Crop())
    training = modellib.MaskRCNN.__new__(modellib.MaskRCNN)
    training.mode = "training"
    with pytest.raises(ValueError, match='mode="inference"'):
        training.export(str(tmp_path / "y"))
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_pad64_and_none_modes_compute_anchors_in_the_graph(small, tmp_path):
    """pad64 (molded size follows the image) and none (images as they are) export with the
    anchors computed in the graph; the outputs are detect()'s."""
    class Pad64(SmallConfig):
        IMAGE_RESIZE_MODE = "pad64"
        IMAGE_MIN_DIM = 64

    class Raw(SmallConfig):
        IMAGE_RESIZE_MODE = "none"
    image = small["images"][0][:192, :256]  # a real crop: multiples of 64 for "none"
    odd = small["images"][1][:200, :130]
    weights = small["model"].keras_model.get_weights()
    for config, images in ((Pad64(), [odd]), (Raw(), [image])):
        model = modellib.MaskRCNN("inference", config, str(tmp_path / "logs"))
        model.keras_model.set_weights(weights)
        module = ServingModule(model.keras_model, config, full_masks=True)
        for im in images:
            expected = model.detect([im])[0]
            got = {k: v.numpy()[0] for k, v in module.serve(tf.constant(im[None])).items()}
            got = {f"x_{k}": v for k, v in got.items()}
            compare(expected, got, "x", im.shape)
    with pytest.raises(tf.errors.InvalidArgumentError, match="multiples of 64"):
        module.serve(tf.constant(odd[None]))


def test_resize_matches_resize_image_bit_for_bit():
    for path in PHOTOS:
        image = skimage.io.imread(path)
        for side in (128, 1024):
            ref, window, scale, _, _ = resize_image(image, min_dim=side, max_dim=side,
                                                    mode="square")
            molded, got_window, got_scale = serving_ops.mold_images(
                tf.constant(image[None]), [0.0, 0.0, 0.0], side, side, None, "square")
            assert tuple(got_window.numpy()) == window
            assert float(got_scale) == scale
            np.testing.assert_array_equal(molded.numpy()[0], ref.astype(np.float32))
    # tf.image.resize (bilinear, no antialias) clamps at the border where skimage blends with
    # zeros: the enlarged image's outer rows differ.
    image = skimage.io.imread(PHOTOS[0])
    ref, (y1, x1, y2, x2), _, _, _ = resize_image(image, min_dim=1024, max_dim=1024)
    plain = tf.image.resize(image, (y2 - y1, x2 - x1), method="bilinear").numpy()
    plain = np.clip(plain, image.min(), image.max()).astype(np.uint8)
    assert np.abs(plain.astype(int) - ref[y1:y2, x1:x2]).max() > 10


def test_graph_anchors_match_get_anchors():
    config = SmallConfig()
    for h, w in ((128, 128), (192, 320), (448, 640)):
        got = serving_ops.pyramid_anchors(h, w, config.RPN_ANCHOR_SCALES,
                                          config.RPN_ANCHOR_RATIOS, config.BACKBONE_STRIDES,
                                          config.RPN_ANCHOR_STRIDE).numpy()
        np.testing.assert_array_equal(got, get_anchors(config, (h, w)))


def test_graph_paste_matches_paste_masks():
    rng = np.random.default_rng(0)
    image = skimage.io.imread(PHOTOS[0])
    h, w = image.shape[:2]
    masks = rng.random((6, 28, 28)).astype(np.float32)
    masks[0] = 0.9  # constant mask: clipped to its range, the box is full
    boxes = np.array([[0, 0, h, w], [10, 20, 11, 300], [5, 5, 60, 40], [100, 100, 374, 499],
                      [200, 30, 230, 31], [0, 0, 0, 0]], np.float32)
    got = serving_ops.paste_masks_graph(tf.constant(masks[None]), tf.constant(boxes[None]),
                                        h, w).numpy()[0]
    expected = np_masks.paste_masks(masks[:5], boxes[:5].astype(np.int32), (h, w))
    assert got.dtype == np.uint8
    assert not got[5].any()
    differ = (got[:5].astype(bool) != expected.transpose(2, 0, 1)).sum()
    assert differ <= 0.0001 * expected.size  # only float rounding at the threshold


def test_tflite_conversion_keeps_the_signature_and_names_the_ops_it_needs(small, tmp_path):
    """--format tflite (issue 9, item 5): serving_default converts with TF Select ops.

    Where this TensorFlow's tf.lite.Interpreter can run TF Select ops, the converted model on a
    real photo gives detect()'s results. Where it cannot (the pip packages of TF 2.20 and later
    ship no Flex delegate), the interpreter's refusal names one of the model's Flex ops."""
    path = convert_to_tflite(small["path"], tmp_path / "model.tflite")
    assert path == tmp_path / "model.tflite" and not (tmp_path / "model.tflite.part").exists()
    flex = tflite_custom_ops(path.read_bytes())
    # ROI Align's crop_and_resize has no TFLite builtin: it always needs the Flex delegate.
    assert "FlexCropAndResize" in flex and all(op.startswith("Flex") for op in flex)
    interpreter = tf.lite.Interpreter(model_path=str(path))
    signatures = interpreter.get_signature_list()
    assert signatures == {"serving_default": {
        "inputs": ["images"], "outputs": sorted(list(OUTPUTS) + ["full_masks"])}}
    error = tflite_run_error(path)
    if error is not None:
        assert "Flex delegate" in error, error
        assert any(f"({op})" in error for op in flex), error
        return
    image, expected = small["images"][0], small["expected"][0]
    out = interpreter.get_signature_runner("serving_default")(images=image[np.newaxis])
    compare(expected, {f"t_{k}": v[0] for k, v in out.items()}, "t", image.shape)


def test_onnx_conversion_matches_detect_in_onnx_runtime(small, tmp_path):
    """--format onnx (issue 9, item 6): serving_default converted with tf2onnx and run in ONNX
    Runtime on a real photo gives detect()'s detections (needs the onnx extra, part of .[dev]).

    Every detection of detect() is in ONNX Runtime's output, in order, with the same class id,
    its box within 1 px, its score within 1e-4 and its pasted mask at IoU >= 0.98. ONNX Runtime's
    float rounding differs from TensorFlow's (scores by up to ~4e-5 here), and the random
    weights put the boxes on 1-pixel slivers at the image's top edge, where that rounding
    decides what NMS suppresses (as Grappler's does, see the batch test): ONNX Runtime may keep
    extra detections, which must be such slivers (measured: one of 20)."""
    pytest.importorskip("tf2onnx", reason="the onnx extra is not installed: pip install "
                                          "'mrcnn[onnx]'")
    ort = pytest.importorskip("onnxruntime")
    from mrcnn.export import convert_to_onnx
    path = convert_to_onnx(small["path"], tmp_path / "model.onnx")
    assert path == tmp_path / "model.onnx" and not (tmp_path / "model.onnx.part").exists()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    names = [o.name for o in session.get_outputs()]
    assert sorted(names) == sorted(list(OUTPUTS) + ["full_masks"])
    image, expected = small["images"][0], small["expected"][0]
    out = {k: v[0] for k, v in zip(names, session.run(None, {"images": image[np.newaxis]}))}
    n = int(out["num_detections"])
    d = out["class_ids"].shape[0]
    assert out["masks"].shape == (d, 28, 28) and not out["class_ids"][n:].any()
    full = out["full_masks"][:, :image.shape[0], :image.shape[1]].transpose(1, 2, 0) > 0
    matched = []
    j = 0
    for i in range(len(expected["class_ids"])):
        while j < n and not (
                out["class_ids"][j] == expected["class_ids"][i]
                and np.abs(out["boxes"][j] - expected["rois"][i]).max() <= 1
                and abs(out["scores"][j] - expected["scores"][i]) <= 1e-4):
            j += 1
        if j == n:  # pushed past DETECTION_MAX_INSTANCES by ONNX Runtime's extra detections
            break
        for masks in (np_masks.paste_masks(out["masks"][j:j + 1],
                                           out["boxes"][j:j + 1].astype(np.int32),
                                           image.shape)[..., 0], full[..., j]):
            union = np.logical_or(masks, expected["masks"][..., i]).sum()
            inter = np.logical_and(masks, expected["masks"][..., i]).sum()
            assert union == 0 or inter / union >= 0.98, (i, inter / union)
        matched.append(j)
        j += 1
    extra = sorted(set(range(n)) - set(matched))
    assert len(matched) > 0 and len(matched) + len(extra) == n
    # Only the tail that the extra detections pushed past D may be missing.
    assert len(expected["class_ids"]) - len(matched) <= len(extra)
    for k in extra:
        y1, x1, y2, x2 = out["boxes"][k]
        assert min(y2 - y1, x2 - x1) <= 1, ("extra detection that is not a sliver", k)
