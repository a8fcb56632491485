"""Configs of the export tests, importable by ``python -m mrcnn export --config
export_configs:SmallConfig`` (run from tests/export/)."""

from mrcnn.config import Config


class SmallConfig(Config):
    NAME = "export"
    NUM_CLASSES = 1 + 3
    BACKBONE = "resnet50"
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    POST_NMS_ROIS_INFERENCE = 100
    DETECTION_MIN_CONFIDENCE = 0.0
    DETECTION_MAX_INSTANCES = 20
