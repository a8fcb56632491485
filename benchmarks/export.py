"""Cold start and steady state of the exported SavedModel against mrcnn's detect().

COCO config (ResNet101, 1024x1024), weights generated in the layout of mask_rcnn_coco.h5, or
(``--config small``) the export tests' ResNet50 at 128x128 with seeded weights; one
real photo. Each measurement runs in a fresh process:

* SavedModel: ``import tensorflow``, ``tf.saved_model.load``, the first ``serve_encoded`` call on
  the photo's JPEG bytes (mrcnn is not importable in that process); again with Grappler off
  (``tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})``, as
  detect() runs on CPU).
* detect(): ``import mrcnn.model``, build the model, ``load_weights`` of the .h5 file, read the
  photo, the first ``detect()``.

Then the steady-state time of each (median of --runs calls after the first), and the SavedModel's
size on disk.

    python benchmarks/export.py [--config coco|small] [--runs 7] [--image PATH]
                                [--min-confidence 0.7] [--keep DIR]

The first line names the CPU (/proc/cpuinfo), its logical cores and the load average.
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
DEFAULT_IMAGE = os.path.join(ROOT, "..", "shared", "data", "matterport_demo_images", "images",
                             "12283150_12d37e6389_z.jpg")


def _small_config(min_confidence):
    sys.path.insert(0, ROOT)
    from tests.export.export_configs import SmallConfig

    class Config(SmallConfig):
        DETECTION_MIN_CONFIDENCE = min_confidence
    return Config()


def _config(args):
    if args.config == "small":
        return _small_config(args.min_confidence)
    return _coco_config(args.min_confidence)


def cpu_name():
    """The CPU's model name (/proc/cpuinfo on Linux, else platform.processor())."""
    return cpu_info()[0]


def _coco_config(min_confidence):
    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "samples", "coco"))
    import coco

    class Config(coco.CocoConfig):
        GPU_COUNT = 1
        IMAGES_PER_GPU = 1
        DETECTION_MIN_CONFIDENCE = min_confidence
    return Config()


def prepare(args, folder):
    """Writes the release-layout weights and exports the SavedModel (one separate process)."""
    sys.path.insert(0, ROOT)
    import mrcnn.model as modellib
    from tests.coco_layout import write_release_like_file

    weights = os.path.join(folder, "weights.h5")
    if args.config == "coco":
        write_release_like_file(weights)
        model = modellib.MaskRCNN("inference", _config(args), folder)
        model.load_weights(weights, by_name=True)
    else:  # seeded random weights in Matterport's layout
        import keras
        keras.utils.set_random_seed(3)
        model = modellib.MaskRCNN("inference", _config(args), folder)
        model.save_weights(weights)
    t = time.perf_counter()
    model.export(os.path.join(folder, "saved_model"))
    print(json.dumps({"export_s": time.perf_counter() - t}))


def child_savedmodel(args):
    t0 = time.perf_counter()
    import tensorflow as tf
    if args.grappler_off:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    t_import = time.perf_counter() - t0
    t = time.perf_counter()
    model = tf.saved_model.load(args.saved_model)
    serve = model.signatures["serve_encoded"]
    t_load = time.perf_counter() - t
    data = tf.constant([open(args.image, "rb").read()])
    t = time.perf_counter()
    out = serve(encoded=data)
    n = int(out["num_detections"][0])
    t_first = time.perf_counter() - t
    t_total = time.perf_counter() - t0
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        serve(encoded=data)["num_detections"].numpy()
        times.append(time.perf_counter() - t)
    loaded = [m for m in sys.modules if m == "mrcnn" or m.startswith("mrcnn.")]
    print(json.dumps({"import_s": t_import, "load_s": t_load, "first_s": t_first,
                      "total_s": t_total, "steady": times, "detections": n,
                      "mrcnn_loaded": loaded}))


def child_detect(args):
    t0 = time.perf_counter()
    import mrcnn.model as modellib
    from mrcnn.image import read_image
    t_import = time.perf_counter() - t0
    t = time.perf_counter()
    model = modellib.MaskRCNN("inference", _config(args), tempfile.gettempdir())
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    model.load_weights(args.weights, by_name=True)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    image = read_image(args.image)
    r = model.detect([image])[0]
    t_first = time.perf_counter() - t
    t_total = time.perf_counter() - t0
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        model.detect([image])
        times.append(time.perf_counter() - t)
    print(json.dumps({"import_s": t_import, "build_s": t_build, "load_s": t_load,
                      "first_s": t_first, "total_s": t_total, "steady": times,
                      "detections": len(r["class_ids"])}))


