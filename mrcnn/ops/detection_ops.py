"""Final detections (Matterport ``DetectionLayer`` / ``refine_detections_graph``), batched.

Per RoI: the class is the argmax of the class probabilities (one class per RoI, as in the
original), its class-specific deltas refine the RoI, the box is clipped to the image window,
background and low-score RoIs are dropped, per-class NMS runs, and the top
``DETECTION_MAX_INSTANCES`` by score are kept.
"""

import numpy as np
import tensorflow as tf

from mrcnn.ops import box_ops


def refine_detections(rois, probs, deltas, window, bbox_std_dev, min_confidence, max_instances,
                      nms_threshold):
    """Detections from the class/box head outputs.

    Args:
        rois: float [B, N, 4] normalized proposals (zero rows are padding).
        probs: float [B, N, NC] class probabilities.
        deltas: float [B, N, NC, 4] class-specific box deltas, before std-dev scaling.
        window: float [B, 4] normalized (y1, x1, y2, x2) of the real image inside the padding.
        bbox_std_dev: [4] divisor of the head delta targets.
        min_confidence: keep detections with score >= this (0 turns the filter off).
        max_instances: detections per image.
        nms_threshold: IoU threshold of the per-class NMS.

    Returns:
        float32 [B, max_instances, 6] rows ``(y1, x1, y2, x2, class_id, score)``, boxes
        normalized, sorted by descending score, zero-padded.
    """
    num_classes = tf.shape(probs)[2]
    class_ids = tf.argmax(probs, axis=2, output_type=tf.int32)
    class_scores = tf.reduce_max(probs, axis=2)
    class_deltas = tf.gather(deltas, class_ids, batch_dims=2)
    class_deltas *= tf.reshape(tf.constant(bbox_std_dev, tf.float32), [1, 1, 4])
    boxes = box_ops.apply_box_deltas(rois, class_deltas)
    boxes = box_ops.clip_boxes(boxes, window)

    # Scores of the argmax class only, background column dropped: per-class NMS then only sees
    # the RoIs assigned to that class, as in the original. "score >= min_confidence" becomes a
    # strict ">" against the next float32 below it; with the filter off, any positive score counts.
    one_hot = tf.one_hot(class_ids, num_classes, dtype=probs.dtype)
    scores = (one_hot * class_scores[..., tf.newaxis])[:, :, 1:]
    if min_confidence:
        threshold = float(np.nextafter(np.float32(min_confidence), np.float32(0)))
    else:
        threshold = 0.0
    boxes, scores, classes, valid = tf.image.combined_non_max_suppression(
        boxes[:, :, tf.newaxis, :], scores, max_output_size_per_class=max_instances,
        max_total_size=max_instances, iou_threshold=nms_threshold, score_threshold=threshold,
        pad_per_class=False, clip_boxes=False)
    is_valid = tf.range(max_instances)[tf.newaxis, :] < valid[:, tf.newaxis]
    classes = tf.where(is_valid, classes + 1.0, 0.0)
    scores = tf.where(is_valid, scores, 0.0)
    boxes = tf.where(is_valid[..., tf.newaxis], boxes, 0.0)
    return tf.concat([boxes, classes[..., tf.newaxis], scores[..., tf.newaxis]], axis=2)
