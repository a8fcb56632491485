"""The heads' BatchNorm statistics are over Matterport's RoI sets: with batch statistics
(TRAIN_BN=True; TRAIN_BN=None in training) the mask head sees all DETECTION_MAX_INSTANCES
detection slots at inference and all TRAIN_ROIS_PER_IMAGE RoIs in training (zero padding
included), and the box/class head all proposals / all sampled RoIs. With frozen BatchNorm the
mask head keeps running on the real detections / positive RoIs only, with the same results.

Each check runs the model on real images and compares it with the heads recomputed from the
model's own layers over the full slot set, with BatchNorm written out by hand (statistics over
all images x all RoIs x H x W).

BatchNorm itself follows Matterport's (Keras 2) training= semantics whatever ``trainable`` is,
and changes its moving statistics only in train steps of trainable layers: never in detect() or
a validation step, never in a layer frozen by set_trainable."""

import sys

import keras
import numpy as np
import pytest
import skimage.io
import tensorflow as tf

import mrcnn.model as modellib
from mrcnn import losses
from mrcnn.config import Config
from mrcnn.data_generator import generate_random_rois
from mrcnn.input_pipeline import build_dataset
from mrcnn.layers.batch_norm import BatchNorm, uses_batch_statistics
from mrcnn.layers.roi_packing import PackRoIs
from tests.conftest import SmallConfig
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))
sys.path.insert(0, str(ROOT / "samples" / "coco"))
import coco  # noqa: E402

FPN = ["fpn_p2", "fpn_p3", "fpn_p4", "fpn_p5"]


class InferenceConfig(SmallConfig):
    NAME = "bn_inference"
    FPN_CLASSIF_FC_LAYERS_SIZE = 128
    POST_NMS_ROIS_INFERENCE = 16
    # More slots than proposals: every image has padding slots in its detections.
    DETECTION_MAX_INSTANCES = 24
    DETECTION_MIN_CONFIDENCE = 0.0


class TrainingConfig(Config):
    NAME = "bn_training"
    NUM_CLASSES = 81  # coco_tiny's classes
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 2
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    FPN_CLASSIF_FC_LAYERS_SIZE = 128
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    POST_NMS_ROIS_TRAINING = 200
    TRAIN_ROIS_PER_IMAGE = 48
    MAX_GT_INSTANCES = 10
    # RoIs drawn around the GT boxes (input_roi) instead of a random RPN's proposals: every
    # image has positive RoIs, negatives and padding.
    USE_RPN_ROIS = False


def batch_norm(layer, x, batch_stats):
    """Keras BatchNormalization written out: over all rows x H x W of the flat RoI batch."""
    gamma, beta, moving_mean, moving_variance = [w.numpy() for w in layer.weights]
    if batch_stats:
        mean, variance = tf.nn.moments(x, axes=[0, 1, 2])
    else:
        mean, variance = moving_mean, moving_variance
    return (x - mean) * tf.math.rsqrt(variance + layer.epsilon) * gamma + beta


def mask_head(km, rois, image_meta, feature_maps, batch_stats):
    """The mask head over every slot of ``rois`` [B, R, 4]: [B, R, 28, 28, NC]."""
    b, r = rois.shape[:2]
    x = km.get_layer("roi_align_mask")([rois, image_meta] + feature_maps)
    x = tf.reshape(x, [b * r] + list(x.shape[2:]))
    for i in range(1, 5):
        x = km.get_layer(f"mrcnn_mask_conv{i}")(x)
        x = tf.nn.relu(batch_norm(km.get_layer(f"mrcnn_mask_bn{i}"), x, batch_stats))
    x = km.get_layer("mrcnn_mask")(km.get_layer("mrcnn_mask_deconv")(x))
    return tf.reshape(x, [b, r] + list(x.shape[1:])).numpy()


def classifier_logits(km, rois, image_meta, feature_maps, batch_stats):
    """The box/class head's logits over every slot of ``rois`` [B, R, 4]: [B, R, NC]."""
    b, r = rois.shape[:2]
    x = km.get_layer("roi_align_classifier")([rois, image_meta] + feature_maps)
    x = tf.reshape(x, [b * r] + list(x.shape[2:]))
    for i in (1, 2):
        x = km.get_layer(f"mrcnn_class_conv{i}")(x)
        x = tf.nn.relu(batch_norm(km.get_layer(f"mrcnn_class_bn{i}"), x, batch_stats))
    x = km.get_layer("mrcnn_class_logits")(tf.reshape(x, [b, r, -1]))
    return x.numpy()


