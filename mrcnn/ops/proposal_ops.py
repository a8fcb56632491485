"""RPN proposals (Matterport ``ProposalLayer``), batched over images.

Steps: top-k anchors by foreground score across all levels (``pre_nms_limit``), apply the RPN
deltas, clip to the image (normalized [0, 0, 1, 1]), non-maximum suppression, zero-pad to
``proposal_count``. One batched op replaces the original's per-image ``batch_slice`` loops.
"""

import tensorflow as tf

from mrcnn.ops import box_ops


def generate_proposals(rpn_probs, rpn_deltas, anchors, proposal_count, nms_threshold,
                       pre_nms_limit, rpn_bbox_std_dev):
    """Proposals from RPN outputs.

    Args:
        rpn_probs: float [B, A, 2] (background, foreground) probabilities.
        rpn_deltas: float [B, A, 4] predicted (dy, dx, log(dh), log(dw)), before std-dev scaling.
        anchors: float [B, A, 4] or [A, 4] normalized anchors, in the order of the RPN outputs.
        proposal_count: int, number of proposals kept per image.
        nms_threshold: IoU above which a lower-scored box is suppressed.
        pre_nms_limit: number of top-scored anchors refined before NMS.
        rpn_bbox_std_dev: [4] divisor of the RPN delta targets.

    Returns:
        float32 [B, proposal_count, 4] normalized (y1, x1, y2, x2), sorted by descending score,
        zero-padded.
    """
    rpn_probs = tf.stop_gradient(rpn_probs)
    rpn_deltas = tf.stop_gradient(rpn_deltas)
    scores = rpn_probs[:, :, 1]
    deltas = rpn_deltas * tf.reshape(tf.constant(rpn_bbox_std_dev, tf.float32), [1, 1, 4])
    if anchors.shape.rank == 2:
        anchors = tf.broadcast_to(anchors[tf.newaxis], tf.shape(deltas))
    k = tf.minimum(pre_nms_limit, tf.shape(scores)[1])
    scores, ix = tf.math.top_k(scores, k, sorted=True)
    deltas = tf.gather(deltas, ix, batch_dims=1)
    pre_nms_anchors = tf.gather(anchors, ix, batch_dims=1)
    boxes = box_ops.apply_box_deltas(pre_nms_anchors, deltas)
    boxes = box_ops.clip_boxes(boxes, tf.constant([0.0, 0.0, 1.0, 1.0]))
    boxes, _, _, _ = tf.image.combined_non_max_suppression(
        boxes[:, :, tf.newaxis, :], scores[:, :, tf.newaxis],
        max_output_size_per_class=proposal_count, max_total_size=proposal_count,
        iou_threshold=nms_threshold, score_threshold=float("-inf"), pad_per_class=False,
        clip_boxes=False)
    return boxes
