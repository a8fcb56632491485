"""samples/coco/coco.py end to end on ../shared/data/coco_tiny: train a few steps on train2017
from a weight file in the release layout, then evaluate the last checkpoint on val2017 from the
command line; both bbox and segm print pycocotools' 12 stats."""

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.coco_layout import write_release_like_file
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
sys.path.insert(0, str(ROOT / "samples" / "coco"))
import coco  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

SMALL = ["--image-size", "128", "--backbone", "resnet50"]


def test_train_then_evaluate_from_the_command_line(tmp_path, capsys):
    weights = tmp_path / "mask_rcnn_coco.h5"
    write_release_like_file(weights)
    logs = tmp_path / "logs"
    trained = coco.main(["train", "--dataset", str(DATA / "coco_tiny"), "--year", "2017",
                         "--model", str(weights), "--logs", str(logs), "--epochs", "1",
                         "--steps-per-epoch", "2", "--validation-steps", "1",
                         "--images-per-gpu", "1", *SMALL])
    assert trained["epoch"] == 1
    assert (Path(trained["log_dir"]) / "mask_rcnn_coco_0001.h5").exists()
    capsys.readouterr()

    stats = coco.main(["evaluate", "--dataset", str(DATA / "coco_tiny"), "--year", "2017",
                       "--model", "last", "--logs", str(logs), "--limit", "3", *SMALL])
    out = capsys.readouterr().out
    assert "mask_rcnn_coco_0001.h5" in out
    for eval_type in ("bbox", "segm"):
        assert stats[eval_type].shape == (12,)
        assert np.all((stats[eval_type] >= 0) | (stats[eval_type] == -1))
    # pycocotools' summary: 12 lines per evaluation type.
    assert out.count("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all") == 2
    assert out.count("Average Recall     (AR) @[ IoU=0.50:0.95 | area= large") == 2
