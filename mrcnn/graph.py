"""Assembles the Mask R-CNN Keras models (Matterport ``MaskRCNN.build``).

``build_inference_model`` and ``build_training_model`` share ``build_backbone_and_rpn`` and the
heads; layer names are Matterport's so that its weight files load by name.
"""

import keras
import tensorflow as tf
from keras import layers as KL

from mrcnn import heads
from mrcnn.backbone import resnet_graph
from mrcnn.fpn import build_fpn
from mrcnn.layers.detection_layer import DetectionLayer
from mrcnn.layers.proposal_layer import ProposalLayer


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
    rpn_outputs = [KL.Concatenate(axis=1, name=name)([lo[i] for lo in level_outputs])
                   for i, name in enumerate(names)]
    return rpn_feature_maps, mrcnn_feature_maps, rpn_outputs


def build_image_inputs(config):
    """``input_image`` [B, H, W, C] and ``input_image_meta`` [B, META] Keras inputs."""
    input_image = KL.Input(shape=[None, None, config.IMAGE_CHANNEL_COUNT], name="input_image")
    input_image_meta = KL.Input(shape=[config.IMAGE_META_SIZE], name="input_image_meta")
    return input_image, input_image_meta


def build_inference_model(config):
    """The inference model.

    Inputs: ``input_image`` float32 [B, H, W, C] (molded), ``input_image_meta`` [B, META],
    ``input_anchors`` float32 [B, A, 4] normalized.

    Outputs, in Matterport's order: ``mrcnn_detection`` [B, DMAX, 6], ``mrcnn_class``
    [B, R, NC], ``mrcnn_bbox`` [B, R, NC, 4], ``mrcnn_mask`` [B, DMAX, 28, 28, NC], ``ROI``
    [B, R, 4], ``rpn_class`` [B, A, 2], ``rpn_bbox`` [B, A, 4], with
    R = ``POST_NMS_ROIS_INFERENCE``. The mask head runs on the real detections only; the
    padding slots of ``mrcnn_mask`` are zeros.
    """
    input_image, input_image_meta = build_image_inputs(config)
    input_anchors = KL.Input(shape=[None, 4], name="input_anchors")
    _, mrcnn_feature_maps, (rpn_class_logits, rpn_class, rpn_bbox) = \
        build_backbone_and_rpn(input_image, config)

    rpn_rois = ProposalLayer(proposal_count=config.POST_NMS_ROIS_INFERENCE,
                             nms_threshold=config.RPN_NMS_THRESHOLD, name="ROI",
                             config=config)([rpn_class, rpn_bbox, input_anchors])

    _, mrcnn_class, mrcnn_bbox = heads.fpn_classifier_graph(
        rpn_rois, mrcnn_feature_maps, input_image_meta, config.POOL_SIZE, config.NUM_CLASSES,
        train_bn=config.TRAIN_BN, fc_layers_size=config.FPN_CLASSIF_FC_LAYERS_SIZE)

    detections = DetectionLayer(config, name="mrcnn_detection")(
        [rpn_rois, mrcnn_class, mrcnn_bbox, input_image_meta])
    detection_boxes = detections[..., :4]
    valid = keras.ops.greater(detections[..., 4], 0.0)
    mrcnn_mask = heads.build_fpn_mask_graph(
        detection_boxes, mrcnn_feature_maps, input_image_meta, config.MASK_POOL_SIZE,
        config.NUM_CLASSES, train_bn=config.TRAIN_BN, valid=valid)

    return keras.Model([input_image, input_image_meta, input_anchors],
                       [detections, mrcnn_class, mrcnn_bbox, mrcnn_mask, rpn_rois, rpn_class,
                        rpn_bbox], name="mask_rcnn")
