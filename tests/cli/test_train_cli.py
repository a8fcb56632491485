"""``mrcnn train`` and ``mrcnn evaluate`` end to end on real COCO tiny photos, in subprocesses
with timeouts: a labelling tool's export (a few images, only the categories they hold, category
ids that are not COCO's) trained for 2 steps, config.json next to the checkpoint, evaluation
with --weights last from it; the failure paths exit with one line and a status."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mrcnn.config import Config

from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
COCO_DIR = DATA / "coco_tiny"
TIMEOUT = 600
# Keep the run small: a ResNet50 at 128 x 128 with few RoIs.
SMALL = ["--backbone", "resnet50", "--image-size", "128", "--steps-per-epoch", "2",
         "--validation-steps", "1",
         "--set", "RPN_ANCHOR_SCALES=[16,32,64,128,256]", "--set", "POST_NMS_ROIS_TRAINING=200",
         "--set", "POST_NMS_ROIS_INFERENCE=200", "--set", "TRAIN_ROIS_PER_IMAGE=32",
         "--set", "RPN_TRAIN_ANCHORS_PER_IMAGE=64", "--set", "MAX_GT_INSTANCES=20"]


def run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "mrcnn", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def write_export(path, n_images=3):
    """``n_images`` COCO tiny train images with their annotations and only the categories they
    use, renumbered 101, 102, ... (as CVAT or Roboflow number them)."""
    data = json.loads((COCO_DIR / "annotations" / "instances_train2017.json").read_text())
    images = sorted(data["images"], key=lambda im: im["id"])[:n_images]
    ids = {im["id"] for im in images}
    anns = [a for a in data["annotations"] if a["image_id"] in ids]
    used = sorted({a["category_id"] for a in anns})
    remap = {c: 101 + i for i, c in enumerate(used)}
    cats = [dict(c, id=remap[c["id"]]) for c in data["categories"] if c["id"] in remap]
    anns = [dict(a, category_id=remap[a["category_id"]]) for a in anns]
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path, [c["name"] for c in sorted(cats, key=lambda c: c["id"])]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train_cli")
    export, names = write_export(tmp / "export.json")
    spec = f"coco:{export}:{COCO_DIR / 'train2017'}"
    result = run("train", "--dataset", spec, "--weights", "none", "--epochs", "1",
                 "--layers", "all", "--logs", tmp / "logs", "--name", "tinyexport", *SMALL,
                 cwd=tmp)
    return tmp, spec, names, result


def test_train_writes_the_config_next_to_the_checkpoint(trained):
    tmp, _, names, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    (checkpoint,) = (tmp / "logs").glob("tinyexport*/mask_rcnn_tinyexport_0001.h5")
    config_path = checkpoint.parent / "config.json"
    assert f"configuration in {config_path}" in result.stdout
    assert f"weights in {checkpoint}" in result.stdout
    config = Config.read_json(config_path)
    assert config.NUM_CLASSES == 1 + len(names)
    assert config.CLASS_NAMES == ["BG"] + names
    assert config.CATEGORY_IDS == [0] + list(range(101, 101 + len(names)))
    assert config.IMAGE_MAX_DIM == config.IMAGE_MIN_DIM == 128 and config.BACKBONE == "resnet50"
    assert config.STEPS_PER_EPOCH == 2 and config.TRAIN_ROIS_PER_IMAGE == 32
    np.testing.assert_array_equal(config.RPN_ANCHOR_SCALES, [16, 32, 64, 128, 256])


def test_evaluate_last_rebuilds_the_config(trained):
    tmp, spec, _, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    stats_path = tmp / "stats.json"
    out = run("evaluate", "--dataset", spec, "--weights", "last", "--logs", tmp / "logs",
              "--name", "tinyexport", "--limit", "2", "--output", stats_path, cwd=tmp)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "COCO segm evaluation on 2 images" in out.stdout
    stats = json.loads(stats_path.read_text())
    assert stats["images"] == 2 and stats["weights"].endswith("mask_rcnn_tinyexport_0001.h5")
    for eval_type in ("bbox", "segm"):
        values = stats[eval_type]
        assert list(values)[:3] == ["AP", "AP50", "AP75"] and len(values) == 12
        # A 2-step model: any AP in [0, 1] (or -1 where pycocotools has no object of a size).
        assert all(v == -1 or 0 <= v <= 1 for v in values.values())
        assert f"{eval_type}: AP " in out.stdout


def test_argument_errors_exit_2_before_loading(tmp_path):
    export, _ = write_export(tmp_path / "export.json", n_images=1)
    spec = f"coco:{export}:{COCO_DIR / 'train2017'}"
    cases = [
        (["train", "--dataset", f"coco:{tmp_path / 'nope.json'}:{COCO_DIR}", "--weights", "none",
          "--epochs", "1", "--image-size", "128"], "annotation file not found"),
        (["train", "--dataset", spec, "--weights", "none", "--epochs", "1", "--image-size",
          "100"], "must be a multiple of 64"),
        (["train", "--dataset", "yolo:x.yaml", "--weights", "none", "--epochs", "1",
          "--image-size", "128"], "expected coco:ANNOTATIONS.json:IMAGES_DIR or via:"),
        (["train", "--dataset", spec, "--weights", tmp_path / "missing.h5", "--epochs", "1",
          "--image-size", "128"], "no such file"),
        (["evaluate", "--dataset", spec, "--weights", "imagenet"], "no such file (or use last)"),
    ]
    for args, message in cases:
        out = run(*args, cwd=tmp_path)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr


def test_resume_or_weights_is_required_and_resume_excludes_other_weights(tmp_path):
    export, _ = write_export(tmp_path / "export.json", n_images=1)
    spec = f"coco:{export}:{COCO_DIR / 'train2017'}"
    cases = [
        (["train", "--dataset", spec, "--epochs", "1", "--image-size", "128"],
         "the following arguments are required: --weights (or --resume)"),
        (["train", "--dataset", spec, "--resume", "--weights", "coco", "--epochs", "1",
          "--image-size", "128"], "--resume continues the last run"),
    ]
    for args, message in cases:
        out = run(*args, cwd=tmp_path)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr


def test_run_failures_exit_1_with_one_line(tmp_path):
    export, _ = write_export(tmp_path / "export.json", n_images=1)
    spec = f"coco:{export}:{COCO_DIR / 'train2017'}"
    weights = tmp_path / "elsewhere" / "mask_rcnn_x.h5"
    weights.parent.mkdir()
    weights.write_bytes((DATA / "weights" / "mask_rcnn_coco.first4MB.h5").read_bytes())
    cases = [
        (["evaluate", "--dataset", spec, "--weights", weights],
         f"no config.json next to {weights}"),
        (["evaluate", "--dataset", spec, "--weights", "last", "--logs", tmp_path / "logs"],
         "--weights last: Could not find model directory"),
        (["train", "--dataset", spec, "--weights", "none", "--epochs", "1", "--image-size",
          "128", "--set", "NO_SUCH_SETTING=1"], "Config has no attribute NO_SUCH_SETTING"),
        (["train", "--dataset", spec, "--weights", "none", "--epochs", "1", "--image-size",
          "128", "--set", "TRAIN_ROIS_PER_IMAGE=0"], "TRAIN_ROIS_PER_IMAGE = 0"),
    ]
    for args, message in cases:
        out = run(*args, cwd=tmp_path)
        assert out.returncode == 1, (args, out.stderr[-2000:])
        lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and message in lines[0], (args, out.stderr[-2000:])
        assert "Traceback" not in out.stderr


def test_detect_last_uses_the_saved_config(trained):
    tmp, _, names, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    photo = sorted((COCO_DIR / "train2017").glob("*.jpg"))[0]
    out = run("detect", photo, "--weights", "last", "--output", tmp / "out",
              "--min-confidence", "0", cwd=tmp)  # ./logs is where train wrote
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads((tmp / "out" / f"{photo.stem}.json").read_text())
    assert (tmp / "out" / f"{photo.stem}.png").is_file()
    for r in results:  # the export's classes and category ids, not COCO's
        assert r["category_name"] in names
        assert 101 <= r["category_id"] <= 100 + len(names)


KUDZU = DATA / "kudzu_via"


def test_via_class_name_gives_both_splits_one_class(tmp_path):
    """kudzu_via names its train regions "kudzu" in their attributes and leaves the val ones
    unnamed: without --class-name the splits disagree (exit 1, one line saying so); with
    --class-name kudzu both are the one class kudzu, and config.json records it."""
    train_spec, val_spec = f"via:{KUDZU / 'train'}", f"via:{KUDZU / 'val'}"
    args = ["train", "--dataset", train_spec, "--val", val_spec, "--weights", "none",
            "--epochs", "1", "--logs", tmp_path / "logs", "--name", "kudzu", *SMALL]
    out = run(*args, cwd=tmp_path)
    assert out.returncode == 1, out.stderr[-2000:]
    (line,) = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert "--val has the classes ['object'] but --dataset has ['kudzu']" in line
    out = run(*args, "--class-name", "kudzu", "--steps-per-epoch", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    (config_path,) = (tmp_path / "logs").glob("kudzu*/config.json")
    saved = json.loads(config_path.read_text())
    assert saved["CLASS_NAMES"] == ["BG", "kudzu"] and saved["NUM_CLASSES"] == 2
    assert len(list(config_path.parent.glob("mask_rcnn_kudzu_0001.h5"))) == 1


def test_class_name_is_refused_for_coco_specs(tmp_path):
    export, _ = write_export(tmp_path / "export.json", n_images=1)
    spec = f"coco:{export}:{COCO_DIR / 'train2017'}"
    for option in (["--class-name", "thing"], ["--class-attribute", "type"]):
        out = run("train", "--dataset", spec, "--weights", "none", "--epochs", "1",
                  "--image-size", "128", *option, cwd=tmp_path)
        assert out.returncode == 2, out.stderr
        assert "apply to via: datasets only" in out.stderr and "Traceback" not in out.stderr
    out = run("train", "--dataset", f"via:{KUDZU / 'train'}", "--weights", "none", "--epochs",
              "1", "--image-size", "128", "--class-name", " ", cwd=tmp_path)
    assert out.returncode == 2 and "--class-name must not be empty" in out.stderr
