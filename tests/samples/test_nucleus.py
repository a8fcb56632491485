"""samples/nucleus/nucleus.py on ../shared/data/dsb2018_nucleus_subset: the subsets and masks
against the raw folders and index.tsv, Matterport's 25 validation ids, the Kaggle run-length
format (round trip, a pixel-by-pixel encoder, pycocotools' areas, the competition's example), overlap resolution in
mask_to_rle, and the train and detect command lines end to end."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from PIL import Image

from tests.paths import DATA_DIR, REPO_ROOT  # noqa: E402

ROOT = REPO_ROOT
DATA = DATA_DIR
NUCLEI = DATA / "dsb2018_nucleus_subset"
sys.path.insert(0, str(ROOT / "samples" / "nucleus"))
import nucleus  # noqa: E402
from tests.coco_layout import write_release_like_file  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def index():
    rows = {}
    for line in (NUCLEI / "index.tsv").read_text().splitlines():
        image_id, size, mode, count = line.split("\t")
        width, height = map(int, size.split("x"))
        rows[image_id] = (height, width, int(count))
    return rows


def load(subset):
    dataset = nucleus.NucleusDataset()
    dataset.load_nucleus(NUCLEI, subset)
    dataset.prepare()
    return dataset


def test_subsets_and_the_25_validation_ids():
    listed = (NUCLEI / "matterport_val_image_ids.txt").read_text().split()
    assert nucleus.VAL_IMAGE_IDS == listed and len(listed) == 25
    folders = sorted(p.name for p in (NUCLEI / "stage1_train").iterdir() if p.is_dir())
    train, val, everything = load("train"), load("val"), load("stage1_train")
    ids = {name: [info["id"] for info in d.image_info]
           for name, d in (("train", train), ("val", val), ("all", everything))}
    assert ids["val"] == listed
    assert ids["all"] == folders
    assert ids["train"] == sorted(set(folders) - set(listed))
    assert set(ids["train"]) | set(ids["val"]) == set(folders)
    assert ids["train"] == sorted((NUCLEI / "extra_train_image_ids.txt").read_text().split())
    assert train.class_names == ["BG", "nucleus"]
    c = nucleus.NucleusConfig()
    assert (c.STEPS_PER_EPOCH, c.VALIDATION_STEPS) == ((657 - 25) // 6, 4)
    assert c.IMAGE_RESIZE_MODE == "crop" and c.IMAGE_MIN_DIM == c.IMAGE_MAX_DIM == 512
    assert nucleus.NucleusInferenceConfig().IMAGE_RESIZE_MODE == "pad64"
    with pytest.raises(ValueError, match="subset must be one of"):
        nucleus.NucleusDataset().load_nucleus(NUCLEI, "test")


def test_masks_against_the_raw_pngs():
    rows = index()
    dataset = load("stage1_train")
    # Every image's mask count from its folder; the masks themselves of the small images and
    # the largest one (loading all 3,036 takes a while on a shared CPU).
    counts = {info["id"]: len(list((NUCLEI / "stage1_train" / info["id"] / "masks").glob("*.png")))
              for info in dataset.image_info}
    assert counts == {i: row[2] for i, row in rows.items()}
    assert sum(counts.values()) == 3036  # the data's README
    largest = max(dataset.image_ids, key=lambda i: rows[dataset.image_info[i]["id"]][0] *
                  rows[dataset.image_info[i]["id"]][1])
    chosen = [i for i in dataset.image_ids if rows[dataset.image_info[i]["id"]][0] <= 256][:8]
    for image_id in chosen + [largest]:
        info = dataset.image_info[image_id]
        height, width, count = rows[info["id"]]
        assert dataset.image_reference(image_id) == info["id"]
        image = dataset.load_image(image_id)
        assert image.shape == (height, width, 3)  # RGBA read as RGB
        masks, class_ids = dataset.load_mask(image_id)
        assert masks.shape == (height, width, count) and masks.dtype == bool
        assert class_ids.dtype == np.int32 and np.all(class_ids == 1)
        pngs = sorted((NUCLEI / "stage1_train" / info["id"] / "masks").glob("*.png"))
        assert len(pngs) == count
        for i in (0, count - 1):
            np.testing.assert_array_equal(masks[:, :, i], np.asarray(Image.open(pngs[i])) == 255)
        assert masks.reshape(-1, count).any(0).all()


def naive_rle(mask):
    """Kaggle's format by walking the pixels one by one down the columns."""
    pairs, run_start, number = [], None, 0
    for x in range(mask.shape[1]):
        for y in range(mask.shape[0]):
            number += 1
            if mask[y, x] and run_start is None:
                run_start = number
            if not mask[y, x] and run_start is not None:
                pairs += [run_start, number - run_start]
                run_start = None
    if run_start is not None:
        pairs += [run_start, number + 1 - run_start]
    return " ".join(map(str, pairs))


