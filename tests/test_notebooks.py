"""The notebooks run end to end in a real Jupyter kernel, so they never rot."""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from coco_layout import write_release_like_file  # noqa: E402


def run_notebook(path, monkeypatch, timeout=900, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def outputs_text(nb):
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def count_images(nb):
    return sum("image/png" in out.get("data", {}) for cell in nb.cells
               for out in cell.get("outputs", []))


def test_demo_notebook(tmp_path, monkeypatch):
    weights = tmp_path / "mask_rcnn_coco.h5"
    write_release_like_file(weights)
    nb = run_notebook(ROOT / "samples" / "demo.ipynb", monkeypatch,
                      MRCNN_COCO_MODEL_PATH=weights)
    text = outputs_text(nb)
    assert "Configurations:" in text and "NUM_CLASSES                    81" in text
    assert "Processing 1 images" in text
    assert count_images(nb) >= 1


def test_train_shapes_notebook(tmp_path, monkeypatch):
    weights = tmp_path / "mask_rcnn_coco.h5"
    write_release_like_file(weights)
    nb = run_notebook(ROOT / "samples" / "shapes" / "train_shapes.ipynb", monkeypatch,
                      MRCNN_COCO_MODEL_PATH=weights, MRCNN_MODEL_DIR=tmp_path / "logs",
                      MRCNN_STEPS_PER_EPOCH=2, MRCNN_SHAPES_TRAIN=16, MRCNN_SHAPES_VAL=6,
                      MRCNN_BACKBONE="resnet50", MRCNN_IMAGES_PER_GPU=2)
    text = outputs_text(nb)
    assert "initialised with: coco" in text
    assert "Loading weights from" in text and "mask_rcnn_shapes_0002.h5" in text
    assert "mAP: " in text
    checkpoints = sorted(p.name for p in (tmp_path / "logs").glob("shapes*/mask_rcnn_*.h5"))
    assert checkpoints == ["mask_rcnn_shapes_0001.h5", "mask_rcnn_shapes_0002.h5"]