def assert_weights_equal(km, saved):
    """Every weight of ``km`` equals ``saved`` (``km.get_weights()`` taken earlier) exactly."""
    changed = [w.path for w, before in zip(km.weights, saved)
               if not np.array_equal(w.numpy(), before)]
    assert not changed, changed


def uses_packed_mask_head(km):
    return any(isinstance(layer, PackRoIs) for layer in km.layers)


def test_uses_batch_statistics_follows_matterports_training_argument():
    assert uses_batch_statistics(True, training=False) and uses_batch_statistics(True, True)
    assert not uses_batch_statistics(False, training=False)
    assert not uses_batch_statistics(False, training=True)
    assert uses_batch_statistics(None, training=True)
    assert not uses_batch_statistics(None, training=False)
    with pytest.raises(ValueError, match="TRAIN_BN must be True, False or None"):
        uses_batch_statistics("yes", training=True)


@pytest.fixture(scope="module")
def photos():
    return [skimage.io.imread(p) for p in PHOTOS[:2]]


@pytest.mark.parametrize("train_bn", [True, None, False])
@pytest.mark.parametrize("trainable", [True, False])
@pytest.mark.parametrize("training", [True, False, None])
def test_batch_norm_follows_training_argument_not_trainable(photos, train_bn, trainable,
                                                            training):
    """Statistics: batch ones where Matterport's ``training=`` says so (TRAIN_BN, or the call's
    training with TRAIN_BN=None), frozen layer or not. Moving statistics updated only by a
    trainable layer called with training=True on batch statistics."""
    x = np.stack([p[:16, :16].astype(np.float32) for p in photos])  # [2, 16, 16, 3]
    bn = BatchNorm(name="bn", train_bn=train_bn)
    bn.build(x.shape)
    bn.set_weights([np.array([1.5, 0.5, 2.0], np.float32), np.array([0.1, -0.2, 0.3], np.float32),
                    np.array([100.0, 110.0, 120.0], np.float32),
                    np.array([900.0, 800.0, 700.0], np.float32)])
    bn.trainable = trainable
    before = [w.copy() for w in bn.get_weights()]
    batch_stats = bool(training) if train_bn is None else train_bn
    y = bn(x, training=training).numpy()
    np.testing.assert_allclose(y, batch_norm(bn, x, batch_stats).numpy(), rtol=1e-5, atol=1e-5)
    updated = [not np.array_equal(b, a) for b, a in zip(before, bn.get_weights())]
    update = bool(training) and trainable and batch_stats
    assert updated == [False, False, update, update]


def test_batch_norm_rejects_what_it_does_not_support(photos):
    with pytest.raises(ValueError, match="renorm"):
        BatchNorm(train_bn=True, renorm=True)
    x = photos[0][None, :8, :8].astype(np.float32)
    with pytest.raises(ValueError, match="masks are not supported"):
        BatchNorm(train_bn=True)(x, training=False, mask=np.ones(x.shape[:-1], bool))


