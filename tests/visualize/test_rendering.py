"""Tests for mrcnn.rendering: the figure-free overlay, and its re-export from mrcnn.visualize.

The overlay's pixels are tested in tests/visualize/test_visualize.py (through the re-exported names).
"""

import subprocess
import sys

from mrcnn import rendering, visualize
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
COCO_DIR = DATA / "coco_tiny"


def test_visualize_reexports_the_rendering_functions():
    for name in rendering.__all__:
        assert getattr(visualize, name) is getattr(rendering, name), name
        assert name in visualize.__all__, name


def test_renders_a_coco_image_without_matplotlib(tmp_path):
    # In a fresh interpreter: render the first annotated val image to PNG; matplotlib stays
    # unimported (the command line's path), and the PNG holds the rendered pixels.
    out = tmp_path / "overlay.png"
    code = f"""
import contextlib, io, sys
import numpy as np
from PIL import Image
from pycocotools.coco import COCO
from mrcnn import rendering
with contextlib.redirect_stdout(io.StringIO()):
    coco = COCO({str(COCO_DIR / "annotations" / "instances_val2017.json")!r})
ann = next(a for a in coco.loadAnns(coco.getAnnIds(iscrowd=False)) if a["area"] > 3000)
info = coco.loadImgs(ann["image_id"])[0]
path = {str(COCO_DIR / "val2017")!r} + "/" + info["file_name"]
image = np.asarray(Image.open(path).convert("RGB"))
mask = coco.annToMask(ann)[..., None]
ys, xs = np.nonzero(mask[..., 0])
box = np.array([[ys.min(), xs.min(), ys.max() + 1, xs.max() + 1]])
rendered = rendering.save_instances_png({str(out)!r}, image, box, mask, [1], ["BG", "thing"],
                                        scores=[0.9], colors=[(1.0, 0.0, 0.0)])
assert "matplotlib" not in sys.modules, "rendering imported matplotlib"
inside = mask[..., 0].astype(bool)
assert rendered.shape == image.shape and rendered.dtype == np.uint8
assert np.mean(np.any(rendered[inside] != image[inside], axis=-1)) > 0.9
assert np.array_equal(np.asarray(Image.open({str(out)!r}).convert("RGB")), rendered)
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("ok")
