"""mrcnn against Matterport's own graph, side by side in one run, on this machine.

Matterport's graph is the TF2 port in ../shared/reference/matterport_port (tf_keras, TF1 graph
mode). This script builds, once, a virtual environment for it in a cache folder as the port's
README says (``python -m venv --system-site-packages`` + ``pip install tf_keras~=<TF major.minor>.0``;
everything else comes from this Python's site-packages, so both sides run the same TensorFlow),
writes one weight file in the layout of ``mask_rcnn_coco.h5`` (the real file's 406 layer
names, generated values: tests/coco_layout.py, seed 0), and runs the two alternately, every
measurement in a fresh process, ``--rounds`` rounds (the side that goes first alternates from
round to round):

* inference, COCO config (ResNet101, 1024x1024), one real photo of
  ../shared/data/matterport_demo_images: ``import mrcnn.model``, build, ``load_weights``, first
  ``detect()``, import -> first result, steady ``detect()`` (median of ``--runs`` after one
  warm-up call), peak RSS; once with ``DETECTION_MIN_CONFIDENCE`` 0.7 (few detections: none with
  these weights) and once with 0.0 (all 100 detection slots filled: RoIAlign and the mask head at
  100 RoIs);
* training, shapes (ResNet50, 256x256, 2 images per step, ``layers="all"``, ``train()`` itself):
  build, first step, median step after the first 3, the whole ``train()`` call, peak RSS.
  Matterport's ``train()`` runs with one data worker (``multiprocessing.cpu_count = lambda: 1``,
  the port README's way round the known multiprocessing hang).

It prints a table of both sides per round and the ratios mrcnn / Matterport (below 1: mrcnn is
faster or smaller), the CPU model and the flags that matter (AVX2, AVX-512, AVX512-BF16, AMX),
and the CPU count and load, since the absolute times of a shared machine are noisy: only the
ratios of one run mean something.

    python benchmarks/compare_matterport.py [--rounds 2] [--runs 5] [--only inference,training]
        [--confidences 0.7,0.0] [--steps 8] [--cache-dir ~/.cache/mrcnn-bench]
        [--port-python PATH] [--json results.json] [--precision fp32[,mixed_bfloat16]]

``--precision fp32,mixed_bfloat16`` runs mrcnn once per precision per round (Matterport's graph,
fp32 only, once) and prints the bf16 column next to fp32 with its ratios to Matterport and to
mrcnn fp32; the output says whether the CPU has AVX512-BF16 / AMX (without them bfloat16 is
emulated and slower).

Exits non-zero with the failing side's last output when a measurement fails or runs past
``--timeout``. Not part of the test suite.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under python -I
from bench_machine import cpu_info  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT_DIR = os.path.normpath(os.path.join(ROOT, "..", "shared", "reference", "matterport_port"))
DEFAULT_IMAGE = os.path.normpath(os.path.join(
    ROOT, "..", "shared", "data", "matterport_demo_images", "images",
    "12283150_12d37e6389_z.jpg"))
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "mrcnn-bench")
SIDES = ("mrcnn", "port")
CPU_FLAGS = (("AVX2", ("avx2",)), ("AVX-512", ("avx512f",)), ("AVX512-BF16", ("avx512_bf16",)),
             ("AMX", ("amx_tile", "amx_bf16")))
RESULT_TAG = "RESULT "


# ---------------------------------------------------------------------- child processes
def _config(config_module, **values):
    return type("BenchConfig", (config_module.Config,), values)()


def _set_precision(args):
    """mrcnn only: the precision policy (item 5 of issue 15), through ``Config.MIXED_PRECISION``."""
    if args.precision == "fp32":
        return {}
    return {"MIXED_PRECISION": args.precision}


def child_inference(args):
    t0 = time.perf_counter()
    import mrcnn.model as modellib
    t_import = time.perf_counter() - t0
    import numpy as np
    from PIL import Image
    import mrcnn.config

    image = np.asarray(Image.open(args.image).convert("RGB"))
    extra = _set_precision(args) if args.side == "mrcnn" else {}
    config = _config(mrcnn.config, NAME="coco", NUM_CLASSES=81, GPU_COUNT=1, IMAGES_PER_GPU=1,
                     DETECTION_MIN_CONFIDENCE=args.min_confidence, **extra)
    t = time.perf_counter()
    model = modellib.MaskRCNN("inference", config, tempfile.gettempdir())
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    model.load_weights(args.weights, by_name=True)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    result = model.detect([image])[0]
    t_first = time.perf_counter() - t
    t_to_first = time.perf_counter() - t0
    model.detect([image])  # warm-up
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        model.detect([image])
        times.append(time.perf_counter() - t)
    out = {"import": t_import, "build": t_build, "load_weights": t_load, "first_detect": t_first,
           "import_to_result": t_to_first, "steady_detect": statistics.median(times),
           "steady_min": min(times), "peak_rss_gb": _peak_rss_gb(),
           "detections": int(len(result["class_ids"]))}
    fn = getattr(model, "_predict_fn", None)
    if fn is not None and hasattr(fn, "experimental_get_tracing_count"):
        out["tracing_count"] = fn.experimental_get_tracing_count()
    print(RESULT_TAG + json.dumps(out), flush=True)


def child_training(args):
    import random
    t0 = time.perf_counter()
    import mrcnn.model as modellib
    t_import = time.perf_counter() - t0
    sys.path.insert(0, os.path.join(args.side_root, "samples", "shapes"))
    import numpy as np
    import shapes
    if args.side == "port":
        import tf_keras as keras
    else:
        import keras

    values = dict(BACKBONE="resnet50", IMAGE_MIN_DIM=256, IMAGE_MAX_DIM=256, IMAGES_PER_GPU=2,
                  GPU_COUNT=1, STEPS_PER_EPOCH=args.steps, VALIDATION_STEPS=1, NAME="bench")
    if args.side == "mrcnn":
        values.update(_set_precision(args))
    config = type("BenchShapesConfig", (shapes.ShapesConfig,), values)()
    datasets = []
    for count, seed in ((4 * args.steps, 0), (4, 1)):
        dataset = shapes.ShapesDataset()
        random.seed(seed)
        np.random.seed(seed)
        if args.side == "mrcnn":
            dataset.load_shapes(count, 256, 256, seed=seed)
        else:
            dataset.load_shapes(count, 256, 256)
        dataset.prepare()
        datasets.append(dataset)

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times, self.first_end = [], None

        def on_train_batch_begin(self, batch, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self.times.append(now - self.t)
            if self.first_end is None:
                self.first_end = now

    t = time.perf_counter()
    model = modellib.MaskRCNN("training", config, tempfile.mkdtemp(prefix="mrcnn_bench_"))
    t_build = time.perf_counter() - t
    if args.side == "port":
        import multiprocessing
        multiprocessing.cpu_count = lambda: 1  # the port README's way round the worker hang
    timer = Timer()
    t = time.perf_counter()
    model.train(datasets[0], datasets[1], learning_rate=config.LEARNING_RATE, epochs=1,
                layers="all", custom_callbacks=[timer])
    t_train = time.perf_counter() - t
    steady = timer.times[3:]
    out = {"import": t_import, "build": t_build, "first_step": timer.times[0],
           "train_to_first_step": timer.first_end - t, "steady_step": statistics.median(steady),
           "train_call": t_train, "steps": len(timer.times), "peak_rss_gb": _peak_rss_gb()}
    print(RESULT_TAG + json.dumps(out), flush=True)


def child_make_weights(args):
    """The release layout with tests/coco_layout.py's generated values (seed 0, N(0, 0.01)):
    its near-uniform class scores give no detection at DETECTION_MIN_CONFIDENCE 0.7 and fill
    all 100 slots at 0.0 (mrcnn's own random initialisation saturates the softmax and fills
    all 100 slots even at 0.7)."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import coco_layout
    partial = args.weights + ".partial"
    coco_layout.write_release_like_file(partial, seed=0)
    os.replace(partial, args.weights)  # a stopped run leaves no half-written file to reuse


