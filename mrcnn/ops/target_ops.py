"""Training targets for the box/class/mask heads (Matterport ``detection_targets_graph``, the
maths of ``DetectionTargetLayer``), computed for the whole batch at once.

The whole batch is handled by batched tensor ops: no Python loop over images, no ``batch_slice``, no
``tf.Variable``. The batch size may be dynamic (``None``), so the function works inside a
``tf.function`` / Keras ``train_step``. Random sampling uses one uniform key per proposal and
``tf.math.top_k``, which picks a uniformly random subset in a random order.

Boxes are (y1, x1, y2, x2), normalized (pixel ``(y1, x1, y2 - 1, x2 - 1)`` divided by
``(H - 1, W - 1)``, the ``tf.image.crop_and_resize`` convention).
"""

import contextlib

import tensorflow as tf

from mrcnn.ops.box_ops import BoxCoder, overlaps

# IoU with a crowd box from which a proposal can no longer be a negative (Matterport's value).
CROWD_IOU_THRESHOLD = 0.001
# IoU with a GT box from which a proposal is a positive.
POSITIVE_IOU_THRESHOLD = 0.5


# (seed, replica, replicas) of the RoI sampling while a seeded train step is traced
# (``sampling_seed``); None: stateful ``tf.random.uniform`` (a new draw each call, not
# reproducible).
_SAMPLING_SEED = [None]


@contextlib.contextmanager
def sampling_seed(seed, replica=0, replicas=1):
    """While active, ``detection_targets`` draws its RoI sampling keys with
    ``tf.random.stateless_uniform(seed=seed)``: the same ``seed`` (an int32/int64 tensor of
    shape [2], e.g. ``(Config.SEED, optimizer.iterations)``) gives the same sample, so a seeded
    training run is reproducible and resumable at any step. Used by the train step, at trace
    time (a plain module value, so the replicas' tracing threads see it too).

    Under ``replicas`` replicas of B images each, the keys are drawn for the global batch
    (``[replicas * B, P]``) and replica ``replica`` (a scalar tensor or int) takes rows
    ``replica * B`` to ``(replica + 1) * B``: image i of the global batch gets the same keys
    however the batch is split (2 replicas x 1 image sample as 1 replica x 2 images)."""
    previous = _SAMPLING_SEED[0]
    _SAMPLING_SEED[0] = (seed, replica, replicas)
    try:
        yield
    finally:
        _SAMPLING_SEED[0] = previous


def _sampling_keys(shape):
    """float32 keys in [0, 1) of shape [B, P] for the RoI sampling (see ``sampling_seed``)."""
    if _SAMPLING_SEED[0] is None:
        return tf.random.uniform(shape, dtype=tf.float32)
    seed, replica, replicas = _SAMPLING_SEED[0]
    rows = shape[0]
    keys = tf.random.stateless_uniform(tf.stack([rows * replicas, shape[1]]), seed=seed,
                                       dtype=tf.float32)
    return keys[tf.cast(replica, tf.int32) * rows:][:rows]


def sample_counts(config):
    """Per-image sampling limits derived from the config.

    Returns:
        (positive_max, background_only): ``int(TRAIN_ROIS_PER_IMAGE * ROI_POSITIVE_RATIO)``, the
        most positives kept per image, and ``int(TRAIN_ROIS_PER_IMAGE * (1 - ROI_POSITIVE_RATIO))``
        (with a 1e-6 guard against float rounding: 134 for the defaults), the negatives kept for
        an image without any positive.
    """
    rois = int(config.TRAIN_ROIS_PER_IMAGE)
    ratio = float(config.ROI_POSITIVE_RATIO)
    return int(rois * ratio), int(rois * (1.0 - ratio) + 1e-6)


