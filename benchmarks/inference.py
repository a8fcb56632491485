"""Inference benchmark: COCO config, ResNet101, 1024x1024, one real photo.

Prints import, build, weight-load, first-detect and steady-state detect() times (median of
--runs after one warm-up call) and the process's peak RSS. Weights are generated in the layout of
mask_rcnn_coco.h5 (random values: every one of the 100 detection slots is filled, so the mask
head runs on 100 RoIs, the worst case).

    python benchmarks/inference.py [--runs 7] [--image PATH] [--batch 1] [--precision fp32]

``--precision mixed_bfloat16`` / ``mixed_float16`` runs the model under that Keras policy through
``Config.MIXED_PRECISION``; until the configuration has that attribute it exits 2 saying so.
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
DEFAULT_IMAGE = os.path.join(ROOT, "..", "shared", "data", "matterport_demo_images", "images",
                             "12283150_12d37e6389_z.jpg")


def make_weights(path):
    """Writes a weight file for the COCO inference model (run in a separate process)."""
    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "samples", "coco"))
    import coco
    import mrcnn.model as modellib

    class Config(coco.CocoConfig):
        GPU_COUNT = 1
        IMAGES_PER_GPU = 1
    model = modellib.MaskRCNN("inference", Config(), tempfile.gettempdir())
    model.save_weights(path)


def measure(args):
    t0 = time.perf_counter()
    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "samples", "coco"))
    import skimage.io
    import coco
    import mrcnn.model as modellib
    t_import = time.perf_counter() - t0

    class Config(coco.CocoConfig):
        GPU_COUNT = 1
        IMAGES_PER_GPU = args.batch
    if args.precision != "fp32":
        Config.MIXED_PRECISION = args.precision

    t = time.perf_counter()
    model = modellib.MaskRCNN("inference", Config(), tempfile.gettempdir())
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    model.load_weights(args.weights, by_name=True)
    t_load = time.perf_counter() - t
    images = [skimage.io.imread(args.image)] * args.batch
    t = time.perf_counter()
    results = model.detect(images)
    t_first = time.perf_counter() - t
    t_to_first = time.perf_counter() - t0
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        model.detect(images)
        times.append(time.perf_counter() - t)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"image {os.path.basename(args.image)} {images[0].shape}, batch {args.batch}, "
          f"detections {len(results[0]['class_ids'])}")
    print(f"import            {t_import:7.2f} s")
    print(f"build             {t_build:7.2f} s")
    print(f"load_weights      {t_load:7.2f} s")
    print(f"first detect()    {t_first:7.2f} s")
    print(f"import->result    {t_to_first:7.2f} s")
    print(f"steady detect()   {statistics.median(times):7.2f} s  (median of {args.runs}; "
          f"min {min(times):.2f}, max {max(times):.2f})")
    print(f"per image         {statistics.median(times) / args.batch:7.2f} s")
    print(f"peak RSS          {peak_rss:7.2f} GB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--weights", default=None, help="weight file (default: generated)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--make-weights", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32",
                        choices=["fp32", "mixed_bfloat16", "mixed_float16"])
    args = parser.parse_args()
    if args.precision != "fp32":
        sys.path.insert(0, ROOT)
        from mrcnn.config import Config
        if not hasattr(Config, "MIXED_PRECISION"):
            print(f"--precision {args.precision} needs Config.MIXED_PRECISION, which this "
                  "checkout's mrcnn/config.py does not have yet (it comes with the "
                  "tf.distribute issue); run with --precision fp32", file=sys.stderr)
            sys.exit(2)
    if args.make_weights:
        return make_weights(args.make_weights)
    if args.measure:
        return measure(args)
    weights = args.weights
    if weights is None:
        weights = os.path.join(tempfile.gettempdir(), "mrcnn_bench_coco.h5")
        if not os.path.exists(weights):
            subprocess.run([sys.executable, __file__, "--make-weights", weights], check=True)
    # A fresh process, so that import time and peak RSS are the benchmark's own.
    subprocess.run([sys.executable, __file__, "--measure", "--weights", weights, "--runs",
                    str(args.runs), "--image", args.image, "--batch", str(args.batch),
                    "--precision", args.precision], check=True)


if __name__ == "__main__":
    main()
