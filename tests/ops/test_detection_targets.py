"""detection_targets (mrcnn.ops.target_ops) and DetectionTargetLayer against an independent NumPy
reference of Matterport's DetectionTargetLayer rules (reference section 2.9)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from mrcnn.config import Config
from mrcnn.layers.detection_target_layer import DetectionTargetLayer
from mrcnn.ops import target_ops
from mrcnn.ops.target_ops import detection_targets, sample_counts


class TargetConfig(Config):
    NAME = "targets"
    TRAIN_ROIS_PER_IMAGE = 32
    ROI_POSITIVE_RATIO = 0.25  # at most 8 positives, 3 negatives per positive
    MASK_POOL_SIZE = 3
    MASK_SHAPE = [6, 6]
    MINI_MASK_SHAPE = (10, 10)
    BBOX_STD_DEV = np.array([0.1, 0.1, 0.2, 0.2])
    USE_MINI_MASK = True


class FullMaskConfig(TargetConfig):
    USE_MINI_MASK = False
    BBOX_STD_DEV = np.array([0.2, 0.1, 0.3, 0.25])


FULL_SIZE = 24  # full-image mask size for FullMaskConfig


# ------------------------------------------------------------------------------------------------
# NumPy reference
def np_iou(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, g in enumerate(b):
            ih = min(p[2], g[2]) - max(p[0], g[0])
            iw = min(p[3], g[3]) - max(p[1], g[1])
            inter = max(ih, 0.0) * max(iw, 0.0)
            union = (p[2] - p[0]) * (p[3] - p[1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def np_refine(box, gt):
    h, w = box[2] - box[0], box[3] - box[1]
    gh, gw = gt[2] - gt[0], gt[3] - gt[1]
    return np.array([(gt[0] + gh / 2 - box[0] - h / 2) / h, (gt[1] + gw / 2 - box[1] - w / 2) / w,
                     np.log(gh / h), np.log(gw / w)])


def np_crop_and_resize(image, box, size):
    """Bilinear crop of a 2-D image, tf.image.crop_and_resize conventions, not rounded."""
    h, w = image.shape
    out = np.zeros(size)
    for i in range(size[0]):
        y = box[0] * (h - 1) + i * (box[2] - box[0]) * (h - 1) / (size[0] - 1)
        for j in range(size[1]):
            x = box[1] * (w - 1) + j * (box[3] - box[1]) * (w - 1) / (size[1] - 1)
            if not (0 <= y <= h - 1 and 0 <= x <= w - 1):
                continue  # extrapolation value 0
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            fy, fx = y - y0, x - x0
            top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
            bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
            out[i, j] = top * (1 - fy) + bottom * fy
    return out


def reference(proposals, class_ids, boxes, masks, config):
    """Per-proposal category and targets for one image (deterministic)."""
    p_valid = np.abs(proposals).sum(axis=1) > 0
    proper = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    is_gt = proper & (class_ids > 0)
    is_crowd = proper & (class_ids < 0)
    iou = np_iou(proposals, boxes)
    gt_iou = np.where(is_gt[None], iou, -np.inf)
    best = gt_iou.max(axis=1) if len(boxes) else np.full(len(proposals), -np.inf)
    arg = gt_iou.argmax(axis=1) if len(boxes) else np.zeros(len(proposals), int)
    crowd = np.where(is_crowd[None], iou, -np.inf).max(axis=1) if len(boxes) else \
        np.full(len(proposals), -np.inf)
    pos = p_valid & (best >= 0.5)
    neg = p_valid & (best < 0.5) & (crowd < 0.001)
    cls = np.zeros(len(proposals), int)
    deltas = np.zeros((len(proposals), 4))
    mask_vals = np.zeros((len(proposals),) + tuple(config.MASK_SHAPE))
    for i in np.flatnonzero(pos):
        g = boxes[arg[i]]
        cls[i] = class_ids[arg[i]]
        deltas[i] = np_refine(proposals[i].astype(float), g.astype(float)) / config.BBOX_STD_DEV
        box = proposals[i].astype(float)
        if config.USE_MINI_MASK:
            gh, gw = g[2] - g[0], g[3] - g[1]
            box = np.array([(box[0] - g[0]) / gh, (box[1] - g[1]) / gw,
                            (box[2] - g[0]) / gh, (box[3] - g[1]) / gw])
        mask_vals[i] = np_crop_and_resize(masks[:, :, arg[i]].astype(float), box,
                                          config.MASK_SHAPE)
    return dict(pos=pos, neg=neg, cls=cls, deltas=deltas, mask_vals=mask_vals)


def expected_counts(n_pos, n_neg, config):
    t, ratio = config.TRAIN_ROIS_PER_IMAGE, config.ROI_POSITIVE_RATIO
    p = min(n_pos, int(t * ratio))
    wanted = int(p / ratio) - p if p else int(round(t * (1 - ratio), 9))
    return p, min(n_neg, wanted, t - p)


def match_rows(rois, proposals):
    """Proposal index of each output row, -1 for an all-zero row (asserts every row matches)."""
    eq = np.all(rois[:, None, :] == proposals[None, :, :], axis=-1)  # [T, P]
    zero = ~np.any(rois != 0, axis=-1)
    assert np.all(eq.any(axis=1) | zero), "an output RoI is not one of the proposals"
    return np.where(zero, -1, eq.argmax(axis=1))


def check_image(outputs, b, proposals, class_ids, boxes, masks, config, exact_sets=True,
                ref=None):
    """Checks image b of the outputs against the reference; returns the row -> proposal index."""
    rois, tcls, tbox, tmask = (np.asarray(o)[b] for o in outputs)
    if ref is None:
        ref = reference(proposals, class_ids, boxes, masks, config)
    n_pos, n_neg = expected_counts(ref["pos"].sum(), ref["neg"].sum(), config)
    idx = match_rows(rois, proposals)
    t = config.TRAIN_ROIS_PER_IMAGE
    pos_rows, neg_rows, pad_rows = idx[:n_pos], idx[n_pos:n_pos + n_neg], idx[n_pos + n_neg:]
    assert np.all(pos_rows >= 0) and np.all(ref["pos"][pos_rows])
    assert np.all(neg_rows >= 0) and np.all(ref["neg"][neg_rows])
    assert len(set(pos_rows) | set(neg_rows)) == n_pos + n_neg  # no duplicates
    assert np.all(pad_rows == -1) and len(idx) == t
    if exact_sets:
        assert set(pos_rows) == set(np.flatnonzero(ref["pos"]))
        assert set(neg_rows) == set(np.flatnonzero(ref["neg"]))
    np.testing.assert_array_equal(tcls[:n_pos], ref["cls"][pos_rows])
    assert np.all(tcls[n_pos:] == 0)
    np.testing.assert_allclose(tbox[:n_pos], ref["deltas"][pos_rows], rtol=1e-4, atol=1e-4)
    assert np.all(tbox[n_pos:] == 0) and np.all(tmask[n_pos:] == 0)
    vals = ref["mask_vals"][pos_rows]
    clear = np.abs(vals - 0.5) > 1e-4  # float32 vs float64 may round exact 0.5 ties differently
    np.testing.assert_array_equal(tmask[:n_pos][clear], np.round(vals)[clear])
    assert set(np.unique(tmask)) <= {0.0, 1.0}
    return idx


# ------------------------------------------------------------------------------------------------
# Test data
def random_box(rng, lo=0.15, hi=0.3):
    size = rng.uniform(lo, hi, 2)
    y, x = rng.uniform(0.02, 0.95 - size, 2)
    return np.array([y, x, y + size[0], x + size[1]])


def make_image(rng, n_gt, pos_per_gt, n_neg, n_props, n_gt_slots, mask_hw, crowd=True):
    """Proposals jittered around the GT (positives) plus small boxes (IoU < 0.45 with any GT),
    a crowd box, a degenerate GT, a class-0 box and zero padding in both."""
    boxes = [random_box(rng) for _ in range(n_gt)]
    class_ids = list(rng.integers(1, 5, n_gt))
    props = [b + rng.uniform(-0.015, 0.015, 4) for b in boxes for _ in range(pos_per_gt)]
    props += [random_box(rng, 0.05, 0.1) for _ in range(n_neg)]
    if crowd:
        boxes.append(random_box(rng))
        class_ids.append(-1)
        props.append(boxes[-1] + 0.01)  # overlaps the crowd box: neither positive nor negative
    boxes.append(np.array([0.3, 0.3, 0.3, 0.6]))  # degenerate (zero height), class 2
    class_ids.append(2)
    boxes.append(random_box(rng))  # a box with class 0: padding despite its coordinates
    class_ids.append(0)
    props.append(boxes[-1] + 0.005)
    props = np.array(props, np.float32)
    props = np.concatenate([props, np.zeros((n_props - len(props), 4), np.float32)])
    n = len(boxes)
    boxes = np.concatenate([np.array(boxes), np.zeros((n_gt_slots - n, 4))]).astype(np.float32)
    class_ids = np.array(class_ids + [0] * (n_gt_slots - n), np.int32)
    masks = rng.random(tuple(mask_hw) + (n_gt_slots,)) > 0.5
    return props, class_ids, boxes, masks


def make_batch(seed, config, n_gt=(3, 2), pos_per_gt=2, n_neg=(5, 4), n_props=24, n_gt_slots=7):
    rng = np.random.default_rng(seed)
    hw = config.MINI_MASK_SHAPE if config.USE_MINI_MASK else (FULL_SIZE, FULL_SIZE)
    images = [make_image(rng, g, pos_per_gt, n, n_props, n_gt_slots, hw)
              for g, n in zip(n_gt, n_neg)]
    return [np.stack(x) for x in zip(*images)]


def check_batch(outputs, batch, config, exact_sets=True):
    return [check_image(outputs, b, *(x[b] for x in batch), config, exact_sets)
            for b in range(len(batch[0]))]


# ------------------------------------------------------------------------------------------------
def test_sample_counts_defaults():
    assert sample_counts(Config()) == (66, 134)
    assert sample_counts(TargetConfig()) == (8, 24)


@pytest.mark.parametrize("config_class", [TargetConfig, FullMaskConfig])
def test_deterministic_set_matches_numpy(config_class):
    config = config_class()
    batch = make_batch(1, config)
    outputs = detection_targets(*batch, config)
    t, (mh, mw) = config.TRAIN_ROIS_PER_IMAGE, config.MASK_SHAPE
    assert [tuple(o.shape) for o in outputs] == [(2, t, 4), (2, t), (2, t, 4), (2, t, mh, mw)]
    assert [o.dtype for o in outputs] == [tf.float32, tf.int32, tf.float32, tf.float32]
    for b in range(2):  # the data must make every candidate fit, so the set is deterministic
        ref = reference(*(x[b] for x in batch), config)
        assert ref["pos"].sum() >= 4 and expected_counts(
            ref["pos"].sum(), ref["neg"].sum(), config) == (ref["pos"].sum(), ref["neg"].sum())
    check_batch(outputs, batch, config)
    masks = outputs[3].numpy()
    assert masks.sum() > 0 and (1 - masks[:, :4]).sum() > 0


def test_crowd_class0_and_degenerate_gt():
    config = TargetConfig()
    gt_boxes = np.array([[[0.1, 0.1, 0.4, 0.4], [0.5, 0.5, 0.9, 0.9], [0.2, 0.6, 0.2, 0.8],
                          [0.6, 0.1, 0.9, 0.4]]], np.float32)
    gt_class_ids = np.array([[3, -1, 2, 0]], np.int32)
    proposals = np.array([[[0.1, 0.1, 0.4, 0.38],    # positive, class 3 (inside its GT box)
                           [0.5, 0.5, 0.88, 0.9],    # crowd IoU 0.95: excluded
                           [0.89, 0.89, 0.95, 0.95], # crowd IoU ~0.0007 (< 0.001): negative
                           [0.88, 0.88, 0.95, 0.95], # crowd IoU ~0.0024: excluded
                           [0.2, 0.6, 0.21, 0.8],    # on the degenerate GT: negative
                           [0.6, 0.1, 0.9, 0.4],     # on the class-0 box: negative
                           [0.0, 0.0, 0.0, 0.0]]], np.float32)
    masks = np.ones((1, 10, 10, 4), bool)
    rois, cls, bbox, mask = (o.numpy() for o in
                             detection_targets(proposals, gt_class_ids, gt_boxes, masks, config))
    idx = match_rows(rois[0], proposals[0])
    assert idx[0] == 0 and cls[0, 0] == 3
    assert set(idx[1:4]) == {2, 4, 5} and np.all(idx[4:] == -1)
    assert np.all(cls[0, 1:] == 0)
    assert np.all(np.isfinite(bbox)) and np.all(mask[0, 0] == 1) and np.all(mask[0, 1:] == 0)
    expected = np_refine(proposals[0, 0], gt_boxes[0, 0]) / config.BBOX_STD_DEV
    np.testing.assert_allclose(bbox[0, 0], expected, rtol=1e-5, atol=1e-6)


def test_sampling_limits_and_randomness():
    config = TargetConfig()
    copies = 300  # the batch axis gives independent draws on one image
    one = make_batch(7, config, n_gt=(4,), pos_per_gt=5, n_neg=(60,), n_props=90)
    batch = [np.repeat(x, copies, axis=0) for x in one]
    ref = reference(*(x[0] for x in one), config)
    n_pos, n_neg = int(ref["pos"].sum()), int(ref["neg"].sum())
    assert n_pos >= 20 and n_neg > 40
    exp_pos, exp_neg = expected_counts(n_pos, n_neg, config)
    assert (exp_pos, exp_neg) == (8, 24)
    outputs = [o.numpy() for o in detection_targets(*batch, config)]
    rows = np.stack([check_image(outputs, b, *(x[b] for x in batch), config, exact_sets=False,
                                 ref=ref) for b in range(copies)])
    pos_rows, neg_rows = rows[:, :exp_pos], rows[:, exp_pos:exp_pos + exp_neg]
    for chosen, candidates, k, n in ((pos_rows, ref["pos"], exp_pos, n_pos),
                                     (neg_rows, ref["neg"], exp_neg, n_neg)):
        freq = np.bincount(chosen.ravel(), minlength=len(candidates))[candidates]
        p = k / n
        sd = np.sqrt(copies * p * (1 - p))
        assert np.all(np.abs(freq - copies * p) < 5 * sd), freq
    assert len({tuple(sorted(r)) for r in pos_rows}) > copies // 2
    assert len(set(pos_rows[:, 0])) >= n_pos - 5  # the order of the positives is random too


def test_negative_count_follows_positive_count():
    config = TargetConfig()
    batch = make_batch(3, config, n_gt=(1, 2), pos_per_gt=1, n_neg=(20, 20), n_props=30)
    outputs = detection_targets(*batch, config)
    check_batch(outputs, batch, config, exact_sets=False)
    cls = outputs[1].numpy()
    rois = outputs[0].numpy()
    kept = np.any(rois != 0, axis=-1).sum(axis=1)
    n_pos = (cls > 0).sum(axis=1)
    np.testing.assert_array_equal(n_pos, [1, 2])
    np.testing.assert_array_equal(kept - n_pos, [int(1 / 0.25) - 1, int(2 / 0.25) - 2])


def test_images_without_positives_still_get_negatives():
    """Fix of Matterport's quirk: no positive -> still int(T * (1 - ratio)) negatives."""
    config = TargetConfig()
    batch = make_batch(5, config, n_gt=(2, 2), pos_per_gt=0, n_neg=(40, 5), n_props=50)
    batch[1][1] = np.zeros_like(batch[1][1])  # image 1: no GT at all (all class ids 0)
    outputs = detection_targets(*batch, config)
    check_batch(outputs, batch, config, exact_sets=False)
    kept = np.any(outputs[0].numpy() != 0, axis=-1).sum(axis=1)
    n_neg_1 = reference(*(x[1] for x in batch), config)["neg"].sum()
    np.testing.assert_array_equal(kept, [int(32 * 0.75), n_neg_1])
    assert n_neg_1 >= 6 and np.all(outputs[1].numpy() == 0)


