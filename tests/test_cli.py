"""python -m mrcnn detect end to end: the COCO model with a weight file in the release layout,
real photos in, an overlay PNG and a JSON of COCO-style results out per image."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import skimage.io
from pycocotools import mask as mask_utils

from mrcnn import cli

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests"))
from coco_layout import write_release_like_file  # noqa: E402

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
