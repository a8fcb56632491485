"""The five Mask R-CNN losses and the L2 weight decay (Matterport ``model.py`` loss functions).

Names, argument orders, shapes and definitions follow Matterport. Each loss returns a float32
scalar and is batched (no Python loop over images). Every mean is a masked sum divided by the
selected count with ``tf.math.divide_no_nan``, so a loss with nothing selected is exactly 0 (never
NaN), and unselected rows are discarded with ``tf.where`` so non-finite values there (padding,
unused anchors) cannot leak into the loss or its gradient.

Under a ``tf.distribute`` strategy with several replicas (inside ``strategy.run``, as in
``fit``), every count is summed over all replicas (``global_count``): each replica's loss is then
its share ``local sum / global count`` of the mean over the global batch, the shares add up to
that mean, and the all-reduced (summed) gradients are the gradients of the global-batch loss:
2 replicas x 1 image give the step of 1 replica x 2 images.
"""

import tensorflow as tf

# Keras' backend epsilon, used to clip probabilities in binary cross-entropy.
EPSILON = 1e-7


def smooth_l1_loss(y_true, y_pred):
    """Elementwise smooth-L1 (Huber, beta = 1) loss (Matterport ``smooth_l1_loss``).

    With ``d = |y_true - y_pred|``: ``0.5 * d**2`` where ``d < 1``, else ``d - 0.5``.

    Args:
        y_true, y_pred: float tensors of the same shape (any shape).

    Returns:
        float32 tensor of that shape.
    """
    diff = tf.abs(tf.cast(y_true, tf.float32) - tf.cast(y_pred, tf.float32))
    return tf.where(diff < 1.0, 0.5 * tf.square(diff), diff - 0.5)


def global_count(count):
    """``count`` (a float32 scalar) summed over the replicas of the current ``tf.distribute``
    replica context, without gradient; ``count`` itself outside one or with one replica."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return count
    return context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(count))


def _masked_mean(values, selected, count_per_selected=1.0):
    """sum(values[selected]) / (count(selected) * count_per_selected); 0 if nothing selected.
    The count is over all replicas (``global_count``)."""
    total = tf.reduce_sum(tf.where(selected, values, tf.zeros_like(values)))
    count = tf.reduce_sum(tf.cast(selected, tf.float32)) * count_per_selected
    return tf.math.divide_no_nan(total, global_count(count))


def rpn_class_loss_graph(rpn_match, rpn_class_logits):
    """RPN anchor classifier loss (Matterport ``rpn_class_loss_graph``).

    Sparse softmax cross-entropy over the anchors with ``rpn_match != 0`` (target 1 for positive
    anchors, 0 for negative ones), averaged over all selected anchors of the batch.

    Args:
        rpn_match: int [B, A, 1] (or [B, A]) anchor match: 1 positive, -1 negative, 0 neutral.
        rpn_class_logits: float [B, A, 2] background/foreground logits.

    Returns:
        float32 scalar; 0 when no anchor is selected.
    """
    logits = tf.cast(rpn_class_logits, tf.float32)
    rpn_match = tf.reshape(tf.cast(rpn_match, tf.int32), tf.shape(logits)[:-1])
    anchor_class = tf.cast(tf.equal(rpn_match, 1), tf.int32)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=anchor_class, logits=logits)
    return _masked_mean(loss, tf.not_equal(rpn_match, 0))


def rpn_bbox_loss_graph(config, target_bbox, rpn_match, rpn_bbox):
    """RPN box regression loss (Matterport ``rpn_bbox_loss_graph``).

    Per image, the k-th positive anchor (in anchor-index order) is paired with row k of
    ``target_bbox`` (``build_rpn_targets`` writes the positive anchors' deltas into consecutive
    rows), as Matterport's ``batch_pack_graph``, but without a loop over the batch. Smooth-L1,
    averaged over all elements (positives x 4) of the batch. Positive anchors beyond the
    ``target_bbox`` rows of their image have no target and are ignored.

    Args:
        config: unused; kept for Matterport's signature.
        target_bbox: float [B, N, 4] RPN delta targets (already divided by ``RPN_BBOX_STD_DEV``),
            rows past each image's positive count are zero padding (N is usually
            ``RPN_TRAIN_ANCHORS_PER_IMAGE``).
        rpn_match: int [B, A, 1] (or [B, A]) anchor match: 1 positive, -1 negative, 0 neutral.
        rpn_bbox: float [B, A, 4] predicted deltas (dy, dx, log(dh), log(dw)).

    Returns:
        float32 scalar; 0 when there is no positive anchor.
    """
    del config
    rpn_bbox = tf.cast(rpn_bbox, tf.float32)
    target_bbox = tf.cast(target_bbox, tf.float32)
    rpn_match = tf.reshape(tf.cast(rpn_match, tf.int32), tf.shape(rpn_bbox)[:-1])
    positive = tf.equal(rpn_match, 1)
    # Rank of each positive anchor among its image's positives: the target row it pairs with.
    rank = tf.cumsum(tf.cast(positive, tf.int32), axis=1, exclusive=True)
    num_rows = tf.shape(target_bbox)[1]
    selected = tf.logical_and(positive, rank < num_rows)
    # One zero row keeps the gather valid when N = 0.
    padded = tf.pad(target_bbox, [[0, 0], [0, 1], [0, 0]])
    target = tf.gather(padded, tf.where(selected, rank, num_rows), batch_dims=1)  # [B, A, 4]
    loss = smooth_l1_loss(target, rpn_bbox)
    return _masked_mean(loss, tf.broadcast_to(selected[..., tf.newaxis], tf.shape(loss)))


def mrcnn_class_loss_graph(target_class_ids, pred_class_logits, active_class_ids):
    """Classifier head loss (Matterport ``mrcnn_class_loss_graph``).

    Sparse softmax cross-entropy over all T RoIs of every image (zero-padded RoIs count as
    background). Each RoI's loss is multiplied by ``active_class_ids[image, argmax(logits)]``,
    which zeroes it when the predicted class is not in the image's source dataset; the result is
    ``sum(loss) / sum(weights)``.

    **Fix of a Matterport quirk:** Matterport looked up the active classes of image 0 for every
    image of the batch; here each image uses its own row of ``active_class_ids``. Matterport also
    returned NaN when no predicted class was active; here that gives 0.

    Args:
        target_class_ids: int [B, T] (or [B, T, 1]) target class per RoI, 0 = background.
        pred_class_logits: float [B, T, NC] classifier logits.
        active_class_ids: float or int [B, NC]: 1 for the classes of each image's dataset, else 0
            (from the image meta).

    Returns:
        float32 scalar.
    """
    logits = tf.cast(pred_class_logits, tf.float32)
    target_class_ids = tf.reshape(tf.cast(target_class_ids, tf.int32), tf.shape(logits)[:-1])
    active = tf.cast(active_class_ids, tf.float32)
    pred_class_ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
    pred_active = tf.gather(active, pred_class_ids, batch_dims=1)  # [B, T]
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target_class_ids, logits=logits)
    loss = tf.where(pred_active != 0, loss * pred_active, 0.0)
    return tf.math.divide_no_nan(tf.reduce_sum(loss), global_count(tf.reduce_sum(pred_active)))


def _target_class_slice(values, target_class_ids, positive):
    """values [B, T, NC, ...] -> [B, T, ...] at each RoI's target class (class 0 off positives)."""
    index = tf.where(positive, target_class_ids, 0)
    return tf.gather(values, index, axis=2, batch_dims=2)


