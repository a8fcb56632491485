"""Data-parallel training on two logical CPU devices (tests/distribute/distribute_child.py in a
subprocess with a timeout: the devices must be configured before TensorFlow initialises)."""

import json
import math
import os
import subprocess
import sys

from tests.paths import REPO_ROOT

CHILD = "tests.distribute.distribute_child"


def run_child(scenario, folder, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run([sys.executable, "-m", CHILD, scenario, str(folder)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_mirrored_training_on_two_cpu_replicas(tmp_path):
    r = run_child("mirrored", tmp_path)
    assert r["replicas"] == 2
    for name, values in r["history"].items():
        assert all(math.isfinite(v) for v in values), name
    assert r["spread"] == 0.0  # every replica's variables identical after the steps
    assert r["changed"] > 0 and r["synchronized"]
    assert r["checkpoint"].endswith("mask_rcnn_dist_0001.h5")


def test_two_replicas_of_one_image_equal_one_replica_of_two(tmp_path):
    r = run_child("equivalence", tmp_path)
    assert r["max_update"] > 1e-3  # the step moved the weights
    assert r["max_weight_diff"] < 1e-5
    assert r["spread"] == 0.0
    # Clipping moved after the all-reduce: the optimizer itself does not clip per replica.
    assert r["clip_after_all_reduce"] == 5.0 and r["optimizer_clipnorm"] is None
    for name, value in r["single_logs"].items():
        assert math.isclose(value, r["double_logs"][name], rel_tol=1e-5), name


def test_batch_detect_on_two_replicas_equals_one_replica(tmp_path):
    # mrcnn.batch_inference.predict_batch over MirroredStrategy(["/cpu:0", "/cpu:1"]): 3 real
    # photos (one padding copy), and 1 photo (fewer images than replicas), in input order.
    r = run_child("batch_detect", tmp_path)
    assert r["replicas"] == 2 and r["images"] == 3
    assert all(n > 0 for n in r["detections"])
    assert r["same_classes"] and r["same_masks"]
    assert r["max_box_diff"] <= 1  # int pixel boxes: at most a rounding step apart
    assert r["max_score_diff"] < 1e-4