def test_empty_proposal_and_gt_axes():
    config = TargetConfig()
    outputs = detection_targets(np.zeros((2, 0, 4), np.float32), np.zeros((2, 0), np.int32),
                                np.zeros((2, 0, 4), np.float32), np.zeros((2, 10, 10, 0), bool),
                                config)
    assert all(np.all(o.numpy() == 0) for o in outputs)
    assert outputs[3].shape == (2, 32, 6, 6)
    props = np.array([[[0.1, 0.1, 0.3, 0.3], [0.5, 0.5, 0.7, 0.8]]], np.float32)
    rois, cls, bbox, mask = detection_targets(props, np.zeros((1, 0), np.int32),
                                              np.zeros((1, 0, 4), np.float32),
                                              np.zeros((1, 10, 10, 0), bool), config)
    assert sorted(match_rows(rois.numpy()[0], props[0])[:2]) == [0, 1]
    assert np.all(cls.numpy() == 0) and np.all(np.isfinite(bbox.numpy()))


def test_tf_function_dynamic_batch_and_no_gradient():
    config = FullMaskConfig()
    fn = tf.function(lambda *a: detection_targets(*a, config), input_signature=[
        tf.TensorSpec([None, None, 4], tf.float32), tf.TensorSpec([None, None], tf.int32),
        tf.TensorSpec([None, None, 4], tf.float32),
        tf.TensorSpec([None, None, None, None], tf.bool)], autograph=False)
    shapes = [o.shape.as_list() for o in fn.get_concrete_function().structured_outputs]
    assert shapes == [[None, 32, 4], [None, 32], [None, 32, 4], [None, 32, 6, 6]]
    batch = make_batch(11, config, n_gt=(2, 3, 1), n_neg=(3, 4, 2))
    check_batch(fn(*batch), batch, config)
    props = tf.constant(batch[0])
    with tf.GradientTape() as tape:
        tape.watch(props)
        out = detection_targets(props, *batch[1:], config)
        total = tf.reduce_sum(out[0]) + tf.reduce_sum(out[2])
    assert tape.gradient(total, props) is None


