"""mrcnn.via on the real VIA 1.x export of ../shared/data/kudzu_via, the same data rewritten in the
VIA 1.x dict-regions and VIA 2.x project layouts, and regions of every shape checked against
pycocotools and independent pixel-centre tests."""

import json
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import skimage.draw
from PIL import Image

from mrcnn.via import (ViaFormatError, load_via_annotations, region_class_name, region_to_mask,
                       regions_to_masks)

ROOT = Path(__file__).resolve().parents[1]
KUDZU = ROOT.parent / "shared" / "data" / "kudzu_via"


def raw(subset):
    with open(KUDZU / subset / "via_region_data.json") as f:
        return json.load(f)


@pytest.mark.parametrize("subset", ["train", "val"])
def test_records_match_the_raw_file(subset):
    data = raw(subset)
    records = load_via_annotations(KUDZU / subset / "via_region_data.json")
    assert [r["filename"] for r in records] == [v["filename"] for v in data.values()]
    for record, entry in zip(records, data.values()):
        assert len(record["regions"]) == len(entry["regions"])
        assert record["size"] == entry["size"]
        assert Path(record["path"]) == KUDZU / subset / entry["filename"]
        assert Path(record["path"]).is_file()
        for region, want in zip(record["regions"], entry["regions"]):
            assert region["shape_attributes"] == want["shape_attributes"]
    # The data's README: 869 polygon instances over both splits.
    if subset == "val":
        total = sum(len(r["regions"]) for s in ("train", "val")
                    for r in load_via_annotations(KUDZU / s / "via_region_data.json"))
        assert total == 869


def test_class_names_from_region_attributes():
    train = load_via_annotations(KUDZU / "train" / "via_region_data.json")
    # {"inseto": "kudzu", "insect": "kudzu"}: two attributes, one name.
    assert {g["class_name"] for r in train for g in r["regions"]} == {"kudzu"}
    assert {g["class_name"] for r in load_via_annotations(
        KUDZU / "train" / "via_region_data.json", class_attribute="insect")
        for g in r["regions"]} == {"kudzu"}
    val = load_via_annotations(KUDZU / "val" / "via_region_data.json")
    assert {g["class_name"] for r in val for g in r["regions"]} == {None}  # attributes are {}
    assert region_class_name({"type": {"balloon": True, "kite": False}}) == "balloon"
    assert region_class_name({"name": "", "other": "x"}, attribute="name") is None
    with pytest.raises(ViaFormatError, match="several class names"):
        region_class_name({"a": "cat", "b": "dog"})
    with pytest.raises(ViaFormatError, match="several options ticked"):
        region_class_name({"type": {"cat": True, "dog": True}})


def test_polygons_rasterise_as_skimage_and_close_to_pycocotools():
    ious = []
    for subset in ("train", "val"):
        for record in load_via_annotations(KUDZU / subset / "via_region_data.json"):
            width, height = Image.open(record["path"]).size
            masks = regions_to_masks(record["regions"], height, width)
            assert masks.shape == (height, width, len(record["regions"]))
            assert masks.dtype == bool
            for i, region in enumerate(record["regions"]):
                shape = region["shape_attributes"]
                xs, ys = shape["all_points_x"], shape["all_points_y"]
                # skimage's other rasteriser (polygon2mask takes (row, col) vertices).
                want = skimage.draw.polygon2mask((height, width), np.stack([ys, xs], axis=1))
                np.testing.assert_array_equal(masks[:, :, i], want)
                # COCO polygons put pixel centres at +0.5 (pixel i spans [i, i + 1)), VIA and
                # skimage at integers.
                coco = [float(v) + 0.5 for xy in zip(xs, ys) for v in xy]
                other = mask_utils.decode(mask_utils.frPyObjects([coco], height, width))
                other = other[:, :, 0].astype(bool)
                inter = np.logical_and(masks[:, :, i], other).sum()
                ious.append(inter / np.logical_or(masks[:, :, i], other).sum())
    assert len(ious) == 869
    # The two rasterisers differ on boundary pixels only (a few pixels of the smallest leaves).
    assert np.median(ious) > 0.93
    assert min(ious) > 0.5


