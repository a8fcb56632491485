"""Two worker processes of a MultiWorkerMirroredStrategy on 127.0.0.1 (TF_CONFIG per process,
tests/distribute/distribute_child.py "worker"): they train together, only the chief writes the
checkpoint, and when one is killed the other stops with WorkerLostError instead of hanging."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from tests.paths import REPO_ROOT

CHILD = "tests.distribute.distribute_child"
COLLECTIVE_TIMEOUT_S = 20  # MRCNN_COLLECTIVE_TIMEOUT_S of the workers


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_workers(tmp_path, steps, epochs):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        folder = tmp_path / f"worker{index}"
        folder.mkdir()
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), CUDA_VISIBLE_DEVICES="",
                   MRCNN_COLLECTIVE_TIMEOUT_S=str(COLLECTIVE_TIMEOUT_S),
                   TF_CONFIG=json.dumps({"cluster": cluster,
                                         "task": {"type": "worker", "index": index}}))
        out = open(folder / "stdout.txt", "w")
        err = open(folder / "stderr.txt", "w")
        procs.append((subprocess.Popen(
            [sys.executable, "-m", CHILD, "worker", str(folder / "logs"), str(steps),
             str(epochs)], cwd=REPO_ROOT, env=env, stdout=out, stderr=err), folder, out, err))
    return procs


def text(folder, name):
    return (folder / name).read_text()


def checkpoints(folder):
    return sorted(p.name for p in (folder / "logs").rglob("*.h5")) \
        if (folder / "logs").exists() else []


def test_two_workers_train_the_chief_checkpoints_and_a_killed_worker_stops_the_other(tmp_path):
    # Epochs of 2 steps, many of them: the workers are still training when worker 1 is killed
    # after the chief's first checkpoint.
    procs = start_workers(tmp_path, steps=2, epochs=100)
    (chief, chief_dir, *_), (other, other_dir, *_) = procs
    try:
        deadline = time.monotonic() + 400
        while "mask_rcnn_dist_0001.h5" not in checkpoints(chief_dir):
            for proc, folder, *_ in procs:
                assert proc.poll() is None, text(folder, "stderr.txt")[-3000:]
            assert time.monotonic() < deadline, "no checkpoint of epoch 1 within 400 s"
            time.sleep(0.2)
        # Both trained the 2 steps of epoch 1 together, as 2 replicas of one strategy.
        for folder in (chief_dir, other_dir):
            out = text(folder, "stdout.txt")
            assert "STRATEGY MultiWorkerMirroredStrategy 2" in out, out
            assert "STEP 1 1 " in out and "STEP 1 2 " in out, out
        assert checkpoints(other_dir) == []  # worker 1 is not the chief: it writes nothing

        other.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        # The chief fails its next collective: a clear error and a non-zero exit, no hang.
        returncode = chief.wait(timeout=COLLECTIVE_TIMEOUT_S + 120)
        waited = time.monotonic() - killed
        err = text(chief_dir, "stderr.txt")
        assert returncode != 0, err[-3000:]
        assert "WorkerLostError: training stopped: a collective of the " \
            "MultiWorkerMirroredStrategy failed" in err, err[-3000:]
        assert "Restart all workers" in err
        assert "RESULT " not in text(chief_dir, "stdout.txt")
        print(f"chief exited {waited:.1f} s after the kill")
    finally:
        for proc, _, out, err in procs:
            proc.kill()
            proc.wait(timeout=60)
            out.close()
            err.close()
    assert checkpoints(other_dir) == []
