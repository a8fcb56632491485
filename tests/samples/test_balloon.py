"""samples/balloon/balloon.py on ../shared/data/kudzu_via (VIA 1.x polygons in the balloon
layout): the dataset against the raw JSON and images, color_splash, and the train and splash
command lines end to end (a few steps at a tiny size, weights in the release layout)."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.draw
from PIL import Image

from tests.paths import DATA_DIR, REPO_ROOT  # noqa: E402

ROOT = REPO_ROOT
DATA = DATA_DIR
KUDZU = DATA / "kudzu_via"
sys.path.insert(0, str(ROOT / "samples" / "balloon"))
import balloon  # noqa: E402
from tests.coco_layout import write_release_like_file  # noqa: E402

PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.mark.parametrize("subset", ["train", "val"])
def test_dataset_against_the_raw_files(subset):
    raw = json.loads((KUDZU / subset / "via_region_data.json").read_text())
    dataset = balloon.BalloonDataset()
    dataset.load_balloon(KUDZU, subset, class_name="kudzu")
    dataset.prepare()
    entries = [v for v in raw.values() if v["regions"]]
    assert dataset.num_images == len(entries)
    assert dataset.class_names == ["BG", "kudzu"]
    total = 0
    for image_id, entry in zip(dataset.image_ids, entries):
        info = dataset.image_info[image_id]
        assert info["id"] == entry["filename"]
        assert dataset.image_reference(image_id) == str(KUDZU / subset / entry["filename"])
        image = dataset.load_image(image_id)
        assert image.shape == (info["height"], info["width"], 3)
        masks, class_ids = dataset.load_mask(image_id)
        assert masks.shape == image.shape[:2] + (len(entry["regions"]),)
        assert masks.dtype == bool and class_ids.dtype == np.int32
        assert np.all(class_ids == 1)
        for i, region in enumerate(entry["regions"]):
            # Matterport's rasterisation of the raw points.
            want = np.zeros(image.shape[:2], bool)
            rr, cc = skimage.draw.polygon(region["shape_attributes"]["all_points_y"],
                                          region["shape_attributes"]["all_points_x"])
            want[rr, cc] = True
            np.testing.assert_array_equal(masks[:, :, i], want)
            assert masks[:, :, i].any()
        total += masks.shape[-1]
    assert total == sum(len(v["regions"]) for v in entries)


def test_class_names_from_attributes_or_the_argument(tmp_path):
    train = balloon.BalloonDataset()
    train.load_balloon(KUDZU, "train")  # region attributes {"insect": "kudzu", ...}
    train.prepare()
    assert train.class_names == ["BG", "kudzu"]
    val = balloon.BalloonDataset()
    val.load_balloon(KUDZU, "val")  # no attributes: Matterport's single class
    val.prepare()
    assert val.class_names == ["BG", "balloon"]
    with pytest.raises(ValueError, match="--class-name"):
        balloon.load_datasets(KUDZU)
    # Two classes by attribute, and a region without one.
    raw = json.loads((KUDZU / "train" / "via_region_data.json").read_text())
    for i, entry in enumerate(raw.values()):
        for region in entry["regions"]:
            region["region_attributes"] = {"type": "kudzu" if i % 2 else "leaf"}
    (tmp_path / "train").mkdir()
    for entry in raw.values():
        (tmp_path / "train" / entry["filename"]).symlink_to(KUDZU / "train" / entry["filename"])
    (tmp_path / "train" / "via_region_data.json").write_text(json.dumps(raw))
    two = balloon.BalloonDataset()
    two.load_balloon(tmp_path, "train", class_attribute="type")
    two.prepare()
    assert two.class_names == ["BG", "kudzu", "leaf"]
    for image_id in two.image_ids[:3]:
        _, class_ids = two.load_mask(image_id)
        assert set(class_ids) == {1 if image_id % 2 else 2}
    first = next(iter(raw.values()))
    first["regions"][0]["region_attributes"] = {}
    (tmp_path / "train" / "via_region_data.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"region 0 of 1.jpg has no class name"):
        balloon.BalloonDataset().load_balloon(tmp_path, "train")
    with pytest.raises(ValueError, match="subset must be"):
        balloon.BalloonDataset().load_balloon(KUDZU, "test")


def test_color_splash_keeps_colour_inside_the_masks():
    image = np.asarray(Image.open(PHOTOS[0]).convert("RGB"))
    mask = np.zeros(image.shape[:2] + (2,), bool)
    mask[10:60, 20:90, 0] = True
    mask[40:100, 50:120, 1] = True
    splash = balloon.color_splash(image, mask)
    assert splash.dtype == np.uint8 and splash.shape == image.shape
    inside = mask.any(-1)
    np.testing.assert_array_equal(splash[inside], image[inside])
    outside = splash[~inside].astype(int)
    assert np.all(outside[:, 0] == outside[:, 1]) and np.all(outside[:, 1] == outside[:, 2])
    # Luminance: close to 0.2125 R + 0.7154 G + 0.0721 B.
    luma = image[~inside].astype(float) @ [0.2125, 0.7154, 0.0721]
    assert np.abs(outside[:, 0] - luma).max() < 1 + 1e-9  # truncated to uint8
    empty = balloon.color_splash(image, np.zeros(image.shape[:2] + (0,), bool))
    assert np.all(empty[..., 0] == empty[..., 2])
    with pytest.raises(ValueError, match="mask must be"):
        balloon.color_splash(image, mask[:10])


SMALL = ["--image-size", "128", "--backbone", "resnet50"]


def test_train_then_splash_image_and_video(tmp_path, monkeypatch, capsys):
    weights = tmp_path / "mask_rcnn_coco.h5"
    write_release_like_file(weights)
    monkeypatch.setenv("MRCNN_COCO_MODEL_PATH", str(weights))
    logs = tmp_path / "logs"
    result = balloon.run(["train", "--dataset", str(KUDZU), "--weights", "coco", "--logs",
                          str(logs), "--class-name", "kudzu", "--epochs", "1",
                          "--steps-per-epoch", "2", "--validation-steps", "1",
                          "--images-per-gpu", "1", *SMALL])
    assert result["epoch"] == 1 and result["classes"] == ["BG", "kudzu"]
    checkpoint = Path(result["log_dir"]) / "mask_rcnn_balloon_0001.h5"
    assert checkpoint.exists()
    out = capsys.readouterr().out
    assert "Training network heads to epoch 1" in out
    assert "NUM_CLASSES                    2" in out

    splashes = tmp_path / "splash"
    splashes.mkdir()
    made = balloon.run(["splash", "--weights", "last", "--logs", str(logs), "--image",
                        str(PHOTOS[1]), "--output", str(splashes), "--min-confidence", "0",
                        *SMALL])
    assert str(checkpoint) in capsys.readouterr().out
    splash = np.asarray(Image.open(made["path"]))
    assert Path(made["path"]).name.startswith("splash_")
    assert splash.shape == np.asarray(Image.open(PHOTOS[1])).shape

    from mrcnn.video import write_video
    frames = [np.asarray(Image.open(p).convert("RGB").resize((128, 96))) for p in PHOTOS[:3]]
    video = write_video(tmp_path / "in.mp4", frames, fps=8)
    made = balloon.run(["splash", "--weights", str(checkpoint), "--video", str(video),
                        "--output", str(splashes), *SMALL])
    assert made["path"].endswith(".avi")
    capture = cv2.VideoCapture(made["path"])
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        assert frame.shape == (96, 128, 3)
        count += 1
    assert count == 3


def test_command_line_errors_are_one_line(tmp_path):
    def run(*argv):
        return subprocess.run([sys.executable, str(ROOT / "samples" / "balloon" / "balloon.py"),
                               *argv], capture_output=True, text=True, timeout=300)
    proc = run("train", "--dataset", str(tmp_path / "nope"), "--weights", "coco")
    assert proc.returncode == 2 and "no such directory" in proc.stderr
    proc = run("splash", "--weights", "coco")
    assert proc.returncode == 2 and "needs --image or --video" in proc.stderr
    proc = run("train", "--dataset", str(KUDZU), "--weights", str(tmp_path / "w.h5"))
    assert proc.returncode == 2 and "no such weights file" in proc.stderr
    # Data errors: status 1 and one line, before any model is built.
    proc = run("train", "--dataset", str(KUDZU), "--weights", "none")
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: the train split has the classes ['kudzu']")
    assert len(proc.stderr.strip().splitlines()) == 1
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    (tmp_path / "train" / "via_region_data.json").write_text('{"project": {}, "file": {}, '
                                                             '"metadata": {}}')
    proc = run("train", "--dataset", str(tmp_path), "--weights", "none")
    assert proc.returncode == 1 and "VIA 3.x project file" in proc.stderr
    assert "Traceback" not in proc.stderr
