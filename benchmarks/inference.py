"""Inference benchmark: COCO config, ResNet101, 1024x1024, one real photo.

Prints import, build, weight-load, first-detect and steady-state detect() times (median of
--runs after one warm-up call) and the process's peak RSS. Weights are generated in the layout of
mask_rcnn_coco.h5 (random values: every one of the 100 detection slots is filled, so the mask
head runs on 100 RoIs, the worst case).

    python benchmarks/inference.py [--runs 7] [--image PATH] [--batch 1] [--precision fp32]
        [--rounds 1]

``--precision mixed_bfloat16`` / ``mixed_float16`` runs the model under that Keras policy through
``Config.MIXED_PRECISION``; until the configuration has that attribute it exits 2 saying so.
A comma-separated list (``--precision fp32,mixed_bfloat16``) measures each in its own fresh
process, alternating, ``--rounds`` times (the first precision alternates from round to round),
and prints a table of the medians per precision with the ratios to the first one, the CPU model
and its flags for low precision (AVX512-BF16, AMX; a note when bfloat16 has neither).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under python -I
from bench_machine import cpu_info  # noqa: E402

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
    print("RESULT " + json.dumps({
        "import": t_import, "build": t_build, "load_weights": t_load, "first detect": t_first,
        "import->result": t_to_first, "steady detect": statistics.median(times),
        "peak RSS GB": peak_rss, "detections": len(results[0]["class_ids"])}), flush=True)


def cpu_description():
    """(model name, low-precision flags present) from /proc/cpuinfo."""
    model, flags = cpu_info()
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16")
    return model, [f for f in wanted if f in flags]


def compare(args, precisions, weights):
    """Every precision in a fresh process per round, alternating; a table of the medians."""
    model, flags = cpu_description()
    print(f"CPU: {model}; {os.cpu_count()} logical CPUs; flags: {', '.join(flags) or 'none'}")
    if "mixed_bfloat16" in precisions and not {"avx512_bf16", "amx_bf16"} & set(flags):
        print("note: this CPU has neither AVX512-BF16 nor AMX: bfloat16 runs emulated, expect "
              "it slower than fp32")
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    results = {p: [] for p in precisions}
    for r in range(args.rounds):
        order = precisions if r % 2 == 0 else precisions[::-1]
        for p in order:
            out = subprocess.run(
                [sys.executable, __file__, "--measure", "--weights", weights, "--runs",
                 str(args.runs), "--image", args.image, "--batch", str(args.batch),
                 "--precision", p], capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"--precision {p} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
            line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")][-1]
            results[p].append(json.loads(line[len("RESULT "):]))
            print(f"round {r + 1}, {p}: " + ", ".join(
                f"{k} {v:.3g}" for k, v in results[p][-1].items()), flush=True)
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    base = precisions[0]
    header = f"{'measure':18s}" + "".join(f"{p:>16s}" for p in precisions) + "".join(
        f"{p + '/' + base:>28s}" for p in precisions[1:])
    print("\n" + header)
    for key in results[base][0]:
        med = {p: statistics.median(x[key] for x in results[p]) for p in precisions}
        unit = "" if key == "detections" else (" GB" if "RSS" in key else " s")
        row = f"{key:18s}" + "".join(f"{med[p]:13.2f}{unit:3s}" for p in precisions)
        if key != "detections":
            row += "".join(f"{med[p] / med[base]:28.2f}" for p in precisions[1:])
        print(row)
    print(f"(median over {args.rounds} round(s); steady detect is the median of {args.runs} "
          f"calls after one warm-up; CPU: {model})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--weights", default=None, help="weight file (default: generated)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--make-weights", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32",
                        help="fp32, mixed_bfloat16, mixed_float16 or a comma-separated list")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of a --precision list (each precision once per round)")
    args = parser.parse_args()
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    for p in precisions:
        if p not in ("fp32", "mixed_bfloat16", "mixed_float16"):
            parser.error(f"--precision: unknown {p!r} (fp32, mixed_bfloat16, mixed_float16)")
    if not precisions or args.rounds < 1 or args.runs < 1:
        parser.error("--precision needs a value; --rounds and --runs must be >= 1")
    if len(precisions) > 1 and (args.measure or args.make_weights):
        parser.error("--measure takes one precision")
    if any(p != "fp32" for p in precisions):
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
    if len(precisions) > 1:
        return compare(args, precisions, weights)
    # A fresh process, so that import time and peak RSS are the benchmark's own.
    subprocess.run([sys.executable, __file__, "--measure", "--weights", weights, "--runs",
                    str(args.runs), "--image", args.image, "--batch", str(args.batch),
                    "--precision", args.precision], check=True)


if __name__ == "__main__":
    main()