def test_rle_matches_the_kaggle_format_and_round_trips():
    # The competition's example: "1 3 10 5" is pixels 1, 2, 3 and 10..14, numbered down columns.
    example = nucleus.rle_decode("1 3 10 5", (6, 4))
    want = np.zeros(24, bool)
    want[[0, 1, 2, 9, 10, 11, 12, 13]] = True
    np.testing.assert_array_equal(example, want.reshape(4, 6).T)
    assert nucleus.rle_encode(example) == "1 3 10 5"

    dataset = load("val")
    for image_id in dataset.image_ids[:3]:
        masks, _ = dataset.load_mask(image_id)
        for i in range(0, masks.shape[-1], 7):
            mask = masks[:, :, i]
            rle = nucleus.rle_encode(mask)
            assert rle == naive_rle(mask)
            np.testing.assert_array_equal(nucleus.rle_decode(rle, mask.shape), mask)
        # Pixel counts agree with pycocotools' area.
        rles = mask_utils.encode(np.asfortranarray(masks.astype(np.uint8)))
        for i, area in enumerate(mask_utils.area(rles)):
            lengths = nucleus.rle_encode(masks[:, :, i]).split()[1::2]
            assert sum(map(int, lengths)) == area
    # Runs that touch both ends and cross columns.
    edge = np.ones((3, 2), bool)
    edge[1, 0] = False
    assert nucleus.rle_encode(edge) == naive_rle(edge) == "1 1 3 4"
    assert nucleus.rle_encode(np.zeros((3, 3))) == ""
    assert not nucleus.rle_decode("", (3, 3)).any()
    for bad, message in [("1 2 3", "pairs"), ("0 2", "1-based"), ("5 2 1 1", "sorted"),
                         ("8 5", "beyond")]:
        with pytest.raises(ValueError, match=message):
            nucleus.rle_decode(bad, (3, 3))
    with pytest.raises(ValueError, match="2-D"):
        nucleus.rle_encode(np.zeros((2, 2, 1)))


def test_mask_to_rle_gives_overlaps_to_the_higher_score():
    masks = np.zeros((8, 8, 3), bool)
    masks[1:5, 1:5, 0] = True
    masks[3:7, 3:7, 1] = True  # overlaps instance 0 on [3:5, 3:5]
    masks[0, 7, 2] = True
    lines = nucleus.mask_to_rle("img", masks, [0.5, 0.9, 0.7]).split("\n")
    assert [line.split(",")[0] for line in lines] == ["img"] * 3
    decoded = [nucleus.rle_decode(line.split(",")[1], (8, 8)) for line in lines]
    np.testing.assert_array_equal(decoded[0], masks[:, :, 1])  # highest score, whole
    np.testing.assert_array_equal(decoded[1], masks[:, :, 2])
    np.testing.assert_array_equal(decoded[2], masks[:, :, 0] & ~masks[:, :, 1])
    assert nucleus.mask_to_rle("img", np.zeros((8, 8, 0)), []) == "img,"
    # An instance entirely covered by a better one gets no line.
    covered = np.stack([masks[:, :, 0], masks[:, :, 0]], -1)
    assert len(nucleus.mask_to_rle("img", covered, [0.9, 0.8]).split("\n")) == 1
    with pytest.raises(ValueError, match="scores"):
        nucleus.mask_to_rle("img", masks, [0.5])


def test_train_then_detect_from_the_command_line(tmp_path, monkeypatch, capsys):
    weights = tmp_path / "mask_rcnn_coco.h5"
    write_release_like_file(weights)
    monkeypatch.setenv("MRCNN_COCO_MODEL_PATH", str(weights))
    logs = tmp_path / "logs"
    trained = nucleus.run(["train", "--dataset", str(NUCLEI), "--subset", "train", "--weights",
                           "coco", "--logs", str(logs), "--epochs", "2", "--steps-per-epoch",
                           "1", "--validation-steps", "1", "--images-per-gpu", "1",
                           "--image-size", "128"])
    out = capsys.readouterr().out
    assert "Train network heads to epoch 1" in out and "Train network all to epoch 2" in out
    assert trained["epoch"] == 2
    assert sorted(p.name for p in Path(trained["log_dir"]).glob("*.h5")) == [
        "mask_rcnn_nucleus_0001.h5", "mask_rcnn_nucleus_0002.h5"]

    made = nucleus.run(["detect", "--dataset", str(NUCLEI), "--subset", "val", "--weights",
                        "last", "--logs", str(logs), "--results", str(tmp_path / "results"),
                        "--limit", "1", "--image-size", "128"])
    submission = Path(made["submission"])
    assert submission.name == "submit.csv" and submission.parent.name.startswith("submit_")
    rows = list(csv.reader(submission.read_text().splitlines()))
    assert rows[0] == ["ImageId", "EncodedPixels"]
    assert {r[0] for r in rows[1:]} == {nucleus.VAL_IMAGE_IDS[0]}
    sizes = index()
    for image_id, rle in rows[1:]:
        height, width, _ = sizes[image_id]
        if rle:
            assert nucleus.rle_decode(rle, (height, width)).any()
    assert sorted(p.name for p in submission.parent.glob("*.png")) == sorted(
        f"{i}.png" for i in nucleus.VAL_IMAGE_IDS[:1])


def test_command_line_errors(tmp_path):
    def run(*argv):
        return subprocess.run([sys.executable, str(ROOT / "samples" / "nucleus" / "nucleus.py"),
                               *argv], capture_output=True, text=True, timeout=300)
    proc = run("train", "--dataset", str(NUCLEI), "--weights", "coco")
    assert proc.returncode == 2 and "Provide --subset" in proc.stderr
    proc = run("train", "--dataset", str(NUCLEI), "--subset", "val", "--weights", "coco")
    assert proc.returncode == 2 and "val is held out" in proc.stderr
    (tmp_path / "stage1_train").mkdir()
    proc = run("detect", "--dataset", str(tmp_path), "--subset", "val", "--weights", "none")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: 25 of the 25 validation images are not in")
    assert len(proc.stderr.strip().splitlines()) == 1
