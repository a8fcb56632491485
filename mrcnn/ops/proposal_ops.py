"""RPN proposals (Matterport ``ProposalLayer``), batched over images.

Steps: top-k anchors by foreground score across all levels (``pre_nms_limit``), apply the RPN
deltas, clip to the image (normalized [0, 0, 1, 1]), non-maximum suppression, zero-pad to
``proposal_count``. Top-k and the gathers run batched; decoding, clipping and the NMS run once
per image (``tf.map_fn``), with Matterport's own op ``tf.image.non_max_suppression`` on the boxes
in top-k order.

Ties: saturated RPN sigmoids give many exactly equal float32 scores. ``tf.math.top_k`` puts equal
scores in anchor order and ``tf.image.non_max_suppression`` visits equal scores in input order, so
the proposals are those of Matterport's graph row for row
(``tf.image.combined_non_max_suppression`` orders equal scores differently and so keeps other
proposals). Decoding per image keeps Matterport's array shapes, so ``tf.exp`` rounds each element
as there (see ``generate_proposals``).
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
        rpn_bbox_std_dev: [4] divisor of the RPN delta targets (``box_ops.BoxCoder``; log size
            deltas clamped at ``box_ops.SCALE_CLAMP``, an overflow guard).

    Returns:
        float32 [B, proposal_count, 4] normalized (y1, x1, y2, x2), in NMS selection order
        (descending score; equal scores in the order of the anchors), zero-padded.
    """
    rpn_probs = tf.stop_gradient(rpn_probs)
    rpn_deltas = tf.stop_gradient(rpn_deltas)
    scores = rpn_probs[:, :, 1]
    coder = box_ops.BoxCoder(rpn_bbox_std_dev)
    if anchors.shape.rank == 2:
        anchors = tf.broadcast_to(anchors[tf.newaxis], tf.shape(rpn_deltas))
    k = tf.minimum(pre_nms_limit, tf.shape(scores)[1])
    scores, ix = tf.math.top_k(scores, k, sorted=True)
    deltas = tf.gather(rpn_deltas, ix, batch_dims=1)
    pre_nms_anchors = tf.gather(anchors, ix, batch_dims=1)

    def proposals_one_image(args):
        image_anchors, image_deltas, image_scores = args
        boxes = coder.decode(image_anchors, image_deltas)
        boxes = box_ops.clip_boxes(boxes, tf.constant([0.0, 0.0, 1.0, 1.0]))
        keep = tf.image.non_max_suppression(boxes, image_scores, proposal_count, nms_threshold)
        proposals = tf.gather(boxes, keep)
        return tf.pad(proposals, [[0, proposal_count - tf.shape(keep)[0]], [0, 0]])

    # Decoding per image too: tf.exp may round the last elements of an array differently (scalar
    # tail of a vectorized loop), so [B * k] boxes at once could differ from Matterport's
    # per-image [k] by one ulp and flip an IoU at the NMS threshold.
    return tf.map_fn(proposals_one_image, (pre_nms_anchors, deltas, scores),
                     fn_output_signature=tf.TensorSpec([proposal_count, 4], tf.float32))


#: The intermediate stages ``proposal_stages`` returns (Matterport's TF1 tensor names
#: ``ROI/pre_nms_anchors``, ``ROI/refined_anchors``, ``ROI/refined_anchors_clipped`` and the
#: indices its ``ROI/rpn_non_max_suppression`` kept).
PROPOSAL_STAGES = ("pre_nms_anchors", "refined_anchors", "refined_anchors_clipped",
                   "post_nms_anchor_ix", "proposals")


def proposal_stages(rpn_probs, rpn_deltas, anchors, proposal_count, nms_threshold,
                    pre_nms_limit, rpn_bbox_std_dev):
    """The steps of ``generate_proposals`` for inspection (notebooks, ``MaskRCNN.run_graph``):
    the same ops in the same order, one image at a time, eagerly.

    Args: as ``generate_proposals``.

    Returns:
        dict of per-image lists stacked where shapes agree: ``pre_nms_anchors`` float32
        [B, k, 4] (the top-k anchors, normalized), ``refined_anchors`` [B, k, 4] (decoded),
        ``refined_anchors_clipped`` [B, k, 4] (clipped to [0, 0, 1, 1]), ``post_nms_anchor_ix``
        int32 [B, n] indices into the top-k kept by NMS (padded with -1 to the longest),
        ``proposals`` [B, proposal_count, 4] (equal to ``generate_proposals``' output).
    """
    scores = tf.convert_to_tensor(rpn_probs)[:, :, 1]
    rpn_deltas = tf.convert_to_tensor(rpn_deltas)
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    if anchors.shape.rank == 2:
        anchors = tf.broadcast_to(anchors[tf.newaxis], tf.shape(rpn_deltas))
    coder = box_ops.BoxCoder(rpn_bbox_std_dev)
    k = tf.minimum(pre_nms_limit, tf.shape(scores)[1])
    scores, ix = tf.math.top_k(scores, k, sorted=True)
    deltas = tf.gather(rpn_deltas, ix, batch_dims=1)
    pre_nms_anchors = tf.gather(anchors, ix, batch_dims=1)
    refined, clipped, keeps, proposals = [], [], [], []
    for b in range(int(pre_nms_anchors.shape[0])):
        boxes = coder.decode(pre_nms_anchors[b], deltas[b])
        refined.append(boxes)
        boxes = box_ops.clip_boxes(boxes, tf.constant([0.0, 0.0, 1.0, 1.0]))
        clipped.append(boxes)
        keep = tf.image.non_max_suppression(boxes, scores[b], proposal_count, nms_threshold)
        keeps.append(keep)
        kept = tf.gather(boxes, keep)
        proposals.append(tf.pad(kept, [[0, proposal_count - tf.shape(keep)[0]], [0, 0]]))
    longest = max(int(kp.shape[0]) for kp in keeps)
    keeps = [tf.pad(kp, [[0, longest - int(kp.shape[0])]], constant_values=-1) for kp in keeps]
    return {"pre_nms_anchors": pre_nms_anchors, "refined_anchors": tf.stack(refined),
            "refined_anchors_clipped": tf.stack(clipped),
            "post_nms_anchor_ix": tf.stack(keeps), "proposals": tf.stack(proposals)}
