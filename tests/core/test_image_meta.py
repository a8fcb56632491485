"""mrcnn.image_meta: the named accessors read back what compose_image_meta packed, for NumPy
arrays, tf tensors and Keras symbolic tensors; parse_image_meta(_graph) keep Matterport's keys."""

import keras
import numpy as np
import pytest
import skimage.io
import tensorflow as tf

from mrcnn import image_meta
from mrcnn.config import Config
from mrcnn.image import resize_image
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))

FIELDS = ("image_id", "original_image_shape", "image_shape", "window", "scale",
          "active_class_ids")


@pytest.fixture(scope="module")
def composed():
    """Two metas of real photos resized as for training (square 128), and the values packed."""
    num_classes = 5
    rows, values = [], []
    for image_id, path in ((7, PHOTOS[1]), (12, PHOTOS[3])):
        photo = skimage.io.imread(path)
        resized, window, scale, _, _ = resize_image(photo, min_dim=128, max_dim=128,
                                                    mode="square")
        active = np.zeros(num_classes, np.int32)
        active[:image_id % num_classes + 1] = 1
        v = {"image_id": image_id, "original_image_shape": photo.shape,
             "image_shape": resized.shape, "window": window, "scale": scale,
             "active_class_ids": active}
        rows.append(image_meta.compose_image_meta(*(v[f] for f in FIELDS)))
        values.append(v)
    return np.stack(rows), values


def expected(values, field):
    return np.array([v[field] for v in values], dtype=np.float64)


def test_meta_size_is_the_config_and_the_composed_length(composed):
    metas, _ = composed
    assert metas.shape == (2, image_meta.meta_size(5))

    class Five(Config):
        NAME = "five"
        NUM_CLASSES = 5

    assert Five().IMAGE_META_SIZE == image_meta.meta_size(5) == 17


def test_accessors_on_numpy_read_back_the_composed_values(composed):
    metas, values = composed
    # Sanity: real photos, so the window is not the whole square.
    assert tuple(values[0]["window"]) != (0, 0, 128, 128)
    for field in FIELDS:
        get = getattr(image_meta, field)
        np.testing.assert_array_equal(get(metas), expected(values, field))
        for i in range(2):  # one image's [META] vector
            np.testing.assert_array_equal(get(metas[i]), expected(values, field)[i])
        assert get(metas).dtype == np.float64
    # A plain list of floats works too.
    np.testing.assert_array_equal(image_meta.window(list(metas[1])), values[1]["window"])


def test_accessors_on_tf_tensors_and_in_a_tf_function(composed):
    metas, values = composed
    t = tf.constant(metas, tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, metas.shape[1]], tf.float32)])
    def graph_fields(m):
        return {f: getattr(image_meta, f)(m) for f in FIELDS}

    traced = graph_fields(t)
    for field in FIELDS:
        eager = getattr(image_meta, field)(t)
        assert isinstance(eager, tf.Tensor) and eager.dtype == tf.float32
        np.testing.assert_allclose(eager.numpy(), expected(values, field), rtol=1e-6)
        np.testing.assert_allclose(traced[field].numpy(), expected(values, field), rtol=1e-6)


def test_accessors_on_keras_symbolic_tensors(composed):
    metas, values = composed
    x = keras.Input(shape=[metas.shape[1]])
    outputs = [getattr(image_meta, f)(x) for f in FIELDS]
    assert tuple(outputs[FIELDS.index("window")].shape) == (None, 4)
    assert tuple(outputs[FIELDS.index("active_class_ids")].shape) == (None, 5)
    got = keras.Model(x, outputs)(metas.astype(np.float32))
    for field, value in zip(FIELDS, got):
        np.testing.assert_allclose(np.asarray(value), expected(values, field), rtol=1e-6)


def test_parse_image_meta_keys_and_dtypes(composed):
    metas, values = composed
    parsed = image_meta.parse_image_meta(metas)
    assert set(parsed) == set(FIELDS)
    for field in FIELDS:
        want = np.float32 if field == "scale" else np.int32
        assert parsed[field].dtype == want
        np.testing.assert_allclose(parsed[field], expected(values, field), rtol=1e-6)
    graph = image_meta.parse_image_meta_graph(tf.constant(metas, tf.float32))
    assert set(graph) == set(FIELDS)
    for field in FIELDS:
        assert graph[field].dtype == tf.float32
        np.testing.assert_allclose(graph[field].numpy(), expected(values, field), rtol=1e-6)


def test_bad_metas_and_layouts_are_refused():
    with pytest.raises(ValueError, match="IMAGE_META_SIZE"):
        image_meta.window(np.zeros((2, 11)))
    with pytest.raises(ValueError, match="IMAGE_META_SIZE"):
        image_meta.parse_image_meta(np.zeros((2, 12)))
    with pytest.raises(ValueError, match="IMAGE_META_SIZE"):
        image_meta.scale(tf.zeros([1, 12]))
    with pytest.raises(ValueError, match="scalar"):
        image_meta.image_id(np.float64(3))
    with pytest.raises(ValueError, match="image_shape must have 3 values"):
        image_meta.compose_image_meta(0, (480, 640, 3), (128, 128), (0, 0, 128, 128), 0.2,
                                      [1, 1])
    with pytest.raises(ValueError, match="window must have 4 values"):
        image_meta.compose_image_meta(0, (480, 640, 3), (128, 128, 3), (0, 0, 128), 0.2, [1, 1])
