"""Training benchmark on real COCO images (../shared/data/coco_tiny/train2017).

Two settings, each in a fresh process:
  r50-256:   ResNet50, 256x256, 2 images per batch, all layers;
  coco-1024: the COCO config (ResNet101, 1024x1024), 1 image per batch, all layers.
Prints seconds per step and images per second (median over the steps after --warmup), the time
to the first step (graph tracing), and peak RSS. Runs MaskRCNN.train() itself, so the tf.data
input pipeline, the train step and the optimizer are all measured.

    python benchmarks/train.py [--setting r50-256|coco-1024|all] [--steps 12] [--warmup 2]
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "coco_tiny")
SETTINGS = {
    "r50-256": dict(BACKBONE="resnet50", IMAGE_MIN_DIM=256, IMAGE_MAX_DIM=256, IMAGES_PER_GPU=2),
    "coco-1024": dict(BACKBONE="resnet101", IMAGE_MIN_DIM=800, IMAGE_MAX_DIM=1024,
                      IMAGES_PER_GPU=1),
}


def measure(setting, steps, warmup):
    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "samples", "coco"))
    import mrcnn.model as modellib  # first: it quiets TensorFlow's C++ log before TF loads
    import keras
    import coco

    values = dict(SETTINGS[setting], STEPS_PER_EPOCH=steps, VALIDATION_STEPS=1, NAME="bench")
    config = type("BenchConfig", (coco.CocoConfig,), values)()
    dataset = coco.CocoDataset()
    dataset.load_coco(DATA, "train", "2017")
    dataset.prepare()

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.t)

    timer = Timer()
    model = modellib.MaskRCNN("training", config, tempfile.mkdtemp())
    t = time.perf_counter()
    model.train(dataset, dataset, learning_rate=0.001, epochs=1, layers="all",
                custom_callbacks=[timer])
    total = time.perf_counter() - t
    steady = timer.times[warmup:]
    per_step = statistics.median(steady)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"{setting}: first step {timer.times[0]:.1f} s, steady {per_step:.2f} s/step "
          f"(median of {len(steady)}; min {min(steady):.2f}, max {max(steady):.2f}), "
          f"{config.BATCH_SIZE / per_step:.2f} images/s, train() total {total:.1f} s, "
          f"peak RSS {peak:.2f} GB", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", default="all", choices=list(SETTINGS) + ["all"])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args.setting, args.steps, args.warmup)
    for setting in SETTINGS if args.setting == "all" else [args.setting]:
        subprocess.run([sys.executable, __file__, "--measure", "--setting", setting, "--steps",
                        str(args.steps), "--warmup", str(args.warmup)], check=True)


if __name__ == "__main__":
    main()
