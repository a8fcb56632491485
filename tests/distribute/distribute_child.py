"""Child process of tests/distribute/test_distribute.py: scenarios that need two logical CPU
devices (set before TensorFlow initialises) or a TF_CONFIG of their own. Prints one line
``RESULT <json>``. Run from the repository root with it on ``PYTHONPATH``:

    python -m tests.distribute.distribute_child mirrored MODEL_DIR      # (a) train() on 2 CPUs
    python -m tests.distribute.distribute_child equivalence MODEL_DIR   # (b) 2 x 1 == 1 x 2 images
    python -m tests.distribute.distribute_child mixed MODEL_DIR         # (d) bf16 / fp16 steps
    python -m tests.distribute.distribute_child worker MODEL_DIR STEPS [EPOCHS]  # (c) one worker
    python -m tests.distribute.distribute_child batch_detect MODEL_DIR  # detect on 2 replicas
"""

import json
import os
import sys

import tensorflow as tf  # noqa: E402

SCENARIO = sys.argv[1]
# Grappler's passes take most of a first step's time on this big graph and change no result.
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
if SCENARIO != "worker":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras  # noqa: E402
import numpy as np  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402

import mrcnn.model as modellib  # noqa: E402
from mrcnn import training  # noqa: E402
from mrcnn.example_loader import TrainingExampleLoader  # noqa: E402
from tests.data.training_data import COCO_DIR, CocoTinyDataset, TinyTrainingConfig  # noqa: E402


class SmallConfig(TinyTrainingConfig):
    NAME = "dist"


def coco_dataset(limit):
    coco = COCO(str(COCO_DIR / "annotations" / "instances_val2017.json"))
    ds = CocoTinyDataset().load(coco, limit=limit)
    ds.prepare()
    return ds


def two_cpus():
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def replica_spread(model):
    """Largest difference between the replicas' copies of any variable."""
    strategy = model.keras_model.distribute_strategy
    worst = 0.0
    for v in model.keras_model.weights:
        copies = [np.asarray(c) for c in strategy.experimental_local_results(v.value)]
        worst = max([worst] + [float(np.max(np.abs(c - copies[0]))) for c in copies[1:]])
    return worst


def finite_history(history):
    return {k: [float(x) for x in v] for k, v in history.history.items()}


def mirrored(model_dir):
    """(a) train() on real images under MirroredStrategy over 2 logical CPUs, with synchronized
    BatchNorm on batch statistics. The heads only: the whole network's first step took 142 s
    of a loaded 2-core machine, the heads' whole run under 40 s of CPU time."""
    class C(SmallConfig):
        TRAIN_BN = True
        SYNC_BN = True
    keras.utils.set_random_seed(0)
    ds = coco_dataset(4)
    model = modellib.MaskRCNN("training", C(), model_dir, strategy=two_cpus())
    before = [np.asarray(v.value) for v in model.keras_model.weights]
    history = training.train(model, ds, ds, learning_rate=0.01, epochs=1, layers="heads", seed=0)
    after = [np.asarray(v.value) for v in model.keras_model.weights]
    changed = sum(not np.array_equal(a, b) for a, b in zip(before, after))
    bn = model.keras_model.get_layer("mrcnn_mask_bn1")
    return {"replicas": model.keras_model.distribute_strategy.num_replicas_in_sync,
            "history": finite_history(history), "spread": replica_spread(model),
            "changed": changed, "synchronized": bool(bn.synchronized),
            "checkpoint": model.find_last()}


def fixed_rois(example, config):
    """Given RoIs for one image: its GT boxes (positives) and as many tiny corner boxes
    (negatives), zero-padded; few enough that the target layer keeps them all, so the step does
    not depend on its random sampling."""
    boxes = example["input_gt_boxes"][example["input_gt_class_ids"] > 0][:3]
    h = int(config.IMAGE_SHAPE[0])
    corners = [[0, 0, 2, 2], [0, h - 2, 2, h], [h - 2, 0, h, 2]][:len(boxes)]
    rois = np.zeros([config.POST_NMS_ROIS_TRAINING, 4], np.int32)
    rows = np.concatenate([boxes, np.asarray(corners, np.int32).reshape(-1, 4)])
    rois[:len(rows)] = rows
    return rois


