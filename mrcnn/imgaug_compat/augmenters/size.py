"""Size augmenters (mirrors ``imgaug.augmenters.size``): ``CropAndPad``, ``Crop``, ``Pad``,
``Resize``, executed by albumentations' ``crop_and_pad`` / ``resize`` functions.

As in imgaug, ``keep_size=True`` (the default) resizes the cropped/padded image back to its
input size, with imgaug's default interpolation (OpenCV's area filter when enlarging along an
axis, else bilinear) and nearest neighbour for masks; masks are padded with 0. Training needs
``keep_size=True`` (``mrcnn.augmentation.augment`` rejects size changes).
"""

import numpy as np

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.augmenters._albu import cv2
from mrcnn.imgaug_compat.augmenters._base import Leaf
from mrcnn.imgaug_compat.augmenters.geometric import imresize_interpolation

import albumentations.augmentations.crops.functional as fcrops
import albumentations.augmentations.geometric.functional as fgeometric

__all__ = ["CropAndPad", "Crop", "Pad", "Resize"]

#: imgaug pad modes done by OpenCV (through albumentations); the others go through np.pad.
_PAD_MODES_CV2 = {"constant": cv2.BORDER_CONSTANT, "edge": cv2.BORDER_REPLICATE,
                  "reflect": cv2.BORDER_REFLECT_101, "symmetric": cv2.BORDER_REFLECT,
                  "wrap": cv2.BORDER_WRAP}
_PAD_MODES_NUMPY = ("linear_ramp", "maximum", "mean", "median", "minimum")
_PAD_MODES = tuple(_PAD_MODES_CV2) + _PAD_MODES_NUMPY


def _side_param(p, name, integer):
    if (iap.is_single_integer(p) if integer else iap.is_single_number(p)):
        return iap.Deterministic(p)
    if isinstance(p, tuple):
        ok = iap.is_single_integer if integer else iap.is_single_number
        if len(p) != 2 or not all(ok(v) for v in p):
            raise ValueError(f"{name}: a tuple must be two {'ints' if integer else 'numbers'} "
                             f"(a, b), got {p!r}")
        return iap.DiscreteUniform(p[0], p[1]) if integer else iap.Uniform(p[0], p[1])
    if isinstance(p, list):
        if not p:
            raise ValueError(f"{name}: empty list")
        return iap.Choice(p)
    if isinstance(p, iap.StochasticParameter):
        return p
    raise TypeError(f"{name}: expected {'an int' if integer else 'a number'}, a tuple (a, b), a "
                    f"list or a StochasticParameter, got {type(p).__name__}")


def _crop_prevent_zero_size(height, width, top, right, bottom, left):
    """imgaug's rule: give back crop amounts so that at least 1 pixel remains per axis."""
    remaining = height - (top + bottom)
    if remaining < 1:
        regain = abs(remaining) + 1
        r_top = r_bottom = regain // 2
        if r_top + r_bottom < regain:
            r_top += 1
        if r_top > top:
            r_bottom += r_top - top
            r_top = top
        elif r_bottom > bottom:
            r_top += r_bottom - bottom
            r_bottom = bottom
        top, bottom = top - r_top, bottom - r_bottom
    remaining = width - (left + right)
    if remaining < 1:
        regain = abs(remaining) + 1
        r_right = r_left = regain // 2
        if r_right + r_left < regain:
            r_right += 1
        if r_right > right:
            r_left += r_right - right
            r_right = right
        elif r_left > left:
            r_right += r_left - left
            r_left = left
        right, left = right - r_right, left - r_left
    return max(top, 0), max(right, 0), max(bottom, 0), max(left, 0)


