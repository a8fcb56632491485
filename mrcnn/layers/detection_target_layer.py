"""``DetectionTargetLayer`` (Matterport ``DetectionTargetLayer``, named ``"proposal_targets"``
there): a thin Keras 3 layer over :func:`mrcnn.ops.target_ops.detection_targets`."""

import types

import keras
import numpy as np

from mrcnn.ops.target_ops import detection_targets

_CONFIG_KEYS = ("TRAIN_ROIS_PER_IMAGE", "ROI_POSITIVE_RATIO", "BBOX_STD_DEV", "USE_MINI_MASK",
                "MASK_SHAPE")


class DetectionTargetLayer(keras.layers.Layer):
    """Samples training RoIs from the proposals and builds their head targets (training only).

    Args:
        config: a ``Config``, or a dict with ``TRAIN_ROIS_PER_IMAGE``, ``ROI_POSITIVE_RATIO``,
            ``BBOX_STD_DEV``, ``USE_MINI_MASK`` and ``MASK_SHAPE`` (what ``get_config`` stores).

    ``call([proposals, gt_class_ids, gt_boxes, gt_masks])`` takes proposals float [B, P, 4]
    normalized, gt_class_ids int [B, G], gt_boxes float [B, G, 4] normalized and gt_masks bool
    [B, h, w, G], and returns ``[rois [B, T, 4] float32, target_class_ids [B, T] int32,
    target_bbox [B, T, 4] float32, target_mask [B, T, MASK_SHAPE[0], MASK_SHAPE[1]] float32]``,
    ``T = TRAIN_ROIS_PER_IMAGE``; see ``detection_targets`` for the sampling rules.
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(config, dict):
            config = {key: getattr(config, key) for key in _CONFIG_KEYS}
        self.config = types.SimpleNamespace(  # plain JSON-serialisable values
            TRAIN_ROIS_PER_IMAGE=int(config["TRAIN_ROIS_PER_IMAGE"]),
            ROI_POSITIVE_RATIO=float(config["ROI_POSITIVE_RATIO"]),
            BBOX_STD_DEV=[float(s) for s in np.reshape(config["BBOX_STD_DEV"], [-1])],
            USE_MINI_MASK=bool(config["USE_MINI_MASK"]),
            MASK_SHAPE=[int(s) for s in config["MASK_SHAPE"]])

    def call(self, inputs):
        proposals, gt_class_ids, gt_boxes, gt_masks = inputs
        return list(detection_targets(proposals, gt_class_ids, gt_boxes, gt_masks, self.config))

    def compute_output_shape(self, input_shape):
        batch = input_shape[0][0]
        rois = self.config.TRAIN_ROIS_PER_IMAGE
        return [(batch, rois, 4), (batch, rois), (batch, rois, 4),
                (batch, rois, *self.config.MASK_SHAPE)]

    def compute_output_spec(self, inputs):
        shapes = self.compute_output_shape([tuple(x.shape) for x in inputs])
        dtypes = ("float32", "int32", "float32", "float32")
        return [keras.KerasTensor(s, dtype=d) for s, d in zip(shapes, dtypes)]

    def compute_mask(self, inputs, mask=None):
        return [None, None, None, None]

    def get_config(self):
        return {**super().get_config(), "config": dict(vars(self.config))}
