"""pycocotools' own evaluation fixtures through mrcnn.evaluation.evaluate_coco_results.

The expected numbers are read from the fixture files: ``pycocotools_full_precision_stats.txt``
(the 12 stats at full precision, from pycocotools 2.0.11) and ``results/val2014_fake_eval_res.txt``
(the ``summarize()`` output published with cocoapi, 3 decimals).
"""

import copy
import json
import re

import numpy as np
import pytest

from mrcnn.evaluation import (STAT_NAMES, detections_to_coco_results, encode_masks,
                              evaluate_coco_results)
from tests.paths import DATA_DIR, REPO_ROOT

# pycocotools 2.0.11 + NumPy 2 warn inside mask.decode; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

ROOT = REPO_ROOT
DATA = DATA_DIR
FIXTURES = DATA / "cocoapi_fixtures"
GT_FILE = FIXTURES / "instances_val2014_100.json"
RESULTS = {t: FIXTURES / "results" / f"instances_val2014_fake{t}100_results.json"
           for t in ("bbox", "segm")}


def full_precision_stats():
    """{'bbox': [12 floats], 'segm': [...]} and the image ids, from the full-precision file."""
    stats, image_ids = {}, None
    for line in (FIXTURES / "pycocotools_full_precision_stats.txt").read_text().splitlines():
        if line.startswith("# image ids:"):
            image_ids = json.loads(line.split(":", 1)[1])
        m = re.match(r"^(bbox|segm) (\[.*\])$", line.strip())
        if m:
            stats[m.group(1)] = json.loads(m.group(2))
    assert set(stats) == {"bbox", "segm"} and image_ids
    return stats, image_ids


def published_stats():
    """{'bbox': [12 floats], 'segm': [...]} from cocoapi's published summarize() output."""
    stats, current = {}, None
    for line in (FIXTURES / "results" / "val2014_fake_eval_res.txt").read_text().splitlines():
        m = re.match(r"^type=(\w+)", line.strip())
        if m:
            current = m.group(1)
            stats[current] = []
        m = re.search(r"\] = (-?\d+\.\d+)$", line.strip())
        if m and current:
            stats[current].append(float(m.group(1)))
    return stats


@pytest.fixture(scope="module")
def gt():
    from pycocotools.coco import COCO
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(GT_FILE))


@pytest.mark.parametrize("eval_type", ["bbox", "segm"])
def test_fixtures_reproduce_pycocotools_numbers_exactly(gt, eval_type, capsys):
    expected, image_ids = full_precision_stats()
    assert image_ids == sorted(gt.getImgIds()) and len(image_ids) == 100
    results = json.loads(RESULTS[eval_type].read_text())
    before = copy.deepcopy(results[:3])

    stats = evaluate_coco_results(gt, results, eval_type, image_ids=image_ids, verbose=True)

    assert stats.shape == (12,) and stats.dtype == np.float64
    # pycocotools' full-precision numbers, up to the last bit of float64 summation order
    # (NumPy 2.0 and 2.4 differ there).
    np.testing.assert_allclose(stats, expected[eval_type], rtol=1e-14, atol=0)
    published = published_stats()[eval_type]
    assert len(published) == 12
    np.testing.assert_allclose(stats, published, atol=5e-4 + 1e-12)  # 3 printed decimals
    headline = {"bbox": 0.505, "segm": 0.320}[eval_type]
    assert round(stats[STAT_NAMES.index("AP")], 3) == headline
    # The 12 lines of summarize() are printed, and the caller's dicts are not modified.
    out = capsys.readouterr().out
    assert out.count("Average Precision") == 6 and out.count("Average Recall") == 6
    assert results[:3] == before


def test_file_paths_and_quiet_mode(capsys):
    expected, _ = full_precision_stats()
    stats = evaluate_coco_results(GT_FILE, RESULTS["bbox"], "bbox", verbose=False)
    np.testing.assert_allclose(stats, expected["bbox"], rtol=1e-14, atol=0)
    assert capsys.readouterr().out == ""


def test_image_subset_changes_the_numbers(gt):
    _, image_ids = full_precision_stats()
    results = json.loads(RESULTS["bbox"].read_text())
    full = evaluate_coco_results(gt, results, "bbox", verbose=False)
    half = evaluate_coco_results(gt, results, "bbox", image_ids=image_ids[:50], verbose=False)
    assert not np.allclose(full, half)