@pytest.mark.parametrize("train_bn", [True, False, None])
def test_inference_heads_see_all_detection_slots_with_batch_statistics(tmp_path, photos,
                                                                       train_bn):
    class Cfg(InferenceConfig):
        TRAIN_BN = train_bn

    keras.utils.set_random_seed(1)
    model = modellib.MaskRCNN("inference", Cfg(), str(tmp_path))
    km = model.keras_model
    saved = [w.copy() for w in km.get_weights()]
    batch_stats = train_bn is True
    # The shortcut (mask head on the real detections only) exactly where BN is frozen.
    assert uses_packed_mask_head(km) == (not batch_stats)

    molded, metas, windows = model.mold_inputs(photos)
    anchors = model.get_anchors(molded[0].shape)
    anchors = np.broadcast_to(anchors, (len(photos),) + anchors.shape)
    probe = keras.Model(km.inputs, [km.get_layer(n).output for n in FPN] + [
        km.get_layer("ROI").output, km.get_layer("mrcnn_detection").output,
        km.get_layer("mrcnn_class_logits").output, km.outputs[3]])
    inputs = [tf.constant(molded, tf.float32), tf.constant(metas, tf.float32),
              tf.constant(anchors, tf.float32)]
    *feature_maps, rpn_rois, detections, class_logits, mrcnn_mask = probe(inputs, training=False)
    detections, mrcnn_mask = detections.numpy(), mrcnn_mask.numpy()
    valid = detections[..., 4] > 0
    n_valid = valid.sum(axis=1)
    assert np.all(n_valid > 0) and np.all(n_valid < Cfg.DETECTION_MAX_INSTANCES), n_valid

    # Box/class head: all POST_NMS_ROIS_INFERENCE proposals, zero padding included.
    expected_logits = classifier_logits(km, rpn_rois, inputs[1], feature_maps, batch_stats)
    np.testing.assert_allclose(class_logits.numpy(), expected_logits, rtol=1e-4, atol=1e-4)

    # Mask head: all DETECTION_MAX_INSTANCES slots; padding slots come out as zeros.
    full = mask_head(km, detections[..., :4], inputs[1], feature_maps, batch_stats)
    assert mrcnn_mask.shape == full.shape
    np.testing.assert_allclose(mrcnn_mask[valid], full[valid], rtol=1e-4, atol=1e-4)
    assert not mrcnn_mask[~valid].any()

    # detect() gives the detections and masks of those same outputs.
    for i, r in enumerate(model.detect(photos)):
        expected = model.unmold_detections(detections[i], mrcnn_mask[i], photos[i].shape,
                                           molded[i].shape, windows[i])
        for key, value in zip(("rois", "class_ids", "scores", "masks"), expected):
            np.testing.assert_array_equal(r[key], value)

    # Inference never updates the moving statistics, batch statistics or not (Keras 2's
    # predict ran no update ops).
    assert_weights_equal(km, saved)


def two_image_dataset():
    """Two real COCO val images with a few large objects."""
    full = coco.CocoDataset()
    full.load_coco(str(DATA / "coco_tiny"), "val", "2017")
    full.prepare()
    dataset = coco.CocoDataset()
    for cls in full.class_info[1:]:
        dataset.add_class(cls["source"], cls["id"], cls["name"])
    for image_id in full.image_ids:
        info = full.image_info[image_id]
        anns = [a for a in info["annotations"] if not a["iscrowd"]]
        if 1 <= len(anns) <= 3 and all(a["area"] > 0.05 * info["width"] * info["height"]
                                       for a in anns):
            info = dict(info)
            dataset.add_image(info.pop("source"), info.pop("id"), info.pop("path"), **info)
        if len(dataset.image_info) == 2:
            break
    dataset.prepare()
    return dataset


@pytest.fixture(scope="module")
def training_batch():
    config = TrainingConfig()
    batch = [x.numpy() for x in next(iter(build_dataset(two_image_dataset(), config,
                                                        shuffle=False, seed=0)))]
    rng = np.random.default_rng(0)
    input_rois = np.stack([
        generate_random_rois(config.IMAGE_SHAPE, config.POST_NMS_ROIS_TRAINING, ids[ids > 0],
                             boxes[ids > 0], rng=rng)
        for ids, boxes in zip(batch[4], batch[5])])
    return batch + [input_rois]