def detection_targets(proposals, gt_class_ids, gt_boxes, gt_masks, config):
    """Samples RoIs from the proposals and builds their class, box and mask targets (training only).

    Mirrors Matterport's ``detection_targets_graph`` (run per image by
    ``DetectionTargetLayer``), for the whole batch. Per image:

    1. Zero rows of ``proposals`` are padding. GT rows are dropped (treated as padding) when their
       class id is 0 or their box has zero height or width (degenerate boxes would give ``log(0)``
       box targets and empty masks, a source of NaN losses).
    2. GT rows with a negative class id are crowds: they are not targets, and a proposal whose IoU
       with any crowd box is >= 0.001 cannot be a negative.
    3. Positives: proposals whose largest IoU with a (non-crowd) GT box is >= 0.5. Negatives:
       largest IoU < 0.5 and touching no crowd box. GT boxes are not added to the proposals.
    4. At most ``int(TRAIN_ROIS_PER_IMAGE * ROI_POSITIVE_RATIO)`` positives are kept, chosen at
       random, then ``int(p / ROI_POSITIVE_RATIO) - p`` random negatives for ``p`` kept positives
       (fewer if fewer exist).
       **Fix of a Matterport quirk:** when an image has no positive, Matterport keeps no negative
       either, so the image adds only padding. Here such an image still gets up to
       ``int(TRAIN_ROIS_PER_IMAGE * (1 - ROI_POSITIVE_RATIO))`` random negatives (134 for the
       defaults), so the class head keeps learning the background.
    5. Each positive is assigned its highest-IoU GT box (the first on ties). Its box target is
       ``box_refinement(roi, gt_box) / BBOX_STD_DEV``; its class target is the GT class id.
    6. Mask target: the assigned GT mask cropped to the RoI and resized to ``MASK_SHAPE``
       (bilinear ``crop_and_resize``), then rounded to 0/1 (``tf.round``: exactly 0.5 -> 0).
       With ``USE_MINI_MASK`` the mini mask spans the GT box, so the RoI is first re-expressed in
       the GT box's normalized frame ``((y1 - gy1) / gh, (x1 - gx1) / gw, ...)``.
    7. Output rows: the kept positives first, then the kept negatives, then zero padding up to
       ``TRAIN_ROIS_PER_IMAGE``. Negatives and padding have class 0 and zero box/mask targets.

    Args:
        proposals: float [B, P, 4] normalized proposal boxes; all-zero rows are padding.
        gt_class_ids: int [B, G] GT class ids; 0 = padding, negative = crowd.
        gt_boxes: float [B, G, 4] normalized GT boxes.
        gt_masks: bool or float [B, h, w, G] GT masks: mini masks ``MINI_MASK_SHAPE`` spanning each
            GT box when ``config.USE_MINI_MASK``, else full-image masks.
        config: a ``Config`` (or any object) with ``TRAIN_ROIS_PER_IMAGE``, ``ROI_POSITIVE_RATIO``,
            ``BBOX_STD_DEV``, ``USE_MINI_MASK`` and ``MASK_SHAPE``.

    Returns:
        ``(rois, target_class_ids, target_bbox, target_mask)``, with ``T = TRAIN_ROIS_PER_IMAGE``:

        * rois: float32 [B, T, 4] normalized sampled RoIs, zero rows = padding;
        * target_class_ids: int32 [B, T];
        * target_bbox: float32 [B, T, 4] ``(dy, dx, log(dh), log(dw)) / BBOX_STD_DEV``;
        * target_mask: float32 [B, T, MASK_SHAPE[0], MASK_SHAPE[1]] with values 0 or 1.

        All four are wrapped in ``tf.stop_gradient``.

    Unlike Matterport, an empty proposal or GT axis (P = 0 or G = 0) is allowed: every row is then
    padding or a negative.
    """
    rois_per_image = int(config.TRAIN_ROIS_PER_IMAGE)
    ratio = float(config.ROI_POSITIVE_RATIO)
    positive_max, background_only = sample_counts(config)
    mask_shape = [int(s) for s in config.MASK_SHAPE]
    coder = BoxCoder(config.BBOX_STD_DEV)

    proposals = tf.cast(proposals, tf.float32)
    gt_class_ids = tf.cast(gt_class_ids, tf.int32)
    gt_boxes = tf.cast(gt_boxes, tf.float32)
    batch = tf.shape(proposals)[0]
    # One zero (padding) row on each side keeps the P and G axes non-empty for top_k and argmax.
    proposals = tf.pad(proposals, [[0, 0], [0, 1], [0, 0]])
    gt_boxes = tf.pad(gt_boxes, [[0, 0], [0, 1], [0, 0]])
    gt_class_ids = tf.pad(gt_class_ids, [[0, 0], [0, 1]])

    # Steps 1-3: validity, crowds, IoU classification of each proposal. [B, P]
    proposal_valid = tf.reduce_any(tf.not_equal(proposals, 0.0), axis=-1)
    gt_proper = tf.logical_and(gt_boxes[..., 2] > gt_boxes[..., 0],
                               gt_boxes[..., 3] > gt_boxes[..., 1])
    is_gt = tf.logical_and(gt_proper, gt_class_ids > 0)
    is_crowd = tf.logical_and(gt_proper, gt_class_ids < 0)
    iou = overlaps(proposals, gt_boxes)  # [B, P, G]
    gt_iou = tf.where(is_gt[:, tf.newaxis, :], iou, -1.0)
    crowd_iou = tf.where(is_crowd[:, tf.newaxis, :], iou, -1.0)
    roi_iou_max = tf.reduce_max(gt_iou, axis=2)
    roi_gt_index = tf.argmax(gt_iou, axis=2, output_type=tf.int32)
    no_crowd = tf.reduce_max(crowd_iou, axis=2) < CROWD_IOU_THRESHOLD
    positive = tf.logical_and(proposal_valid, roi_iou_max >= POSITIVE_IOU_THRESHOLD)
    negative = tf.logical_and(tf.logical_and(proposal_valid, roi_iou_max < POSITIVE_IOU_THRESHOLD),
                              no_crowd)

    # Step 4: random subsets. Candidates get a key in [0, 1), the others -1, so top_k returns the
    # candidates first, in a uniformly random order.
    num_proposals = proposals.shape[1]  # static when known, so the k below are Python ints
    if num_proposals is None:
        num_proposals = tf.shape(proposals)[1]
        k_pos = tf.minimum(positive_max, num_proposals)
        k_neg = tf.minimum(rois_per_image, num_proposals)
    else:
        k_pos = min(positive_max, num_proposals)
        k_neg = min(rois_per_image, num_proposals)
    keys = _sampling_keys(tf.shape(proposal_valid))
    pos_index = tf.math.top_k(tf.where(positive, keys, -1.0), k=k_pos, sorted=True).indices
    neg_index = tf.math.top_k(tf.where(negative, keys, -1.0), k=k_neg, sorted=True).indices

    num_pos = tf.minimum(tf.reduce_sum(tf.cast(positive, tf.int32), axis=1), positive_max)
    wanted_neg = tf.cast(tf.math.floor(tf.cast(num_pos, tf.float64) / ratio + 1e-6),
                         tf.int32) - num_pos
    wanted_neg = tf.where(num_pos > 0, wanted_neg, background_only)
    wanted_neg = tf.minimum(wanted_neg, rois_per_image - num_pos)
    num_neg = tf.minimum(wanted_neg, tf.reduce_sum(tf.cast(negative, tf.int32), axis=1))

    # Step 7 layout: slot j < num_pos takes positive j, then negatives, then padding.
    slots = tf.range(rois_per_image, dtype=tf.int32)[tf.newaxis, :]  # [1, T]
    pos_slot = slots < num_pos[:, tf.newaxis]
    kept = slots < (num_pos + num_neg)[:, tf.newaxis]
    column = tf.where(pos_slot, slots, k_pos + slots - num_pos[:, tf.newaxis])
    column = tf.where(kept, column, 0)
    candidates = tf.concat([pos_index, neg_index], axis=1)
    roi_index = tf.gather(candidates, column, batch_dims=1)  # [B, T] proposal index

    rois = tf.where(kept[..., tf.newaxis], tf.gather(proposals, roi_index, batch_dims=1), 0.0)
    gt_index = tf.gather(roi_gt_index, roi_index, batch_dims=1)  # [B, T]
    class_ids = tf.where(pos_slot, tf.gather(gt_class_ids, gt_index, batch_dims=1), 0)

    # Step 5: box targets, computed on safe boxes outside the positives (no log(0) or 0/0).
    unit_box = tf.constant([0.0, 0.0, 1.0, 1.0])
    roi_safe = tf.where(pos_slot[..., tf.newaxis], rois, unit_box)
    gt_safe = tf.where(pos_slot[..., tf.newaxis],
                       tf.gather(gt_boxes, gt_index, batch_dims=1), unit_box)
    deltas = coder.encode(roi_safe, gt_safe)
    deltas = tf.where(pos_slot[..., tf.newaxis], deltas, 0.0)

    # Step 6: masks. Positives occupy only the first k_pos slots, so only those are cropped. Each
    # crop takes every GT channel; the assigned one is then picked with a one-hot sum (exact, cost
    # k_pos * MASK_SHAPE * G, independent of the mask resolution).
    mask_rois = roi_safe[:, :k_pos]
    if config.USE_MINI_MASK:
        gy1, gx1, gy2, gx2 = tf.unstack(gt_safe[:, :k_pos], axis=-1)
        y1, x1, y2, x2 = tf.unstack(mask_rois, axis=-1)
        gh, gw = gy2 - gy1, gx2 - gx1
        mask_rois = tf.stack([(y1 - gy1) / gh, (x1 - gx1) / gw,
                              (y2 - gy1) / gh, (x2 - gx1) / gw], axis=-1)
    gt_masks = tf.convert_to_tensor(gt_masks)
    if gt_masks.dtype == tf.bool:
        gt_masks = tf.cast(gt_masks, tf.uint8)
    elif gt_masks.dtype not in (tf.uint8, tf.float32):
        gt_masks = tf.cast(gt_masks, tf.float32)
    box_indices = tf.repeat(tf.range(batch, dtype=tf.int32), k_pos)
    crops = tf.image.crop_and_resize(gt_masks, tf.reshape(mask_rois, [-1, 4]), box_indices,
                                     mask_shape)  # [B * k_pos, mh, mw, G]
    crops = tf.reshape(crops, tf.concat([[batch, k_pos], tf.shape(crops)[1:]], axis=0))
    one_hot = tf.one_hot(gt_index[:, :k_pos], tf.shape(gt_masks)[3], dtype=tf.float32)
    masks = tf.reduce_sum(crops * one_hot[:, :, tf.newaxis, tf.newaxis, :], axis=-1)
    masks = tf.where(pos_slot[:, :k_pos, tf.newaxis, tf.newaxis], tf.round(masks), 0.0)
    masks = tf.pad(masks, [[0, 0], [0, rois_per_image - k_pos], [0, 0], [0, 0]])
    masks = tf.ensure_shape(masks, [None, rois_per_image] + mask_shape)

    return (tf.stop_gradient(rois), tf.stop_gradient(class_ids), tf.stop_gradient(deltas),
            tf.stop_gradient(masks))