def _peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


# ---------------------------------------------------------------------- parent
def cpu_description():
    """(model name, flags present, flags absent) from /proc/cpuinfo."""
    model, flags = cpu_info()
    have = [name for name, keys in CPU_FLAGS if all(k in flags for k in keys)]
    missing = [name for name, _ in CPU_FLAGS if name not in have]
    return model, have, missing


def tf_minor_version():
    from importlib import metadata
    try:
        version = metadata.version("tensorflow")
    except metadata.PackageNotFoundError:
        sys.exit("TensorFlow is not installed in this Python: install mrcnn's requirements first")
    return ".".join(version.split(".")[:2])


def ensure_port_python(args):
    """The port's interpreter: --port-python, or a venv built once under --cache-dir."""
    if args.port_python:
        if not os.path.exists(args.port_python):
            sys.exit(f"--port-python {args.port_python} does not exist")
        return args.port_python
    minor = tf_minor_version()
    venv = os.path.join(args.cache_dir, f"port-venv-tf{minor}")
    python = os.path.join(venv, "bin", "python")
    if os.path.exists(os.path.join(venv, ".ready")):
        return python
    print(f"building the port's environment in {venv} (once) ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)  # a build that stopped half way
    os.makedirs(args.cache_dir, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv],
                       check=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as e:
        shutil.rmtree(venv, ignore_errors=True)
        sys.exit(f"could not create the port's virtual environment: {e}")
    if not os.path.exists(python):
        sys.exit(f"{venv} exists but has no bin/python: remove it and run again")
    # The README's packages; those this Python already has come through --system-site-packages.
    needed = [f"tf_keras~={minor}.0"]
    for module, package in (("skimage", "scikit-image"), ("h5py", "h5py"), ("scipy", "scipy"),
                            ("PIL", "pillow"), ("cv2", "opencv-python-headless")):
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True)
        if probe.returncode:
            needed.append(package)
    try:
        subprocess.run([python, "-m", "pip", "install", "--quiet"] + needed, check=True,
                       timeout=1800)
    except (subprocess.SubprocessError, OSError) as e:
        sys.exit(f"could not install {needed} into {venv} (the port needs them; see "
                 f"{os.path.join(PORT_DIR, 'README.md')}): {e}")
    open(os.path.join(venv, ".ready"), "w").close()
    return python


