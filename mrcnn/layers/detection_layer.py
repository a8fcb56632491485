"""``DetectionLayer`` (Matterport ``model.DetectionLayer``, named "mrcnn_detection")."""

import keras
import numpy as np

from mrcnn.ops import box_ops, detection_ops


@keras.saving.register_keras_serializable(package="mrcnn")
class DetectionLayer(keras.layers.Layer):
    """Class/box head outputs -> final detections.

    Inputs: ``[rois [B, N, 4], mrcnn_class [B, N, NC], mrcnn_bbox [B, N, NC, 4],
    image_meta [B, META]]``.
    Output: float32 ``[B, DETECTION_MAX_INSTANCES, 6]`` rows (y1, x1, y2, x2, class_id, score),
    boxes normalized, zero-padded. The batch axis is dynamic (Matterport reshaped to the global
    BATCH_SIZE, which broke multi-GPU inference).
    """

    def __init__(self, config=None, bbox_std_dev=None, min_confidence=None, max_instances=None,
                 nms_threshold=None, **kwargs):
        super().__init__(**kwargs)
        std = bbox_std_dev if bbox_std_dev is not None else config.BBOX_STD_DEV
        self.bbox_std_dev = [float(v) for v in np.reshape(std, [-1])]
        self.min_confidence = float(min_confidence if min_confidence is not None
                                    else config.DETECTION_MIN_CONFIDENCE)
        self.max_instances = int(max_instances if max_instances is not None
                                 else config.DETECTION_MAX_INSTANCES)
        self.nms_threshold = float(nms_threshold if nms_threshold is not None
                                   else config.DETECTION_NMS_THRESHOLD)

    def call(self, inputs):
        rois, mrcnn_class, mrcnn_bbox, image_meta = inputs
        # Window of the real image, normalized with the molded size of image 0.
        window = box_ops.norm_boxes(image_meta[:, 7:11], image_meta[0, 4:6])
        return detection_ops.refine_detections(
            rois, mrcnn_class, mrcnn_bbox, window, self.bbox_std_dev, self.min_confidence,
            self.max_instances, self.nms_threshold)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.max_instances, 6)

    def get_config(self):
        return {**super().get_config(), "bbox_std_dev": self.bbox_std_dev,
                "min_confidence": self.min_confidence, "max_instances": self.max_instances,
                "nms_threshold": self.nms_threshold}
