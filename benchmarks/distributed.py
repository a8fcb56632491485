"""Data-parallel training benchmark: images per second of MaskRCNN.train() on real COCO tiny
images (../shared/data/coco_tiny/train2017) for 1 and 2 replicas.

Settings, each in a fresh process (logical devices and the dtype policy are fixed when
TensorFlow starts):
  cpu-1:       the default strategy on the CPU (one replica, IMAGES_PER_GPU images per step);
  cpu-2:       MirroredStrategy over two logical CPU devices (tf.config
               .set_logical_device_configuration) sharing the same cores: measures the overhead of
               the replicas and the all-reduce, not a speed-up;
  gpu-fp32, gpu-fp16 (only with a GPU): one GPU, float32 and MIXED_PRECISION = "mixed_float16";
  gpu-all (only with 2 or more GPUs): MirroredStrategy over all visible GPUs (GPU_COUNT).
Prints, per setting: the replicas, the global batch, the median seconds per step over the steps
after --warmup, images per second, and (GPU) the peak GPU memory; and the CPU's name.

    python benchmarks/distributed.py [--setting cpu-1|cpu-2|gpu-fp32|gpu-fp16|gpu-all|all]
        [--steps 8] [--warmup 3] [--size 128] [--images-per-gpu 1]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under python -I
from bench_machine import cpu_info  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "coco_tiny")
SETTINGS = ("cpu-1", "cpu-2", "gpu-fp32", "gpu-fp16", "gpu-all")


def cpu_name():
    """The CPU's model name (/proc/cpuinfo on Linux, else platform.processor())."""
    return cpu_info()[0]


def measure(setting, steps, warmup, size, images_per_gpu):
    import tensorflow as tf

    if setting == "cpu-2":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    gpus = tf.config.list_physical_devices("GPU")
    if setting.startswith("gpu") and not gpus:
        raise SystemExit(f"setting {setting} needs a GPU; TensorFlow sees none")
    if setting.startswith("cpu") and gpus:
        tf.config.set_visible_devices([], "GPU")
    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "samples", "coco"))
    import mrcnn.model as modellib
    import keras
    import coco
    from mrcnn import training

    values = dict(NAME="bench", BACKBONE="resnet50", IMAGE_MIN_DIM=size, IMAGE_MAX_DIM=size,
                  IMAGES_PER_GPU=images_per_gpu, STEPS_PER_EPOCH=steps, VALIDATION_STEPS=1,
                  GPU_COUNT=len(gpus) if setting == "gpu-all" else 1,
                  MIXED_PRECISION="mixed_float16" if setting == "gpu-fp16" else None)
    if size < 512:
        values.update(RPN_ANCHOR_SCALES=(8, 16, 32, 64, 128), POST_NMS_ROIS_TRAINING=256,
                      TRAIN_ROIS_PER_IMAGE=64)
    config = type("BenchConfig", (coco.CocoConfig,), values)()
    dataset = coco.CocoDataset()
    dataset.load_coco(DATA, "train", "2017")
    dataset.prepare()

    strategy = None
    if setting == "cpu-2":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    class Timer(keras.callbacks.Callback):
        times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.t)

    model = modellib.MaskRCNN("training", config, tempfile.mkdtemp(), strategy=strategy)
    replicas = model.strategy.num_replicas_in_sync
    training.train(model, dataset, dataset, learning_rate=0.001, epochs=1, layers="all",
                   custom_callbacks=[Timer()])
    median = statistics.median(Timer.times[warmup:])
    batch = images_per_gpu * replicas
    result = {"setting": setting, "replicas": replicas, "global_batch": batch,
              "s_per_step": median, "images_per_s": batch / median,
              "steps_timed": len(Timer.times[warmup:])}
    if setting.startswith("gpu"):
        result["peak_gpu_memory_mib"] = max(
            tf.config.experimental.get_memory_info(f"GPU:{i}")["peak"]
            for i in range(replicas)) / 2 ** 20
    return result


def run_setting(setting, args):
    command = [sys.executable, os.path.abspath(__file__), "--child", setting,
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--size",
               str(args.size), "--images-per-gpu", str(args.images_per_gpu)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"setting {setting} failed (exit {proc.returncode}):\n" +
                         "\n".join(tail))
    return json.loads(lines[-1][len("RESULT "):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setting", default="all", choices=SETTINGS + ("all",))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--images-per-gpu", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per setting")
    parser.add_argument("--child", choices=SETTINGS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps <= args.warmup:
        parser.error(f"--steps ({args.steps}) must exceed --warmup ({args.warmup})")
    if args.size % 64:
        parser.error(f"--size {args.size} must be a multiple of 64")
    if args.child:
        print("RESULT " + json.dumps(measure(args.child, args.steps, args.warmup, args.size,
                                             args.images_per_gpu)), flush=True)
        return 0
    if args.setting == "all":
        import shutil
        gpus = 0
        if shutil.which("nvidia-smi"):
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
            gpus = sum(line.startswith("GPU ") for line in out.stdout.splitlines())
        settings = ["cpu-1", "cpu-2"] + (["gpu-fp32", "gpu-fp16"] if gpus else []) + (
            ["gpu-all"] if gpus > 1 else [])
    else:
        settings = [args.setting]
    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical cores); ResNet50 {args.size}x{args.size}"
          f", {args.images_per_gpu} image(s) per replica, median of {args.steps - args.warmup} "
          f"steps after {args.warmup} warm-up")
    for setting in settings:
        r = run_setting(setting, args)
        memory = (f", peak GPU memory {r['peak_gpu_memory_mib']:.0f} MiB"
                  if "peak_gpu_memory_mib" in r else "")
        print(f"{setting:9} {r['replicas']} replica(s), batch {r['global_batch']}: "
              f"{r['s_per_step']:.3f} s/step, {r['images_per_s']:.2f} images/s{memory}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
