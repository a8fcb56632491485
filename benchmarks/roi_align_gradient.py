"""RoIAlign's gradient with respect to the feature pyramid: TensorFlow's kernel against mrcnn's.

The shapes are those of one COCO training image (1024x1024, P2..P5 of 256 channels,
TRAIN_ROIS_PER_IMAGE = 200 RoIs pooled 7x7 for the classifier and 14x14 for the mask head,
RoIs clustered on a few objects as the sampler's positives are). For each implementation it prints
the median time of forward + backward over --runs after a warm-up, and how far the gradient's
per-channel totals fall from the upstream gradient's (bilinear weights add up to 1, so the two
totals agree up to rounding when no addition is lost).

    python benchmarks/roi_align_gradient.py [--runs 7] [--rois 200]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tensorflow as tf  # noqa: E402

from bench_machine import cpu_info  # noqa: E402
from mrcnn.ops import spatial_transform_ops as sto  # noqa: E402


def inputs(rois, seed=0):
    rng = np.random.default_rng(seed)
    maps = [tf.constant(rng.standard_normal((1, s, s, 256)), tf.float32)
            for s in (256, 128, 64, 32)]
    centres = rng.uniform(0.2, 0.8, (4, 2))  # 4 objects; RoIs jittered around them
    centre = centres[rng.integers(0, 4, rois)] + rng.normal(0, 0.03, (rois, 2))
    half = rng.uniform(0.02, 0.25, (rois, 2))
    boxes = tf.constant(np.clip(np.concatenate([centre - half, centre + half], 1), 0, 1),
                        tf.float32)
    return maps, boxes


def step_fn(pool, maps, boxes, pool_shape, upstream):
    """Forward + backward as PyramidROIAlign does it: each level pools its own RoIs."""
    levels = sto.roi_levels(boxes, (1024, 1024)).numpy()
    per_level = [(tf.constant(boxes.numpy()[levels == 2 + i]),
                  tf.zeros([int((levels == 2 + i).sum())], tf.int32),
                  tf.constant(upstream.numpy()[levels == 2 + i])) for i in range(4)]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(maps)
            total = 0.0
            for fmap, (level_boxes, index, level_upstream) in zip(maps, per_level):
                crops = pool(fmap, level_boxes, index, pool_shape)
                total += tf.reduce_sum(crops * level_upstream)
        return tape.gradient(total, maps)
    return step


def native(fmap, boxes, index, pool_shape):
    return tf.image.crop_and_resize(fmap, boxes, index, pool_shape, method="bilinear")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rois", type=int, default=200)
    args = parser.parse_args()
    model, _ = cpu_info()
    print(f"CPU: {model}, {os.cpu_count()} logical cores; TensorFlow {tf.__version__}")
    maps, boxes = inputs(args.rois)
    rng = np.random.default_rng(1)
    for pool_shape in ((7, 7), (14, 14)):
        upstream = tf.constant(rng.standard_normal((args.rois,) + pool_shape + (256,)),
                               tf.float32)
        levels = sto.roi_levels(boxes, (1024, 1024)).numpy()
        if pool_shape == (7, 7):
            print("RoIs per level P2..P5:", [int((levels == 2 + i).sum()) for i in range(4)])
        expected = [upstream.numpy()[levels == 2 + i].astype(np.float64).sum((0, 1, 2))
                    for i in range(4)]
        for name, pool in (("tf.image.crop_and_resize", native),
                           ("mrcnn crop_and_resize", sto.crop_and_resize)):
            step = step_fn(pool, maps, boxes, pool_shape, upstream)
            step()
            times, errors = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                grads = step()
                times.append(time.perf_counter() - start)
                errors.append(max(
                    float(np.abs(g.numpy().astype(np.float64).sum((0, 1, 2)) - e).max())
                    for g, e in zip(grads, expected)))
            print(f"{pool_shape[0]}x{pool_shape[1]} {args.rois} RoIs  {name:25s} "
                  f"forward+backward median {statistics.median(times) * 1000:7.1f} ms   "
                  f"channel-total error: median {statistics.median(errors):.3g}, "
                  f"max {max(errors):.3g} (over {args.runs} runs)")


if __name__ == "__main__":
    main()
