"""mrcnn.image: read_image, resize, resize_image (4 modes), mold_image / unmold_image, on real
photos."""

import random

import numpy as np
import pytest
import skimage.io
import skimage.transform
from PIL import Image

from mrcnn.config import Config
from mrcnn.image import (mold_image, read_image, resize, resize_image, to_pixel_range,
                         unmold_image)
from tests.local_http import serve
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
PHOTOS = DATA / "matterport_demo_images" / "images"


@pytest.fixture(scope="module")
def photo():
    # A landscape photo (375 x 500) and a portrait one (640 x 425).
    return skimage.io.imread(PHOTOS / "12283150_12d37e6389_z.jpg")


@pytest.fixture(scope="module")
def portrait():
    return skimage.io.imread(PHOTOS / "2502287818_41e4b0c4fb_z.jpg")


def _bilinear(image, shape):
    """Independent reference: skimage bilinear resize, no anti-aliasing, cast back."""
    out = skimage.transform.resize(image, shape, order=1, mode="constant", cval=0, clip=True,
                                   preserve_range=True, anti_aliasing=False)
    return out.astype(image.dtype)


def test_resize_matches_skimage_with_matterport_defaults(photo):
    out = resize(photo, (100, 130), preserve_range=True)
    ref = skimage.transform.resize(photo, (100, 130), order=1, mode="constant",
                                   preserve_range=True, anti_aliasing=False)
    assert out.shape == (100, 130, 3)
    np.testing.assert_array_equal(out, ref)
    # Default preserve_range=False scales uint8 to [0, 1].
    assert resize(photo, (10, 10)).max() <= 1.0


def test_resize_accepts_bool_masks_bilinearly():
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    out = resize(mask, (16, 16))
    ref = skimage.transform.resize(mask.astype(np.float64), (16, 16), order=1, mode="constant",
                                   anti_aliasing=False)
    np.testing.assert_array_equal(out, ref)
    with pytest.raises(ValueError, match="positive"):
        resize(mask, (0, 5))


def test_none_mode_returns_image_unchanged(photo):
    image, window, scale, padding, crop = resize_image(photo, 800, 1024, mode="none")
    assert image is photo or np.array_equal(image, photo)
    assert window == (0, 0, photo.shape[0], photo.shape[1])
    assert scale == 1 and padding == [(0, 0)] * 3 and crop is None


@pytest.mark.parametrize("min_dim,max_dim,min_scale", [(800, 1024, 0), (None, 256, None),
                                                       (100, 320, 1.3), (200, 640, None)])
def test_square_mode(photo, portrait, min_dim, max_dim, min_scale):
    for img in (photo, portrait):
        h, w = img.shape[:2]
        # Independent scale: the rules of the reference, step by step.
        s = max(1, min_dim / min(h, w)) if min_dim else 1
        if min_scale and s < min_scale:
            s = min_scale
        if round(max(h, w) * s) > max_dim:
            s = max_dim / max(h, w)
        nh, nw = round(h * s), round(w * s)
        top, left = (max_dim - nh) // 2, (max_dim - nw) // 2

        image, window, scale, padding, crop = resize_image(img, min_dim, max_dim, min_scale,
                                                           mode="square")
        assert image.shape == (max_dim, max_dim, 3) and image.dtype == np.uint8
        assert scale == pytest.approx(s)
        assert window == (top, left, top + nh, left + nw)
        assert padding == [(top, max_dim - nh - top), (left, max_dim - nw - left), (0, 0)]
        assert crop is None
        inside = image[top:top + nh, left:left + nw]
        expected = img if s == 1 else _bilinear(img, (nh, nw))
        np.testing.assert_array_equal(inside, expected)
        outside = np.ones(image.shape[:2], bool)
        outside[top:top + nh, left:left + nw] = False
        assert not image[outside].any()


def test_pad64_mode(photo, portrait):
    for img in (photo, portrait):
        h, w = img.shape[:2]
        image, window, scale, padding, crop = resize_image(img, min_dim=256, max_dim=1024,
                                                           mode="pad64")
        assert scale == 1 and crop is None  # min side >= 256: no resize
        H, W = image.shape[:2]
        assert H % 64 == 0 and W % 64 == 0 and H - h < 64 and W - w < 64
        (top, bottom), (left, right), _ = padding
        assert top + bottom == H - h and left + right == W - w
        assert 0 <= bottom - top <= 1 and 0 <= right - left <= 1
        assert window == (top, left, top + h, left + w)
        np.testing.assert_array_equal(image[top:top + h, left:left + w], img)
        assert image.sum() == img.astype(np.int64).sum()

    # Upscaling: min_dim 768 on the 375-pixel side.
    image, window, scale, padding, _ = resize_image(photo, min_dim=768, mode="pad64")
    nh, nw = round(375 * 768 / 375), round(500 * 768 / 375)
    assert scale == pytest.approx(768 / 375)
    assert window[2] - window[0] == nh and window[3] - window[1] == nw
    assert image.shape[0] % 64 == 0 and image.shape[1] % 64 == 0