def test_layer_in_keras_model():
    config = TargetConfig()
    mh, mw = config.MINI_MASK_SHAPE
    inputs = [keras.Input((None, 4)), keras.Input((None,), dtype="int32"),
              keras.Input((None, 4)), keras.Input((mh, mw, None), dtype="bool")]
    layer = DetectionTargetLayer(config, name="proposal_targets")
    outputs = layer(inputs)
    assert [tuple(o.shape) for o in outputs] == [(None, 32, 4), (None, 32), (None, 32, 4),
                                                 (None, 32, 6, 6)]
    assert [o.dtype for o in outputs] == ["float32", "int32", "float32", "float32"]
    assert layer.compute_mask(inputs) == [None] * 4
    model = keras.Model(inputs, outputs)
    batch = make_batch(2, config)
    check_batch(model(batch), batch, config)
    check_batch(model.predict(batch, verbose=0), batch, config)

    cfg = layer.get_config()
    json.dumps(cfg)
    # Explicit arguments, not a dict of Config keys (issue 8, item 3).
    assert cfg["train_rois_per_image"] == 32 and cfg["mask_shape"] == [6, 6]
    clone = keras.Model.from_config(model.get_config(),
                                    custom_objects={"DetectionTargetLayer": DetectionTargetLayer})
    assert clone.get_layer("proposal_targets").config.USE_MINI_MASK is True
    check_batch(clone(batch), batch, config)