def mrcnn_bbox_loss_graph(target_bbox, target_class_ids, pred_bbox):
    """Box head loss (Matterport ``mrcnn_bbox_loss_graph``).

    Only RoIs with ``target_class_id > 0`` count, using the predicted deltas of their target class.
    Smooth-L1, averaged over all elements (positives x 4).

    Args:
        target_bbox: float [B, T, 4] delta targets (divided by ``BBOX_STD_DEV``).
        target_class_ids: int [B, T] (or [B, T, 1]).
        pred_bbox: float [B, T, NC, 4] predicted deltas per class.

    Returns:
        float32 scalar; 0 when there is no positive RoI.
    """
    pred_bbox = tf.cast(pred_bbox, tf.float32)
    target_class_ids = tf.reshape(tf.cast(target_class_ids, tf.int32), tf.shape(pred_bbox)[:2])
    positive = target_class_ids > 0
    pred = _target_class_slice(pred_bbox, target_class_ids, positive)  # [B, T, 4]
    loss = smooth_l1_loss(target_bbox, pred)
    return _masked_mean(loss, tf.broadcast_to(positive[..., tf.newaxis], tf.shape(loss)))


def mrcnn_mask_loss_graph(target_masks, target_class_ids, pred_masks):
    """Mask head loss (Matterport ``mrcnn_mask_loss_graph``).

    Only RoIs with ``target_class_id > 0`` count, using the predicted mask of their target class.
    Binary cross-entropy on the sigmoid probabilities, clipped to ``[1e-7, 1 - 1e-7]`` as Keras
    does, averaged over all pixels of all positive RoIs.

    Args:
        target_masks: float [B, T, h, w] 0/1 targets.
        target_class_ids: int [B, T] (or [B, T, 1]).
        pred_masks: float [B, T, h, w, NC] sigmoid probabilities.

    Returns:
        float32 scalar; 0 when there is no positive RoI.
    """
    pred_masks = tf.cast(pred_masks, tf.float32)
    target_masks = tf.cast(target_masks, tf.float32)
    target_class_ids = tf.reshape(tf.cast(target_class_ids, tf.int32), tf.shape(pred_masks)[:2])
    positive = target_class_ids > 0
    index = tf.where(positive, target_class_ids, 0)
    pred = tf.gather(pred_masks, index, axis=4, batch_dims=2)  # [B, T, h, w]
    pred = tf.clip_by_value(pred, EPSILON, 1.0 - EPSILON)
    loss = -(target_masks * tf.math.log(pred) + (1.0 - target_masks) * tf.math.log(1.0 - pred))
    selected = tf.broadcast_to(positive[:, :, tf.newaxis, tf.newaxis], tf.shape(loss))
    return _masked_mean(loss, selected)


def l2_weight_decay(weights, weight_decay):
    """L2 regularization as Matterport's ``compile``: ``sum(weight_decay * mean(w ** 2))``.

    The sum runs over the given weights whose name (Keras 3 ``v.path`` such as
    ``"bn_conv1/gamma"``, else ``v.name``) contains neither ``"gamma"`` nor ``"beta"``, so
    BatchNorm scales and offsets are not decayed. Pass the model's trainable weights.

    Args:
        weights: iterable of Keras variables (or ``tf.Variable`` / objects with ``name``).
        weight_decay: float, e.g. ``config.WEIGHT_DECAY``.

    Returns:
        float32 scalar; 0 for an empty selection.
    """
    terms = []
    for w in weights:
        name = getattr(w, "path", None) or getattr(w, "name", "") or ""
        if "gamma" in name or "beta" in name:
            continue
        value = getattr(w, "value", w)
        value = tf.cast(value() if callable(value) else value, tf.float32)
        terms.append(tf.math.divide_no_nan(tf.reduce_sum(tf.square(value)),
                                           tf.cast(tf.size(value), tf.float32)))
    if not terms:
        return tf.constant(0.0, tf.float32)
    return tf.cast(weight_decay, tf.float32) * tf.add_n(terms)
