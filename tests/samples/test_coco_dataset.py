"""samples/coco/coco.py on the real coco_tiny data: CocoDataset, results, evaluation, download, CLI.

coco_tiny holds 80 train and 80 val COCO 2017 images with their original annotations (polygons
and uncompressed-RLE crowds), annotation files without ``info``/``licenses`` keys.
"""

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mrcnn.boxes import extract_bboxes
from mrcnn.coco_classes import COCO_CATEGORY_IDS, COCO_CLASS_NAMES
from mrcnn.evaluation import STAT_NAMES
from tests.local_http import FileHandler, serve
from tests.paths import DATA_DIR, REPO_ROOT

# pycocotools 2.0.11 + NumPy 2 warn inside mask.decode; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

ROOT = REPO_ROOT
DATA = DATA_DIR
COCO_TINY = DATA / "coco_tiny"


def _load_sample():
    spec = importlib.util.spec_from_file_location("coco", ROOT / "samples" / "coco" / "coco.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["coco"] = module
    spec.loader.exec_module(module)
    return module


coco_sample = _load_sample()


def quiet_coco(path):
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


@pytest.fixture(scope="module")
def tiny():
    """{subset: (dataset, coco object returned by load_coco, raw json)}."""
    out = {}
    for subset in ("train", "val"):
        dataset = coco_sample.CocoDataset()
        coco = dataset.load_coco(str(COCO_TINY), subset, "2017", return_coco=True)
        dataset.prepare()
        raw = json.loads((COCO_TINY / "annotations" / f"instances_{subset}2017.json").read_text())
        out[subset] = (dataset, coco, raw)
    return out


@pytest.mark.parametrize("subset", ["train", "val"])
def test_load_coco_loads_every_category_image_and_annotation(tiny, subset):
    dataset, coco, raw = tiny[subset]
    assert "info" not in raw and "licenses" not in raw
    assert dataset.num_classes == 81
    assert [c["id"] for c in dataset.class_info[1:]] == COCO_CATEGORY_IDS[1:]
    assert dataset.class_names == COCO_CLASS_NAMES
    assert dataset.num_images == len(raw["images"]) == 80
    assert sum(len(info["annotations"]) for info in dataset.image_info) == len(raw["annotations"])
    info = dataset.image_info[0]
    assert os.path.isfile(info["path"]) and info["source"] == "coco"
    assert dataset.image_reference(0) == f"http://cocodataset.org/#explore?id={info['id']}"
    image = dataset.load_image(0)
    assert image.shape == (info["height"], info["width"], 3) and image.dtype == np.uint8

    n_masks = n_crowd_ids = 0
    expected_crowd = sum(a["iscrowd"] for a in raw["annotations"])
    for image_id in dataset.image_ids:
        masks, class_ids = dataset.load_mask(image_id)
        info = dataset.image_info[image_id]
        assert masks.dtype == bool and class_ids.dtype == np.int32
        assert masks.shape == (info["height"], info["width"], len(class_ids))
        n_masks += len(class_ids)
        n_crowd_ids += int(np.sum(class_ids < 0))
        # Each class id maps back to the annotation's category; crowds are negative.
        anns = [a for a in info["annotations"]]
        for k, (ann, class_id) in enumerate(zip(anns, class_ids)):
            assert dataset.get_source_class_id(abs(int(class_id)), "coco") == ann["category_id"]
            assert (class_id < 0) == bool(ann["iscrowd"])
    assert n_masks == len(raw["annotations"])  # every annotation, crowd RLE included
    assert n_crowd_ids == expected_crowd > 0


def test_masks_equal_pycocotools_annToMask(tiny):
    for subset in ("train", "val"):
        dataset, coco, _ = tiny[subset]
        for image_id in dataset.image_ids:
            masks, _ = dataset.load_mask(image_id)
            anns = dataset.image_info[image_id]["annotations"]
            assert masks.shape[-1] == len(anns)
            for k, ann in enumerate(anns):
                np.testing.assert_array_equal(masks[..., k], coco.annToMask(ann).astype(bool))


def test_compressed_rle_and_class_subset(tiny, tmp_path):
    """Crowd annotations re-encoded as compressed RLE (string counts) decode to the same masks."""
    raw = json.loads((COCO_TINY / "annotations" / "instances_val2017.json").read_text())
    for ann in raw["annotations"]:
        if ann["iscrowd"]:
            rle = mask_utils.frPyObjects(ann["segmentation"], *ann["segmentation"]["size"])
            ann["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode()}
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_val2017.json").write_text(json.dumps(raw))
    (tmp_path / "val2017").symlink_to(COCO_TINY / "val2017")
    dataset = coco_sample.CocoDataset()
    dataset.load_coco(str(tmp_path), "val", 2017)
    dataset.prepare()
    reference = tiny["val"][0]
    crowd_images = 0
    for image_id in dataset.image_ids:
        masks, class_ids = dataset.load_mask(image_id)
        ref_masks, ref_ids = reference.load_mask(image_id)
        np.testing.assert_array_equal(masks, ref_masks)
        np.testing.assert_array_equal(class_ids, ref_ids)
        crowd_images += int(np.any(class_ids < 0))
    assert crowd_images > 0

    people = coco_sample.CocoDataset()
    people.load_coco(str(COCO_TINY), "val", "2017", class_ids=[1])
    people.prepare()
    assert people.class_names == ["BG", "person"]
    assert people.num_images == len({a["image_id"] for a in raw["annotations"]
                                     if a["category_id"] == 1})
    for image_id in people.image_ids:
        assert all(a["category_id"] == 1 for a in people.image_info[image_id]["annotations"])


def test_missing_files_raise_clear_errors(tmp_path):
    dataset = coco_sample.CocoDataset()
    with pytest.raises(FileNotFoundError, match="instances_val2017.json"):
        dataset.load_coco(str(tmp_path), "val", "2017")
    with pytest.raises(ValueError, match="not categories"):
        dataset.load_coco(str(COCO_TINY), "val", "2017", class_ids=[12])


class GroundTruthModel:
    """Stands in for an inference MaskRCNN: detect() returns the non-crowd ground truth."""

    def __init__(self, dataset, batch_size=1):
        self.dataset = dataset
        self.config = type("C", (), {"BATCH_SIZE": batch_size})()
        self.by_hash = {}
        self.calls = []

    def register(self, image_ids):
        for image_id in image_ids:
            image = self.dataset.load_image(image_id)
            self.by_hash[hashlib.sha1(image.tobytes()).hexdigest()] = image_id

    def detect(self, images, verbose=0):
        self.calls.append(len(images))
        out = []
        for image in images:
            image_id = self.by_hash[hashlib.sha1(image.tobytes()).hexdigest()]
            masks, class_ids = self.dataset.load_mask(image_id)
            keep = class_ids > 0
            masks, class_ids = masks[..., keep], class_ids[keep]
            out.append({"rois": extract_bboxes(masks), "class_ids": class_ids,
                        "scores": np.ones(len(class_ids), np.float32), "masks": masks})
        return out


def test_ground_truth_as_detections_scores_segm_ap_1(tiny):
    dataset, coco, _ = tiny["val"]
    results = []
    for image_id in dataset.image_ids:
        masks, class_ids = dataset.load_mask(image_id)
        keep = class_ids > 0
        results.extend(coco_sample.build_coco_results(
            dataset, [dataset.image_info[image_id]["id"]], extract_bboxes(masks[..., keep]),
            class_ids[keep],
            np.ones(int(keep.sum()), np.float32), masks[..., keep].astype(np.uint8)))
    assert {r["image_id"] for r in results} == set(coco.getImgIds())
    assert {r["category_id"] for r in results} <= set(coco.getCatIds())
    json.dumps(results)
    ap = STAT_NAMES.index("AP")
    segm = coco_sample.evaluate_coco_results(coco, results, "segm", verbose=False)
    bbox = coco_sample.evaluate_coco_results(coco, results, "bbox", verbose=False)
    assert segm[ap] == 1.0
    assert 0.9 < bbox[ap] < 1.0  # integer mask boxes vs. the float polygon boxes of COCO

    with pytest.raises(ValueError, match="one image"):
        coco_sample.build_coco_results(dataset, [0, 1], extract_bboxes(masks), class_ids,
                                       np.ones(len(class_ids)), masks)
    assert coco_sample.build_coco_results(dataset, [0], None, None, None, None) == []


def test_build_coco_results_takes_coco_image_ids_as_matterports_evaluate_coco(tiny):
    """Matterport's evaluate_coco: coco_image_ids = [image_info[id]["id"] ...], then
    build_coco_results(dataset, coco_image_ids[i:i + 1], r["rois"], ..., r["masks"] as uint8)."""
    dataset, coco, _ = tiny["val"]
    image_ids = dataset.image_ids[:6]
    coco_image_ids = [dataset.image_info[id]["id"] for id in image_ids]
    assert max(coco_image_ids) >= dataset.num_images  # ids that would overflow image_info
    results = []
    for i, image_id in enumerate(image_ids):
        masks, class_ids = dataset.load_mask(image_id)
        keep = class_ids > 0
        masks, class_ids = masks[..., keep], class_ids[keep]
        image_results = coco_sample.build_coco_results(
            dataset, coco_image_ids[i:i + 1], extract_bboxes(masks), class_ids,
            np.ones(len(class_ids), np.float32), masks.astype(np.uint8))
        assert {r["image_id"] for r in image_results} == {coco_image_ids[i]}
        # Each result's box and mask are those of this COCO image's own annotations.
        anns = coco.loadAnns(coco.getAnnIds(imgIds=coco_image_ids[i]))
        gt_cats = {a["category_id"] for a in anns}
        assert {r["category_id"] for r in image_results} <= gt_cats
        info = coco.loadImgs(coco_image_ids[i])[0]
        assert all(r["segmentation"]["size"] == [info["height"], info["width"]]
                   for r in image_results)
        results.extend(image_results)
    segm = coco_sample.evaluate_coco_results(coco, results, "segm", image_ids=coco_image_ids,
                                             verbose=False)
    assert segm[STAT_NAMES.index("AP")] == 1.0
    # An internal index that is no COCO id of the dataset is refused, never written.
    all_coco_ids = {info["id"] for info in dataset.image_info}
    internal = next(int(i) for i in dataset.image_ids if int(i) not in all_coco_ids)
    masks, class_ids = dataset.load_mask(internal)
    with pytest.raises(ValueError, match="COCO image id"):
        coco_sample.build_coco_results(dataset, [internal], extract_bboxes(masks), class_ids,
                                       np.ones(len(class_ids)), masks)


def test_evaluate_coco_with_a_model(tiny, capsys):
    dataset, coco, _ = tiny["val"]
    model = GroundTruthModel(dataset, batch_size=4)
    model.register(dataset.image_ids[:10])
    stats = coco_sample.evaluate_coco(model, dataset, coco, ("bbox", "segm"), limit=10)
    assert model.calls == [4, 4, 2]
    assert stats["segm"][0] == 1.0 and stats["bbox"][0] > 0.9
    assert stats["time_per_image"] >= 0
    out = capsys.readouterr().out
    assert "Prediction time" in out and out.count("Average Precision") == 12
    segm_only = coco_sample.evaluate_coco(model, dataset, coco, "segm", limit=10)
    assert segm_only.shape == (12,) and segm_only[0] == 1.0


# ----------------------------------------------------------------------------- auto_download
@pytest.fixture
def server(tmp_path):
    root = tmp_path / "server"
    root.mkdir()
    with serve(root) as base:
        yield root, base


def _subset_json(n_images):
    raw = json.loads((COCO_TINY / "annotations" / "instances_val2017.json").read_text())
    images = raw["images"][:n_images]
    ids = {i["id"] for i in images}
    return {"images": images, "categories": raw["categories"],
            "annotations": [a for a in raw["annotations"] if a["image_id"] in ids]}


def _leftovers(directory):
    """Temporary files or folders left by a download or an extraction."""
    return [p for p in Path(directory).rglob("*")
            if p.name.startswith(".unzip-") or p.name.endswith(".part")]


def test_auto_download_from_local_server(server, tmp_path, monkeypatch):
    root, url = server
    subset = _subset_json(3)
    (root / "zips").mkdir()
    (root / "annotations").mkdir()
    with zipfile.ZipFile(root / "zips" / "val2017.zip", "w") as z:
        for image in subset["images"]:
            z.write(COCO_TINY / "val2017" / image["file_name"], f"val2017/{image['file_name']}")
    with zipfile.ZipFile(root / "annotations" / "annotations_trainval2017.zip", "w") as z:
        z.writestr("annotations/instances_val2017.json", json.dumps(subset))
    # 2014 minival: val2014 images and the split's JSON zipped at the archive root.
    with zipfile.ZipFile(root / "zips" / "val2014.zip", "w") as z:
        for image in subset["images"]:
            z.write(COCO_TINY / "val2017" / image["file_name"], f"val2014/{image['file_name']}")
    with zipfile.ZipFile(root / "instances_minival2014.json.zip", "w") as z:
        z.writestr("instances_minival2014.json", json.dumps(subset))
    monkeypatch.setattr(coco_sample, "COCO_URL_BASE", url)
    monkeypatch.setitem(coco_sample.COCO_2014_SPLIT_URLS, "minival",
                        f"{url}/instances_minival2014.json.zip?dl=0")

    target = tmp_path / "coco"
    dataset = coco_sample.CocoDataset()
    dataset.load_coco(str(target), "val", "2017", auto_download=True)
    dataset.prepare()
    assert dataset.num_images == 3
    assert sorted(os.listdir(target / "val2017")) == sorted(i["file_name"]
                                                           for i in subset["images"])
    masks, class_ids = dataset.load_mask(0)
    assert masks.shape[-1] == len(class_ids) > 0
    assert FileHandler.requests == ["/zips/val2017.zip", "/annotations/annotations_trainval2017.zip"]
    assert not _leftovers(target)

    # Present files are not downloaded again.
    coco_sample.CocoDataset().load_coco(str(target), "val", "2017", auto_download=True)
    assert len(FileHandler.requests) == 2

    minival = coco_sample.CocoDataset()
    minival.load_coco(str(target), "minival", "2014", auto_download=True)
    minival.prepare()
    assert minival.num_images == 3
    assert (target / "annotations" / "instances_minival2014.json").is_file()
    assert (target / "annotations" / "instances_val2017.json").is_file()  # merged, kept
    assert not _leftovers(target)


def test_failed_downloads_leave_nothing_behind(server, tmp_path, monkeypatch):
    root, url = server
    (root / "zips").mkdir()
    (root / "zips" / "train2017.zip").write_bytes(b"this is not a zip archive" * 100)
    monkeypatch.setattr(coco_sample, "COCO_URL_BASE", url)
    target = tmp_path / "coco"

    # Not a zip: the download is deleted, no half-extracted folder.
    with pytest.raises(ValueError, match="not a valid zip"):
        coco_sample.CocoDataset().load_coco(str(target), "train", "2017", auto_download=True)
    assert os.listdir(target) == []

    # HTTP 404: an error naming the URL, no partial file.
    with pytest.raises(OSError, match="val2014.zip"):
        coco_sample.CocoDataset().load_coco(str(target), "val", "2014", auto_download=True)
    assert os.listdir(target) == []

    # A truncated archive (valid start, missing end) fails the same way.
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w") as z:
        z.write(COCO_TINY / "val2017" / sorted(os.listdir(COCO_TINY / "val2017"))[0],
                "val2017/a.jpg")
    (root / "zips" / "val2017.zip").write_bytes(good.getvalue()[:-30])
    with pytest.raises(ValueError, match="not a valid zip"):
        coco_sample.CocoDataset().load_coco(str(target), "val", "2017", auto_download=True)
    assert os.listdir(target) == []

    with pytest.raises(ValueError, match="only for 2014"):
        coco_sample.CocoDataset().auto_download(str(target), "minival", "2017")


# ----------------------------------------------------------------------------- command line
def test_cli_arguments():
    parser = coco_sample.build_parser()
    args = parser.parse_args(["evaluate", "--dataset", str(COCO_TINY), "--model", "coco",
                              "--download", "False", "--year", "2017"])
    assert args.download is False and args.limit == 500 and args.year == "2017"
    assert parser.parse_args(["train", "--dataset", "d", "--model", "last",
                              "--download=true"]).download is True
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--dataset", "d", "--model", "m", "--download", "maybe"])
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--dataset", "d", "--model", "m", "--year", "2015"])
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--dataset", "d", "--model", "m", "--epochs", "2",
                           "--epochs-scale", "0.5"])

    assert coco_sample.training_schedule() == [("heads", 40, 1.0), ("4+", 120, 1.0),
                                               ("all", 160, 0.1)]
    assert coco_sample.training_schedule(epochs=1) == [("heads", 1, 1.0)]
    assert coco_sample.training_schedule(epochs=3) == [("heads", 1, 1.0), ("4+", 2, 1.0),
                                                       ("all", 3, 0.1)]
    assert coco_sample.training_schedule(epochs_scale=0.5) == [("heads", 20, 1.0),
                                                               ("4+", 60, 1.0), ("all", 80, 0.1)]

    args = parser.parse_args(["train", "--dataset", "d", "--model", "coco", "--steps-per-epoch",
                              "3", "--validation-steps", "1", "--image-size", "256",
                              "--backbone", "resnet50", "--images-per-gpu", "1"])
    config = coco_sample.make_config(args)
    assert (config.NAME, config.NUM_CLASSES, config.STEPS_PER_EPOCH, config.VALIDATION_STEPS,
            config.BACKBONE, config.BATCH_SIZE) == ("coco", 81, 3, 1, "resnet50", 1)
    assert config.IMAGE_SHAPE.tolist() == [256, 256, 3]
    inference = coco_sample.make_config(parser.parse_args(
        ["evaluate", "--dataset", "d", "--model", "coco"]))
    assert (inference.BATCH_SIZE, inference.DETECTION_MIN_CONFIDENCE) == (1, 0)


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--dataset", "/nonexistent/coco", "--model", "coco"], "no such directory"),
    (["evaluate", "--dataset", str(COCO_TINY), "--model", "/nonexistent/w.h5"],
     "no such weights file"),
    (["train", "--dataset", str(COCO_TINY), "--model", "coco", "--image-size", "100"],
     "multiple of 64"),
    (["evaluate", "--dataset", str(COCO_TINY), "--model", "coco", "--limit", "-1"], "--limit"),
])
def test_cli_errors_exit_before_building_a_model(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        coco_sample.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