def test_rect_matches_pycocotools_and_circle_ellipse_cover_pixel_centres():
    height, width = 60, 80
    for x, y, w, h in [(3, 4, 10, 7), (0, 0, 80, 60), (10.4, 5.6, 7.2, 3.3), (70, 50, 30, 30)]:
        mask = region_to_mask({"shape_attributes": {"name": "rect", "x": x, "y": y,
                                                    "width": w, "height": h}}, height, width)
        poly = [x, y, x + w, y, x + w, y + h, x, y + h]
        want = mask_utils.decode(mask_utils.frPyObjects([poly], height, width))[:, :, 0]
        np.testing.assert_array_equal(mask, want.astype(bool))

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    circle = region_to_mask({"name": "circle", "cx": 30.5, "cy": 20.0, "r": 9.3}, height, width)
    want = (xx - 30.5) ** 2 + (yy - 20.0) ** 2 < 9.3 ** 2
    np.testing.assert_array_equal(circle, want)

    for theta in (0.0, 0.6, -1.2):
        shape = {"name": "ellipse", "cx": 40.0, "cy": 30.0, "rx": 20.0, "ry": 6.0,
                 "theta": theta}
        ellipse = region_to_mask(shape, height, width)
        # VIA's theta turns the x axis of the ellipse clockwise on screen (y points down).
        dx, dy = xx - 40.0, yy - 30.0
        u = dx * np.cos(theta) + dy * np.sin(theta)
        v = -dx * np.sin(theta) + dy * np.cos(theta)
        want = (u / 20.0) ** 2 + (v / 6.0) ** 2 < 1.0
        # Pixels whose centre is within rounding of the boundary may go either way.
        assert (ellipse != want).sum() <= 0.02 * want.sum()
        assert ellipse.sum() > 0.9 * np.pi * 20 * 6
    # A shape partly outside the image is cut off, not an IndexError.
    edge = region_to_mask({"name": "polygon", "all_points_x": [-5, 10, 10],
                           "all_points_y": [-5, -5, 8]}, 5, 5)
    assert edge.shape == (5, 5) and edge.any()


def test_via1_dict_regions_and_via2_project_give_the_same_masks(tmp_path):
    data = raw("train")
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    v1 = {k: dict(v, regions={str(i): r for i, r in enumerate(v["regions"])})
          for k, v in data.items()}
    (tmp_path / "v1" / "via_region_data.json").write_text(json.dumps(v1))
    project = {"_via_settings": {"ui": {}}, "_via_img_metadata": data,
               "_via_attributes": {"region": {}, "file": {}}, "_via_data_format_version": "2.0.10"}
    (tmp_path / "v2" / "project.json").write_text(json.dumps(project))
    want = load_via_annotations(KUDZU / "train" / "via_region_data.json")
    for path in (tmp_path / "v1" / "via_region_data.json", tmp_path / "v2" / "project.json"):
        got = load_via_annotations(path)
        assert [r["filename"] for r in got] == [r["filename"] for r in want]
        for a, b in zip(got, want):
            assert len(a["regions"]) == len(b["regions"])
            np.testing.assert_array_equal(regions_to_masks(a["regions"], 300, 400),
                                          regions_to_masks(b["regions"], 300, 400))


def test_bad_files_and_regions_fail_with_a_message(tmp_path):
    def write(obj, name="a.json"):
        path = tmp_path / name
        path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    with pytest.raises(FileNotFoundError, match="VIA annotation file not found"):
        load_via_annotations(tmp_path / "missing.json")
    with pytest.raises(ViaFormatError, match="not valid JSON"):
        load_via_annotations(write("{"))
    with pytest.raises(ViaFormatError, match="VIA 3.x project"):
        load_via_annotations(write({"project": {}, "config": {}, "attribute": {},
                                    "file": {}, "metadata": {}, "view": {}}))
    with pytest.raises(ViaFormatError, match="not a VIA image record"):
        load_via_annotations(write({"images": [], "annotations": []}))
    point = {"x.jpg1": {"filename": "x.jpg", "size": 1, "file_attributes": {},
                        "regions": [{"shape_attributes": {"name": "point", "cx": 1, "cy": 2},
                                     "region_attributes": {}}]}}
    with pytest.raises(ViaFormatError, match=r"x.jpg: region 0: region shape 'point'"):
        load_via_annotations(write(point))
    short = {"x.jpg1": {"filename": "x.jpg", "size": 1, "file_attributes": {},
                        "regions": [{"shape_attributes": {"name": "polygon",
                                                          "all_points_x": [1, 2, 3]},
                                     "region_attributes": {}}]}}
    with pytest.raises(ViaFormatError, match="polygon region lacks all_points_y"):
        load_via_annotations(write(short))
    mixed = {"x.jpg1": {"filename": "x.jpg", "size": 1, "file_attributes": {},
                        "regions": [{"shape_attributes": {"name": "circle", "cx": 1, "cy": 1,
                                                          "r": 1},
                                     "region_attributes": {"a": "cat", "b": "dog"}}]}}
    with pytest.raises(ViaFormatError, match="class_attribute"):
        load_via_annotations(write(mixed))
    empty = {"x.jpg1": {"filename": "x.jpg", "size": 1, "file_attributes": {}, "regions": []}}
    assert load_via_annotations(write(empty))[0]["regions"] == []
    with pytest.raises(ValueError, match="positive integers"):
        region_to_mask({"name": "circle", "cx": 1, "cy": 1, "r": 1}, 0, 5)
