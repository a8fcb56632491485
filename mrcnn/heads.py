"""Network heads: RPN (``rpn_model``), box/class head and mask head (Matterport ``rpn_graph``,
``build_rpn_model``, ``fpn_classifier_graph``, ``build_fpn_mask_graph``).

Layer names and weight shapes are Matterport's. The per-RoI layers (``mrcnn_class_conv1``,
``mrcnn_mask_conv1``, ...) run on a flat ``[B * R, ...]`` batch of RoIs instead of inside
``TimeDistributed`` wrappers; the weights are the same, and so is the set that a BatchNorm layer
on batch statistics averages over (all images x all R RoIs x H x W, zero padding included). The
mask head can instead run on a subset of the RoIs (``valid_only``), which gives the same results
only while its BatchNorm layers use their moving statistics.

Under a mixed-precision policy (``mrcnn.precision``) the softmax and sigmoid outputs and RoIAlign
are float32 layers.
"""

import keras
from keras import layers as KL

from mrcnn.layers.batch_norm import BatchNorm
from mrcnn.precision import FLOAT32
from mrcnn.layers.roi_align import PyramidROIAlign
from mrcnn.layers.roi_packing import PackRoIs, UnpackRoIs


def rpn_graph(feature_map, anchors_per_location, anchor_stride):
    """RPN head on one feature map.

    Args:
        feature_map: [B, h, w, depth] Keras tensor.
        anchors_per_location: A, anchors per feature-map cell (``len(RPN_ANCHOR_RATIOS)``).
        anchor_stride: stride of the shared convolution (``RPN_ANCHOR_STRIDE``).

    Returns:
        [rpn_class_logits [B, h*w*A, 2], rpn_probs [B, h*w*A, 2] (background, foreground),
        rpn_bbox [B, h*w*A, 4] (dy, dx, log(dh), log(dw))], anchors ordered row-major over
        cells, then by ratio.
    """
    shared = KL.Conv2D(512, (3, 3), padding="same", activation="relu", strides=anchor_stride,
                       name="rpn_conv_shared")(feature_map)
    x = KL.Conv2D(2 * anchors_per_location, (1, 1), padding="valid", activation="linear",
                  name="rpn_class_raw")(shared)
    rpn_class_logits = KL.Reshape((-1, 2))(x)
    rpn_probs = KL.Activation("softmax", name="rpn_class_xxx", dtype=FLOAT32)(rpn_class_logits)
    x = KL.Conv2D(anchors_per_location * 4, (1, 1), padding="valid", activation="linear",
                  name="rpn_bbox_pred")(shared)
    rpn_bbox = KL.Reshape((-1, 4))(x)
    return [rpn_class_logits, rpn_probs, rpn_bbox]


def build_rpn_model(anchor_stride, anchors_per_location, depth):
    """The RPN as a nested Keras model named ``rpn_model``, shared by all pyramid levels.

    Input ``input_rpn_feature_map`` [B, h, w, depth]; outputs as ``rpn_graph``.
    """
    input_feature_map = KL.Input(shape=[None, None, depth], name="input_rpn_feature_map")
    outputs = rpn_graph(input_feature_map, anchors_per_location, anchor_stride)
    return keras.Model([input_feature_map], outputs, name="rpn_model")


def _flatten_rois(x, valid):
    if valid is None:
        return keras.ops.reshape(x, (-1,) + tuple(x.shape[2:]))
    return PackRoIs()([x, valid])


def _unflatten_rois(x, num_rois, valid):
    if valid is None:
        return keras.ops.reshape(x, (-1, num_rois) + tuple(x.shape[1:]))
    return UnpackRoIs(dtype=FLOAT32)([x, valid])


