"""python -m mrcnn detect end to end: the COCO model with a weight file in the release layout,
real photos in, an overlay PNG and a JSON of COCO-style results out per image."""

import json
import os
import subprocess
import sys

import numpy as np
import skimage.io
from pycocotools import mask as mask_utils

from mrcnn import cli
from tests.coco_layout import write_release_like_file
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR

PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))[:2]


def test_detect_command_writes_overlay_and_results(tmp_path):
    weights = tmp_path / "w.h5"
    write_release_like_file(weights)
    out = tmp_path / "out"
    status = cli.main(["detect", *map(str, PHOTOS), "--weights", str(weights), "--output",
                       str(out), "--min-confidence", "0", "--batch-size", "2"])
    assert status == 0
    for photo in PHOTOS:
        image = skimage.io.imread(photo)
        overlay = skimage.io.imread(out / (photo.stem + ".png"))
        assert overlay.shape[:2] == image.shape[:2]
        results = json.loads((out / (photo.stem + ".json")).read_text())
        assert isinstance(results, list)
        for r in results:
            x, y, w, h = r["bbox"]
            assert 0 <= x and 0 <= y and x + w <= image.shape[1] and y + h <= image.shape[0]
            assert 0 <= r["score"] <= 1 and r["category_name"]
            m = mask_utils.decode({"size": r["segmentation"]["size"],
                                   "counts": r["segmentation"]["counts"].encode()})
            assert m.shape == image.shape[:2]
        if results:
            assert not np.array_equal(overlay[..., :3], image)


def test_module_entry_point_reports_missing_image(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mrcnn", "detect", str(tmp_path / "nope.jpg"),
                           "--weights", "coco", "--output", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "nope.jpg" in proc.stderr


# A disk with room for 3 files in the output folder and 100 bytes of the 4th: writes there
# fail with ENOSPC, as on a full disk. Python file objects only (Pillow writes through them
# when fileno() is unsupported), so the failure reaches the CLI exactly as a real one would.
DISK_FILLS_UP = r"""
import builtins, errno, io, os, sys

out = os.path.realpath(sys.argv[1])
real_open = builtins.open
opened = []


class FullDisk:
    def __init__(self, f, room):
        self._f, self._room = f, room

    def write(self, data):
        if len(data) > self._room:
            self._f.write(data[:self._room])
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._f.write(data)

    def fileno(self):
        raise io.UnsupportedOperation("fileno")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __getattr__(self, name):
        return getattr(self._f, name)


def open_on_full_disk(file, mode="r", *args, **kwargs):
    f = real_open(file, mode, *args, **kwargs)
    if (isinstance(file, (str, os.PathLike)) and set(mode) & set("wax")
            and os.path.dirname(os.path.realpath(file)) == out):
        opened.append(file)
        if len(opened) > 3:
            return FullDisk(f, 100)
    return f


builtins.open = io.open = open_on_full_disk
from mrcnn import cli
sys.exit(cli.main(sys.argv[2:]))
"""


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_unreadable_images_are_skipped_and_a_full_disk_leaves_no_half_result(tmp_path):
    """One line per problem, true to the file (not imageio's "install imageio[pyav]"); on a
    full disk each image has its PNG and JSON or neither, and the message lists the images
    done."""
    weights = tmp_path / "w.h5"
    write_release_like_file(weights)
    text = tmp_path / "notes.jpg"
    text.write_text("hello, these are notes\n")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(PHOTOS[1].read_bytes()[:3000])
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FILLS_UP, str(out), "detect", str(text), str(PHOTOS[0]),
         str(truncated), str(PHOTOS[1]), "--weights", str(weights), "--output", str(out),
         "--batch-size", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = error_lines(proc.stderr)
    assert len(errors) == 3, proc.stderr
    assert errors[0].startswith(f"error: cannot read image {text}: it is not an image file: "
                                "it starts with b'hello, these'")
    assert errors[1].startswith(f"error: cannot read image {truncated}: it is a JPEG file that "
                                "cannot be decoded")
    assert "truncated or damaged; skipped it" in errors[1]
    assert "imageio" not in proc.stderr and "not found" not in proc.stderr
    assert errors[2].startswith(f"error: cannot write the results of {PHOTOS[1]} to {out}: "
                                "No space left on device. Stopped there: the results of 1 of "
                                f"4 images are written ({PHOTOS[0]}); nothing was written for "
                                f"{PHOTOS[1]}")
    # Image 0 complete, image 1 (its JSON was written, its PNG failed) absent, no leftovers.
    assert sorted(p.name for p in out.iterdir()) == [PHOTOS[0].stem + ".json",
                                                      PHOTOS[0].stem + ".png"]
    assert isinstance(json.loads((out / (PHOTOS[0].stem + ".json")).read_text()), list)
    assert skimage.io.imread(out / (PHOTOS[0].stem + ".png")).shape[:2] == \
        skimage.io.imread(PHOTOS[0]).shape[:2]


def test_refused_weights_file_is_one_line(tmp_path, capsys, monkeypatch):
    from tests import coco_layout
    not_hdf5 = tmp_path / "weights.h5"
    not_hdf5.write_text("<html>404 Not Found</html>\n")
    out = tmp_path / "out"
    status = cli.main(["detect", str(PHOTOS[0]), "--weights", str(not_hdf5), "--output",
                       str(out)])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1
    assert err.startswith(f"error: weights file {not_hdf5} refused: '{not_hdf5}' is not an "
                          "HDF5 weight file")
    assert "--weights coco" in err
    # Weights of another class count: refused by load_weights after the model is built.
    other = tmp_path / "five_classes.h5"
    monkeypatch.setattr(coco_layout, "NC", 5)
    write_release_like_file(other)
    status = cli.main(["detect", str(PHOTOS[0]), "--weights", str(other), "--output", str(out)])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1, err
    assert err.startswith(f"error: weights file {other} refused: Cannot load weights from")
    assert "different number of classes (NUM_CLASSES = 5 in the file, 81 in the model)" in err
    assert list(out.iterdir()) == []


DOWNLOAD_FROM = r"""
import sys
from mrcnn import cli, download
download.COCO_MODEL_URL = sys.argv[1]
sys.exit(cli.main(sys.argv[2:]))
"""


def test_failed_download_after_rejecting_the_cached_file(tmp_path):
    from tests.local_http import FileHandler, serve
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mask_rcnn_coco.h5").write_bytes(b"x" * 1234)  # e.g. an interrupted copy
    (tmp_path / "srv").mkdir()
    with serve(tmp_path / "srv") as base:
        url = f"{base}/v2.0/mask_rcnn_coco.h5"
        proc = subprocess.run(
            [sys.executable, "-c", DOWNLOAD_FROM, url, "detect", str(PHOTOS[0]), "--weights",
             "coco", "--output", str(tmp_path / "out")],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env=dict(os.environ, PYTHONPATH=str(ROOT), MRCNN_HOME=str(cache)))
        assert FileHandler.requests == ["/v2.0/mask_rcnn_coco.h5"]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    rejected = [i for i, line in enumerate(lines) if line.startswith("Rejected the cached")]
    assert len(rejected) == 1 and str(cache / "mask_rcnn_coco.h5") in lines[rejected[0]]
    assert "1,234 bytes" in lines[rejected[0]] and "257,557,808 bytes" in lines[rejected[0]]
    (failed,) = error_lines(proc.stderr)
    assert failed.startswith(f"error: Downloading {url} failed: HTTP 404")
    assert rejected[0] < lines.index(failed)
    assert (cache / "mask_rcnn_coco.h5").read_bytes() == b"x" * 1234
