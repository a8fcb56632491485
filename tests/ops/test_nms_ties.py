"""Proposal and detection NMS with many exactly tied float32 scores, against a per-image reference
written here from Matterport's description of ``ProposalLayer`` and ``refine_detections_graph``
(shared/reference/matterport-api.md §2.4, §2.9): its TF ops in its order, image by image.

Saturated sigmoids and softmaxes give many scores of exactly 1.0 (and of the few float32 values
just below it), so the order in which NMS visits equal scores decides which boxes survive; the
results must match the reference row for row, bit for bit.
"""

import json

import numpy as np
import tensorflow as tf

from mrcnn.anchors import get_anchors
from mrcnn.config import Config
from mrcnn.layers import DetectionLayer, ProposalLayer
from mrcnn.ops import detection_ops, proposal_ops
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
STD = np.array([0.1, 0.1, 0.2, 0.2], np.float32)


# ----------------------------------------------------------------------------- the reference
def decode(boxes, deltas):
    """Matterport's box decoding (§2.9): centre/size, shift by delta * size, scale by exp."""
    height = boxes[:, 2] - boxes[:, 0]
    width = boxes[:, 3] - boxes[:, 1]
    cy = boxes[:, 0] + 0.5 * height + deltas[:, 0] * height
    cx = boxes[:, 1] + 0.5 * width + deltas[:, 1] * width
    height = height * tf.exp(deltas[:, 2])
    width = width * tf.exp(deltas[:, 3])
    y1 = cy - 0.5 * height
    x1 = cx - 0.5 * width
    return tf.stack([y1, x1, y1 + height, x1 + width], axis=1)


def clip(boxes, window):
    wy1, wx1, wy2, wx2 = [window[i] for i in range(4)]
    y1, x1, y2, x2 = [boxes[:, i] for i in range(4)]
    return tf.stack([tf.maximum(tf.minimum(y1, wy2), wy1), tf.maximum(tf.minimum(x1, wx2), wx1),
                     tf.maximum(tf.minimum(y2, wy2), wy1), tf.maximum(tf.minimum(x2, wx2), wx1)],
                    axis=1)


def reference_proposals(rpn_probs, rpn_deltas, anchors, count, nms_threshold, pre_nms_limit):
    """§2.4, one image at a time: sorted top_k, gather, decode, clip, non_max_suppression, pad."""
    out = []
    for b in range(rpn_probs.shape[0]):
        scores = tf.constant(rpn_probs[b, :, 1])
        k = min(pre_nms_limit, anchors.shape[0])
        ix = tf.nn.top_k(scores, k, sorted=True).indices
        scores = tf.gather(scores, ix)
        deltas = tf.gather(tf.constant(rpn_deltas[b] * STD), ix)
        boxes = clip(decode(tf.gather(tf.constant(anchors), ix), deltas),
                     tf.constant([0.0, 0.0, 1.0, 1.0]))
        keep = tf.image.non_max_suppression(boxes, scores, count, nms_threshold)
        proposals = tf.gather(boxes, keep).numpy()
        out.append(np.pad(proposals, [(0, count - len(proposals)), (0, 0)]))
    return np.stack(out)


