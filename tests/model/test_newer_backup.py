"""Which file ``find_last()`` resumes from in training mode: the epoch checkpoint or a step
backup (``mrcnn.model._newer_backup``, issue 13), on run folders laid out as ``train()`` writes
them (``<name>YYYYmmddTHHMM/mask_rcnn_<name>_NNNN.h5`` and ``backup_<name>.npz``)."""

import json

import numpy as np
import pytest

from mrcnn import model as modellib
from mrcnn.config import Config


class Small(Config):
    NAME = "small"


def run_folder(model_dir, stamp, epoch=None, global_step=None, steps_per_epoch=3,
               unreadable=False):
    folder = model_dir / f"small{stamp}"
    folder.mkdir()
    checkpoint = None
    if epoch is not None:
        checkpoint = folder / f"mask_rcnn_small_{epoch:04d}.h5"
        checkpoint.write_bytes(b"")
    if unreadable:
        (folder / "backup_small.npz").write_bytes(b"PK\x03\x04 half a file")
    elif global_step is not None:
        state = {"global_step": global_step, "steps_per_epoch": steps_per_epoch}
        np.savez(folder / "backup_small.npz", __state__=np.array(json.dumps(state)))
    return str(checkpoint) if checkpoint else None, str(folder / "backup_small.npz")


def newer(model_dir, checkpoint):
    return modellib._newer_backup(str(model_dir), Small(), checkpoint)


def test_no_run_folder_and_no_backup(tmp_path):
    assert newer(tmp_path, None) is None
    checkpoint, _ = run_folder(tmp_path, "20260101T0000", epoch=1)
    assert newer(tmp_path, checkpoint) is None


def test_a_backup_without_any_checkpoint_is_used(tmp_path):
    _, backup = run_folder(tmp_path, "20260101T0000", global_step=2)
    assert newer(tmp_path, None) == backup


def test_a_backup_in_a_newer_folder_than_the_checkpoint_wins(tmp_path):
    checkpoint, _ = run_folder(tmp_path, "20260101T0000", epoch=2)
    _, backup = run_folder(tmp_path, "20260102T0000", global_step=1)
    assert newer(tmp_path, checkpoint) == backup


def test_a_checkpoint_in_a_newer_folder_wins_over_older_backups(tmp_path):
    run_folder(tmp_path, "20260101T0000", global_step=5)
    checkpoint, _ = run_folder(tmp_path, "20260102T0000", epoch=1)
    assert newer(tmp_path, checkpoint) is None


def test_in_the_same_folder_the_backup_must_be_at_least_as_far(tmp_path):
    checkpoint, backup = run_folder(tmp_path, "20260101T0000", epoch=2, global_step=5)
    assert newer(tmp_path, checkpoint) is None  # 5 steps < 2 epochs x 3 steps
    (tmp_path / "small20260101T0000" / "backup_small.npz").unlink()
    np.savez(backup, __state__=np.array(json.dumps({"global_step": 6, "steps_per_epoch": 3})))
    assert newer(tmp_path, checkpoint) == backup  # 6 >= 6


def test_an_unreadable_backup_in_the_checkpoints_folder_is_not_used(tmp_path):
    checkpoint, _ = run_folder(tmp_path, "20260101T0000", epoch=1, unreadable=True)
    assert newer(tmp_path, checkpoint) is None


def test_reading_a_half_written_backup_names_the_file(tmp_path):
    from mrcnn import backup
    path = tmp_path / "backup_small.npz"
    path.write_bytes(b"PK\x03\x04 half a file")
    for read in (backup.read_backup, backup.read_backup_state):
        with pytest.raises(ValueError, match="backup_small.npz is not a readable mrcnn step"):
            read(str(path))
