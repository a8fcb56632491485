"""What the library prints on a console: the load_weights summary line by default, and no
TensorFlow noise (Grappler's PredictCost warnings, start-up notices) around a real detect()."""

import os
import re
import subprocess
import sys

import pytest

from mrcnn import tf_startup
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
PHOTO = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))[0]
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] ", re.MULTILINE)


def environment():
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    environ.pop("TF_CPP_MIN_LOG_LEVEL", None)  # mrcnn's default applies
    return environ


def run_python(code, *args, timeout=300):
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT,
                          env=environment(), capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------ load_weights log line

LOAD_TWICE = r"""
import logging, sys
import keras
from mrcnn import weights

inputs = keras.Input((3,))
model = keras.Model(inputs, keras.layers.Dense(2, name="dense_a")(inputs))
path = sys.argv[1]
weights.save_weights(model, path)

def phase(name):
    for stream in (sys.stdout, sys.stderr):
        print("--", name, file=stream, flush=True)

phase("no logging configured")
weights.load_weights(model, path)
weights.load_weights(model, path, verbose=0)
phase("basicConfig")
logging.basicConfig(level=logging.INFO, format="LOG %(name)s: %(message)s")
weights.load_weights(model, path)
phase("NullHandler")
logging.getLogger().handlers.clear()
logging.getLogger("mrcnn").addHandler(logging.NullHandler())
weights.load_weights(model, path)
phase("end")
"""


