"""Assembles the Mask R-CNN Keras models (Matterport ``MaskRCNN.build``).

``build_inference_model`` and ``build_training_model`` share ``build_backbone_and_rpn`` and the
heads; layer names are Matterport's so that its weight files load by name. The layers of
``mrcnn.layers`` get their settings from ``config`` here, as explicit arguments, so the inference
model saves and loads as a ``.keras`` file and ``keras.models.clone_model`` copies it.

Both builders run under the dtype policy of ``config.MIXED_PRECISION`` (``mrcnn.precision``): the
numerically sensitive layers are built with ``dtype="float32"``, the rest with the policy.
``config.SYNC_BN`` makes the training model's BatchNorm layers synchronized across replicas.
"""

import functools

import keras
from keras import layers as KL

from mrcnn import heads, image_meta
from mrcnn.anchors import compute_backbone_shapes
from mrcnn.backbone import resnet_graph
from mrcnn.fpn import build_fpn
from mrcnn.layers.anchor_layer import AnchorsLayer
from mrcnn.layer_walk import iter_layers
from mrcnn.layers.batch_norm import BatchNorm, uses_batch_statistics
from mrcnn.layers.detection_layer import DetectionLayer
from mrcnn.layers.detection_target_layer import DetectionTargetLayer
from mrcnn.layers.loss_layer import LOSS_NAMES, LossLayer
from mrcnn.layers.proposal_layer import ProposalLayer
from mrcnn.precision import FLOAT32, policy_scope


def build_backbone_and_rpn(input_image, config):
    """Backbone, FPN and RPN on ``input_image``.

    Returns:
        (rpn_feature_maps [P2..P6], mrcnn_feature_maps [P2..P5],
        [rpn_class_logits [B, A, 2], rpn_class [B, A, 2], rpn_bbox [B, A, 4]]).
    """
    if callable(config.BACKBONE):
        _, C2, C3, C4, C5 = config.BACKBONE(input_image, stage5=True, train_bn=config.TRAIN_BN)
    else:
        _, C2, C3, C4, C5 = resnet_graph(input_image, config.BACKBONE, stage5=True,
                                         train_bn=config.TRAIN_BN)
    P2, P3, P4, P5, P6 = build_fpn(C2, C3, C4, C5, config.TOP_DOWN_PYRAMID_SIZE)
    rpn_feature_maps = [P2, P3, P4, P5, P6]
    mrcnn_feature_maps = [P2, P3, P4, P5]

    rpn = heads.build_rpn_model(config.RPN_ANCHOR_STRIDE, len(config.RPN_ANCHOR_RATIOS),
                                config.TOP_DOWN_PYRAMID_SIZE)
    level_outputs = [rpn([p]) for p in rpn_feature_maps]
    names = ["rpn_class_logits", "rpn_class", "rpn_bbox"]
    rpn_outputs = [KL.Concatenate(axis=1, name=name, dtype=FLOAT32)([lo[i] for lo in level_outputs])
                   for i, name in enumerate(names)]
    return rpn_feature_maps, mrcnn_feature_maps, rpn_outputs


def _proposal_layer(config, proposal_count):
    """The ``ProposalLayer`` named "ROI" with the config's RPN settings."""
    return ProposalLayer(proposal_count=proposal_count, nms_threshold=config.RPN_NMS_THRESHOLD,
                         pre_nms_limit=config.PRE_NMS_LIMIT,
                         rpn_bbox_std_dev=config.RPN_BBOX_STD_DEV, name="ROI", dtype=FLOAT32)


def build_image_inputs(config):
    """``input_image`` [B, H, W, C] and ``input_image_meta`` [B, META] Keras inputs."""
    input_image = KL.Input(shape=[None, None, config.IMAGE_CHANNEL_COUNT], name="input_image")
    input_image_meta = KL.Input(shape=[config.IMAGE_META_SIZE], name="input_image_meta")
    return input_image, input_image_meta


def _under_config_precision(build):
    """Runs a model builder under the Keras dtype policy of ``config.MIXED_PRECISION``
    (``mrcnn.precision.policy_scope``: the previous global policy is restored afterwards)."""
    @functools.wraps(build)
    def wrapper(config):
        with policy_scope(getattr(config, "MIXED_PRECISION", None)):
            return build(config)
    return wrapper


def synchronize_batch_norm(model, synchronized=True):
    """Sets ``synchronized`` on every ``BatchNorm`` layer of ``model`` (nested models included):
    with batch statistics under a multi-replica strategy they are then all-reduced over the
    global batch (Keras ``BatchNormalization(synchronized=True)``; ``config.SYNC_BN``). The
    attribute is read when the layers run, so it applies to the model already built."""
    for layer in iter_layers(model):
        if isinstance(layer, BatchNorm):
            layer.synchronized = bool(synchronized)


