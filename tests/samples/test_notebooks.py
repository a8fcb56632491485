"""The notebooks run end to end in a real Jupyter kernel, so they never rot."""

import json
import os

import nbformat
from nbclient import NotebookClient

from tests.coco_layout import write_release_like_file
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR


def run_notebook(path, monkeypatch, timeout=900, allow_errors=False, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
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


def cache_release_like_weights(cache):
    """``cache``/mask_rcnn_coco.h5: a file in the release layout, padded (sparse) to the
    release's size, so that ``get_coco_weights(cache)`` takes it as the cached download."""
    from mrcnn.download import COCO_MODEL_FILENAME, COCO_MODEL_SIZE
    cache.mkdir()
    path = cache / COCO_MODEL_FILENAME
    write_release_like_file(path)
    assert path.stat().st_size <= COCO_MODEL_SIZE
    with open(path, "r+b") as f:
        f.truncate(COCO_MODEL_SIZE)  # HDF5 ignores bytes after its end-of-file address
    return path


def test_demo_notebook(tmp_path, monkeypatch):
    weights = cache_release_like_weights(tmp_path / "cache")
    monkeypatch.delenv("MRCNN_COCO_MODEL_PATH", raising=False)
    nb = run_notebook(ROOT / "samples" / "demo.ipynb", monkeypatch, MRCNN_HOME=tmp_path / "cache",
                      MRCNN_DEMO_IMAGES=DATA / "matterport_demo_images" / "images")
    text = outputs_text(nb)
    assert "Configurations:" in text and "NUM_CLASSES                    81" in text
    # The weights came from the CLI's cache ($MRCNN_HOME), not downloaded again.
    assert f"Loaded weights of 233 layers from {weights} (by name)" in text
    assert "Downloading" not in text
    assert "Processing 1 images" in text
    assert count_images(nb) >= 1


def test_demo_notebook_uses_the_projects_images_folder(tmp_path, monkeypatch):
    """Without ../shared/data (a user's checkout), the demo reads <project>/images and says
    what to do when that folder is missing. Runs the set-up cell only, in a copy of the
    project layout."""
    project = tmp_path / "project"
    (project / "samples" / "coco").mkdir(parents=True)
    (project / "samples" / "coco" / "coco.py").write_text(
        (ROOT / "samples" / "coco" / "coco.py").read_text())
    (project / "images").mkdir()
    photo = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))[0]
    (project / "images" / "mine.jpg").write_bytes(photo.read_bytes())
    (project / "images" / "README.txt").write_text("my photos\n")
    demo = nbformat.read(ROOT / "samples" / "demo.ipynb", as_version=4)
    setup = demo.cells[1]
    assert "IMAGE_DIR" in setup.source
    probe = nbformat.v4.new_code_cell("print('IMAGE_DIR', IMAGE_DIR)\nprint('files', file_names)")
    remove = nbformat.v4.new_code_cell("import shutil\nshutil.rmtree(IMAGE_DIR)")
    demo.cells = [setup, probe, remove, nbformat.v4.new_code_cell(setup.source)]
    path = project / "samples" / "demo.ipynb"
    nbformat.write(demo, path)
    monkeypatch.delenv("MRCNN_DEMO_IMAGES", raising=False)
    nb = run_notebook(path, monkeypatch, allow_errors=True,
                      MRCNN_COCO_MODEL_PATH=tmp_path / "unused.h5")
    assert not (tmp_path / "shared").exists()
    printed = "".join(out.get("text", "") for out in nb.cells[1].outputs)
    assert f"IMAGE_DIR {project / 'images'}\n" in printed
    assert "files ['mine.jpg']" in printed
    (error,) = [out for out in nb.cells[3].outputs if out.output_type == "error"]
    assert error.ename == "FileNotFoundError"
    assert f"No folder {project / 'images'}" in error.evalue
    assert "MRCNN_DEMO_IMAGES" in error.evalue


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


def _coco_inspect_env(tmp_path):
    weights = tmp_path / "mask_rcnn_coco.h5"
    write_release_like_file(weights)
    return {"MRCNN_COCO_MODEL_PATH": weights, "MRCNN_COCO_DIR": DATA / "coco_tiny",
            "MRCNN_IMAGE_SIZE": 256, "MRCNN_BATCH_IMAGES": 2, "MRCNN_MIN_CONFIDENCE": 0.0}


def test_inspect_data_notebook(monkeypatch):
    nb = run_notebook(ROOT / "samples" / "coco" / "inspect_data.ipynb", monkeypatch,
                      MRCNN_COCO_DIR=DATA / "coco_tiny")
    text = outputs_text(nb)
    assert "Image Count: 80" in text and "Class Count: 81" in text
    assert "Anchors in Level 4" in text and "Positive anchors: " in text
    assert "Positive ROIs: " in text
    assert count_images(nb) >= 10


def test_inspect_weights_notebook(tmp_path, monkeypatch):
    nb = run_notebook(ROOT / "samples" / "coco" / "inspect_weights.ipynb", monkeypatch,
                      **_coco_inspect_env(tmp_path))
    text = outputs_text(nb)
    assert "Loaded weights of 233 layers" in text
    assert "12 layers" in text
    assert count_images(nb) >= 1