def run_child(args, side, kind, extra, port_python):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    env["TF_CPP_MIN_LOG_LEVEL"] = env.get("TF_CPP_MIN_LOG_LEVEL", "2")
    if side == "port":
        python, side_root = port_python, PORT_DIR
        env.update(TF_USE_LEGACY_KERAS="1", PYTHONPATH=PORT_DIR)
    else:
        python, side_root = sys.executable, ROOT
        env["PYTHONPATH"] = ROOT
    cmd = [python, os.path.abspath(__file__), "--child", kind, "--side", side,
           "--side-root", side_root, "--precision", args.precision_now] + extra
    workdir = tempfile.mkdtemp(prefix="mrcnn_bench_cwd_")  # the port's samples append ../../
    try:
        proc = subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        sys.exit(f"{side} {kind} ran past --timeout {args.timeout} s; stopped")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = (proc.stdout + proc.stderr)[-3000:]
    sys.exit(f"{side} {kind} failed (exit {proc.returncode}); its last output:\n{tail}")


def ensure_weights(args):
    path = args.weights or os.path.join(args.cache_dir, "coco_release_layout_seed0.h5")
    if not os.path.exists(path):
        print(f"writing the weight file {path} (once) ...", flush=True)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        env = dict(os.environ, PYTHONPATH=ROOT)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "make-weights",
                        "--weights", path], env=env, check=True, timeout=args.timeout)
    return path


INFERENCE_ROWS = [("import", "import mrcnn.model", "s"), ("build", "build", "s"),
                  ("load_weights", "load_weights", "s"), ("first_detect", "first detect()", "s"),
                  ("import_to_result", "import -> first result", "s"),
                  ("steady_detect", "steady detect()", "s"), ("peak_rss_gb", "peak RSS", "GB"),
                  ("detections", "detections", "")]
TRAINING_ROWS = [("build", "build", "s"), ("first_step", "first step", "s"),
                 ("train_to_first_step", "train() call -> end of first step", "s"),
                 ("steady_step", "steady step (median after 3)", "s"),
                 ("train_call", "whole train() call", "s"), ("peak_rss_gb", "peak RSS", "GB")]