@_under_config_precision
def build_inference_model(config):
    """The inference model.

    Inputs: ``input_image`` float32 [B, H, W, C] (molded), ``input_image_meta`` [B, META],
    ``input_anchors`` float32 [B, A, 4] normalized.

    Outputs, in Matterport's order: ``mrcnn_detection`` [B, DMAX, 6], ``mrcnn_class``
    [B, R, NC], ``mrcnn_bbox`` [B, R, NC, 4], ``mrcnn_mask`` [B, DMAX, 28, 28, NC], ``ROI``
    [B, R, 4], ``rpn_class`` [B, A, 2], ``rpn_bbox`` [B, A, 4], with
    R = ``POST_NMS_ROIS_INFERENCE``. The padding slots of ``mrcnn_mask`` are zeros. With
    BatchNorm on moving statistics (``TRAIN_BN`` False or None) the mask head runs on the real
    detections only; with ``TRAIN_BN=True`` (batch statistics even at inference) it runs on all
    ``DETECTION_MAX_INSTANCES`` slots of every image, padding included, as Matterport's, since
    the statistics are over that set. The box/class head always sees all R proposals.
    """
    input_image, input_image_meta = build_image_inputs(config)
    input_anchors = KL.Input(shape=[None, 4], name="input_anchors")
    _, mrcnn_feature_maps, (rpn_class_logits, rpn_class, rpn_bbox) = \
        build_backbone_and_rpn(input_image, config)

    rpn_rois = _proposal_layer(config, config.POST_NMS_ROIS_INFERENCE)(
        [rpn_class, rpn_bbox, input_anchors])

    _, mrcnn_class, mrcnn_bbox = heads.fpn_classifier_graph(
        rpn_rois, mrcnn_feature_maps, input_image_meta, config.POOL_SIZE, config.NUM_CLASSES,
        train_bn=config.TRAIN_BN, fc_layers_size=config.FPN_CLASSIF_FC_LAYERS_SIZE)

    detections = DetectionLayer(
        bbox_std_dev=config.BBOX_STD_DEV, min_confidence=config.DETECTION_MIN_CONFIDENCE,
        max_instances=config.DETECTION_MAX_INSTANCES,
        nms_threshold=config.DETECTION_NMS_THRESHOLD, name="mrcnn_detection", dtype=FLOAT32)(
        [rpn_rois, mrcnn_class, mrcnn_bbox, input_image_meta])
    detection_boxes = detections[..., :4]
    valid = keras.ops.greater(detections[..., 4], 0.0)
    mrcnn_mask = heads.build_fpn_mask_graph(
        detection_boxes, mrcnn_feature_maps, input_image_meta, config.MASK_POOL_SIZE,
        config.NUM_CLASSES, train_bn=config.TRAIN_BN, valid=valid,
        valid_only=not uses_batch_statistics(config.TRAIN_BN, training=False))

    return keras.Model([input_image, input_image_meta, input_anchors],
                       [detections, mrcnn_class, mrcnn_bbox, mrcnn_mask, rpn_rois, rpn_class,
                        rpn_bbox], name="mask_rcnn")