def test_inspect_model_notebook(tmp_path, monkeypatch):
    nb = run_notebook(ROOT / "samples" / "coco" / "inspect_model.ipynb", monkeypatch,
                      **_coco_inspect_env(tmp_path))
    text = outputs_text(nb)
    for stage in ("pre_nms_anchors", "refined_anchors_clipped", "post_nms_anchor_ix",
                  "proposals", "detections", "masks", "res3c_out"):
        assert stage in text, stage
    assert "mAP @ IoU=50: " in text and "Recall @ IoU 0.7" in text
    assert "Kept after per-class NMS" in text
    assert count_images(nb) >= 8


def test_inspect_balloon_data_notebook(monkeypatch):
    nb = run_notebook(ROOT / "samples" / "balloon" / "inspect_balloon_data.ipynb", monkeypatch,
                      MRCNN_BALLOON_DIR=DATA / "kudzu_via", MRCNN_IMAGE_SIZE=256,
                      MRCNN_BATCH_SIZE=2, MRCNN_RANDOM_ROIS=200)
    text = outputs_text(nb)
    # kudzu_via/train: 24 photos, every region named "kudzu" in its attributes.
    assert "Image Count: 24" in text and "Class Count: 2" in text
    assert "  1. kudzu" in text
    regions = json.loads((DATA / "kudzu_via" / "train" / "via_region_data.json").read_text())
    total = sum(len(entry["regions"]) for entry in regions.values())
    assert f"Instances per image: total {total}," in text
    assert "Anchors in Level 4" in text and "Positive anchors: " in text
    assert "Positive ROIs: " in text
    assert count_images(nb) >= 10


def test_inspect_nucleus_data_notebook(monkeypatch):
    nb = run_notebook(ROOT / "samples" / "nucleus" / "inspect_nucleus_data.ipynb", monkeypatch,
                      MRCNN_NUCLEUS_DIR=DATA / "dsb2018_nucleus_subset", MRCNN_IMAGE_SIZE=256,
                      MRCNN_BATCH_SIZE=2, MRCNN_RANDOM_ROIS=200)
    text = outputs_text(nb)
    assert "Image Count: 25" in text and "Class Count: 2" in text
    assert "Validation ids: 25 (nucleus.VAL_IMAGE_IDS), all present: True" in text
    index = dict(line.split("\t")[::3] for line in
                 (DATA / "dsb2018_nucleus_subset" / "index.tsv").read_text().splitlines())
    val_ids = (DATA / "dsb2018_nucleus_subset" / "matterport_val_image_ids.txt").read_text().split()
    assert f"Instances per image: total {sum(int(index[i]) for i in val_ids)}," in text
    assert "Resize mode: crop" in text and "crop (y, x, h, w):" in text
    assert "Anchors in Level 4" in text and "Positive anchors: " in text
    assert "Positive ROIs: " in text
    assert count_images(nb) >= 10


MODEL_STAGES = ("pre_nms_anchors", "refined_anchors_clipped", "post_nms_anchor_ix",
                "proposals", "detections", "masks", "res3c_out")


def test_inspect_balloon_model_notebook(tmp_path, monkeypatch):
    """Release-layout COCO weights (81 classes) in a 2-class model: the notebook says which
    layers stay random and runs every stage on the kudzu val photos."""
    weights = tmp_path / "mask_rcnn_coco.h5"
    write_release_like_file(weights)
    nb = run_notebook(ROOT / "samples" / "balloon" / "inspect_balloon_model.ipynb", monkeypatch,
                      MRCNN_BALLOON_DIR=DATA / "kudzu_via", MRCNN_WEIGHTS=weights,
                      MRCNN_MODEL_DIR=tmp_path / "logs", MRCNN_IMAGE_SIZE=256,
                      MRCNN_BATCH_IMAGES=2, MRCNN_MIN_CONFIDENCE=0.0)
    text = outputs_text(nb)
    assert "Images: 16\nClasses: ['BG', 'kudzu']" in text
    assert "The weights have 81 classes, the model 2: mrcnn_class_logits" in text
    for stage in MODEL_STAGES:
        assert stage in text, stage
    assert "mAP @ IoU=50: " in text and "Recall @ IoU 0.7" in text
    assert "Kept after per-class NMS" in text and "pixels keep their colour" in text
    assert count_images(nb) >= 9


def test_inspect_nucleus_model_notebook(tmp_path, monkeypatch):
    weights = tmp_path / "mask_rcnn_coco.h5"
    write_release_like_file(weights)
    nb = run_notebook(ROOT / "samples" / "nucleus" / "inspect_nucleus_model.ipynb", monkeypatch,
                      MRCNN_NUCLEUS_DIR=DATA / "dsb2018_nucleus_subset", MRCNN_WEIGHTS=weights,
                      MRCNN_MODEL_DIR=tmp_path / "logs", MRCNN_BATCH_IMAGES=2)
    text = outputs_text(nb)
    assert "Images: 25\nClasses: ['BG', 'nucleus']" in text
    assert "IMAGE_RESIZE_MODE              pad64" in text
    # The first validation image (0c2550a2..., 320x256) has 73 nucleus masks.
    assert "GT nuclei: 73, detected: " in text
    for stage in MODEL_STAGES:
        assert stage in text, stage
    assert "mAP @ IoU=50: " in text and "Recall @ IoU 0.7" in text
    assert "Kept after per-class NMS" in text
    assert count_images(nb) >= 8
