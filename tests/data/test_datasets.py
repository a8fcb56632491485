"""mrcnn.datasets against the raw files: CocoFormatDataset on COCO tiny (masks against
pycocotools' own COCO API, crowds, any category ids, compressed RLE, bbox-only annotations,
images without annotations, errors) and the command line's dataset specs."""

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO

from mrcnn.datasets import CocoFormatDataset, load_dataset, parse_dataset_spec

from tests.paths import DATA_DIR

DATA = DATA_DIR
COCO_DIR = DATA / "coco_tiny"
VAL_JSON = COCO_DIR / "annotations" / "instances_val2017.json"
VAL_IMAGES = COCO_DIR / "val2017"


@pytest.fixture(scope="module")
def val_json():
    return json.loads(VAL_JSON.read_text())


def write_json(path, data):
    path.write_text(json.dumps(data))
    return path


def test_coco_tiny_masks_match_the_coco_api(val_json):
    ds = CocoFormatDataset(VAL_JSON, VAL_IMAGES)
    coco = COCO(str(VAL_JSON))
    assert ds.num_images == len(val_json["images"]) == 80
    assert ds.num_classes == 1 + len(val_json["categories"]) == 81
    assert ds.category_ids.tolist() == [0] + sorted(coco.getCatIds())
    total, crowds = 0, 0
    for image_id in ds.image_ids:
        info = ds.image_info[image_id]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=info["id"]))
        masks, class_ids = ds.load_mask(image_id)
        expected = [coco.annToMask(a).astype(bool) for a in anns]
        kept = [a for a, m in zip(anns, expected) if m.any()]
        assert masks.shape == (info["height"], info["width"], len(kept))
        assert masks.dtype == bool and class_ids.dtype == np.int32
        for i, (ann, mask) in enumerate(zip(kept, [m for m in expected if m.any()])):
            np.testing.assert_array_equal(masks[..., i], mask)
            cat = int(ds.category_ids[abs(class_ids[i])])
            assert cat == ann["category_id"]
            assert (class_ids[i] < 0) == bool(ann["iscrowd"])
        total += len(kept)
        crowds += int((class_ids < 0).sum())
    assert total == sum(1 for a in val_json["annotations"]
                        if coco.annToMask(a).any())
    assert crowds == sum(a["iscrowd"] for a in val_json["annotations"]) > 0


