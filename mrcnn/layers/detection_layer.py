"""``DetectionLayer`` (Matterport ``model.DetectionLayer``, named "mrcnn_detection")."""

from collections.abc import Sequence

import keras
import tensorflow as tf

from mrcnn import image_meta
from mrcnn.layers.config_args import fill_from_config, float_list
from mrcnn.ops import box_ops, detection_ops


@keras.saving.register_keras_serializable(package="mrcnn")
class DetectionLayer(keras.layers.Layer):
    """Class/box head outputs -> final detections.

    Inputs: ``[rois [B, N, 4] normalized, mrcnn_class [B, N, NC], mrcnn_bbox [B, N, NC, 4],
    image_meta [B, META]]``, float32.
    Output: float32 ``[B, max_instances, 6]`` rows (y1, x1, y2, x2, class_id, score),
    boxes normalized, zero-padded. The batch axis is dynamic (Matterport reshaped to the global
    BATCH_SIZE, which broke multi-GPU inference). See
    ``mrcnn.ops.detection_ops.refine_detections``.

    Args:
        config: optional Matterport ``Config`` (Matterport's ``DetectionLayer(config)``); fills
            the arguments below that are None. It is not kept: ``get_config`` stores the
            explicit values only.
        bbox_std_dev: 4 floats, the head's delta scale (``BBOX_STD_DEV``).
        min_confidence: float, the lowest class score kept (``DETECTION_MIN_CONFIDENCE``).
        max_instances: int, detections per image (``DETECTION_MAX_INSTANCES``).
        nms_threshold: float, IoU threshold of the per-class NMS (``DETECTION_NMS_THRESHOLD``).

    Raises:
        ValueError: an argument missing (neither given nor in ``config``), or ``bbox_std_dev``
            not 4 values.
    """

    def __init__(self, config=None, bbox_std_dev=None, min_confidence=None, max_instances=None,
                 nms_threshold=None, **kwargs):
        super().__init__(**kwargs)
        args = fill_from_config(type(self).__name__, config, {
            "bbox_std_dev": (bbox_std_dev, "BBOX_STD_DEV"),
            "min_confidence": (min_confidence, "DETECTION_MIN_CONFIDENCE"),
            "max_instances": (max_instances, "DETECTION_MAX_INSTANCES"),
            "nms_threshold": (nms_threshold, "DETECTION_NMS_THRESHOLD")})
        self.bbox_std_dev = float_list(args["bbox_std_dev"], 4, type(self).__name__,
                                       "bbox_std_dev")
        self.min_confidence = float(args["min_confidence"])
        self.max_instances = int(args["max_instances"])
        self.nms_threshold = float(args["nms_threshold"])

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        rois, mrcnn_class, mrcnn_bbox, meta = inputs
        # Window of the real image, normalized with the molded size (H, W) of image 0.
        window = box_ops.norm_boxes(image_meta.window(meta), image_meta.image_shape(meta)[0, :2])
        return detection_ops.refine_detections(
            rois, mrcnn_class, mrcnn_bbox, window, self.bbox_std_dev, self.min_confidence,
            self.max_instances, self.nms_threshold)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.max_instances, 6)

    def get_config(self):
        return {**super().get_config(), "bbox_std_dev": self.bbox_std_dev,
                "min_confidence": self.min_confidence, "max_instances": self.max_instances,
                "nms_threshold": self.nms_threshold}