@_under_config_precision
def build_training_model(config):
    """The training model (a ``mrcnn.training.TrainingModel``, which owns the train step).

    Inputs, in Matterport's order: ``input_image`` float32 [B, H, W, C] (molded, H, W =
    ``IMAGE_SHAPE``), ``input_image_meta`` [B, META], ``input_rpn_match`` int32 [B, A, 1],
    ``input_rpn_bbox`` float32 [B, RPN_TRAIN_ANCHORS_PER_IMAGE, 4], ``input_gt_class_ids``
    int32 [B, G], ``input_gt_boxes`` float32 [B, G, 4] pixel boxes, ``input_gt_masks`` bool
    [B, mh, mw, G] (mini masks) or [B, H, W, G]; plus ``input_roi`` int32 [B, R, 4] pixel boxes
    when ``USE_RPN_ROIS`` is False.

    Outputs: ``rpn_class_logits``, ``rpn_class``, ``rpn_bbox``, ``mrcnn_class_logits`` [B, T, NC],
    ``mrcnn_class``, ``mrcnn_bbox`` [B, T, NC, 4], ``mrcnn_mask`` [B, T, 28, 28, NC], ``ROI``
    [B, R, 4], ``output_rois`` [B, T, 4], then the five losses (scalars) named as in
    ``LOSS_NAMES``. The slots of ``mrcnn_mask`` that are not positive RoIs are zeros (the mask
    loss ignores them). With frozen BatchNorm (``TRAIN_BN=False``) the mask head runs on the
    positive RoIs only; with ``TRAIN_BN`` True or None (batch statistics in the train step) it
    runs on all T RoIs of every image, negatives and zero padding included, as Matterport's,
    since the statistics are over that set. The box/class head always sees all T RoIs.
    """
    from mrcnn.training import TrainingModel

    h, w = int(config.IMAGE_SHAPE[0]), int(config.IMAGE_SHAPE[1])
    input_image = KL.Input(shape=[h, w, config.IMAGE_CHANNEL_COUNT], name="input_image")
    input_image_meta = KL.Input(shape=[config.IMAGE_META_SIZE], name="input_image_meta")
    input_rpn_match = KL.Input(shape=[None, 1], name="input_rpn_match", dtype="int32")
    input_rpn_bbox = KL.Input(shape=[None, 4], name="input_rpn_bbox", dtype="float32")
    input_gt_class_ids = KL.Input(shape=[None], name="input_gt_class_ids", dtype="int32")
    input_gt_boxes = KL.Input(shape=[None, 4], name="input_gt_boxes", dtype="float32")
    mask_hw = list(config.MINI_MASK_SHAPE) if config.USE_MINI_MASK else [h, w]
    input_gt_masks = KL.Input(shape=mask_hw + [None], name="input_gt_masks", dtype="bool")
    inputs = [input_image, input_image_meta, input_rpn_match, input_rpn_bbox,
              input_gt_class_ids, input_gt_boxes, input_gt_masks]

    scale = keras.ops.convert_to_tensor([h - 1, w - 1, h - 1, w - 1], dtype="float32")
    shift = keras.ops.convert_to_tensor([0, 0, 1, 1], dtype="float32")
    gt_boxes = keras.ops.divide(keras.ops.subtract(input_gt_boxes, shift), scale)

    _, mrcnn_feature_maps, (rpn_class_logits, rpn_class, rpn_bbox) = \
        build_backbone_and_rpn(input_image, config)
    anchors = AnchorsLayer(
        scales=config.RPN_ANCHOR_SCALES, ratios=config.RPN_ANCHOR_RATIOS,
        feature_shapes=compute_backbone_shapes(config, (h, w)),
        feature_strides=config.BACKBONE_STRIDES, anchor_stride=config.RPN_ANCHOR_STRIDE,
        image_shape=(h, w), name="anchors", dtype=FLOAT32)(input_image)
    rpn_rois = _proposal_layer(config, config.POST_NMS_ROIS_TRAINING)(
        [rpn_class, rpn_bbox, anchors])
    if config.USE_RPN_ROIS:
        target_rois = rpn_rois
    else:
        input_rois = KL.Input(shape=[config.POST_NMS_ROIS_TRAINING, 4], name="input_roi",
                              dtype="int32")
        inputs.append(input_rois)
        target_rois = keras.ops.divide(
            keras.ops.subtract(keras.ops.cast(input_rois, "float32"), shift), scale)

    rois, target_class_ids, target_bbox, target_mask = DetectionTargetLayer(
        train_rois_per_image=config.TRAIN_ROIS_PER_IMAGE,
        roi_positive_ratio=config.ROI_POSITIVE_RATIO, bbox_std_dev=config.BBOX_STD_DEV,
        use_mini_mask=config.USE_MINI_MASK, mask_shape=config.MASK_SHAPE,
        name="proposal_targets", dtype=FLOAT32)(
        [target_rois, input_gt_class_ids, gt_boxes, input_gt_masks])

    mrcnn_class_logits, mrcnn_class, mrcnn_bbox = heads.fpn_classifier_graph(
        rois, mrcnn_feature_maps, input_image_meta, config.POOL_SIZE, config.NUM_CLASSES,
        train_bn=config.TRAIN_BN, fc_layers_size=config.FPN_CLASSIF_FC_LAYERS_SIZE)
    mrcnn_mask = heads.build_fpn_mask_graph(
        rois, mrcnn_feature_maps, input_image_meta, config.MASK_POOL_SIZE, config.NUM_CLASSES,
        train_bn=config.TRAIN_BN, valid=keras.ops.greater(target_class_ids, 0),
        valid_only=not uses_batch_statistics(config.TRAIN_BN, training=True))
    output_rois = KL.Identity(name="output_rois")(rois)

    active_class_ids = image_meta.active_class_ids(input_image_meta)
    loss_inputs = {
        "rpn_class_loss": [input_rpn_match, rpn_class_logits],
        "rpn_bbox_loss": [input_rpn_bbox, input_rpn_match, rpn_bbox],
        "mrcnn_class_loss": [target_class_ids, mrcnn_class_logits, active_class_ids],
        "mrcnn_bbox_loss": [target_bbox, target_class_ids, mrcnn_bbox],
        "mrcnn_mask_loss": [target_mask, target_class_ids, mrcnn_mask],
    }
    loss_outputs = [LossLayer(name=name, dtype=FLOAT32)(loss_inputs[name]) for name in LOSS_NAMES]

    outputs = [rpn_class_logits, rpn_class, rpn_bbox, mrcnn_class_logits, mrcnn_class,
               mrcnn_bbox, mrcnn_mask, rpn_rois, output_rois] + loss_outputs
    model = TrainingModel(config, inputs=inputs, outputs=outputs, name="mask_rcnn")
    if getattr(config, "SYNC_BN", False):
        synchronize_batch_norm(model)
    return model