def phases(text):
    parts = re.split(r"^-- (.*)\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def test_load_weights_line_is_shown_once_by_default(tmp_path):
    path = tmp_path / "w.h5"
    proc = run_python(LOAD_TWICE, path)
    assert proc.returncode == 0, proc.stderr
    out, err = phases(proc.stdout), phases(proc.stderr)
    line = f"Loaded weights of 1 layers from {path} (by name"
    # No handler anywhere: the verbose call prints the line (stdout), the quiet one nothing.
    assert out["no logging configured"].count("Loaded weights") == 1
    assert line.replace("by name", "by order") in out["no logging configured"]
    assert "Loaded weights" not in err["no logging configured"]
    # The application configured logging: the record goes there, once, and is not printed.
    assert "Loaded weights" not in out["basicConfig"]
    assert err["basicConfig"].count("LOG mrcnn: Loaded weights of 1 layers") == 1
    # A NullHandler on "mrcnn" is the application's way to silence it.
    assert "Loaded weights" not in out["NullHandler"] + err["NullHandler"]


# ------------------------------------------------------------------ TensorFlow console noise

DETECT_TWICE = r"""
import importlib, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
import skimage.io
import tensorflow as tf
import mrcnn.model as modellib
from mrcnn import tf_startup
from mrcnn.config import Config

class Tiny(Config):
    NAME = "tiny"
    NUM_CLASSES = 1 + 3
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 1
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    POST_NMS_ROIS_INFERENCE = 100
    DETECTION_MIN_CONFIDENCE = 0.0
    DETECTION_MAX_INSTANCES = 20

model = modellib.MaskRCNN("inference", Tiny(), sys.argv[2])
image = skimage.io.imread(sys.argv[3])
# Twice: a function optimized again on its second call used to warn there.
counts = [len(model.detect([image])[0]["class_ids"]) for _ in range(2)]
print("detections", counts)
print("loader", type(tf.__spec__.loader).__name__, tf_startup._HOOK in sys.meta_path)
"""


def test_detect_prints_no_tensorflow_noise_whichever_module_comes_first(tmp_path):
    orders = {"mrcnn": "mrcnn", "keras": "keras,mrcnn", "tensorflow": "tensorflow,mrcnn"}
    procs = {first: subprocess.Popen(
        [sys.executable, "-c", DETECT_TWICE, order, str(tmp_path / first), str(PHOTO)],
        cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for first, order in orders.items()}  # in parallel: each one starts TensorFlow
    results = {}
    try:
        for first, proc in procs.items():
            results[first] = proc.communicate(timeout=600)
    finally:
        for proc in procs.values():
            proc.kill()
    for first, (out, err) in results.items():
        assert procs[first].returncode == 0, (first, err)
        assert re.search(r"detections \[\d+, \d+\]", out), (first, out)
        # Grappler's cost model is not run (memory optimizer off): no warning in any order.
        assert "PredictCost" not in err, (first, err)
        # The import hook is gone and TensorFlow keeps its own loader.
        assert "loader SourceFileLoader False" in out, (first, out)
    out, err = results["mrcnn"]
    # mrcnn first: TensorFlow's start-up is filtered (no banner, notices or cuInit failure).
    assert "cuInit" not in err and "absl::InitializeLog" not in err, err
    assert not TF_LOG_LINE.search(err), err


# ------------------------------------------------------------------ the start-up filter

@pytest.mark.parametrize("line, level, noise", [
    (b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
     2, True),
    (b"I0000 00:00:1796282500.706428    5339 port.cc:153] oneDNN custom operations are on.",
     2, True),
    (b"I0000 00:00:1796282500.706428    5339 port.cc:153] oneDNN custom operations are on.",
     1, True),
    (b"W0000 00:00:1796282518.568905    5489 op_level_cost_estimator.cc:699] Error in",
     2, True),
    (b"W0000 00:00:1796282518.568905    5489 op_level_cost_estimator.cc:699] Error in",
     1, False),
    (b"E0000 00:00:1796282502.105341    5339 cuda_platform.cc:52] failed call to cuInit: "
     b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)", 2, True),
    # A driver that is there but fails is a real error.
    (b"E0000 00:00:1796282502.105341    5339 cuda_platform.cc:52] failed call to cuInit: "
     b"CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected (100)", 2, False),
    (b"E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN "
     b"factory", 2, False),
    (b"2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could "
     b"not find cuda drivers on your machine, GPU will not be used.", 2, True),
    (b"2025-09-17 14:44:05.176998: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467]"
     b" Unable to register cuFFT factory", 2, False),
    (b"F0000 00:00:1796282500.706428    5339 cpu_feature_guard.cc:40] The TensorFlow library "
     b"was compiled to use AVX instructions", 3, False),
    (b"E0000 00:00:1796282502.105341    5339 x.cc:1] an error the user hid", 3, True),
    (b"Traceback (most recent call last):", 3, False),
    (b"/usr/lib/python3/site-packages/x.py:1: UserWarning: I0000 is not a log line", 3, False),
])
def test_is_noise(line, level, noise):
    assert tf_startup.is_noise(line, level) is noise


def test_min_log_level():
    assert [tf_startup.min_log_level({"TF_CPP_MIN_LOG_LEVEL": v})
            for v in ("0", "1", "2", "3", "9", "x", " 2")] == [0, 1, 2, 3, 0, 0, 2]
    assert tf_startup.min_log_level({}) == 0


FILTERED_THEN_CRASH = r"""
import os, sys
from mrcnn import tf_startup
with tf_startup.filtered_stderr(2):
    os.write(2, b"I0000 00:00:1796282500.706428    5339 port.cc:153] a notice\n")
    print("a Python warning on sys.stderr", file=sys.stderr)
    os.write(2, b"E0000 00:00:1796282502.105341    5339 x.cc:1] a real error\n")
    if sys.argv[1] == "abort":
        os.write(2, b"F0000 00:00:1796282502.105341    5339 x.cc:2] fatal, then abort\n")
        os.abort()
print("after the block", file=sys.stderr)
"""


@pytest.mark.parametrize("mode", ["normal", "abort"])
def test_filtered_stderr_keeps_errors_in_order_even_in_a_crash(mode):
    proc = run_python(FILTERED_THEN_CRASH, mode, timeout=60)
    lines = proc.stderr.splitlines()
    assert "a notice" not in proc.stderr
    assert lines[:2] == ["a Python warning on sys.stderr",
                         "E0000 00:00:1796282502.105341    5339 x.cc:1] a real error"]
    if mode == "abort":
        assert proc.returncode != 0
        assert lines[2:] == ["F0000 00:00:1796282502.105341    5339 x.cc:2] fatal, then abort"]
    else:
        assert proc.returncode == 0 and lines[2:] == ["after the block"]
