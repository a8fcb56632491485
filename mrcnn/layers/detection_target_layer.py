"""``DetectionTargetLayer`` (Matterport ``DetectionTargetLayer``, named ``"proposal_targets"``
there): a thin Keras 3 layer over :func:`mrcnn.ops.target_ops.detection_targets`."""

import types
from collections.abc import Sequence

import keras
import tensorflow as tf

from mrcnn.layers.config_args import fill_from_config, float_list, int_list
from mrcnn.ops.target_ops import detection_targets


@keras.saving.register_keras_serializable(package="mrcnn")
class DetectionTargetLayer(keras.layers.Layer):
    """Samples training RoIs from the proposals and builds their head targets (training only).

    Args:
        config: optional Matterport ``Config`` (Matterport's ``DetectionTargetLayer(config)``),
            or a mapping of the five ``Config`` names below (the layout this layer's
            ``get_config`` stored before); fills the arguments that are None. It is not kept:
            ``get_config`` stores the explicit values only.
        train_rois_per_image: int T, RoIs per image (``TRAIN_ROIS_PER_IMAGE``).
        roi_positive_ratio: float, most positives as a share of T (``ROI_POSITIVE_RATIO``).
        bbox_std_dev: 4 floats, the box target scale (``BBOX_STD_DEV``).
        use_mini_mask: bool, whether the GT masks are mini masks spanning their boxes
            (``USE_MINI_MASK``).
        mask_shape: (h, w) of the mask targets (``MASK_SHAPE``).

    ``call([proposals, gt_class_ids, gt_boxes, gt_masks])`` takes proposals float [B, P, 4]
    normalized, gt_class_ids int [B, G], gt_boxes float [B, G, 4] normalized and gt_masks bool
    [B, h, w, G], and returns ``[rois [B, T, 4] float32, target_class_ids [B, T] int32,
    target_bbox [B, T, 4] float32, target_mask [B, T, mask_shape[0], mask_shape[1]] float32]``;
    see ``detection_targets`` for the sampling rules.

    Raises:
        ValueError: an argument missing (neither given nor in ``config``), ``bbox_std_dev`` not
            4 values or ``mask_shape`` not 2.
    """

    def __init__(self, config=None, train_rois_per_image=None, roi_positive_ratio=None,
                 bbox_std_dev=None, use_mini_mask=None, mask_shape=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        args = fill_from_config(name, config, {
            "train_rois_per_image": (train_rois_per_image, "TRAIN_ROIS_PER_IMAGE"),
            "roi_positive_ratio": (roi_positive_ratio, "ROI_POSITIVE_RATIO"),
            "bbox_std_dev": (bbox_std_dev, "BBOX_STD_DEV"),
            "use_mini_mask": (use_mini_mask, "USE_MINI_MASK"),
            "mask_shape": (mask_shape, "MASK_SHAPE")})
        self.train_rois_per_image = int(args["train_rois_per_image"])
        self.roi_positive_ratio = float(args["roi_positive_ratio"])
        self.bbox_std_dev = float_list(args["bbox_std_dev"], 4, name, "bbox_std_dev")
        self.use_mini_mask = bool(args["use_mini_mask"])
        self.mask_shape = int_list(args["mask_shape"], 2, name, "mask_shape")

    @property
    def config(self):
        """The explicit arguments under their Matterport ``Config`` names (a read-only
        namespace built on each access), as ``detection_targets`` reads them; Matterport's layer
        kept its ``Config`` as ``self.config``."""
        return types.SimpleNamespace(
            TRAIN_ROIS_PER_IMAGE=self.train_rois_per_image,
            ROI_POSITIVE_RATIO=self.roi_positive_ratio, BBOX_STD_DEV=list(self.bbox_std_dev),
            USE_MINI_MASK=self.use_mini_mask, MASK_SHAPE=list(self.mask_shape))

    def call(self, inputs: Sequence[tf.Tensor]) -> list[tf.Tensor]:
        proposals, gt_class_ids, gt_boxes, gt_masks = inputs
        return list(detection_targets(proposals, gt_class_ids, gt_boxes, gt_masks, self.config))

    def compute_output_shape(self, input_shape):
        batch = input_shape[0][0]
        rois = self.train_rois_per_image
        return [(batch, rois, 4), (batch, rois), (batch, rois, 4), (batch, rois, *self.mask_shape)]

    def compute_output_spec(self, inputs):
        shapes = self.compute_output_shape([tuple(x.shape) for x in inputs])
        dtypes = ("float32", "int32", "float32", "float32")
        return [keras.KerasTensor(s, dtype=d) for s, d in zip(shapes, dtypes)]

    def compute_mask(self, inputs, mask=None):
        return [None, None, None, None]

    def get_config(self):
        return {**super().get_config(), "train_rois_per_image": self.train_rois_per_image,
                "roi_positive_ratio": self.roi_positive_ratio, "bbox_std_dev": self.bbox_std_dev,
                "use_mini_mask": self.use_mini_mask, "mask_shape": self.mask_shape}