def _run(argv, cwd, env):
    proc = subprocess.run([sys.executable] + argv, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1800)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(argv[:3])} failed (status {proc.returncode}):\n"
                 f"{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _size(folder):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder)
               for f in files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--config", choices=["coco", "small"], default="coco",
                        help="coco: ResNet101 at 1024x1024 with weights in the release layout; "
                             "small: the export tests' ResNet50 at 128x128, seeded weights")
    parser.add_argument("--min-confidence", type=float, default=None,
                        help="DETECTION_MIN_CONFIDENCE (default: 0.7 for coco, 0.0 for small)")
    parser.add_argument("--keep", default=None, help="folder for the weights and SavedModel "
                                                     "(default: a temporary folder)")
    parser.add_argument("--child", choices=["prepare", "savedmodel", "detect"], default=None,
                        help=argparse.SUPPRESS)
    parser.add_argument("--saved-model", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--grappler-off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.min_confidence is None:
        args.min_confidence = 0.7 if args.config == "coco" else 0.0
    if args.runs < 5:
        parser.error("--runs must be >= 5 (the steady state is a median)")
    if args.child == "prepare":
        return prepare(args, args.folder)
    if args.child == "savedmodel":
        return child_savedmodel(args)
    if args.child == "detect":
        return child_detect(args)

    load_at_start = os.getloadavg()[0]
    folder = args.keep or tempfile.mkdtemp(prefix="mrcnn_export_bench_")
    os.makedirs(folder, exist_ok=True)
    image = os.path.abspath(args.image)
    me = os.path.abspath(__file__)
    common = ["--runs", str(args.runs), "--image", image, "--min-confidence",
              str(args.min_confidence), "--config", args.config]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    saved_model = os.path.join(folder, "saved_model")
    if not os.path.exists(saved_model):
        prep = _run([me, "--child", "prepare", "--folder", folder] + common, ROOT, env)
        print(f"export ({args.config} config, one process)   {prep['export_s']:7.2f} s")
    # The SavedModel side runs isolated (-I), outside the repository, without PYTHONPATH.
    bare = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    sm = _run(["-I", me, "--child", "savedmodel", "--saved-model", saved_model] + common,
              tempfile.gettempdir(), bare)
    sm_off = _run(["-I", me, "--child", "savedmodel", "--saved-model", saved_model,
                   "--grappler-off"] + common, tempfile.gettempdir(), bare)
    dt = _run([me, "--child", "detect", "--weights", os.path.join(folder, "weights.h5")]
              + common, ROOT, env)
    if sm["mrcnn_loaded"] or sm_off["mrcnn_loaded"]:
        sys.exit(f"error: the SavedModel process loaded mrcnn: {sm['mrcnn_loaded']}")

    label = ("COCO config (ResNet101, 1024x1024)" if args.config == "coco"
             else "small config (ResNet50, 128x128)")
    print(f"CPU {cpu_name()}, {os.cpu_count()} logical cores, load average "
          f"{load_at_start:.1f} at the start")
    print(f"image {os.path.basename(image)}, {label}, "
          f"DETECTION_MIN_CONFIDENCE {args.min_confidence}; detections: SavedModel "
          f"{sm['detections']}, detect() {dt['detections']}")
    print("cold start, fresh process             SavedModel   (Grappler off)   mrcnn detect()")
    print(f"  import                              {sm['import_s']:7.2f} s      "
          f"{sm_off['import_s']:7.2f} s       {dt['import_s']:7.2f} s")
    print(f"  build model                               -              -          "
          f"{dt['build_s']:7.2f} s")
    print(f"  load (SavedModel / .h5 weights)     {sm['load_s']:7.2f} s      "
          f"{sm_off['load_s']:7.2f} s       {dt['load_s']:7.2f} s")
    print(f"  first image                         {sm['first_s']:7.2f} s      "
          f"{sm_off['first_s']:7.2f} s       {dt['first_s']:7.2f} s")
    print(f"  total, start to first result        {sm['total_s']:7.2f} s      "
          f"{sm_off['total_s']:7.2f} s       {dt['total_s']:7.2f} s")
    for name, r in (("SavedModel serve_encoded", sm), ("SavedModel, Grappler off", sm_off),
                    ("detect()", dt)):
        t = r["steady"]
        print(f"steady state {name:26} {statistics.median(t):7.2f} s  (median of {len(t)}; "
              f"min {min(t):.2f}, max {max(t):.2f})")
    print(f"SavedModel size                       {_size(saved_model) / 1e6:7.1f} MB")
    if not args.keep:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
