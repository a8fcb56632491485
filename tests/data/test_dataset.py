"""mrcnn.dataset.Dataset with a small nucleus Dataset subclass on the real DSB2018 subset."""

import logging
from pathlib import Path

import numpy as np
import pytest
import skimage.io
from PIL import Image

from mrcnn.boxes import extract_bboxes
from mrcnn.dataset import Dataset
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
SUBSET = DATA / "dsb2018_nucleus_subset"


def _index():
    rows = [line.split("\t") for line in (SUBSET / "index.tsv").read_text().splitlines()
            if line.strip()]
    return {r[0]: (r[1], int(r[3])) for r in rows}  # id -> ("WxH", mask count)


class NucleusDataset(Dataset):
    """Like Matterport's nucleus sample: one class, masks from one PNG per nucleus."""

    def load_nucleus(self, image_ids):
        self.add_class("nucleus", 1, "nucleus")
        for image_id in image_ids:
            self.add_image("nucleus", image_id=image_id,
                           path=str(SUBSET / "stage1_train" / image_id / "images" /
                                    f"{image_id}.png"))

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        mask_dir = Path(info["path"]).parents[1] / "masks"
        mask = np.stack([skimage.io.imread(f) > 0 for f in sorted(mask_dir.glob("*.png"))], -1)
        return mask, np.ones([mask.shape[-1]], dtype=np.int32)

    def image_reference(self, image_id):
        return self.image_info[image_id]["id"]


@pytest.fixture(scope="module")
def ids():
    return sorted(_index())[:3]


@pytest.fixture
def dataset(ids):
    ds = NucleusDataset()
    ds.load_nucleus(ids)
    ds.add_class("nucleus", 1, "duplicate ignored")
    ds.add_class("other", 7, "cat, feline")
    ds.prepare()
    return ds


def test_prepare_builds_the_maps(dataset, ids):
    assert dataset.num_classes == 3 and dataset.class_names == ["BG", "nucleus", "cat"]
    np.testing.assert_array_equal(dataset.class_ids, np.arange(3))
    assert dataset.num_images == len(ids)
    np.testing.assert_array_equal(dataset.image_ids, np.arange(len(ids)))
    assert dataset.class_from_source_map == {".0": 0, "nucleus.1": 1, "other.7": 2}
    assert dataset.image_from_source_map == {f"nucleus.{i}": n for n, i in enumerate(ids)}
    assert dataset.sources == ["", "nucleus", "other"]
    assert dataset.source_class_ids == {"": [0], "nucleus": [0, 1], "other": [0, 2]}
    assert dataset.map_source_class_id("other.7") == 2
    assert dataset.get_source_class_id(2, "other") == 7
    with pytest.raises(ValueError, match="belongs to source"):
        dataset.get_source_class_id(2, "nucleus")
    assert dataset.source_image_link(1).endswith(f"{ids[1]}.png")
    assert dataset.image_reference(0) == ids[0]


def test_add_class_rejects_dotted_sources():
    with pytest.raises(ValueError, match="dot"):
        Dataset().add_class("my.source", 1, "x")


def test_load_image_drops_alpha_and_masks_match(dataset, ids):
    index = _index()
    for n, image_id in enumerate(ids):
        raw = skimage.io.imread(dataset.image_info[n]["path"])
        assert raw.shape[-1] == 4  # the files are RGBA
        image = dataset.load_image(n)
        width, height = (int(v) for v in index[image_id][0].split("x"))
        assert image.shape == (height, width, 3) and image.dtype == np.uint8
        np.testing.assert_array_equal(image, raw[..., :3])
        mask, class_ids = dataset.load_mask(n)
        assert mask.shape == (height, width, index[image_id][1]) and mask.dtype == bool
        assert class_ids.dtype == np.int32 and (class_ids == 1).all()
        boxes = extract_bboxes(mask)
        assert ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all()


def test_load_image_grayscale_and_16_bit(dataset, tmp_path):
    rgb = dataset.load_image(0)
    gray = rgb[..., 0]
    skimage.io.imsave(tmp_path / "gray.png", gray, check_contrast=False)
    wide = gray.astype(np.uint16) * 257  # 16-bit with the same content
    skimage.io.imsave(tmp_path / "gray16.png", wide, check_contrast=False)
    ds = Dataset()
    for name in ("gray.png", "gray16.png"):
        ds.add_image("files", image_id=name, path=str(tmp_path / name))
    ds.prepare()
    assert skimage.io.imread(tmp_path / "gray16.png").dtype == np.uint16
    expected_gray = np.repeat(gray[..., None], 3, axis=-1)
    for n in range(2):
        image = ds.load_image(n)
        assert image.dtype == np.uint8 and image.shape == rgb.shape
        np.testing.assert_array_equal(image, expected_gray)


def test_load_image_converts_cmyk_and_la_files_to_rgb(tmp_path):
    """Real photo written by Pillow as a CMYK JPEG and a gray+alpha PNG."""
    photo = skimage.io.imread(DATA / "matterport_demo_images" / "images" /
                              "2502287818_41e4b0c4fb_z.jpg")
    Image.fromarray(photo).save(tmp_path / "rgb.jpg", quality=90)
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=90)
    Image.fromarray(photo).convert("LA").save(tmp_path / "la.png")
    ds = Dataset()
    for name in ("rgb.jpg", "cmyk.jpg", "la.png"):
        ds.add_image("files", image_id=name, path=str(tmp_path / name))
    ds.prepare()
    rgb, cmyk, la = (ds.load_image(i) for i in range(3))
    assert rgb.shape == cmyk.shape == la.shape == photo.shape
    assert cmyk.dtype == la.dtype == np.uint8
    jpeg_error = np.abs(rgb.astype(int) - photo).mean()
    assert np.abs(cmyk.astype(int) - photo).mean() < max(4 * jpeg_error, 2.0)
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    np.testing.assert_array_equal(la, np.dstack([gray] * 3))


def test_load_image_unreadable_path_names_it(tmp_path):
    ds = Dataset()
    ds.add_image("files", image_id="x", path=str(tmp_path / "nope.png"))
    ds.prepare()
    with pytest.raises(OSError, match="nope.png"):
        ds.load_image(0)


def test_default_load_mask_warns_and_is_empty(caplog):
    ds = Dataset()
    ds.add_image("files", image_id="x", path="unused")
    ds.prepare()
    with caplog.at_level(logging.WARNING, logger="mrcnn"):
        mask, class_ids = ds.load_mask(0)
    assert "default load_mask()" in caplog.text
    assert mask.shape == (0, 0, 0) and class_ids.shape == (0,) and class_ids.dtype == np.int32
