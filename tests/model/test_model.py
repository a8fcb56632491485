"""MaskRCNN in inference mode on real photos with a small configuration: detect() outputs,
input conversion, batching, errors, log folders (unmolding: test_transform.py)."""

import os

import numpy as np
import pytest
import skimage.io

import mrcnn.model as modellib
from mrcnn import function_options
from tests.conftest import SmallInferenceConfig as SmallConfig
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return modellib.MaskRCNN("inference", SmallConfig(), str(tmp_path_factory.mktemp("logs")))


@pytest.fixture(scope="module")
def photos():
    return [skimage.io.imread(p) for p in PHOTOS[:3]]


def check_result(r, image_shape):
    n = len(r["class_ids"])
    assert r["rois"].dtype == np.int32 and r["rois"].shape == (n, 4)
    assert r["class_ids"].dtype == np.int32
    assert r["scores"].dtype == np.float32 and r["scores"].shape == (n,)
    assert r["masks"].dtype == bool and r["masks"].shape == image_shape[:2] + (n,)
    if n:
        assert np.all(r["class_ids"] >= 1) and np.all(r["class_ids"] < SmallConfig.NUM_CLASSES)
        assert np.all(np.diff(r["scores"]) <= 0)
        rois = r["rois"]
        assert np.all(rois[:, 0] >= 0) and np.all(rois[:, 1] >= 0)
        assert np.all(rois[:, 2] <= image_shape[0]) and np.all(rois[:, 3] <= image_shape[1])
        assert np.all(rois[:, 2] > rois[:, 0]) and np.all(rois[:, 3] > rois[:, 1])
        # Each mask lies inside its box.
        for i, (y1, x1, y2, x2) in enumerate(rois):
            m = r["masks"][:, :, i].copy()
            m[y1:y2, x1:x2] = False
            assert not m.any()


def test_detect_on_real_photos_returns_matterport_dicts(model, photos):
    results = model.detect(photos)
    assert len(results) == len(photos)
    for r, image in zip(results, photos):
        check_result(r, image.shape)
    assert sum(len(r["class_ids"]) for r in results) > 0  # random weights still detect


def test_images_in_a_batch_do_not_mix(tmp_path, photos):
    class Three(SmallConfig):
        IMAGES_PER_GPU = 3
    model = modellib.MaskRCNN("inference", Three(), str(tmp_path))
    a = model.detect(photos)
    b = model.detect([photos[2], photos[0], photos[1]])
    for r, q in zip(a, [b[1], b[2], b[0]]):
        for key in ("rois", "class_ids", "scores", "masks"):
            np.testing.assert_array_equal(r[key], q[key])
    # Alone, an image gives the same detections up to float rounding between batch sizes
    # (random weights give many near-ties, so a few detections may flip).
    for image, r in zip(photos, a):
        alone = model.detect([image])[0]
        boxes_alone = {tuple(b) + (c,) for b, c in zip(alone["rois"], alone["class_ids"])}
        boxes = {tuple(b) + (c,) for b, c in zip(r["rois"], r["class_ids"])}
        assert len(boxes_alone & boxes) >= 0.9 * max(len(boxes), len(boxes_alone))


def test_grayscale_rgba_and_16bit_inputs_match_rgb(model, photos):
    rgb = photos[0]
    gray = rgb[..., 0]
    as_gray = model.detect([np.stack([gray] * 3, -1)])[0]
    for variant in (gray, gray[..., None]):
        r = model.detect([variant])[0]
        np.testing.assert_array_equal(r["rois"], as_gray["rois"])
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], -1)
    r = model.detect([rgba])[0]
    base = model.detect([rgb])[0]
    np.testing.assert_array_equal(r["rois"], base["rois"])
    r16 = model.detect([rgb.astype(np.uint16) * 257])[0]
    np.testing.assert_array_equal(r16["rois"], base["rois"])


def _same_boxes(a, b):
    boxes_a = {tuple(r) + (c,) for r, c in zip(a["rois"], a["class_ids"])}
    boxes_b = {tuple(r) + (c,) for r, c in zip(b["rois"], b["class_ids"])}
    return len(boxes_a & boxes_b) >= 0.9 * max(len(boxes_a), len(boxes_b), 1)