def test_pad64_requires_min_dim_multiple_of_64(photo):
    with pytest.raises(ValueError, match="multiple of 64"):
        resize_image(photo, min_dim=800, mode="pad64")
    with pytest.raises(ValueError, match="multiple of 64"):
        resize_image(photo, mode="pad64")


def test_crop_mode_is_a_random_crop_of_the_scaled_image(photo):
    min_dim = 512
    s = min_dim / 375
    scaled = _bilinear(photo, (round(375 * s), round(500 * s)))
    crops = set()
    for seed in range(6):
        random.seed(seed)
        image, window, scale, padding, crop = resize_image(photo, min_dim=min_dim, max_dim=1024,
                                                           mode="crop")
        assert image.shape == (min_dim, min_dim, 3) and image.dtype == np.uint8
        assert window == (0, 0, min_dim, min_dim) and scale == pytest.approx(s)
        y, x, ch, cw = crop
        assert (ch, cw) == (min_dim, min_dim)
        assert 0 <= y <= scaled.shape[0] - min_dim and 0 <= x <= scaled.shape[1] - min_dim
        np.testing.assert_array_equal(image, scaled[y:y + ch, x:x + cw])
        crops.add(crop)
        # Seeding Python's random makes it repeatable.
        random.seed(seed)
        assert resize_image(photo, min_dim=min_dim, mode="crop")[4] == crop
    assert len(crops) > 1


def test_bad_modes_and_missing_sizes(photo):
    with pytest.raises(ValueError, match="not supported"):
        resize_image(photo, 800, 1024, mode="squash")
    with pytest.raises(ValueError, match="max_dim"):
        resize_image(photo, 800, None, mode="square")
    with pytest.raises(ValueError, match="min_dim"):
        resize_image(photo, None, 1024, mode="crop")


def test_output_keeps_dtype(photo):
    for dtype in (np.float32, np.uint16, np.float64):
        img = photo.astype(dtype)
        image = resize_image(img, 400, 512, mode="square")[0]
        assert image.dtype == dtype and image.shape == (512, 512, 3)


def test_grayscale_2d_image(photo):
    gray = photo[..., 0]
    image, window, scale, padding, _ = resize_image(gray, 200, 256, mode="square")
    assert image.shape == (256, 256)
    y1, x1, y2, x2 = window
    np.testing.assert_array_equal(image[y1:y2, x1:x2],
                                  _bilinear(gray, (y2 - y1, x2 - x1)))


class _Cfg(Config):
    NAME = "t"


def test_mold_and_unmold_image(photo):
    config = _Cfg()
    molded = mold_image(photo, config)
    assert molded.dtype == np.float32 and molded.shape == photo.shape
    expected = photo.astype(np.float64) - np.asarray(config.MEAN_PIXEL)
    np.testing.assert_allclose(molded, expected, atol=1e-4)
    # Batch of images works too, and the round trip is exact.
    batch = np.stack([photo, photo[::-1]])
    back = unmold_image(mold_image(batch, config), config)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, batch)
    # Out-of-range values are clipped, not wrapped around.
    weird = np.array([[[-200.0, 300.0, 0.4]]], np.float32)
    out = unmold_image(weird, config)
    mean = np.asarray(config.MEAN_PIXEL)
    assert out[0, 0, 0] == 0 and out[0, 0, 1] == 255 and out[0, 0, 2] == round(0.4 + mean[2])


def test_mold_image_channel_mismatch(photo):
    with pytest.raises(ValueError, match="MEAN_PIXEL"):
        mold_image(np.dstack([photo, photo[..., :1]]), _Cfg())


# ------------------------------------------------------------------------------------------------
# read_image: files in other colour modes, written with Pillow from a real photo
def _mean_error(image, reference):
    return float(np.abs(image.astype(np.int64) - reference.astype(np.int64)).mean())


def test_read_image_converts_cmyk_palette_la_and_1_bit_files_to_rgb(photo, tmp_path):
    original = Image.fromarray(photo)
    original.save(tmp_path / "rgb.jpg", quality=90)
    jpeg_error = _mean_error(read_image(tmp_path / "rgb.jpg"), photo)

    # CMYK JPEG: RGB, not the 4 CMYK channels taken for RGBA (a colour negative).
    original.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=90)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    cmyk = read_image(str(tmp_path / "cmyk.jpg"))
    assert cmyk.shape == photo.shape and cmyk.dtype == np.uint8
    assert _mean_error(cmyk, photo) < max(4 * jpeg_error, 2.0)
    assert _mean_error(255 - cmyk, photo) > 50

    # Palette PNG: the palette colours, close to the photo (256-colour quantization).
    original.quantize(256).save(tmp_path / "palette.png")
    assert Image.open(tmp_path / "palette.png").mode == "P"
    palette = read_image(tmp_path / "palette.png")
    assert palette.shape == photo.shape and palette.dtype == np.uint8
    assert _mean_error(palette, photo) < 5

    # Gray with alpha (LA): the gray repeated over 3 channels, alpha dropped.
    gray = np.asarray(original.convert("L"))
    la = Image.fromarray(np.dstack([gray, np.full_like(gray, 100)]), mode="LA")
    la.save(tmp_path / "la.png")
    assert Image.open(tmp_path / "la.png").mode == "LA"
    np.testing.assert_array_equal(read_image(tmp_path / "la.png"), np.dstack([gray] * 3))

    # 1-bit PNG: 0 / 255 in 3 channels (not a bool 0 / 1 array).
    (original.convert("L").point(lambda v: 255 if v > 127 else 0).convert("1")
     .save(tmp_path / "bits.png"))
    bits = read_image(tmp_path / "bits.png")
    assert bits.dtype == np.uint8 and bits.shape == photo.shape
    np.testing.assert_array_equal(bits, np.dstack([np.where(gray > 127, 255, 0)] * 3))

    # RGBA: alpha dropped, as before.
    Image.fromarray(np.dstack([photo, np.full_like(photo[..., 0], 7)])).save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), photo)