def test_any_category_ids_compressed_rle_and_background_images(tmp_path, val_json):
    """A labelling tool's export: category ids 1000, 1007, ...; compressed RLE; one image whose
    annotations were deleted; one bbox-only annotation."""
    coco = COCO(str(VAL_JSON))
    images = sorted(val_json["images"], key=lambda im: im["id"])[:4]
    ids = {im["id"] for im in images}
    remap = {c["id"]: 1000 + 7 * i for i, c in enumerate(val_json["categories"])}
    anns = []
    for a in val_json["annotations"]:
        if a["image_id"] not in ids or a["image_id"] == images[1]["id"]:
            continue
        a = dict(a, category_id=remap[a["category_id"]])
        rle = coco.annToRLE(a)
        a["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
        anns.append(a)
    bbox_only = dict(anns[0], id=10 ** 9, segmentation=[], bbox=[10.0, 20.0, 30.0, 40.0],
                     iscrowd=0)
    anns.append(bbox_only)
    cats = [dict(c, id=remap[c["id"]]) for c in val_json["categories"]]
    path = write_json(tmp_path / "export.json", {"images": images, "annotations": anns,
                                                 "categories": cats[::-1]})
    ds = CocoFormatDataset(path, VAL_IMAGES)
    assert ds.category_ids.tolist() == [0] + sorted(remap.values())
    assert ds.class_names[1:] == [c["name"] for c in val_json["categories"]]
    reference = CocoFormatDataset(VAL_JSON, VAL_IMAGES)
    ref_ids = {reference.image_info[i]["id"]: i for i in reference.image_ids}
    for image_id in ds.image_ids:
        info = ds.image_info[image_id]
        masks, class_ids = ds.load_mask(image_id)
        if info["id"] == images[1]["id"]:
            assert masks.shape == (info["height"], info["width"], 0) and class_ids.size == 0
            continue
        ref_masks, ref_class_ids = reference.load_mask(ref_ids[info["id"]])
        extra = int(info["id"] == bbox_only["image_id"])
        np.testing.assert_array_equal(masks[..., :masks.shape[-1] - extra], ref_masks)
        np.testing.assert_array_equal(class_ids[:len(ref_class_ids)], ref_class_ids)
        if extra:
            box = np.zeros(masks.shape[:2], dtype=bool)
            box[20:60, 10:40] = True
            np.testing.assert_array_equal(masks[..., -1], box)


def test_errors_name_the_problem(tmp_path, val_json):
    with pytest.raises(FileNotFoundError, match="annotation file not found"):
        CocoFormatDataset(tmp_path / "nope.json", VAL_IMAGES)
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        CocoFormatDataset(VAL_JSON, tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="80 of the 80 images .* are not in"):
        CocoFormatDataset(VAL_JSON, tmp_path)
    via_like = write_json(tmp_path / "via.json", {"a.jpg123": {"filename": "a.jpg"}})
    with pytest.raises(ValueError, match="not a COCO instances file"):
        CocoFormatDataset(via_like, VAL_IMAGES)
    bad = dict(val_json, annotations=[dict(val_json["annotations"][0], category_id=999)])
    with pytest.raises(ValueError, match="category_id 999, which is not in 'categories'"):
        CocoFormatDataset(write_json(tmp_path / "bad.json", bad), VAL_IMAGES)
    orphan = dict(val_json, annotations=[dict(val_json["annotations"][0], image_id=-5)])
    with pytest.raises(ValueError, match="name an image id that is not in 'images'"):
        CocoFormatDataset(write_json(tmp_path / "orphan.json", orphan), VAL_IMAGES)


def test_dataset_specs(tmp_path):
    kind, ann, images = parse_dataset_spec(f"coco:{VAL_JSON}:{VAL_IMAGES}")
    assert (kind, ann, images) == ("coco", str(VAL_JSON), str(VAL_IMAGES))
    ds = load_dataset(f"coco:{VAL_JSON}:{VAL_IMAGES}")
    assert isinstance(ds, CocoFormatDataset) and ds.num_images == 80
    kind, ann, images = parse_dataset_spec(f"via:{DATA / 'kudzu_via' / 'train'}")
    assert kind == "via" and ann.endswith("train/via_region_data.json")
    assert images == str(DATA / "kudzu_via" / "train")
    with pytest.raises(ValueError, match="expected coco:ANNOTATIONS.json:IMAGES_DIR or via:"):
        parse_dataset_spec("yolo:data.yaml")
    with pytest.raises(ValueError, match="expected coco:ANNOTATIONS.json:IMAGES_DIR"):
        parse_dataset_spec(f"coco:{VAL_JSON}")
    with pytest.raises(ValueError, match="annotation file not found"):
        parse_dataset_spec(f"coco:{tmp_path / 'x.json'}:{VAL_IMAGES}")
    with pytest.raises(ValueError, match="image folder not found"):
        parse_dataset_spec(f"coco:{VAL_JSON}:{tmp_path / 'x'}")


def test_via_dataset_on_kudzu_against_the_raw_json():
    import skimage.draw

    from mrcnn.datasets import ViaDataset
    folder = DATA / "kudzu_via"
    total = 0
    for subset in ("train", "val"):
        raw = json.loads((folder / subset / "via_region_data.json").read_text())
        ds = load_dataset(f"via:{folder / subset}")
        # train's regions name their class (region attribute "insect"); val's have none.
        assert ds.class_names == ["BG", "kudzu" if subset == "train" else "object"]
        ds = ViaDataset(folder / subset / "via_region_data.json", class_name="kudzu")
        assert ds.class_names == ["BG", "kudzu"]
        assert ds.num_images == len(raw)
        for image_id in ds.image_ids:
            entry = next(v for v in raw.values()
                         if v["filename"] == ds.image_info[image_id]["id"])
            regions = entry["regions"]
            regions = list(regions.values()) if isinstance(regions, dict) else regions
            masks, class_ids = ds.load_mask(image_id)
            image = ds.load_image(image_id)
            assert masks.shape == image.shape[:2] + (len(regions),)
            assert (class_ids == 1).all()
            for i, region in enumerate(regions):
                shape = region["shape_attributes"]
                expected = np.zeros(image.shape[:2], dtype=bool)
                rr, cc = skimage.draw.polygon(shape["all_points_y"], shape["all_points_x"],
                                              shape=image.shape[:2])
                expected[rr, cc] = True
                np.testing.assert_array_equal(masks[..., i], expected)
            total += len(regions)
    assert total == 869
    with pytest.raises(FileNotFoundError, match="are not in"):
        ViaDataset(folder / "train" / "via_region_data.json", folder / "val")


def test_via_single_class_names_every_region():
    """kudzu_via: train regions are named "kudzu" in their attributes, val ones are not; with
    single_class both splits are the one class given, and every region keeps its mask."""
    from mrcnn.datasets import load_dataset
    root = DATA_DIR / "kudzu_via"
    by_attributes = [load_dataset(f"via:{root / s}") for s in ("train", "val")]
    assert [d.class_names for d in by_attributes] == [["BG", "kudzu"], ["BG", "object"]]
    single = [load_dataset(f"via:{root / s}", class_name="kudzu") for s in ("train", "val")]
    for plain, one in zip(by_attributes, single):
        assert one.class_names == ["BG", "kudzu"]
        mask, class_ids = one.load_mask(0)
        assert np.array_equal(mask, plain.load_mask(0)[0]) and set(class_ids) == {1}
    with pytest.raises(ValueError, match="via: datasets only"):
        load_dataset(f"coco:{DATA_DIR / 'coco_tiny' / 'annotations' / 'instances_val2017.json'}:"
                     f"{DATA_DIR / 'coco_tiny' / 'val2017'}", class_name="x")