def test_float_unit_and_bool_images_are_scaled_not_run_black(model, photos):
    photo = photos[1]
    base = model.detect([photo.astype(np.float32)])[0]
    black = model.detect([np.zeros_like(photo)])[0]
    assert not _same_boxes(base, black)  # the model tells the photo from a black image
    for unit in (photo / 255.0, (photo / 255.0).astype(np.float32)):  # float in [0, 1]
        r = model.detect([unit])[0]
        check_result(r, photo.shape)
        assert _same_boxes(r, base)
        np.testing.assert_allclose(sorted(r["scores"])[-5:], sorted(base["scores"])[-5:],
                                   atol=1e-3)
    binary = photo[..., 0] > 127
    as_bool = model.detect([binary])[0]
    as_uint8 = model.detect([np.where(binary, 255, 0).astype(np.uint8)])[0]
    for key in ("rois", "class_ids", "scores", "masks"):
        np.testing.assert_array_equal(as_bool[key], as_uint8[key])


def test_images_of_no_clear_range_are_refused_naming_them(model, photos):
    photo = photos[0]
    nan = np.where(photo > 250, np.nan, photo / 255.0)
    with pytest.raises(ValueError, match=r"images\[1\].*float64.*NaN"):
        model.detect([photo, nan])
    molded = modellib.mold_image(photo, model.config)  # already mean-subtracted
    with pytest.raises(ValueError, match=r"images\[0\].*float32.*values in \[-\d.*negative"):
        model.detect([molded])


def test_bad_inputs_raise_clear_errors(model, photos):
    with pytest.raises(ValueError, match="list of images"):
        model.detect(photos[0])  # one image, not a list
    with pytest.raises(ValueError, match=r"images\[1\]"):
        model.detect([photos[0], np.zeros((5, 5, 2), np.uint8)])
    with pytest.raises(ValueError, match="no pixels"):
        model.detect([np.zeros((0, 10, 3), np.uint8)])


def test_any_number_of_images_of_any_size(tmp_path, photos):
    class Pad64(SmallConfig):
        IMAGE_RESIZE_MODE = "pad64"
        IMAGE_MIN_DIM = 64
        IMAGES_PER_GPU = 2
    model = modellib.MaskRCNN("inference", Pad64(), str(tmp_path))
    images = [photos[0][:200, :300], photos[1], photos[2][:150], photos[0][:200, :300],
              photos[1][:100, :64]]
    results = model.detect(images)
    for r, image in zip(results, images):
        check_result(r, image.shape)
    np.testing.assert_array_equal(results[0]["rois"], results[3]["rois"])


def test_set_log_dir_and_find_last(tmp_path):
    config = SmallConfig()
    model = modellib.MaskRCNN("inference", config, str(tmp_path))
    with pytest.raises(FileNotFoundError):
        model.find_last()
    old = tmp_path / "small20240101T1200"
    new = tmp_path / "small20240102T0900"
    old.mkdir()
    new.mkdir()
    (old / "mask_rcnn_small_0003.h5").write_bytes(b"")
    # The newest folder has no checkpoint yet: the newest folder with one is used.
    assert model.find_last() == str(old / "mask_rcnn_small_0003.h5")
    (new / "mask_rcnn_small_0001.h5").write_bytes(b"")
    (new / "mask_rcnn_small_0002.h5").write_bytes(b"")
    last = model.find_last()
    assert last == str(new / "mask_rcnn_small_0002.h5")
    model.set_log_dir(last)
    assert model.epoch == 2
    assert model.log_dir == str(new)
    assert model.checkpoint_path.format(epoch=3) == str(new / "mask_rcnn_small_0003.h5")
    model.set_log_dir(str(tmp_path / "elsewhere.h5"))
    assert model.epoch == 0 and os.path.basename(model.log_dir).startswith("small")


def test_detect_needs_inference_mode_and_config_is_validated(tmp_path):
    class Bad(SmallConfig):
        IMAGE_MAX_DIM = 100
    with pytest.raises(ValueError, match="IMAGE_MAX_DIM"):
        Bad()
    with pytest.raises(ValueError, match="mode"):
        modellib.MaskRCNN("predict", SmallConfig(), str(tmp_path))


