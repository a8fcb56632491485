"""Final detections (Matterport ``DetectionLayer`` / ``refine_detections_graph``), batched.

Per RoI: the class is the argmax of the class probabilities (one class per RoI, as in the
original), its class-specific deltas refine the RoI, the box is clipped to the image window,
background and low-score RoIs are dropped, per-class NMS runs, and the top
``DETECTION_MAX_INSTANCES`` by score are kept.

Class choice and delta gathering run batched; box decoding and selection run per image
(``tf.map_fn``) with Matterport's ops in Matterport's order, because that order decides ties
(saturated softmaxes give many exactly equal float32 scores):

1. the kept RoIs, in ascending RoI index (what the original's ``tf.sets`` intersection yields);
2. for each class among them, ``tf.image.non_max_suppression`` on that class's RoIs in ascending
   RoI index (equal scores: the lower RoI index is selected first);
3. the union of the per-class selections, in ascending RoI index, goes through
   ``tf.math.top_k`` (equal scores: the lower RoI index comes first), keeping at most
   ``max_instances``.

``tf.image.combined_non_max_suppression`` orders equal scores differently, which changed which
detections survive and their order.
"""

import tensorflow as tf

from mrcnn.ops import box_ops


def refine_detections(rois, probs, deltas, window, bbox_std_dev, min_confidence, max_instances,
                      nms_threshold):
    """Detections from the class/box head outputs.

    Args:
        rois: float32 [B, N, 4] normalized proposals (zero rows are padding).
        probs: float32 [B, N, NC] class probabilities.
        deltas: float32 [B, N, NC, 4] class-specific box deltas, before std-dev scaling.
        window: float32 [B, 4] normalized (y1, x1, y2, x2) of the real image inside the padding.
        bbox_std_dev: [4] divisor of the head delta targets (``box_ops.BoxCoder``; log size
            deltas clamped at ``box_ops.SCALE_CLAMP``, an overflow guard).
        min_confidence: keep detections with float32 score >= this (0 turns the filter off).
        max_instances: detections per image.
        nms_threshold: IoU threshold of the per-class NMS.

    Returns:
        float32 [B, max_instances, 6] rows ``(y1, x1, y2, x2, class_id, score)``, boxes
        normalized, sorted by descending score (equal scores by ascending RoI index),
        zero-padded.
    """
    class_ids = tf.argmax(probs, axis=2, output_type=tf.int32)
    class_scores = tf.gather(probs, class_ids, batch_dims=2)
    class_deltas = tf.gather(deltas, class_ids, batch_dims=2)
    coder = box_ops.BoxCoder(bbox_std_dev)

    keep_mask = class_ids > 0
    if min_confidence:
        keep_mask &= class_scores >= tf.constant(min_confidence, class_scores.dtype)

    def select_one_image(args):
        image_rois, image_deltas, image_window, image_class_ids, image_scores, image_keep = args
        # Decoded per image, on Matterport's [N] arrays: tf.exp may round the scalar tail of a
        # vectorized loop differently, so a [B * N] decode could differ by one ulp.
        image_boxes = coder.decode(image_rois, image_deltas)
        image_boxes = box_ops.clip_boxes(image_boxes, image_window)
        keep = tf.where(image_keep)[:, 0]
        keep_class_ids = tf.gather(image_class_ids, keep)

        def nms_one_class(class_id):
            ixs = keep[keep_class_ids == class_id]
            selected = tf.image.non_max_suppression(
                tf.gather(image_boxes, ixs), tf.gather(image_scores, ixs),
                max_output_size=max_instances, iou_threshold=nms_threshold)
            selected = tf.gather(ixs, selected)
            return tf.pad(selected, [[0, max_instances - tf.shape(selected)[0]]],
                          constant_values=-1)

        per_class = tf.map_fn(nms_one_class, tf.unique(keep_class_ids)[0],
                              fn_output_signature=tf.TensorSpec([max_instances], tf.int64))
        selected = tf.reshape(per_class, [-1])
        selected = tf.sort(selected[selected >= 0])
        selected_scores = tf.gather(image_scores, selected)
        count = tf.minimum(tf.shape(selected)[0], max_instances)
        top = tf.gather(selected, tf.math.top_k(selected_scores, count, sorted=True).indices)
        rows = tf.concat([tf.gather(image_boxes, top),
                          tf.cast(tf.gather(image_class_ids, top), tf.float32)[:, None],
                          tf.gather(image_scores, top)[:, None]], axis=1)
        return tf.pad(rows, [[0, max_instances - count], [0, 0]])

    return tf.map_fn(select_one_image,
                     (rois, class_deltas, window, class_ids, class_scores, keep_mask),
                     fn_output_signature=tf.TensorSpec([max_instances, 6], tf.float32))