def reference_detections(rois, probs, deltas, window, min_confidence, max_instances,
                         nms_threshold):
    """§2.9 refine_detections_graph, one image at a time."""
    out = []
    for b in range(rois.shape[0]):
        p = tf.constant(probs[b])
        class_ids = tf.argmax(p, axis=1, output_type=tf.int32)
        index = tf.stack([tf.range(p.shape[0]), class_ids], axis=1)
        class_scores = tf.gather_nd(p, index)
        refined = clip(decode(tf.constant(rois[b]), tf.gather_nd(deltas[b], index) * STD),
                       tf.constant(window[b]))
        keep = tf.where(class_ids > 0)[:, 0]
        if min_confidence:
            confident = tf.where(class_scores >= min_confidence)[:, 0]
            keep = tf.sparse.to_dense(tf.sets.intersection(keep[None], confident[None]))[0]
        pre_ids = tf.gather(class_ids, keep)
        pre_scores = tf.gather(class_scores, keep)
        pre_rois = tf.gather(refined, keep)

        def per_class(class_id):
            ixs = tf.where(tf.equal(pre_ids, class_id))[:, 0]
            kept = tf.image.non_max_suppression(tf.gather(pre_rois, ixs),
                                                tf.gather(pre_scores, ixs),
                                                max_output_size=max_instances,
                                                iou_threshold=nms_threshold)
            kept = tf.gather(keep, tf.gather(ixs, kept))
            return tf.pad(kept, [(0, max_instances - tf.shape(kept)[0])], constant_values=-1)

        nms_keep = tf.reshape(tf.map_fn(per_class, tf.unique(pre_ids)[0],
                                        fn_output_signature=tf.int64), [-1])
        nms_keep = tf.gather(nms_keep, tf.where(nms_keep > -1)[:, 0])
        keep = tf.sparse.to_dense(tf.sets.intersection(keep[None], nms_keep[None]))[0]
        kept_scores = tf.gather(class_scores, keep)
        top = tf.nn.top_k(kept_scores, tf.minimum(tf.shape(kept_scores)[0], max_instances),
                          sorted=True).indices
        keep = tf.gather(keep, top)
        rows = tf.concat([tf.gather(refined, keep),
                          tf.cast(tf.gather(class_ids, keep), tf.float32)[:, None],
                          tf.gather(class_scores, keep)[:, None]], axis=1).numpy()
        out.append(np.pad(rows, [(0, max_instances - len(rows)), (0, 0)]))
    return np.stack(out)


# ----------------------------------------------------------------------------- inputs
def saturated_softmax(logits):
    """float32 softmax, as the heads compute it: large logits give exact 1.0 and near-1 ties."""
    return tf.nn.softmax(tf.constant(logits, tf.float32), axis=-1).numpy()


def coco_boxes(n_images):
    """Real COCO val2017 GT boxes, normalized, for the images with the most instances."""
    coco = json.loads((DATA / "coco_tiny" / "annotations" / "instances_val2017.json").read_text())
    sizes = {im["id"]: (im["height"], im["width"]) for im in coco["images"]}
    per_image = {}
    for ann in coco["annotations"]:
        per_image.setdefault(ann["image_id"], []).append(ann["bbox"])
    ids = sorted(per_image, key=lambda i: (-len(per_image[i]), i))[:n_images]
    out = []
    for i in ids:
        h, w = sizes[i]
        x, y, bw, bh = np.array(per_image[i], np.float64).T
        out.append(np.stack([y / (h - 1), x / (w - 1), (y + bh) / (h - 1), (x + bw) / (w - 1)],
                            axis=1))
    return out


# ----------------------------------------------------------------------------- tests
class Tiny(Config):
    NAME = "ties"
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)


def rpn_outputs_with_ties(seed, batch, n_anchors):
    rng = np.random.default_rng(seed)
    logits = np.zeros((batch, n_anchors, 2), np.float32)
    logits[..., 1] = rng.normal(12.0, 10.0, (batch, n_anchors))
    probs = saturated_softmax(logits)
    deltas = rng.normal(0.0, 0.5, (batch, n_anchors, 4)).astype(np.float32)
    return probs, deltas


def test_proposals_with_tied_scores_match_matterport_order():
    anchors = get_anchors(Tiny(), (128, 128, 3))
    probs, deltas = rpn_outputs_with_ties(11, 2, len(anchors))
    # Most kept scores are tied: the test is about the order of equal scores.
    assert (probs[..., 1] == 1.0).mean() > 0.3
    count, thr, pre = 300, 0.7, 3000
    expected = reference_proposals(probs, deltas, anchors, count, thr, pre)
    got = proposal_ops.generate_proposals(tf.constant(probs), tf.constant(deltas),
                                          tf.constant(anchors), count, thr, pre, STD).numpy()
    np.testing.assert_array_equal(got, expected)
    assert (np.abs(expected).sum(-1) > 0).sum(-1).min() == count  # every slot is a proposal

    # The layer in a graph with a dynamic batch axis (as detect() runs it), fewer proposals than
    # slots: the same rows, then zero padding.
    count, thr, pre = 1500, 0.5, 1500
    layer = ProposalLayer(proposal_count=count, nms_threshold=thr, pre_nms_limit=pre,
                          rpn_bbox_std_dev=STD)
    spec = tf.TensorSpec([None, None, None], tf.float32)
    graph_fn = tf.function(lambda p, d, a: layer([p, d, a]), input_signature=[spec] * 3)
    batch_anchors = np.broadcast_to(anchors, (2,) + anchors.shape)
    got = graph_fn(probs, deltas, batch_anchors).numpy()
    expected = reference_proposals(probs, deltas, anchors, count, thr, pre)
    np.testing.assert_array_equal(got, expected)
    assert (np.abs(expected).sum(-1) == 0).all(0)[-1]