class CropAndPad(Leaf):
    """Crops (negative values) or pads (positive values) each side (imgaug's
    ``iaa.CropAndPad(px=None, percent=None, pad_mode="constant", pad_cval=0, keep_size=True,
    sample_independently=True)``).

    Args:
        px: pixels per side: an int, ``(a, b)`` / list / parameter (one draw per side if
            ``sample_independently``, else one for all), or a 4-tuple (top, right, bottom, left)
            of such values.
        percent: the same as fractions of the height/width (rounded to pixels). Default when
            neither is given: ``percent=(-0.1, 0.1)``.
        pad_mode: ``"constant"``, ``"edge"``, ``"reflect"``, ``"symmetric"``, ``"wrap"``
            (OpenCV through albumentations), ``"linear_ramp"``, ``"maximum"``, ``"mean"``,
            ``"median"``, ``"minimum"`` (``np.pad``), a list, or ``imgaug.ALL``. Masks are
            padded with 0.
        pad_cval: constant fill value (int, range, list).
        keep_size: resize back to the input size.
    """

    geometric = True
    _default_percent = (-0.1, 0.1)

    def __init__(self, px=None, percent=None, pad_mode="constant", pad_cval=0, keep_size=True,
                 sample_independently=True, seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        if px is None and percent is None:
            percent = self._default_percent
        if px is not None and percent is not None:
            raise ValueError(f"{type(self).__name__}: give px or percent, not both")
        self.mode = "px" if px is not None else "percent"
        value = px if px is not None else percent
        integer = px is not None
        self.all_sides = None
        self.top = self.right = self.bottom = self.left = None
        if isinstance(value, tuple) and len(value) == 4:
            self.top, self.right, self.bottom, self.left = (
                _side_param(v, f"{self.mode}[{i}]", integer) for i, v in enumerate(value))
        elif isinstance(value, iap.StochasticParameter):
            self.top = self.right = self.bottom = self.left = value
        else:
            if isinstance(value, tuple) and len(value) != 2:
                raise ValueError(f"{type(self).__name__}: a {self.mode} tuple must have 2 or 4 "
                                 f"entries, got {len(value)}")
            self.all_sides = _side_param(value, self.mode, integer)
        if pad_mode == iap.ALL:
            pad_mode = list(_PAD_MODES)
        self.pad_mode = iap.handle_categorical_string_param(pad_mode, "pad_mode",
                                                            valid_values=_PAD_MODES)
        self.pad_cval = iap.handle_discrete_param(pad_cval, "pad_cval", allow_floats=True)
        self.keep_size = bool(keep_size)
        self.sample_independently = bool(sample_independently)

    def get_parameters(self):
        return [self.all_sides, self.top, self.right, self.bottom, self.left, self.pad_mode,
                self.pad_cval]

    def _draw_sides(self, rng):
        if self.all_sides is not None:
            if self.sample_independently:
                return [float(v) for v in self.all_sides._draw_samples((4,), rng)]
            v = float(self.all_sides._draw_samples((1,), rng)[0])
            return [v, v, v, v]
        return [float(p._draw_samples((1,), rng)[0])
                for p in (self.top, self.right, self.bottom, self.left)]

    def _draw(self, rng, image):
        top, right, bottom, left = self._draw_sides(rng)
        h, w = image.shape[:2]
        if self.mode == "percent":
            top, bottom = (int(np.round(np.float32(h) * np.float32(v))) for v in (top, bottom))
            right, left = (int(np.round(np.float32(w) * np.float32(v))) for v in (right, left))
        else:
            top, right, bottom, left = (int(v) for v in (top, right, bottom, left))
        pad_mode = str(self.pad_mode._draw_samples((1,), rng)[0])
        pad_cval = int(self.pad_cval._draw_samples((1,), rng)[0])
        crop = _crop_prevent_zero_size(h, w, max(-top, 0), max(-right, 0), max(-bottom, 0),
                                       max(-left, 0))
        pad = (max(top, 0), max(right, 0), max(bottom, 0), max(left, 0))
        if not any(crop) and not any(pad):
            return None
        return crop, pad, pad_mode, pad_cval

    def _apply(self, arr, params, interpolation, pad_mode, pad_cval):
        (ct, cr, cb, cl), (pt, pr, pb, pl) = params[:2]
        h, w = arr.shape[:2]
        crop_params = (cl, ct, w - cr, h - cb)  # albumentations: x_min, y_min, x_max, y_max
        channels = arr.shape[2]
        # OpenCV pads with at most 4 fill values: many channels with a non-zero fill -> np.pad
        if pad_mode in _PAD_MODES_CV2 and not (channels > 4 and pad_cval != 0):
            fill = pad_cval if channels == 1 or channels > 4 else (pad_cval,) * channels
            out = fcrops.crop_and_pad(arr, crop_params, (pt, pb, pl, pr), fill, (h, w),
                                      cv2.INTER_LINEAR, _PAD_MODES_CV2[pad_mode], False)
        else:
            out = fcrops.crop(arr, *crop_params)
            widths = ((pt, pb), (pl, pr), (0, 0))
            if pad_mode == "constant":
                out = np.pad(out, widths, mode="constant", constant_values=pad_cval)
            else:
                numpy_mode = {"edge": "edge", "reflect": "reflect", "symmetric": "symmetric",
                              "wrap": "wrap"}.get(pad_mode, pad_mode)
                out = np.pad(out, widths, mode=numpy_mode)
        if self.keep_size and out.shape[:2] != (h, w):
            out = fgeometric.resize(np.ascontiguousarray(out), (h, w),
                                    interpolation if interpolation is not None else
                                    imresize_interpolation(out.shape, (h, w)))
        return np.ascontiguousarray(out)

    def _image(self, image, params):
        return self._apply(image, params, None, params[2], params[3])

    def _masks(self, masks, params):
        return self._apply(masks, params, cv2.INTER_NEAREST, "constant", 0)


def _negate(value, name):
    if value is None:
        return None
    if iap.is_single_number(value):
        if value < 0:
            raise ValueError(f"Crop: {name} must be >= 0 (amounts to crop), got {value}")
        return -value
    if isinstance(value, iap.StochasticParameter):
        return iap.Multiply(value, -1)
    if isinstance(value, tuple):
        return tuple(_negate(v, name) for v in value)
    if isinstance(value, list):
        return [_negate(v, name) for v in value]
    raise TypeError(f"Crop: {name} must be a number, tuple, list or StochasticParameter, got "
                    f"{type(value).__name__}")


def _check_non_negative(value, name):
    if iap.is_single_number(value) and value < 0:
        raise ValueError(f"Pad: {name} must be >= 0 (amounts to pad), got {value}")
    if isinstance(value, (tuple, list)):
        for v in value:
            _check_non_negative(v, name)


class Crop(CropAndPad):
    """Crops each side (imgaug's ``iaa.Crop(px=None, percent=None, keep_size=True,
    sample_independently=True)``; values are amounts to crop, >= 0; default
    ``percent=(0, 0.1)``)."""

    def __init__(self, px=None, percent=None, keep_size=True, sample_independently=True,
                 seed=None, name=None, random_state="deprecated", deterministic="deprecated"):
        if px is None and percent is None:
            percent = (0.0, 0.1)
        super().__init__(px=_negate(px, "px"), percent=_negate(percent, "percent"),
                         keep_size=keep_size, sample_independently=sample_independently,
                         seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)


class Pad(CropAndPad):
    """Pads each side (imgaug's ``iaa.Pad(px=None, percent=None, pad_mode="constant",
    pad_cval=0, keep_size=True, sample_independently=True)``; values >= 0; default
    ``percent=(0, 0.1)``)."""

    def __init__(self, px=None, percent=None, pad_mode="constant", pad_cval=0, keep_size=True,
                 sample_independently=True, seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        if px is None and percent is None:
            percent = (0.0, 0.1)
        _check_non_negative(px, "px")
        _check_non_negative(percent, "percent")
        super().__init__(px=px, percent=percent, pad_mode=pad_mode, pad_cval=pad_cval,
                         keep_size=keep_size, sample_independently=sample_independently,
                         seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)


_INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR,
                   "area": cv2.INTER_AREA, "cubic": cv2.INTER_CUBIC}


def _is_float(v):
    return isinstance(v, (float, np.floating))


class Resize(Leaf):
    """Resizes images and masks (imgaug's ``iaa.Resize(size, interpolation="cubic")``).

    Args:
        size: ``"keep"``; an int (pixels) or float (fraction) for both sides; ``(a, b)``
            (uniform: floats -> fraction, ints -> pixels; one draw for both sides); a list
            (choice); a parameter; or a dict ``{"height": ..., "width": ...}`` /
            ``{"shorter-side": ..., "longer-side": ...}`` whose values may also be ``"keep"``
            or ``"keep-aspect-ratio"``.
        interpolation: ``"nearest"``, ``"linear"``, ``"area"``, ``"cubic"`` (default), an
            OpenCV flag, a list, or ``imgaug.ALL``. Masks use nearest neighbour.

    Resize changes the image size, so inside training it must be undone by another augmenter
    (``mrcnn.augmentation.augment`` rejects size changes); use ``IMAGE_RESIZE_MODE`` instead.
    """

    geometric = True

    def __init__(self, size, interpolation="cubic", seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.size, self.size_order = self._handle_size(size)
        if interpolation == iap.ALL:
            interpolation = ["nearest", "linear", "area", "cubic"]
        if isinstance(interpolation, (str, int, np.integer)):
            self._check_interpolation(interpolation)
            self.interpolation = iap.Deterministic(interpolation)
        elif isinstance(interpolation, (list, tuple)):
            for v in interpolation:
                self._check_interpolation(v)
            self.interpolation = iap.Choice(list(interpolation))
        elif isinstance(interpolation, iap.StochasticParameter):
            self.interpolation = interpolation
        else:
            raise TypeError(f"Resize: interpolation must be a string, an OpenCV flag, a list or "
                            f"a StochasticParameter, got {type(interpolation).__name__}")

    @staticmethod
    def _check_interpolation(v):
        if not (v in _INTERPOLATIONS or v in _INTERPOLATIONS.values()):
            raise ValueError(f"Resize: interpolation {v!r} not supported; use one of "
                             f"{', '.join(_INTERPOLATIONS)}")

    @classmethod
    def _handle_size(cls, size, subcall=False):
        if isinstance(size, str) and size in ("keep", "keep-aspect-ratio"):
            if size == "keep-aspect-ratio" and not subcall:
                raise ValueError("Resize: 'keep-aspect-ratio' is only valid for one side of a "
                                 "size dict")
            result = iap.Deterministic(size)
        elif iap.is_single_number(size):
            if size <= 0:
                raise ValueError(f"Resize: sizes must be > 0, got {size}")
            result = iap.Deterministic(size)
        elif isinstance(size, dict) and not subcall:
            if not size:
                result = iap.Deterministic("keep")
            elif set(size) <= {"height", "width"}:
                result = cls._pair(size.get("height", "keep"), size.get("width", "keep"))
                return result, "HW"
            elif set(size) <= {"shorter-side", "longer-side"}:
                result = cls._pair(size.get("shorter-side", "keep"),
                                   size.get("longer-side", "keep"))
                return result, "SL"
            else:
                raise ValueError(f"Resize: a size dict must have the keys height/width or "
                                 f"shorter-side/longer-side, got {sorted(size)}")
        elif isinstance(size, tuple):
            if len(size) != 2 or not all(iap.is_single_number(v) and v > 0 for v in size):
                raise ValueError(f"Resize: a size tuple must be two numbers > 0, got {size!r}")
            result = iap.Uniform(*size) if any(_is_float(v) for v in size) else \
                iap.DiscreteUniform(*size)
        elif isinstance(size, list):
            if not size:
                result = iap.Deterministic("keep")
            else:
                if not (all(iap.is_single_integer(v) for v in size) or
                        all(_is_float(v) for v in size)) or any(v <= 0 for v in size):
                    raise ValueError(f"Resize: a size list must be all ints or all floats > 0, "
                                     f"got {size!r}")
                result = iap.Choice(size)
        elif isinstance(size, iap.StochasticParameter):
            result = size
        else:
            raise TypeError(f"Resize: unsupported size {size!r}")
        return (result, None) if subcall else (result, "HW")

    @classmethod
    def _pair(cls, a, b):
        if a == "keep-aspect-ratio" and b == "keep-aspect-ratio":
            raise ValueError("Resize: at most one side may be 'keep-aspect-ratio'")
        return (cls._handle_size(a, True)[0], cls._handle_size(b, True)[0])

    def get_parameters(self):
        return [self.size, self.interpolation, self.size_order]

    @staticmethod
    def _value(sample):
        return sample.item() if isinstance(sample, np.generic) else sample

    def _draw(self, rng, image):
        if isinstance(self.size, tuple):
            a = self._value(self.size[0]._draw_samples((1,), rng)[0])
            b = self._value(self.size[1]._draw_samples((1,), rng)[0])
        else:
            a = b = self._value(self.size._draw_samples((1,), rng)[0])
        interpolation = self._value(self.interpolation._draw_samples((1,), rng)[0])
        imh, imw = image.shape[:2]
        if self.size_order == "SL":
            h, w = (a, b) if imh < imw else (b, a)
        else:
            h, w = a, b
        h = max(int(np.round(imh * h)), 1) if _is_float(h) else imh if h == "keep" else h
        w = max(int(np.round(imw * w)), 1) if _is_float(w) else imw if w == "keep" else w
        if h == "keep-aspect-ratio":
            h = int(np.round(w * imh / imw))
        if w == "keep-aspect-ratio":
            w = int(np.round(h * imw / imh))
        h, w = int(h), int(w)
        if (h, w) == (imh, imw):
            return None
        flag = _INTERPOLATIONS.get(interpolation, interpolation)
        return (h, w), int(flag)

    def _image(self, image, params):
        return fgeometric.resize(np.ascontiguousarray(image), params[0], params[1])

    def _masks(self, masks, params):
        return fgeometric.resize(np.ascontiguousarray(masks), params[0], cv2.INTER_NEAREST)