def equivalence(model_dir):
    """(b) One SGD step with 2 replicas x 1 image equals one with 1 replica x 2 images."""
    class One(SmallConfig):
        USE_RPN_ROIS = False
        IMAGES_PER_GPU = 2
        LEARNING_MOMENTUM = 0.9

    class Two(One):
        IMAGES_PER_GPU = 1

    keras.utils.set_random_seed(0)
    ds = coco_dataset(6)
    loader = TrainingExampleLoader(ds, One(), seed=0)
    examples = []
    for image_id in ds.image_ids:
        example = loader(int(image_id), key=int(image_id))
        if example is not None and (example["input_gt_class_ids"] > 0).any():
            examples.append(example)
        if len(examples) == 2:
            break
    names = list(examples[0])
    batch = tuple(np.stack([e[n] for e in examples]) for n in names) + (
        np.stack([fixed_rois(e, One()) for e in examples]),)
    # uint8 masks, as mrcnn.distribute feeds them (Keras' symbolic build cannot average bool).
    batch = tuple(a.astype(np.uint8) if a.dtype == bool else a for a in batch)
    data = tf.data.Dataset.from_tensors(batch)

    single = modellib.MaskRCNN("training", One(), model_dir)
    initial = single.keras_model.get_weights()
    double = modellib.MaskRCNN("training", Two(), model_dir, strategy=two_cpus())
    double.keras_model.set_weights(initial)
    out = {"positives": [int((e["input_gt_class_ids"] > 0).sum()) for e in examples]}
    for name, model in (("single", single), ("double", double)):
        model.compile(learning_rate=0.02, momentum=0.9)
        history = model.keras_model.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
        out[name + "_logs"] = {k: float(v[0]) for k, v in history.history.items()}
    diffs = [float(np.max(np.abs(a - np.asarray(b.value)))) if a.size else 0.0
             for a, b in zip(single.keras_model.get_weights(), double.keras_model.weights)]
    moved = [float(np.max(np.abs(a - b))) if a.size else 0.0
             for a, b in zip(initial, single.keras_model.get_weights())]
    out.update(max_weight_diff=max(diffs), max_update=max(moved),
               spread=replica_spread(double),
               clip_after_all_reduce=double.keras_model.clip_norm_after_all_reduce,
               optimizer_clipnorm=double.keras_model.optimizer.clipnorm)
    return out


def mixed(model_dir):
    """(d) mixed_bfloat16 (one device) and mixed_float16 (2 replicas, loss scaling) train()."""
    ds = coco_dataset(4)
    out = {}
    for policy, strategy in (("mixed_bfloat16", None), ("mixed_float16", two_cpus())):
        class C(SmallConfig):
            MIXED_PRECISION = policy
        keras.utils.set_random_seed(0)
        model = modellib.MaskRCNN("training", C(), model_dir, strategy=strategy)
        history = training.train(model, ds, ds, learning_rate=0.01, epochs=1, layers="heads", seed=0)
        conv = model.keras_model.get_layer("mrcnn_mask_conv1")
        out[policy] = {"history": finite_history(history),
                       "compute_dtype": conv.compute_dtype,
                       "variable_dtypes": sorted({str(v.dtype) for v in
                                                  model.keras_model.weights}),
                       "optimizer": type(model.keras_model.optimizer).__name__,
                       "global_policy": keras.mixed_precision.dtype_policy().name}
    return out


