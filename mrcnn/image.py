"""Image conversion, resizing and normalisation (NumPy).

Mirrors Matterport's ``utils.resize``, ``utils.resize_image``, ``model.mold_image`` and
``model.unmold_image``; adds ``read_image`` (image files to RGB, on Pillow) and ``to_rgb`` for
grayscale, RGBA and 16-bit arrays.

Images are [H, W, C] arrays (rows, columns, channels). Windows are pixel boxes
(y1, x1, y2, x2) with exclusive y2/x2.
"""

import io
import os
import random
import urllib.request

import numpy as np
import skimage.transform
from PIL import Image

RESIZE_MODES = ("none", "square", "pad64", "crop")


def to_rgb(image):
    """Converts an image to 3-channel RGB, as ``Dataset.load_image`` and ``detect()`` do.

    Args:
        image: [H, W] or [H, W, 1] grayscale, [H, W, 3] RGB or [H, W, 4] RGBA array of any
            numeric dtype.

    Returns:
        [H, W, 3] array. Grayscale is repeated over 3 channels, alpha is dropped, and uint16
        images are scaled to uint8 (``value // 257``, so 65535 -> 255). Other dtypes are kept.

    Raises:
        ValueError: the array is not 2-D or 3-D with 1, 3 or 4 channels, or is empty.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"Expected an image of shape [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], got an array "
            f"of shape {image.shape}. Pass one image per list entry (detect() takes a list).")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"Image has no pixels (shape {image.shape})")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    elif image.shape[-1] == 4:
        image = image[..., :3]
    return image


def to_pixel_range(image, config, name="image"):
    """Puts an image's values on the pixel scale of ``config.MEAN_PIXEL``, or refuses them.

    ``detect()`` and ``load_image_gt`` call it on every input image (after ``to_rgb``), before
    the mean pixel is subtracted. With a ``MEAN_PIXEL`` on the 0-255 scale (any value above 1,
    as the default ``[123.7, 116.8, 103.9]``), the rule is:

    * integer images (uint8, ...) are used as they are;
    * bool images become uint8 0 / 255;
    * float images whose values all lie in [0, 1] are taken as [0, 1] images and multiplied by
      255 (float32). So a float image on the 0-255 scale whose maximum is at most 1 (an
      all-but-black image) is scaled too;
    * float images with values in [0, 255] and a maximum of at least 2 are used as they are;
    * any other float image (a negative value, e.g. an image already mean-subtracted; a value
      above 255; a maximum between 1 and 2, which fits neither scale) is refused, as are NaN
      and infinite values.

    With a ``MEAN_PIXEL`` whose values all lie in [-1, 1] (a model trained on [0, 1] images),
    float and integer images are used as they are, bool images become float32 0 / 1, and only
    NaN and infinite values are refused.

    Args:
        image: [H, W, C] array.
        config: a ``Config`` (``MEAN_PIXEL`` is used).
        name: how error messages name the image (e.g. ``"images[2]"``).

    Returns:
        The image (the same array when nothing changes); float32 when a float or, on the unit
        scale, a bool image was converted.

    Raises:
        ValueError: a non-numeric dtype, NaN / infinite values, or a float range that fits
            neither [0, 1] nor [0, 255]; the message names the image, its dtype and its range,
            and the fix.
    """
    image = np.asarray(image)
    unit_scale = float(np.max(np.abs(np.asarray(config.MEAN_PIXEL, dtype=np.float64)))) <= 1
    kind = image.dtype.kind
    if kind == "b":
        return image.astype(np.float32) if unit_scale else image.astype(np.uint8) * np.uint8(255)
    if kind in "ui":
        return image
    if kind != "f":
        raise ValueError(f"{name} has dtype {image.dtype}; images must be numeric arrays (uint8 "
                         "RGB 0-255, or float in [0, 1] or [0, 255])")
    if image.size == 0:
        return image
    lo, hi = float(np.min(image)), float(np.max(image))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        bad = int(np.count_nonzero(~np.isfinite(image)))
        raise ValueError(f"{name} ({image.dtype}) has {bad} NaN or infinite value(s); replace "
                         "them (e.g. np.nan_to_num) before detection or training")
    if unit_scale:
        return image
    if lo >= 0 and hi <= 1:
        return image.astype(np.float32) * np.float32(255)
    if lo >= 0 and 2 <= hi <= 255:
        return image
    if lo < 0:
        why = ("has negative values: pass raw pixels, not an image already mean-subtracted "
               "(mold_image) or normalized to [-1, 1]")
    elif hi > 255:
        why = "exceeds 255: scale it to [0, 255] (or clip it, np.clip(image, 0, 255))"
    else:
        why = ("fits neither a [0, 1] image (maximum at most 1) nor a [0, 255] one (maximum at "
               "least 2); clip a [0, 1] image that overshoots with np.clip(image, 0, 1)")
    raise ValueError(f"{name} is a {image.dtype} image with values in [{lo:.6g}, {hi:.6g}], "
                     f"which {why}. The model takes RGB on the 0-255 scale of "
                     "config.MEAN_PIXEL: uint8, or float in [0, 1] (multiplied by 255) or in "
                     "[0, 255]")


# Pillow modes whose pixels are read as they are (then ``to_rgb``): RGB, RGBA (alpha dropped),
# 8-bit grayscale, 16-bit grayscale (scaled by ``to_rgb``), 32-bit integer and float grayscale.
_PLAIN_MODES = ("RGB", "RGBA", "L", "I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def read_image(path):
    """Reads an image file as an RGB array; the one image reader of ``Dataset.load_image`` and
    the command line (Matterport used ``skimage.io.imread``).

    The file is decoded with Pillow, first frame only, pixels as stored: no EXIF orientation and
    no ICC colour management are applied (as ``skimage.io.imread``). Colour modes are converted
    with Pillow's ``Image.convert``: CMYK JPEGs (YCCK JPEGs are decoded to CMYK by Pillow),
    YCbCr, palette (``P``, ``PA``), ``LA``, 1-bit and other modes become RGB, so that a CMYK file
    is never taken for RGBA. Then ``to_rgb`` applies: grayscale is repeated over 3 channels,
    alpha (RGBA, LA, PA) is dropped without compositing, and 16-bit grayscale (``I;16``) is
    scaled to uint8 (``value // 257``). 16-bit RGB(A) PNGs are decoded by Pillow to 8 bits
    (their high byte), as ``skimage.io.imread`` did.

    Args:
        path: a file path (str or ``os.PathLike``), an ``http(s)://`` URL, or a binary file
            object.

    Returns:
        [H, W, 3] array (rows, columns, RGB): uint8 for 8-bit and 16-bit files; int32 or float32
        for 32-bit integer / float grayscale files (Pillow modes ``I`` / ``F``, e.g. TIFF).

    Raises:
        OSError: the file is not an image, is truncated or corrupt, or the URL cannot be read
            (``FileNotFoundError`` for a missing file); the message names it.
        ValueError: the image's mode cannot be converted to RGB, or it has no pixels.
    """
    if isinstance(path, (str, bytes, os.PathLike)):
        name = os.fsdecode(path)
    else:
        name = str(getattr(path, "name", "<file object>"))
    source = path
    if isinstance(path, str) and path.split("://", 1)[0].lower() in ("http", "https"):
        try:
            with urllib.request.urlopen(path, timeout=60) as response:
                source = io.BytesIO(response.read())
        except OSError as e:
            raise OSError(f"Cannot read image {name!r}: {e}") from e
    try:
        with Image.open(source) as im:
            mode = im.mode
            if mode in _PLAIN_MODES:
                array = np.asarray(im)
            elif mode in ("P", "PA"):
                # Through RGBA, so a palette with transparency converts without a warning.
                array = np.asarray(im.convert("RGBA"))
            else:
                try:
                    array = np.asarray(im.convert("RGB"))
                except ValueError as e:
                    raise ValueError(f"Cannot convert image {name!r} of mode {mode!r} to RGB: "
                                     f"{e}; convert it to an RGB file first") from e
    except OSError as e:  # missing, unidentified, truncated or corrupt file
        error = FileNotFoundError if isinstance(e, FileNotFoundError) else OSError
        raise error(f"Cannot read image {name!r}: {e}") from e
    if not array.dtype.isnative:  # big-endian 16-bit modes ("I;16B")
        array = array.astype(array.dtype.newbyteorder("="))
    try:
        return to_rgb(array)
    except ValueError as e:
        raise ValueError(f"Image {name!r} (Pillow mode {mode!r}): {e}") from None


def resize(image, output_shape, order=1, mode="constant", cval=0, clip=True,
           preserve_range=False, anti_aliasing=False, anti_aliasing_sigma=None):
    """``skimage.transform.resize`` with Matterport's defaults (``utils.resize``).

    Unlike skimage's own defaults, ``mode`` is ``"constant"`` and anti-aliasing is off, which is
    what every caller in Mask R-CNN (image resizing, mask (un)molding) relies on.

    Args:
        image: [H, W] or [H, W, C] array. Boolean arrays are converted to float64 (0/1) first when
            ``order > 0``, as older scikit-image releases did implicitly.
        output_shape: (height, width) or (height, width, C) of the result.
        order, mode, cval, clip, preserve_range, anti_aliasing, anti_aliasing_sigma: forwarded to
            ``skimage.transform.resize``.

    Returns:
        The resized array. float64 for integer or float64 input, float32 for float32 input
        (``order == 0`` keeps the input dtype). Unless ``preserve_range`` is set, integer images
        are first scaled to [0, 1] (``img_as_float``).

    Raises:
        ValueError: ``output_shape`` has a zero or negative size.
    """
    image = np.asarray(image)
    output_shape = tuple(int(s) for s in output_shape)
    if any(s <= 0 for s in output_shape):
        raise ValueError(f"resize: output_shape {output_shape} must be positive in every axis")
    if image.dtype == bool and order > 0:
        image = image.astype(np.float64)
    return skimage.transform.resize(
        image, output_shape, order=order, mode=mode, cval=cval, clip=clip,
        preserve_range=preserve_range, anti_aliasing=anti_aliasing,
        anti_aliasing_sigma=anti_aliasing_sigma)


def resize_image(image, min_dim=None, max_dim=None, min_scale=None, mode="square"):
    """Resizes an image keeping its aspect ratio (Matterport ``utils.resize_image``).

    Scale: ``max(1, min_dim / min(H, W))`` when ``min_dim`` is set (this only ever scales up),
    raised to ``min_scale`` if that is larger; in ``"square"`` mode it is then lowered to
    ``max_dim / max(H, W)`` if the longer side would exceed ``max_dim``. The image is resized
    bilinearly (``resize(order=1, preserve_range=True)``) to ``(round(H * scale),
    round(W * scale))`` and cast back to its dtype (float -> int truncates, as in the original).

    Modes:
        ``"none"``: no resizing or padding; the image is returned as is.
        ``"square"``: resize, then zero-pad to ``max_dim x max_dim``; the top/left padding is
        ``(max_dim - h) // 2``.
        ``"pad64"``: resize, then zero-pad each side symmetrically up to the next multiple of 64
        (``min_dim`` must be a multiple of 64).
        ``"crop"``: resize, then take a random ``min_dim x min_dim`` crop (Python's ``random``
        module, so ``random.seed`` makes it repeatable). For training only.

    Args:
        image: [H, W, C] (or [H, W]) array of any dtype.
        min_dim: the shorter side is scaled up to at least this size; required for ``"pad64"``
            and ``"crop"``.
        max_dim: the longer side must not exceed this in ``"square"`` mode (required there).
        min_scale: the scale is at least this.
        mode: ``"none"``, ``"square"``, ``"pad64"`` or ``"crop"``.

    Returns:
        image: the resized and padded/cropped image, same dtype as the input.
        window: (y1, x1, y2, x2) pixel box of the real image inside the result (exclusive ends).
        scale: the scale factor (int 1 when nothing was resized, else float).
        padding: [(top, bottom), (left, right), (0, 0)] zero padding added (for ``resize_mask``).
        crop: (y, x, min_dim, min_dim) in ``"crop"`` mode, else None.

    Raises:
        ValueError: unknown mode; ``max_dim`` missing in ``"square"`` mode; ``min_dim`` missing
            or not a multiple of 64 in ``"pad64"`` mode; ``min_dim`` missing in ``"crop"`` mode;
            an image that is not 2-D/3-D or is empty.
    """
    image = np.asarray(image)
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize_image: mode {mode!r} is not supported; use one of "
                         f"{', '.join(repr(m) for m in RESIZE_MODES)}")
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"resize_image: expected a non-empty [H, W, C] image, got shape "
                         f"{image.shape}")
    image_dtype = image.dtype
    h, w = image.shape[:2]
    window = (0, 0, h, w)
    scale = 1
    padding = [(0, 0), (0, 0), (0, 0)]
    crop = None

    if mode == "none":
        return image, window, scale, padding, crop
    if mode == "square" and not max_dim:
        raise ValueError('resize_image: "square" mode needs max_dim (the side of the square '
                         "output), e.g. config.IMAGE_MAX_DIM")
    if mode == "pad64" and (not min_dim or min_dim % 64):
        raise ValueError(f'resize_image: "pad64" mode needs min_dim to be a multiple of 64, got '
                         f"{min_dim!r}; set IMAGE_MIN_DIM to e.g. 256, 512 or 768")
    if mode == "crop" and not min_dim:
        raise ValueError('resize_image: "crop" mode needs min_dim (the side of the square crop), '
                         "e.g. config.IMAGE_MIN_DIM")

    if min_dim:
        scale = max(1, min_dim / min(h, w))
    if min_scale and scale < min_scale:
        scale = min_scale
    if max_dim and mode == "square":
        image_max = max(h, w)
        if round(image_max * scale) > max_dim:
            scale = max_dim / image_max

    if scale != 1:
        image = resize(image, (round(h * scale), round(w * scale)), preserve_range=True)

    if mode == "square":
        h, w = image.shape[:2]
        top_pad = (max_dim - h) // 2
        bottom_pad = max_dim - h - top_pad
        left_pad = (max_dim - w) // 2
        right_pad = max_dim - w - left_pad
        padding = [(top_pad, bottom_pad), (left_pad, right_pad), (0, 0)]
        image = np.pad(image, padding[:image.ndim], mode="constant", constant_values=0)
        window = (top_pad, left_pad, h + top_pad, w + left_pad)
    elif mode == "pad64":
        h, w = image.shape[:2]
        top_pad, bottom_pad = _pad_to_multiple(h, 64)
        left_pad, right_pad = _pad_to_multiple(w, 64)
        padding = [(top_pad, bottom_pad), (left_pad, right_pad), (0, 0)]
        image = np.pad(image, padding[:image.ndim], mode="constant", constant_values=0)
        window = (top_pad, left_pad, h + top_pad, w + left_pad)
    else:  # crop
        h, w = image.shape[:2]
        y = random.randint(0, h - min_dim)
        x = random.randint(0, w - min_dim)
        crop = (y, x, min_dim, min_dim)
        image = image[y:y + min_dim, x:x + min_dim]
        window = (0, 0, min_dim, min_dim)
    return image.astype(image_dtype), window, scale, padding, crop


def _pad_to_multiple(size, multiple):
    """(before, after) zero padding that brings ``size`` to the next multiple, split evenly."""
    if size % multiple == 0:
        return 0, 0
    total = size - size % multiple + multiple - size
    return total // 2, total - total // 2


def _mean_pixel(images, config):
    mean = np.asarray(config.MEAN_PIXEL, dtype=np.float32).reshape(-1)
    if np.shape(images)[-1:] != mean.shape:
        raise ValueError(
            f"Images have {np.shape(images)[-1:] or 'no'} channel(s) on the last axis (shape "
            f"{np.shape(images)}) but config.MEAN_PIXEL has {mean.size} values; set MEAN_PIXEL "
            "(and IMAGE_CHANNEL_COUNT) to match the images, or pass [..., H, W, C] arrays")
    return mean


def mold_image(images, config):
    """Subtracts the mean pixel (Matterport ``model.mold_image``).

    Args:
        images: [..., H, W, C] RGB image(s) of any numeric dtype (C = len(config.MEAN_PIXEL)).
        config: a ``Config``; only ``MEAN_PIXEL`` is used.

    Returns:
        float32 array of the same shape: ``images - MEAN_PIXEL`` (the original returned
        float64 because MEAN_PIXEL is float64; the network input is float32 either way).

    Raises:
        ValueError: the channel count does not match ``MEAN_PIXEL``.
    """
    mean = _mean_pixel(images, config)
    return np.asarray(images).astype(np.float32) - mean


def unmold_image(normalized_images, config):
    """Adds the mean pixel back (Matterport ``model.unmold_image``).

    Args:
        normalized_images: [..., H, W, C] float array from ``mold_image``.
        config: a ``Config``; only ``MEAN_PIXEL`` is used.

    Returns:
        uint8 array of the same shape. Values are rounded and clipped to [0, 255] (the original
        truncated and wrapped around, so ``unmold_image(mold_image(x))`` could be off by one).

    Raises:
        ValueError: the channel count does not match ``MEAN_PIXEL``.
    """
    mean = _mean_pixel(normalized_images, config)
    x = np.asarray(normalized_images, dtype=np.float32) + mean
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)
