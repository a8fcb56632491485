"""Keras 3 native saving of the inference model (issue 9, item 4): ``keras_model`` saves and
loads as a ``.keras`` file, and its weights as a Keras 3 ``.weights.h5`` file, next to
Matterport's ``.h5`` layout (``MaskRCNN.save_weights``); all three give detect() results
identical to the original model's on a real photo."""

import h5py
import keras
import numpy as np
import pytest
import skimage.io

import mrcnn.model as modellib
from mrcnn.weights import WeightFileError
from tests.export.export_configs import SmallConfig
from tests.export.test_export import PHOTOS, sharpen_masks
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


def same_detections(a, b):
    for key in ("rois", "class_ids", "scores", "masks"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# Keras' own .weights.h5 reader converts h5py datasets with np.array(copy=False) (not ours).
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_keras_file_keras_weights_and_matterport_weights_give_identical_detections(tmp_path):
    keras.utils.set_random_seed(5)
    model = modellib.MaskRCNN("inference", SmallConfig(), str(tmp_path / "logs"))
    sharpen_masks(model.keras_model)
    image = skimage.io.imread(PHOTOS[2])
    expected = model.detect([image])[0]
    assert len(expected["class_ids"]) > 0

    model.keras_model.save(tmp_path / "mask_rcnn.keras")
    model.keras_model.save_weights(tmp_path / "mask_rcnn.weights.h5")
    model.save_weights(str(tmp_path / "mask_rcnn_matterport.h5"))
    with h5py.File(tmp_path / "mask_rcnn.weights.h5", "r") as f:
        assert "layers" in f  # the Keras 3 layout
    with h5py.File(tmp_path / "mask_rcnn_matterport.h5", "r") as f:
        assert "layer_names" in f.attrs  # the Keras 2 layout of mask_rcnn_coco.h5

    keras.utils.set_random_seed(6)  # fresh models start from other weights
    fresh = modellib.MaskRCNN("inference", SmallConfig(), str(tmp_path / "logs"))
    assert not np.array_equal(fresh.keras_model.get_layer("conv1").get_weights()[0],
                              model.keras_model.get_layer("conv1").get_weights()[0])
    fresh.keras_model = keras.models.load_model(tmp_path / "mask_rcnn.keras")
    same_detections(expected, fresh.detect([image])[0])

    for load in (lambda m: m.keras_model.load_weights(tmp_path / "mask_rcnn.weights.h5"),
                 lambda m: m.load_weights(str(tmp_path / "mask_rcnn_matterport.h5"),
                                          by_name=True)):
        fresh = modellib.MaskRCNN("inference", SmallConfig(), str(tmp_path / "logs"))
        load(fresh)
        same_detections(expected, fresh.detect([image])[0])

    # Matterport's loader names the Keras 3 file and the call that loads it.
    with pytest.raises(WeightFileError, match=r"keras_model\.load_weights"):
        fresh.load_weights(str(tmp_path / "mask_rcnn.weights.h5"), by_name=True)
