"""Configs of the export tests, importable by ``python -m mrcnn export --config
export_configs:SmallConfig`` (run from tests/export/)."""

from tests.conftest import SmallInferenceConfig


class SmallConfig(SmallInferenceConfig):
    NAME = "export"
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1