def test_seeded_sampling_is_the_same_however_the_batch_is_split_over_replicas():
    # Issue 10 5(b) with Config.SEED: image i of the global batch gets the same RoIs whether it
    # is sampled as row i of one replica's batch or as row 0 of replica i's.
    config = TargetConfig()
    one = make_batch(7, config, n_gt=(4,), pos_per_gt=5, n_neg=(60,), n_props=90)
    other = make_batch(8, config, n_gt=(3,), pos_per_gt=6, n_neg=(50,), n_props=90)
    batch = [np.concatenate([a, b]) for a, b in zip(one, other)]
    seed = tf.constant([5, 17], tf.int64)
    with target_ops.sampling_seed(seed):
        together = [o.numpy() for o in detection_targets(*batch, config)]
        again = [o.numpy() for o in detection_targets(*batch, config)]
    for a, b in zip(together, again):
        np.testing.assert_array_equal(a, b)  # seeded: repeatable
    for replica in range(2):
        part = [x[replica:replica + 1] for x in batch]
        with target_ops.sampling_seed(seed, replica=tf.constant(replica), replicas=2):
            alone = [o.numpy() for o in detection_targets(*part, config)]
        for a, b in zip(alone, together):
            np.testing.assert_array_equal(a[0], b[replica])
    with target_ops.sampling_seed(tf.constant([5, 18], tf.int64)):  # the next step: new sample
        next_step = detection_targets(*batch, config)[0].numpy()
    assert not np.array_equal(next_step, together[0])
