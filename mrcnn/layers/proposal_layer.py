"""``ProposalLayer`` (Matterport ``model.ProposalLayer``, named "ROI" in the graph)."""

from collections.abc import Sequence

import keras
import tensorflow as tf

from mrcnn.layers.config_args import fill_from_config, float_list
from mrcnn.ops import proposal_ops


@keras.saving.register_keras_serializable(package="mrcnn")
class ProposalLayer(keras.layers.Layer):
    """RPN outputs -> proposals.

    Inputs: ``[rpn_probs [B, A, 2], rpn_bbox [B, A, 4], anchors [B, A, 4] normalized]``, float32.
    Output: float32 ``[B, proposal_count, 4]`` normalized (y1, x1, y2, x2), zero-padded.
    See ``mrcnn.ops.proposal_ops.generate_proposals``.

    Args:
        proposal_count: int, proposals kept per image after NMS (``POST_NMS_ROIS_TRAINING`` or
            ``POST_NMS_ROIS_INFERENCE``).
        nms_threshold: float, IoU threshold of the NMS (``RPN_NMS_THRESHOLD``).
        config: optional Matterport ``Config``; fills the arguments below that are None
            (Matterport's ``ProposalLayer(proposal_count, nms_threshold, config=config)``). It is
            not kept: ``get_config`` stores the explicit values only.
        pre_nms_limit: int, top-scoring anchors kept before the NMS (``PRE_NMS_LIMIT``).
        rpn_bbox_std_dev: 4 floats, the RPN delta scale (``RPN_BBOX_STD_DEV``).

    Raises:
        ValueError: ``pre_nms_limit`` or ``rpn_bbox_std_dev`` missing (neither given nor in
            ``config``), or ``rpn_bbox_std_dev`` not 4 values.
    """

    def __init__(self, proposal_count, nms_threshold, config=None, pre_nms_limit=None,
                 rpn_bbox_std_dev=None, **kwargs):
        super().__init__(**kwargs)
        args = fill_from_config(type(self).__name__, config, {
            "pre_nms_limit": (pre_nms_limit, "PRE_NMS_LIMIT"),
            "rpn_bbox_std_dev": (rpn_bbox_std_dev, "RPN_BBOX_STD_DEV")})
        self.proposal_count = int(proposal_count)
        self.nms_threshold = float(nms_threshold)
        self.pre_nms_limit = int(args["pre_nms_limit"])
        self.rpn_bbox_std_dev = float_list(args["rpn_bbox_std_dev"], 4, type(self).__name__,
                                           "rpn_bbox_std_dev")

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        rpn_probs, rpn_bbox, anchors = inputs
        return proposal_ops.generate_proposals(
            rpn_probs, rpn_bbox, anchors, self.proposal_count, self.nms_threshold,
            self.pre_nms_limit, self.rpn_bbox_std_dev)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.proposal_count, 4)

    def get_config(self):
        return {**super().get_config(), "proposal_count": self.proposal_count,
                "nms_threshold": self.nms_threshold, "pre_nms_limit": self.pre_nms_limit,
                "rpn_bbox_std_dev": self.rpn_bbox_std_dev}