def fpn_classifier_graph(rois, feature_maps, image_meta, pool_size, num_classes, train_bn=True,
                         fc_layers_size=1024):
    """Box/class head.

    Args:
        rois: [B, R, 4] normalized proposals (R static).
        feature_maps: [P2, P3, P4, P5].
        image_meta: [B, META].
        pool_size: RoIAlign output size (``POOL_SIZE``, 7).
        num_classes: NC, including background.
        train_bn: ``config.TRAIN_BN``.
        fc_layers_size: width of the two "FC" layers (``FPN_CLASSIF_FC_LAYERS_SIZE``).

    Returns:
        mrcnn_class_logits [B, R, NC], mrcnn_probs [B, R, NC], mrcnn_bbox [B, R, NC, 4]
        (class-specific deltas before std-dev scaling).

    The layers always run on all B * R RoIs, zero-padding rows included (pooled as degenerate
    crops), as Matterport's: with BatchNorm on batch statistics its statistics are over that set.
    """
    num_rois = rois.shape[1]
    x = PyramidROIAlign([pool_size, pool_size], name="roi_align_classifier",
                        dtype=FLOAT32)(
        [rois, image_meta] + list(feature_maps))
    x = _flatten_rois(x, None)
    # Two 1024-wide layers implemented as convolutions: a pool_size x pool_size valid
    # convolution acts as a fully connected layer.
    x = KL.Conv2D(fc_layers_size, (pool_size, pool_size), padding="valid",
                  name="mrcnn_class_conv1")(x)
    x = BatchNorm(name="mrcnn_class_bn1", train_bn=train_bn)(x)
    x = KL.Activation("relu")(x)
    x = KL.Conv2D(fc_layers_size, (1, 1), name="mrcnn_class_conv2")(x)
    x = BatchNorm(name="mrcnn_class_bn2", train_bn=train_bn)(x)
    x = KL.Activation("relu")(x)
    shared = keras.ops.reshape(x, (-1, num_rois, fc_layers_size))  # "pool_squeeze"

    mrcnn_class_logits = KL.Dense(num_classes, name="mrcnn_class_logits")(shared)
    mrcnn_probs = KL.Activation("softmax", name="mrcnn_class", dtype=FLOAT32)(mrcnn_class_logits)
    # Box deltas in float32 under any policy (mrcnn.precision; a small layer).
    x = KL.Dense(num_classes * 4, activation="linear", name="mrcnn_bbox_fc", dtype=FLOAT32)(shared)
    mrcnn_bbox = KL.Reshape((num_rois, num_classes, 4), name="mrcnn_bbox", dtype=FLOAT32)(x)
    return mrcnn_class_logits, mrcnn_probs, mrcnn_bbox


def build_fpn_mask_graph(rois, feature_maps, image_meta, pool_size, num_classes, train_bn=True,
                         valid=None, valid_only=True):
    """Mask head (Matterport ``build_fpn_mask_graph``).

    Args:
        rois: [B, R, 4] normalized boxes (R static).
        feature_maps: [P2, P3, P4, P5].
        image_meta: [B, META].
        pool_size: RoIAlign output size (``MASK_POOL_SIZE``, 14).
        num_classes: NC.
        train_bn: ``config.TRAIN_BN``.
        valid: optional [B, R] bool Keras tensor: the RoIs whose masks are wanted (the real
            detections at inference, the positive RoIs in training); the others come out as
            zeros.
        valid_only: with ``valid``, True runs the layers on the valid RoIs only (faster); False
            runs them on all B * R RoIs, zero padding included, as Matterport's
            ``TimeDistributed`` layers do, and zeroes the other slots afterwards. The two agree
            exactly only while the BatchNorm layers use their moving statistics; where they use
            batch statistics (``mrcnn.layers.batch_norm.uses_batch_statistics``), only False
            gives Matterport's masks.

    Returns:
        float32 [B, R, 2 * pool_size, 2 * pool_size, NC] per-class sigmoid mask probabilities.
    """
    num_rois = rois.shape[1]
    x = PyramidROIAlign([pool_size, pool_size], name="roi_align_mask", dtype=FLOAT32)(
        [rois, image_meta] + list(feature_maps))
    x = _flatten_rois(x, valid if valid_only else None)
    for i in range(1, 5):
        x = KL.Conv2D(256, (3, 3), padding="same", name=f"mrcnn_mask_conv{i}")(x)
        x = BatchNorm(name=f"mrcnn_mask_bn{i}", train_bn=train_bn)(x)
        x = KL.Activation("relu")(x)
    x = KL.Conv2DTranspose(256, (2, 2), strides=2, activation="relu",
                           name="mrcnn_mask_deconv")(x)
    x = KL.Conv2D(num_classes, (1, 1), strides=1, activation="sigmoid", name="mrcnn_mask",
                  dtype=FLOAT32)(x)
    if valid is None or valid_only:
        return _unflatten_rois(x, num_rois, valid)
    x = _unflatten_rois(x, num_rois, None)
    keep = keras.ops.cast(valid, x.dtype)
    return keras.ops.multiply(x, keras.ops.reshape(keep, (-1, num_rois, 1, 1, 1)))