def test_roundtrip_through_detections_to_coco_results(gt):
    """Fixture segm results decoded to masks and re-encoded score exactly the same."""
    from pycocotools import mask as mask_utils
    expected, _ = full_precision_stats()
    results = json.loads(RESULTS["segm"].read_text())
    by_image = {}
    for r in results:
        by_image.setdefault(r["image_id"], []).append(r)
    rebuilt = []
    for image_id, rs in by_image.items():
        masks = np.stack([mask_utils.decode(r["segmentation"]) for r in rs], axis=-1).astype(bool)
        rles = [dict(r["segmentation"], counts=r["segmentation"]["counts"].encode())
                for r in rs]
        x, y, w, h = mask_utils.toBbox(rles).T
        rois = np.stack([y, x, y + h, x + w], axis=1).astype(np.int32)
        out = detections_to_coco_results(np.int64(image_id), rois,
                                         np.array([r["category_id"] for r in rs], np.int32),
                                         np.array([r["score"] for r in rs], np.float32), masks)
        json.dumps(out)  # JSON-serialisable
        assert all(isinstance(o["image_id"], int) for o in out)
        rebuilt.extend(out)
    stats = evaluate_coco_results(gt, rebuilt, "segm", verbose=False)
    np.testing.assert_allclose(stats, expected["segm"], atol=1e-6)


def test_empty_results_give_zero_ap(gt):
    stats = evaluate_coco_results(gt, [], "segm", verbose=False)
    assert stats.shape == (12,)
    assert np.all(stats[:3] == 0) and np.all(stats[6:9] == 0)


def test_bad_input_raises_clear_errors(gt):
    results = json.loads(RESULTS["bbox"].read_text())
    with pytest.raises(ValueError, match="eval_type"):
        evaluate_coco_results(gt, results, "keypoints")
    with pytest.raises(ValueError, match="not in the ground truth"):
        evaluate_coco_results(gt, [dict(results[0], image_id=-5)], "bbox")
    with pytest.raises(ValueError, match="categories"):
        evaluate_coco_results(gt, [dict(results[0], category_id=12)], "bbox")  # 12 is unused
    with pytest.raises(ValueError, match="segmentation"):
        evaluate_coco_results(gt, results, "segm")  # bbox-only results
    with pytest.raises(ValueError, match="image_ids"):
        evaluate_coco_results(gt, results, "bbox", image_ids=[1, 2])


def test_detections_to_coco_results_format_and_errors():
    masks = np.zeros([6, 8, 2], dtype=bool)
    masks[1:3, 2:5, 0] = True
    masks[4:6, 0:8, 1] = True
    rois = np.array([[1, 2, 3, 5], [4, 0, 6, 8]], np.int32)
    out = detections_to_coco_results(7, rois, np.array([3, 1], np.int32),
                                     np.array([0.9, 0.5], np.float32), masks,
                                     category_ids={1: 11, 3: 33})
    assert [o["category_id"] for o in out] == [33, 11]
    assert out[0]["bbox"] == [2.0, 1.0, 3.0, 2.0] and out[1]["bbox"] == [0.0, 4.0, 8.0, 2.0]
    assert out[0]["segmentation"]["size"] == [6, 8]
    assert isinstance(out[0]["segmentation"]["counts"], str)
    assert out[0]["score"] == pytest.approx(0.9)
    json.dumps(out)
    assert detections_to_coco_results(7, None, None, None, None) == []
    empty = detections_to_coco_results(7, np.zeros([0, 4], np.int32), np.zeros([0], np.int32),
                                       np.zeros([0], np.float32), np.zeros([6, 8, 0], bool))
    assert empty == []
    no_masks = detections_to_coco_results(7, rois, [1, 1], [0.5, 0.5], None)
    assert "segmentation" not in no_masks[0]
    with pytest.raises(ValueError, match="one entry per detection"):
        detections_to_coco_results(7, rois, [1], [0.5, 0.5], masks)
    with pytest.raises(ValueError, match="masks must be"):
        detections_to_coco_results(7, rois, [1, 1], [0.5, 0.5], masks[..., :1])
    with pytest.raises(ValueError, match="category_ids"):
        detections_to_coco_results(7, rois, [1, 2], [0.5, 0.5], masks, category_ids={1: 1})
    with pytest.raises(ValueError, match=r"\[H, W, N\]"):
        encode_masks(masks[..., 0])