def test_read_image_keeps_16_bit_and_exif_handling(photo, tmp_path):
    gray = photo[..., 1]
    # 16-bit gray: scaled as to_rgb does (value // 257).
    wide = np.minimum(gray.astype(np.uint32) * 257 + 100, 65535).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "gray16.png")
    assert Image.open(tmp_path / "gray16.png").mode == "I;16"
    np.testing.assert_array_equal(read_image(tmp_path / "gray16.png"), np.dstack([gray] * 3))
    # An EXIF orientation tag is not applied: pixels as stored, as skimage.io.imread.
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees"
    Image.fromarray(photo).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    assert read_image(tmp_path / "rotated.jpg").shape == photo.shape


def test_read_image_from_a_url_and_errors_name_the_file(photo, tmp_path):
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=90)
    with serve(tmp_path) as base:
        np.testing.assert_array_equal(read_image(f"{base}/cmyk.jpg"),
                                      read_image(tmp_path / "cmyk.jpg"))
        with pytest.raises(OSError, match="missing.jpg"):
            read_image(f"{base}/missing.jpg")
    data = (tmp_path / "cmyk.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[:len(data) // 3])
    with pytest.raises(OSError, match="truncated.jpg"):
        read_image(tmp_path / "truncated.jpg")
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(OSError, match="notes.jpg"):
        read_image(tmp_path / "notes.jpg")
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")


# ------------------------------------------------------------------------------------------------
# to_pixel_range: float, bool and non-finite images
def test_float_unit_images_are_scaled_and_0_255_ones_kept(photo):
    config = _Cfg()
    unit = photo / 255.0  # float64 in [0, 1]
    scaled = to_pixel_range(unit, config)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, photo, atol=1e-3)
    assert to_pixel_range(unit.astype(np.float16), config).max() == pytest.approx(photo.max(),
                                                                                   abs=0.2)
    as_float = photo.astype(np.float32)
    assert to_pixel_range(as_float, config) is as_float  # [0, 255], maximum >= 2: as it is
    assert to_pixel_range(photo, config) is photo  # uint8: as it is
    # The mean subtracted afterwards is then the right one for both.
    np.testing.assert_allclose(mold_image(scaled, config), mold_image(photo, config), atol=1e-3)


def test_bool_images_become_0_255(photo):
    binary = photo[..., 0] > 127
    out = to_pixel_range(np.dstack([binary] * 3), _Cfg())
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.dstack([np.where(binary, 255, 0)] * 3))


@pytest.mark.parametrize("make, message", [
    (lambda p: np.where(p > 250, np.nan, p / 255.0), r"NaN or infinite"),
    (lambda p: np.where(p > 250, np.inf, p.astype(np.float32)), r"NaN or infinite"),
    (lambda p: mold_image(p, _Cfg()), r"negative values.*mean-subtracted"),
    (lambda p: p * 257.0, r"exceeds 255"),
    (lambda p: p / 255.0 * 1.02, r"neither a \[0, 1\] image"),
    (lambda p: p.astype(np.complex64), r"complex64"),
])
def test_float_images_of_no_clear_range_are_refused(photo, make, message):
    image = make(photo)
    with pytest.raises(ValueError, match=message) as info:
        to_pixel_range(image, _Cfg(), "images[3]")
    text = str(info.value)
    assert "images[3]" in text and str(image.dtype) in text
    if "values in" in text:  # the range found is named
        assert f"{float(np.nanmin(image)):.6g}" in text


def test_unit_scale_mean_pixel_keeps_float_images():
    class UnitMean(Config):
        NAME = "unit"
        MEAN_PIXEL = np.array([0.485, 0.456, 0.406])

    image = np.linspace(0, 1, 3 * 4 * 3).reshape(3, 4, 3)
    assert to_pixel_range(image, UnitMean()) is image
    assert to_pixel_range(image > 0.5, UnitMean()).max() == 1.0
    with pytest.raises(ValueError, match="NaN"):
        to_pixel_range(np.full((2, 2, 3), np.nan), UnitMean())