def worker(model_dir, steps, epochs=1):
    """(c) One worker of a MultiWorkerMirroredStrategy (TF_CONFIG set by the parent): ``epochs``
    epochs of ``steps`` steps; prints ``STEP <epoch> <step>`` after each step."""
    from mrcnn import distribute

    class C(SmallConfig):
        STEPS_PER_EPOCH = steps

    class Progress(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            print(f"STEP {self.epoch} {batch + 1} loss={float(logs['loss']):.4f}", flush=True)

    keras.utils.set_random_seed(0)
    ds = coco_dataset(4)
    model = modellib.MaskRCNN("training", C(), model_dir)
    strategy = model.strategy
    kind = ("MultiWorkerMirroredStrategy"
            if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            else type(strategy).__name__)
    print("STRATEGY", kind, strategy.num_replicas_in_sync, flush=True)
    history = training.train(model, ds, ds, learning_rate=0.01, epochs=epochs, layers="heads",
                             seed=0, custom_callbacks=[Progress()])
    return {"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync,
            "chief": distribute.is_chief(strategy), "history": finite_history(history),
            "log_dir": model.log_dir}


def batch_detect(model_dir):
    """predict_batch / detect_files on 2 replicas against 1 replica, same model and photos."""
    from mrcnn import batch_inference as bi
    from tests.paths import DATA_DIR

    class C(SmallConfig):
        IMAGES_PER_GPU = 2  # BATCH_SIZE 2 on one replica; 4 over the two replicas
        DETECTION_MIN_CONFIDENCE = 0.0
        DETECTION_MAX_INSTANCES = 20

    keras.utils.set_random_seed(0)
    strategy = two_cpus()
    model = modellib.MaskRCNN("inference", C(), model_dir, strategy=strategy)
    photos = sorted(str(p) for p in (DATA_DIR / "matterport_demo_images" / "images").glob(
        "*.jpg"))[:3]  # 3 images: 2 on replica 0, 1 (+ 1 padding copy) on replica 1
    batch = list(bi.load_molded(photos, model.config))
    one = bi.predict_batch(model, batch, tf.distribute.get_strategy())
    two = bi.predict_batch(model, batch)  # the model's strategy: both replicas
    single = bi.predict_batch(model, batch[2:])  # fewer images than replicas
    out = {"replicas": model.strategy.num_replicas_in_sync, "images": len(batch),
           "detections": [len(r["class_ids"]) for r in one], "max_box_diff": 0.0,
           "max_score_diff": 0.0, "same_classes": True, "same_masks": True}
    for a, b in zip(one + one[2:], two + single):
        out["same_classes"] &= bool(np.array_equal(a["class_ids"], b["class_ids"]))
        out["same_masks"] &= bool(a["masks"].shape == b["masks"].shape
                                  and np.mean(a["masks"] != b["masks"]) < 1e-4)
        if a["rois"].shape == b["rois"].shape:
            out["max_box_diff"] = max(out["max_box_diff"],
                                      float(np.max(np.abs(a["rois"] - b["rois"]), initial=0)))
            out["max_score_diff"] = max(out["max_score_diff"], float(
                np.max(np.abs(a["scores"] - b["scores"]), initial=0)))
        else:
            out["max_box_diff"] = float("inf")
    return out


if __name__ == "__main__":
    folder = sys.argv[2]
    if SCENARIO == "mirrored":
        result = mirrored(folder)
    elif SCENARIO == "equivalence":
        result = equivalence(folder)
    elif SCENARIO == "mixed":
        result = mixed(folder)
    elif SCENARIO == "worker":
        result = worker(folder, *[int(a) for a in sys.argv[3:5]])
    elif SCENARIO == "batch_detect":
        result = batch_detect(folder)
    else:
        raise SystemExit(f"unknown scenario {SCENARIO}")
    print("RESULT " + json.dumps(result, default=lambda v: None if v is None else str(v)),
          flush=True)
    if SCENARIO == "worker":
        os._exit(0)  # skip the interpreter's teardown of the collective executor threads