TARGETS = {("inference", "steady_detect", "few"): 0.75, ("inference", "steady_detect", "all"): 0.8,
           ("inference", "first_detect", None): 0.8, ("inference", "import", None): 0.8,
           ("inference", "import_to_result", None): 0.5, ("inference", "peak_rss_gb", None): 0.7,
           ("training", "steady_step", None): 0.6, ("training", "first_step", None): 0.5,
           ("training", "peak_rss_gb", None): 0.7}


def fmt(values, unit):
    if unit == "":
        return " / ".join(str(int(v)) for v in values)
    return " / ".join(f"{v:.2f}" for v in values) + (f" {unit}" if unit else "")


def column_name(side, precision):
    """The results' column of one side and precision: "port", "mrcnn", "mrcnn mixed_bfloat16"."""
    return side if side == "port" or precision == "fp32" else f"{side} {precision}"


def print_table(results, rounds, mrcnn_columns=("mrcnn",)):
    """Markdown table: each mrcnn column (fp32 and each other precision) next to Matterport's,
    the ratios mrcnn / Matterport, and a lower precision's ratio to mrcnn fp32."""
    extra = [c for c in mrcnn_columns if c != "mrcnn"]
    base = "mrcnn" if "mrcnn" in mrcnn_columns else None
    head = "| measure |" + "".join(f" {c} (rounds 1..{rounds}) |" for c in mrcnn_columns) + \
        " Matterport |" + "".join(f" ratio {c} / Matterport |" for c in mrcnn_columns) + \
        ("".join(f" ratio {c} / mrcnn fp32 |" for c in extra) if base else "") + " target |"
    print()
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    ratios = lambda a, b: " / ".join(f"{x / y:.2f}" if y else "-" for x, y in zip(a, b))  # noqa
    for (kind, label), per_side in results.items():
        rows = INFERENCE_ROWS if kind == "inference" else TRAINING_ROWS
        slot = "all" if label.endswith("= 0") else "few"
        for key, name, unit in rows:
            ours = {c: [r[key] for r in per_side.get(c, []) if key in r] for c in mrcnn_columns}
            theirs = [r[key] for r in per_side.get("port", []) if key in r]
            if not theirs or not all(ours.values()):
                continue
            cells = [fmt(ours[c], unit) for c in mrcnn_columns] + [fmt(theirs, unit)]
            if key == "detections":
                cells += [""] * (len(mrcnn_columns) + (len(extra) if base else 0))
                target = None
            else:
                cells += [ratios(ours[c], theirs) for c in mrcnn_columns]
                if base:
                    cells += [ratios(ours[c], ours[base]) for c in extra]
                target = TARGETS.get((kind, key, slot), TARGETS.get((kind, key, None)))
            cells.append(f"<= {target:.2f}" if target else "")
            print(f"| {label}: {name} | " + " | ".join(cells) + " |")
        for c in mrcnn_columns:
            tracing = [r.get("tracing_count") for r in per_side.get(c, []) if "tracing_count" in r]
            if tracing:
                print(f"| {label}: {c} traces of the inference function | "
                      f"{' / '.join(str(t) for t in tracing)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5, help="steady detect() calls per process")
    parser.add_argument("--steps", type=int, default=8, help="training steps (>= 4)")
    parser.add_argument("--only", default="inference,training",
                        help="comma-separated subset of: inference, training")
    parser.add_argument("--confidences", default="0.7,0.0",
                        help="DETECTION_MIN_CONFIDENCE values of the inference runs")
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--weights", default=None,
                        help="a weight file in the mask_rcnn_coco.h5 layout (default: generated)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--port-python", default=None,
                        help="python of an existing port environment (default: built)")
    parser.add_argument("--precision", default="fp32",
                        help="comma-separated mrcnn precisions: fp32, mixed_bfloat16 "
                             "(needs Config.MIXED_PRECISION); the port runs fp32")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per process")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--child", choices=["inference", "training", "make-weights"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--side-root", help=argparse.SUPPRESS)
    parser.add_argument("--min-confidence", type=float, default=0.7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "make-weights":
        return child_make_weights(args)
    if args.child:
        return (child_inference if args.child == "inference" else child_training)(args)

    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    bad = [k for k in kinds if k not in ("inference", "training")]
    if bad or not kinds:
        parser.error(f"--only takes inference and/or training, not {args.only!r}")
    if args.rounds < 1 or args.runs < 1:
        parser.error("--rounds and --runs must be >= 1")
    if args.steps < 4:
        parser.error("--steps must be >= 4 (the steady step is the median after the first 3)")
    try:
        confidences = [float(c) for c in args.confidences.split(",")]
    except ValueError:
        parser.error(f"--confidences takes numbers, e.g. 0.7,0.0; got {args.confidences!r}")
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    model, have, missing = cpu_description()
    for p in precisions:
        if p not in ("fp32", "mixed_bfloat16", "mixed_float16"):
            parser.error(f"--precision: unknown {p!r} (fp32, mixed_bfloat16)")
    if any(p != "fp32" for p in precisions):
        sys.path.insert(0, ROOT)
        import mrcnn.config
        if not hasattr(mrcnn.config.Config, "MIXED_PRECISION"):
            sys.exit("--precision mixed_bfloat16 needs Config.MIXED_PRECISION, which this "
                     "checkout's mrcnn/config.py does not have yet (it comes with the "
                     "tf.distribute issue); run with --precision fp32")
        if "mixed_bfloat16" in precisions and not ({"AVX512-BF16", "AMX"} & set(have)):
            print(f"note: this CPU ({model}) has neither AVX512-BF16 nor AMX: bfloat16 runs "
                  "emulated, expect it slower than fp32", flush=True)
    if not os.path.isfile(args.image):
        sys.exit(f"--image {args.image} is not a file")

    print(f"CPU: {model}; {os.cpu_count()} logical CPUs; has {', '.join(have) or 'none'}"
          + (f"; lacks {', '.join(missing)}" if missing else ""))
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          "(other processes share these cores: compare ratios, not seconds)", flush=True)
    port_python = ensure_port_python(args)
    weights = ensure_weights(args) if "inference" in kinds else None

    plan = []
    if "inference" in kinds:
        for c in confidences:
            plan.append(("inference", f"detect, DETECTION_MIN_CONFIDENCE = {c:g}",
                         ["--weights", weights, "--image", args.image, "--runs", str(args.runs),
                          "--min-confidence", str(c)]))
    if "training" in kinds:
        plan.append(("training", "train, shapes R50 256x256, 2 images/step",
                     ["--steps", str(args.steps)]))
    # Matterport's graph once per round and mrcnn once per precision per round, alternating
    # (the order reverses from round to round). The port has no precision option: it is fp32.
    runs = [("port", "fp32")] + [("mrcnn", p) for p in precisions]
    results = {}
    for r in range(args.rounds):
        order = runs if r % 2 == 0 else runs[::-1]
        for kind, label, extra in plan:
            slot = results.setdefault((kind, label), {})
            for side, precision in order:
                args.precision_now = precision
                column = column_name(side, precision)
                t = time.perf_counter()
                out = run_child(args, side, kind, extra, port_python)
                slot.setdefault(column, []).append(out)
                print(f"round {r + 1}: {label}: {column} done in "
                      f"{time.perf_counter() - t:.0f} s: " + ", ".join(
                          f"{k} {v:.3g}" for k, v in out.items()), flush=True)
                if args.json:  # after every measurement: a stopped run keeps what it had
                    write_json(args.json, model, have, results)
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print_table(results, args.rounds, [column_name("mrcnn", p) for p in precisions])
    if "mixed_bfloat16" in precisions:
        print("mixed_bfloat16 on this CPU: " + (
            "AVX512-BF16/AMX present (oneDNN bf16 kernels)"
            if {"AVX512-BF16", "AMX"} & set(have) else
            "no AVX512-BF16 and no AMX: bfloat16 is emulated, slower than fp32"))
    print(f"\nCPU: {model} ({os.cpu_count()} logical CPUs, shared); flags: "
          f"{', '.join(have) or 'none'}" + (f"; no {', '.join(missing)}" if missing else ""))
    if args.json:
        write_json(args.json, model, have, results)


def write_json(path, cpu, flags, results):
    with open(path, "w") as f:
        json.dump({"cpu": cpu, "flags": flags, "load_average": os.getloadavg(),
                   "results": {f"{k[0]}|{k[1]}": v for k, v in results.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