def test_detect_molded_matches_detect_on_a_square_image(model, photos):
    image = photos[0][:128, :128]  # already at the model's size: molding only subtracts the mean
    molded, metas, windows = model.mold_inputs([image])
    np.testing.assert_array_equal(windows[0], [0, 0, 128, 128])
    np.testing.assert_allclose(molded[0], image - SmallConfig.MEAN_PIXEL, atol=1e-4)
    a = model.detect([image])[0]
    b = model.detect_molded(molded, metas)[0]
    np.testing.assert_array_equal(a["rois"], b["rois"])
    np.testing.assert_array_equal(a["masks"], b["masks"])
    with pytest.raises(ValueError, match="image_meta"):
        model.detect_molded(molded, np.concatenate([metas, metas]))


def test_get_anchors_caches_normalized_and_keeps_pixel_anchors(model):
    normalized = model.get_anchors((128, 128, 3))
    assert normalized.dtype == np.float32 and normalized.shape == (4092, 4)
    assert model.anchors.shape == (4092, 4)
    np.testing.assert_allclose(normalized[:, :2] * 127, model.anchors[:, :2], atol=1e-3)
    assert model.get_anchors((128, 128)) is normalized


def test_get_anchors_computes_each_shape_once(model, monkeypatch):
    first = model.get_anchors((128, 128))
    pixels = model.anchors
    small = model.get_anchors((64, 64))
    small_pixels = model.anchors
    assert small_pixels.shape == small.shape and small.shape != first.shape
    monkeypatch.setattr(modellib, "_get_anchors",
                        lambda *args, **kwargs: pytest.fail("anchors computed again"))
    assert model.get_anchors((128, 128, 3)) is first and model.anchors is pixels
    assert model.get_anchors((64, 64)) is small and model.anchors is small_pixels


def _thread_rewrite_options():
    """(memory_optimization, disable_meta_optimizer) of the calling thread's function options."""
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.python.eager import context

    serialized = context.context().function_call_options.config_proto_serialized
    rewrite = config_pb2.ConfigProto.FromString(serialized).graph_options.rewrite_options
    return rewrite.memory_optimization, rewrite.disable_meta_optimizer


def test_predict_graph_options_stay_in_their_thread(model, photos):
    import threading

    import tensorflow as tf
    from tensorflow.core.protobuf import rewriter_config_pb2

    no_gpu = not tf.config.list_logical_devices("GPU")
    ours = (rewriter_config_pb2.RewriterConfig.NO_MEM_OPT, no_gpu)
    default = _thread_rewrite_options()
    assert default != ours
    reference = model.detect(photos[:2])
    seen, errors = {}, []
    inside, release = threading.Event(), threading.Event()
    barrier = threading.Barrier(2, timeout=120)

    def guarded(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # reported by the main thread
                errors.append(e)
                inside.set()
        return run

    def holder():  # stays inside the context manager while the others run
        with function_options.inference():
            seen["holder"] = _thread_rewrite_options()
            inside.set()
            assert release.wait(300)
            seen["holder_later"] = _thread_rewrite_options()
        seen["holder_after"] = _thread_rewrite_options()

    def detector(key):
        def run():
            seen[key + "_before"] = _thread_rewrite_options()
            barrier.wait()
            seen[key] = model.detect(photos[:2])  # two detect() calls at the same time
            seen[key + "_after"] = _thread_rewrite_options()
        return run

    threads = [threading.Thread(target=guarded(holder), daemon=True)]
    threads[0].start()
    assert inside.wait(120) and not errors, errors
    seen["main"] = _thread_rewrite_options()
    threads += [threading.Thread(target=guarded(detector(k)), daemon=True) for k in "ab"]
    for t in threads[1:]:
        t.start()
    for t in threads[1:]:
        t.join(300)
    release.set()
    threads[0].join(120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    assert seen["holder"] == seen["holder_later"] == ours
    assert seen["holder_after"] == seen["main"] == default
    for key in "ab":
        assert seen[key + "_before"] == seen[key + "_after"] == default
        for r, want in zip(seen[key], reference):
            for field in ("rois", "class_ids", "scores", "masks"):
                np.testing.assert_array_equal(r[field], want[field])
    assert _thread_rewrite_options() == default
