"""Shared pieces of the test suite (paths are in tests/paths.py).

The small model several test files build: ResNet-50, 3 classes + background, 128x128 squares,
anchors from 8 px. ``SmallConfig`` is that model as molding and batching tests need it (two
images a batch); ``SmallInferenceConfig`` keeps every detection of a random-weight model (100
proposals, no minimum confidence, 20 detection slots). A test file imports them
(``from tests.conftest import SmallConfig``) and subclasses them for what is special to it:
model/test_transform.py and model/test_model.py use them as they are;
layers/test_layer_serialization.py, model/test_head_batch_norm.py and export/export_configs.py
override the name and their own settings. A config only one test file uses stays in that file.
"""

from mrcnn.config import Config


class SmallConfig(Config):
    NAME = "small"
    NUM_CLASSES = 1 + 3
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 2
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)


class SmallInferenceConfig(SmallConfig):
    POST_NMS_ROIS_INFERENCE = 100
    DETECTION_MIN_CONFIDENCE = 0.0
    DETECTION_MAX_INSTANCES = 20
