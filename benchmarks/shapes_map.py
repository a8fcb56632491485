"""Shapes from scratch: trains on the synthetic shapes dataset for a fixed wall-clock budget
with no pretrained weights, then reports VOC mAP@0.5 (``utils.compute_ap``, mask IoU) on 50
held-out images.

    python benchmarks/shapes_map.py [--minutes 28] [--lr 0.01] [--logs DIR]

ResNet50 backbone, BatchNorm on batch statistics (TRAIN_BN=True; frozen statistics only make
sense for pretrained weights, and with TRAIN_BN=None the moving averages lagged far behind in a
trial run at learning rate 0.02), SGD with momentum at 0.01, every layer trained; otherwise
Matterport's ShapesConfig (128x128 images, anchors 8..128).
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "samples", "shapes"))

import keras  # noqa: E402
import shapes  # noqa: E402

import mrcnn.model as modellib  # noqa: E402
from mrcnn import utils  # noqa: E402


class ScratchConfig(shapes.ShapesConfig):
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 4
    TRAIN_BN = True
    STEPS_PER_EPOCH = 100
    VALIDATION_STEPS = 2


class InferenceConfig(ScratchConfig):
    IMAGES_PER_GPU = 1
    DETECTION_MIN_CONFIDENCE = 0.5


class TimeBudget(keras.callbacks.Callback):
    """Stops training once the wall-clock budget is spent (checked after every batch)."""

    def __init__(self, seconds):
        super().__init__()
        self.deadline = time.time() + seconds

    def on_train_batch_end(self, batch, logs=None):
        if time.time() > self.deadline:
            self.model.stop_training = True


def evaluate(model_path, count=50, seed=1234):
    config = InferenceConfig()
    dataset = shapes.ShapesDataset()
    dataset.load_shapes(count, config.IMAGE_SHAPE[0], config.IMAGE_SHAPE[1], seed=seed)
    dataset.prepare()
    model = modellib.MaskRCNN("inference", config, tempfile.mkdtemp())
    model.load_weights(model_path, by_name=True)
    images, gts = [], []
    for image_id in dataset.image_ids:
        image, _, class_ids, boxes, masks = modellib.load_image_gt(dataset, config, image_id)
        images.append(image)
        gts.append((boxes, class_ids, masks))
    aps = []
    for (boxes, class_ids, masks), r in zip(gts, model.detect(images)):
        ap, _, _, _ = utils.compute_ap(boxes, class_ids, masks, r["rois"], r["class_ids"],
                                       r["scores"], r["masks"], iou_threshold=0.5)
        aps.append(ap)
    return float(np.mean(aps))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=28.0)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--train-count", type=int, default=2000)
    parser.add_argument("--logs", default=None)
    args = parser.parse_args()
    config = ScratchConfig()
    train, val = shapes.ShapesDataset(), shapes.ShapesDataset()
    train.load_shapes(args.train_count, 128, 128, seed=1)
    val.load_shapes(50, 128, 128, seed=2)
    train.prepare()
    val.prepare()
    model = modellib.MaskRCNN("training", config, args.logs or tempfile.mkdtemp())
    start = time.time()
    budget = TimeBudget(args.minutes * 60)
    # One train() call per 100-step epoch keeps the logs readable; the budget ends it.
    model.train(train, val, learning_rate=args.lr, epochs=1000, layers="all",
                custom_callbacks=[budget])
    trained = (time.time() - start) / 60
    last = model.find_last()
    print(f"trained {trained:.1f} min, last checkpoint {last}", flush=True)
    print(f"mAP@0.5 on 50 held-out images: {evaluate(last):.3f}", flush=True)


if __name__ == "__main__":
    main()