def head_outputs_with_ties(seed, rois, num_classes):
    rng = np.random.default_rng(seed)
    batch, n = rois.shape[:2]
    logits = rng.normal(0.0, 12.0, (batch, n, num_classes)).astype(np.float32)
    # Exact copies of some rows: equal scores that are not 1.0, on overlapping boxes.
    src = rng.integers(0, n, n // 4)
    dst = rng.integers(0, n, n // 4)
    logits[:, dst] = logits[:, src]
    probs = saturated_softmax(logits)
    deltas = rng.normal(0.0, 0.3, (batch, n, num_classes, 4)).astype(np.float32)
    return probs, deltas


def detection_inputs(seed, copies=8, pad=20):
    """RoIs: real COCO boxes, each in several jittered copies (heavy overlap), then padding."""
    rng = np.random.default_rng(seed)
    per_image = []
    for boxes in coco_boxes(2):
        boxes = np.repeat(boxes, copies, axis=0)
        size = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1)
        boxes = np.clip(boxes + rng.normal(0.0, 0.05, boxes.shape) * size, 0.0, 1.0)
        per_image.append(boxes)
    n = max(len(b) for b in per_image) + pad
    rois = np.zeros((len(per_image), n, 4), np.float32)
    for i, boxes in enumerate(per_image):
        rois[i, :len(boxes)] = boxes
    return rois


def test_detections_with_tied_scores_match_matterport_order():
    rois = detection_inputs(3)
    num_classes, max_instances, thr = 5, 40, 0.3
    probs, deltas = head_outputs_with_ties(7, rois, num_classes)
    window = np.array([[0.0, 0.0, 1.0, 1.0], [0.05, 0.0, 0.95, 1.0]], np.float32)
    for min_conf in (0.0, 0.7):
        expected = reference_detections(rois, probs, deltas, window, min_conf, max_instances,
                                        thr)
        got = detection_ops.refine_detections(
            tf.constant(rois), tf.constant(probs), tf.constant(deltas), tf.constant(window),
            STD, min_conf, max_instances, thr).numpy()
        np.testing.assert_array_equal(got, expected)
        # Every slot filled, most of them with a tied score.
        assert (expected[..., 4] > 0).all()
        assert (expected[..., 5] == 1.0).sum(-1).min() > max_instances // 2


def test_detection_layer_ties_and_empty_image_in_a_graph():
    rois = detection_inputs(5)
    num_classes, max_instances = 4, 100
    probs, deltas = head_outputs_with_ties(9, rois, num_classes)
    probs[1] = np.eye(num_classes, dtype=np.float32)[0]  # image 1: background only
    # image_meta holds the molded shape and the pixel window (see mrcnn.image_meta); the layer
    # normalizes the window with image 0's shape.
    pixel_window = np.array([[13, 0, 115, 128], [0, 0, 128, 128]], np.float32)
    meta = np.zeros((2, 12 + num_classes), np.float32)
    meta[:, 4:7] = [128, 128, 3]
    meta[:, 7:11] = pixel_window
    window = (pixel_window - np.float32([0, 0, 1, 1])) / np.float32(127)
    min_conf, thr = 0.999, 0.3
    layer = DetectionLayer(bbox_std_dev=STD, min_confidence=min_conf, max_instances=max_instances,
                           nms_threshold=thr)
    specs = [tf.TensorSpec([None, None, 4]), tf.TensorSpec([None, None, num_classes]),
             tf.TensorSpec([None, None, num_classes, 4]), tf.TensorSpec([None, meta.shape[1]])]
    graph_fn = tf.function(lambda *x: layer(list(x)), input_signature=specs)
    got = graph_fn(rois, probs, deltas, meta).numpy()
    assert got.shape == (2, max_instances, 6)
    expected = reference_detections(rois, probs, deltas, window, min_conf, max_instances, thr)
    np.testing.assert_array_equal(got, expected)
    assert (got[0, :, 4] > 0).sum() > 0 and (got[0, :, 4] == 0).any()  # some, then padding
    np.testing.assert_array_equal(got[1], 0.0)
