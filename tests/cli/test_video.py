"""mrcnn.video and ``mrcnn detect --video``: short videos the tests write from real photos
(../shared/data/matterport_demo_images) go in; the output video has the same frame count and
frame size; bad inputs fail early with one line and leave no output behind."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from mrcnn import cli
from mrcnn.config import Config
from mrcnn.video import VideoError, detect_video, write_video

from tests.paths import DATA_DIR, REPO_ROOT  # noqa: E402

ROOT = REPO_ROOT
DATA = DATA_DIR
from tests.coco_layout import write_release_like_file  # noqa: E402

PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))


def photo_frames(count, size=(128, 96)):
    """``count`` real photos resized to ``size`` (width, height), RGB uint8."""
    return [np.asarray(Image.open(p).convert("RGB").resize(size)) for p in PHOTOS[:count]]


def read_back(path):
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened()
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


class TinyConfig(Config):
    NAME = "tiny"
    NUM_CLASSES = 3
    BACKBONE = "resnet50"
    IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128
    GPU_COUNT = 1
    IMAGES_PER_GPU = 2
    DETECTION_MIN_CONFIDENCE = 0.0
    POST_NMS_ROIS_INFERENCE = 100
    DETECTION_MAX_INSTANCES = 5


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import mrcnn.model as modellib
    return modellib.MaskRCNN("inference", TinyConfig(), str(tmp_path_factory.mktemp("logs")))


@pytest.mark.parametrize("ext", [".avi", ".mp4"])
def test_detect_video_keeps_frames_and_size(tiny_model, tmp_path, ext):
    frames = photo_frames(5)
    source = write_video(tmp_path / f"in{ext}", frames, fps=12)
    calls = []
    detect = tiny_model.detect

    def counting_detect(images, verbose=0):
        calls.append(len(images))
        return detect(images, verbose=verbose)
    tiny_model.detect = counting_detect
    try:
        result = detect_video(tiny_model, source, tmp_path / f"out{ext}",
                              class_names=["BG", "a", "b"], progress=False)
    finally:
        del tiny_model.detect
    assert calls == [2, 2, 1]  # BATCH_SIZE frames per call, the rest last
    out = read_back(tmp_path / f"out{ext}")
    assert len(out) == result["frames"] == 5
    assert all(f.shape == (96, 128, 3) for f in out)
    assert result["size"] == (128, 96) and result["fps"] == pytest.approx(12)
    assert len(result["instances"]) == 5
    # Frames come back in order, each closest to its own input (lossy codecs, overlays).
    order = [int(np.argmin([np.abs(cv2.cvtColor(w, cv2.COLOR_BGR2RGB).astype(float) - f).mean()
                            for f in frames])) for w in out]
    assert order == [0, 1, 2, 3, 4]
    assert not list(tmp_path.glob(".*part*"))


def test_detect_video_failures_leave_nothing(tiny_model, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    with pytest.raises(VideoError, match="cannot open video"):
        detect_video(tiny_model, text, tmp_path / "out.mp4", progress=False)
    with pytest.raises(VideoError, match="extension"):
        detect_video(tiny_model, text, tmp_path / "out.gif", progress=False)
    source = write_video(tmp_path / "in.avi", photo_frames(2))
    with pytest.raises(VideoError, match="render returned"):
        detect_video(tiny_model, source, tmp_path / "out.avi", render=lambda image, r: image[:5],
                     progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.avi", "notes.mp4"]


def test_cli_detect_video_end_to_end(tmp_path, capsys):
    weights = tmp_path / "w.h5"
    write_release_like_file(weights)
    source = write_video(tmp_path / "in.mp4", photo_frames(2, size=(160, 120)), fps=10)
    status = cli.main(["detect", "--video", str(source), "--output", str(tmp_path / "out.mp4"),
                       "--weights", str(weights), "--min-confidence", "0", "--batch-size", "2"])
    assert status == 0
    assert "Wrote 2 frames (160x120, 10 fps)" in capsys.readouterr().out
    out = read_back(tmp_path / "out.mp4")
    assert len(out) == 2 and all(f.shape == (120, 160, 3) for f in out)


def test_cli_video_argument_errors_are_one_line(tmp_path):
    source = write_video(tmp_path / "in.avi", photo_frames(1))
    text = tmp_path / "notes.avi"
    text.write_text("not a video\n")

    def run(*argv):
        return subprocess.run([sys.executable, "-m", "mrcnn", "detect", *argv],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
    proc = run(str(PHOTOS[0]), "--video", str(source), "--weights", "coco", "--output",
               str(tmp_path / "o.mp4"))
    assert proc.returncode == 2 and "not both" in proc.stderr
    proc = run("--video", str(source), "--weights", "coco", "--output", str(tmp_path / "o.txt"))
    assert proc.returncode == 2 and "o.txt has the extension '.txt'" in proc.stderr
    proc = run("--video", str(tmp_path / "nope.mp4"), "--weights", "coco", "--output",
               str(tmp_path / "o.mp4"))
    assert proc.returncode == 2 and "nope.mp4 not found" in proc.stderr
    proc = run("--weights", "coco", "--output", str(tmp_path / "o"))
    assert proc.returncode == 2 and "give image files" in proc.stderr
    # Undecodable: status 1, one line, before any weights are fetched or models built.
    proc = run("--video", str(text), "--weights", "coco", "--output", str(tmp_path / "o.mp4"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: cannot open video")
    assert "Traceback" not in proc.stderr and "Downloading" not in proc.stderr
    assert not (tmp_path / "o.mp4").exists()
