"""Thin Keras 3 layers over the tensor functions of ``mrcnn.ops``."""

from mrcnn.layers.batch_norm import BatchNorm
from mrcnn.layers.detection_layer import DetectionLayer
from mrcnn.layers.detection_target_layer import DetectionTargetLayer
from mrcnn.layers.proposal_layer import ProposalLayer
from mrcnn.layers.roi_align import PyramidROIAlign

__all__ = ["BatchNorm", "DetectionLayer", "DetectionTargetLayer", "ProposalLayer", "PyramidROIAlign"]