@pytest.mark.parametrize("train_bn", [True, None, False])
def test_training_heads_see_all_train_rois_with_batch_statistics(tmp_path, training_batch,
                                                                 train_bn):
    class Cfg(TrainingConfig):
        TRAIN_BN = train_bn

    keras.utils.set_random_seed(2)
    model = modellib.MaskRCNN("training", Cfg(), str(tmp_path))
    km = model.keras_model
    batch_stats = train_bn is not False  # the train step calls the model with training=True
    assert uses_packed_mask_head(km) == (not batch_stats)

    targets = km.get_layer("proposal_targets").output
    # km.outputs[6] is the head's mrcnn_mask [B, T, 28, 28, NC].
    probe = keras.Model(km.inputs, [km.get_layer(n).output for n in FPN] + [
        km.get_layer("output_rois").output, targets[1], targets[3],
        km.get_layer("mrcnn_class_logits").output, km.outputs[6],
        km.get_layer("mrcnn_mask_loss").output])
    inputs = [tf.constant(x) for x in training_batch]
    *feature_maps, rois, target_class_ids, target_mask, class_logits, mrcnn_mask, mask_loss = \
        probe(inputs, training=True)
    positive = target_class_ids.numpy() > 0
    padding = ~np.any(rois.numpy() != 0, axis=-1)
    negative = ~positive & ~padding
    assert positive.any() and negative.any() and padding.any(), \
        (positive.sum(1), negative.sum(1), padding.sum(1))

    # Box/class head: all TRAIN_ROIS_PER_IMAGE RoIs, zero padding included.
    expected_logits = classifier_logits(km, rois, inputs[1], feature_maps, batch_stats)
    np.testing.assert_allclose(class_logits.numpy(), expected_logits, rtol=1e-4, atol=1e-4)

    # Mask head: all TRAIN_ROIS_PER_IMAGE RoIs (positives, negatives, padding); only the
    # positive slots are output, the others are zeros.
    full = mask_head(km, rois, inputs[1], feature_maps, batch_stats)
    mrcnn_mask = mrcnn_mask.numpy()
    np.testing.assert_allclose(mrcnn_mask[positive], full[positive], rtol=1e-4, atol=1e-4)
    assert not mrcnn_mask[~positive].any()
    expected_loss = losses.mrcnn_mask_loss_graph(target_mask, target_class_ids,
                                                 tf.constant(full))
    np.testing.assert_allclose(float(tf.reshape(mask_loss, [])), float(expected_loss),
                               rtol=1e-5, atol=1e-6)


# A frozen backbone BatchNorm, and trainable ones in the backbone's last stage and in both heads
# under layers="5+".
FROZEN_BN, TRAINABLE_BN = "bn_conv1", ("bn5c_branch2c", "mrcnn_class_bn1", "mrcnn_mask_bn1")


@pytest.mark.parametrize("train_bn", [True, None, False])
def test_frozen_layers_follow_train_bn_in_the_train_step(tmp_path, training_batch, train_bn):
    """Matterport's BatchNorm (Keras 2) normalized with batch statistics when called in training
    mode whether or not set_trainable froze it; it updated the moving statistics of trainable
    layers only (Keras 2.1+ drops a frozen layer's update ops), and only in the train step."""
    class Cfg(TrainingConfig):
        TRAIN_BN = train_bn

    keras.utils.set_random_seed(3)
    model = modellib.MaskRCNN("training", Cfg(), str(tmp_path))
    km = model.keras_model
    model.set_trainable(modellib.training.LAYER_REGEX["5+"], verbose=0)
    assert not km.get_layer(FROZEN_BN).trainable
    assert all(km.get_layer(name).trainable for name in TRAINABLE_BN)
    batch_stats = train_bn is not False
    inputs = [tf.constant(x) for x in training_batch]

    # The frozen layer's output in training mode: batch statistics unless TRAIN_BN=False.
    probe = keras.Model(km.inputs, [km.get_layer("conv1").output,
                                    km.get_layer(FROZEN_BN).output])
    conv1, bn_conv1 = probe(inputs, training=True)
    expected = batch_norm(km.get_layer(FROZEN_BN), conv1, batch_stats)
    np.testing.assert_allclose(bn_conv1.numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)

    # One real train step: only trainable layers on batch statistics update their moving mean
    # and variance; the frozen layer keeps all four weights (gamma and beta do not train).
    model.compile(0.001, Cfg.LEARNING_MOMENTUM)
    km.run_eagerly = True  # the same train and test steps, without tracing them (faster here)
    before = {name: [w.copy() for w in km.get_layer(name).get_weights()]
              for name in (FROZEN_BN,) + TRAINABLE_BN}
    km.train_on_batch(inputs)
    for name, weights in before.items():
        layer = km.get_layer(name)
        changed = [not np.array_equal(b, a) for b, a in zip(weights, layer.get_weights())]
        if layer.trainable:
            assert changed == [True, True, batch_stats, batch_stats], (name, changed)
        else:
            assert changed == [False] * 4, (name, changed)

    # A validation step updates nothing.
    saved = [w.copy() for w in km.get_weights()]
    km.test_on_batch(inputs)
    assert_weights_equal(km, saved)
