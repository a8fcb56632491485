"""``ProposalLayer`` (Matterport ``model.ProposalLayer``, named "ROI" in the graph)."""

import keras
import numpy as np

from mrcnn.ops import proposal_ops


@keras.saving.register_keras_serializable(package="mrcnn")
class ProposalLayer(keras.layers.Layer):
    """RPN outputs -> proposals.

    Inputs: ``[rpn_probs [B, A, 2], rpn_bbox [B, A, 4], anchors [B, A, 4] normalized]``.
    Output: float32 ``[B, proposal_count, 4]`` normalized (y1, x1, y2, x2), zero-padded.
    See ``mrcnn.ops.proposal_ops.generate_proposals``.
    """

    def __init__(self, proposal_count, nms_threshold, config=None, pre_nms_limit=None,
                 rpn_bbox_std_dev=None, **kwargs):
        super().__init__(**kwargs)
        self.proposal_count = int(proposal_count)
        self.nms_threshold = float(nms_threshold)
        self.pre_nms_limit = int(pre_nms_limit if pre_nms_limit is not None
                                 else config.PRE_NMS_LIMIT)
        std = rpn_bbox_std_dev if rpn_bbox_std_dev is not None else config.RPN_BBOX_STD_DEV
        self.rpn_bbox_std_dev = [float(v) for v in np.reshape(std, [-1])]

    def call(self, inputs):
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
