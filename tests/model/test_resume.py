"""Reproducible, interrupted and resumed training (issue 13, items 2-6): ``Config.SEED``, the
step backups of ``mrcnn.backup``, SIGTERM/SIGINT (``mrcnn.signals``) and resuming with
``model.load_weights(model.find_last(), by_name=True)`` + the same ``train()``.

Every run is a subprocess (tests/model/train_child.py: 128x128 ResNet50, heads, real COCO tiny
images, SEED = 1, one epoch of 6 steps, a backup every 2 steps) with a timeout. The uninterrupted
reference run is shared by the tests (module-scoped fixture)."""

import glob
import os

import numpy as np
import pytest

from mrcnn import backup
from mrcnn.config import Config
from tests.model.test_train_failures import run_child

RUN = ("--seed", "1", "--steps", "6", "--backup-every", "2")


def weights_of(path):
    with np.load(path) as data:
        return [data[k] for k in data.files]


def max_difference(a, b):
    assert len(a) == len(b)
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def the_backup(model_dir):
    found = glob.glob(os.path.join(str(model_dir), "child*", "backup_child.npz"))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted seeded run: (model_dir, weights)."""
    model_dir = tmp_path_factory.mktemp("reference")
    out = model_dir / "weights.npz"
    r = run_child(model_dir, *RUN, "--weights-out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    return model_dir, weights_of(out)


def test_seed_and_backup_every_steps_are_validated():
    class Bad(Config):
        NAME = "bad"
        SEED = -1
    with pytest.raises(ValueError, match="SEED"):
        Bad()

    class Bad2(Config):
        NAME = "bad"
        BACKUP_EVERY_STEPS = 0
    with pytest.raises(ValueError, match="BACKUP_EVERY_STEPS"):
        Bad2()


def test_two_seeded_runs_give_the_same_weights(reference, tmp_path):
    model_dir, ref = reference
    out = tmp_path / "weights.npz"
    r = run_child(tmp_path, *RUN, "--weights-out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    # Measured on 2 cores: <= 1.5e-8 (rounding of threaded reductions); unseeded runs differ by
    # ~1e-2. With TF's own RoIAlign gradient (racy on CPU) seeded runs differed by up to 2.4e-5.
    assert max_difference(ref, weights_of(out)) < 1e-6
    # The backup of the last step (6) is in the run's folder, next to the epoch checkpoint.
    state, _, _ = backup.read_backup(the_backup(model_dir))
    assert (state["global_step"], state["epoch"], state["steps_per_epoch"]) == (6, 1, 6)
    assert glob.glob(os.path.join(str(model_dir), "child*", "mask_rcnn_child_0001.h5"))


@pytest.mark.parametrize("name, status", [("TERM", 143), ("INT", 130)])
def test_a_signal_after_step_3_of_6_then_resume_gives_the_uninterrupted_weights(
        reference, tmp_path, name, status):
    r = run_child(tmp_path, *RUN, "--signal-at", "3", "--signal", name)
    assert r.returncode == status, (r.returncode, r.stderr[-3000:])
    path = the_backup(tmp_path)
    assert f"after the step backup {path}" in r.stdout
    assert "model.load_weights(model.find_last(), by_name=True)" in r.stdout
    assert "TRAINING FINISHED" not in r.stdout
    state, _, _ = backup.read_backup(path)
    assert (state["global_step"], state["step_in_epoch"]) == (3, 3)
    # No epoch checkpoint yet: find_last() gives the backup.
    assert not glob.glob(os.path.join(os.path.dirname(path), "*.h5"))

    out = tmp_path / "weights.npz"
    r = run_child(tmp_path, *RUN, "--resume", "--weights-out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Resuming after global step 3 (epoch 1, step 3 of 6)" in r.stdout
    assert max_difference(reference[1], weights_of(out)) < 1e-5
    # Same folder, same epoch numbering.
    assert os.path.exists(os.path.join(os.path.dirname(path), "mask_rcnn_child_0001.h5"))
    assert the_backup(tmp_path) == path


def test_disk_full_then_kill_9_during_backups_keep_the_previous_backup(tmp_path):
    # Backups at steps 2 (written), 4 (ENOSPC), 6 (half written, then SIGKILL).
    r = run_child(tmp_path, *RUN, "--faults")
    assert r.returncode == -9, (r.returncode, r.stderr[-3000:])
    warnings = [line for line in r.stderr.splitlines()
                if line.startswith("WARNING: the step backup could not be written")]
    assert len(warnings) == 1 and "No space left on device" in warnings[0], r.stderr[-3000:]
    assert "is kept and training goes on" in warnings[0]
    # Training went on after the disk-full backup: the killed write was the one of step 6.
    state, ws, opt = backup.read_backup(the_backup(tmp_path))
    assert state["global_step"] == 2
    assert len(ws) == len(state["weight_paths"]) and len(opt) == len(state["optimizer_paths"])
