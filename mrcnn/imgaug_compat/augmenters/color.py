"""Colour augmenters (mirrors ``imgaug.augmenters.color``): ``Grayscale``,
``AddToHueAndSaturation`` (``AddToHue``, ``AddToSaturation``), ``MultiplyHueAndSaturation``
(``MultiplyHue``, ``MultiplySaturation``).

Masks are left alone. uint8 RGB (or BGR, ``from_colorspace="BGR"``) images with 3 channels.
``Grayscale`` uses albumentations ``ToGray`` (OpenCV's weighted average) and blends with
``alpha``; ``AddToHueAndSaturation`` uses albumentations ``HueSaturationValue`` (OpenCV HSV, hue
in [0, 180)); imgaug's hue values in [-255, 255] cover the full circle, as in imgaug.
albumentations keeps pixels of saturation 0 grey when shifting saturation (imgaug does not).
``MultiplyHueAndSaturation`` has no albumentations equivalent: it multiplies OpenCV's HSV
channels with imgaug's rules (hue scaled to [0, 255], wrapped; saturation clipped).
"""

import numpy as np

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.augmenters._albu import cv2, require_uint8, transform
from mrcnn.imgaug_compat.augmenters._base import Leaf

__all__ = ["Grayscale", "AddToHueAndSaturation", "AddToHue", "AddToSaturation",
           "MultiplyHueAndSaturation", "MultiplyHue", "MultiplySaturation"]

_COLORSPACES = ("RGB", "BGR")


def _check_colorspace(from_colorspace, owner):
    if from_colorspace not in _COLORSPACES:
        raise ValueError(f"{owner}: from_colorspace={from_colorspace!r} is not supported by "
                         f"mrcnn.imgaug_compat; use 'RGB' or 'BGR' (convert other colour spaces "
                         "with cv2.cvtColor first)")
    return from_colorspace


class _ColourRGB(Leaf):
    geometric = False

    def _image(self, image, params):
        require_uint8(image, self)
        if image.shape[2] != 3:
            raise ValueError(f"{self.name} ({type(self).__name__}) needs 3-channel images, got "
                             f"{image.shape[2]} channels")
        bgr = self.from_colorspace == "BGR"
        rgb = np.ascontiguousarray(image[:, :, ::-1]) if bgr else image
        out = self._apply(rgb, params)
        return np.ascontiguousarray(out[:, :, ::-1]) if bgr else out


class Grayscale(_ColourRGB):
    """Blends the image with its grey version, ``alpha`` = 1 fully grey (imgaug's
    ``iaa.Grayscale(alpha=1, from_colorspace="RGB")``; 3 channels out)."""

    def __init__(self, alpha=1, from_colorspace="RGB", seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.alpha = iap.handle_continuous_param(alpha, "alpha", value_range=(0, 1.0))
        self.from_colorspace = _check_colorspace(from_colorspace, "Grayscale")

    def get_parameters(self):
        return [self.alpha, self.from_colorspace]

    def _draw(self, rng, image):
        alpha = float(self.alpha._draw_samples((1,), rng)[0])
        return None if alpha <= 1e-6 else alpha

    def _apply(self, image, alpha):
        gray = transform("ToGray", num_output_channels=3, method="weighted_average").apply(image)
        if alpha >= 1.0 - 1e-6:
            return gray
        mixed = alpha * gray.astype(np.float32) + (1.0 - alpha) * image.astype(np.float32)
        return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


class AddToHueAndSaturation(_ColourRGB):
    """Adds values to hue and saturation (imgaug's ``iaa.AddToHueAndSaturation(value=None,
    value_hue=None, value_saturation=None, per_channel=False, from_colorspace="RGB")``; default
    ``value_hue=(-40, 40), value_saturation=(-40, 40)``). Values in [-255, 255]; ``value`` is
    used for both (``per_channel``: separate draws)."""

    def __init__(self, value=None, value_hue=None, value_saturation=None, per_channel=False,
                 from_colorspace="RGB", seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        if value is None and value_hue is None and value_saturation is None:
            value_hue, value_saturation = (-40, 40), (-40, 40)
        if value is not None and (value_hue is not None or value_saturation is not None):
            raise ValueError("AddToHueAndSaturation: give value, or value_hue/value_saturation, "
                             "not both")

        def handle(v, n):
            return None if v is None else iap.handle_discrete_param(v, n,
                                                                    value_range=(-255, 255))
        self.value = handle(value, "value")
        self.value_hue = handle(value_hue, "value_hue")
        self.value_saturation = handle(value_saturation, "value_saturation")
        self.per_channel = iap.handle_probability_param(per_channel, "per_channel")
        self.from_colorspace = _check_colorspace(from_colorspace, "AddToHueAndSaturation")

    def get_parameters(self):
        return [self.value, self.value_hue, self.value_saturation, self.per_channel,
                self.from_colorspace]

    def _draw(self, rng, image):
        if self.value is not None:
            per_channel = self.per_channel._draw_samples((1,), rng)[0] > 0.5
            samples = self.value._draw_samples((2,), rng).astype(np.int32)
            hue, sat = int(samples[0]), int(samples[1] if per_channel else samples[0])
        else:
            hue = 0 if self.value_hue is None else \
                int(self.value_hue._draw_samples((1,), rng)[0])
            sat = 0 if self.value_saturation is None else \
                int(self.value_saturation._draw_samples((1,), rng)[0])
        hue = int(np.float32(hue) / np.float32(255.0) * np.float32(180))  # imgaug's projection
        return None if hue == 0 and sat == 0 else (hue, sat)

    def _apply(self, image, params):
        hue, sat = params
        return transform("HueSaturationValue").apply(image, hue_shift=hue, sat_shift=sat,
                                                     val_shift=0)


def AddToHue(value=(-255, 255), from_colorspace="RGB", seed=None, name=None,  # noqa: N802
             random_state="deprecated", deterministic="deprecated"):
    """imgaug's ``iaa.AddToHue``: ``AddToHueAndSaturation(value_hue=value)``."""
    return AddToHueAndSaturation(value_hue=value, from_colorspace=from_colorspace, seed=seed,
                                 name=name, random_state=random_state,
                                 deterministic=deterministic)


def AddToSaturation(value=(-75, 75), from_colorspace="RGB", seed=None, name=None,  # noqa: N802
                    random_state="deprecated", deterministic="deprecated"):
    """imgaug's ``iaa.AddToSaturation``: ``AddToHueAndSaturation(value_saturation=value)``."""
    return AddToHueAndSaturation(value_saturation=value, from_colorspace=from_colorspace,
                                 seed=seed, name=name, random_state=random_state,
                                 deterministic=deterministic)


class MultiplyHueAndSaturation(_ColourRGB):
    """Multiplies hue and saturation (imgaug's ``iaa.MultiplyHueAndSaturation(mul=None,
    mul_hue=None, mul_saturation=None, per_channel=False, from_colorspace="RGB")``; default
    ``mul_hue=(0.5, 1.5), mul_saturation=(0.0, 1.7)``; ``mul`` in [-10, 10] for both, with
    ``per_channel`` drawing one factor per channel)."""

    def __init__(self, mul=None, mul_hue=None, mul_saturation=None, per_channel=False,
                 from_colorspace="RGB", seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        if mul is None and mul_hue is None and mul_saturation is None:
            mul_hue, mul_saturation = (0.5, 1.5), (0.0, 1.7)
        if mul is not None and (mul_hue is not None or mul_saturation is not None):
            raise ValueError("MultiplyHueAndSaturation: give mul, or mul_hue/mul_saturation, "
                             "not both")
        self.mul = None if mul is None else \
            iap.handle_continuous_param(mul, "mul", value_range=(-10.0, 10.0))
        self.mul_hue = None if mul_hue is None else \
            iap.handle_continuous_param(mul_hue, "mul_hue", value_range=(-10.0, 10.0))
        self.mul_saturation = None if mul_saturation is None else \
            iap.handle_continuous_param(mul_saturation, "mul_saturation",
                                        value_range=(0.0, 10.0))
        self.per_channel = iap.handle_probability_param(per_channel, "per_channel")
        self.from_colorspace = _check_colorspace(from_colorspace, "MultiplyHueAndSaturation")

    def get_parameters(self):
        return [self.mul, self.mul_hue, self.mul_saturation, self.per_channel,
                self.from_colorspace]

    def _draw(self, rng, image):
        if self.mul is not None:
            per_channel = self.per_channel._draw_samples((1,), rng)[0] > 0.5
            samples = self.mul._draw_samples((2,), rng)
            mh, ms = float(samples[0]), float(samples[1] if per_channel else samples[0])
        else:
            mh = 1.0 if self.mul_hue is None else float(self.mul_hue._draw_samples((1,), rng)[0])
            ms = 1.0 if self.mul_saturation is None else \
                float(self.mul_saturation._draw_samples((1,), rng)[0])
        return None if mh == 1.0 and ms == 1.0 else (mh, ms)

    def _apply(self, image, params):
        mh, ms = params
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        hue = (hsv[:, :, 0].astype(np.float32) / 180.0 * 255.0).astype(np.int16)
        hue = np.round(hue.astype(np.float32) * np.float32(mh)).astype(np.int16)
        sat = np.round(hsv[:, :, 1].astype(np.float32) * np.float32(ms)).astype(np.int16)
        hsv[:, :, 0] = (np.mod(hue, 255).astype(np.float32) / 255.0 * 180).astype(np.uint8)
        hsv[:, :, 1] = np.clip(sat, 0, 255).astype(np.uint8)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def MultiplyHue(mul=(-3.0, 3.0), from_colorspace="RGB", seed=None, name=None,  # noqa: N802
                random_state="deprecated", deterministic="deprecated"):
    """imgaug's ``iaa.MultiplyHue``: ``MultiplyHueAndSaturation(mul_hue=mul)``."""
    return MultiplyHueAndSaturation(mul_hue=mul, from_colorspace=from_colorspace, seed=seed,
                                    name=name, random_state=random_state,
                                    deterministic=deterministic)


def MultiplySaturation(mul=(0.0, 3.0), from_colorspace="RGB", seed=None, name=None,  # noqa: N802
                       random_state="deprecated", deterministic="deprecated"):
    """imgaug's ``iaa.MultiplySaturation``: ``MultiplyHueAndSaturation(mul_saturation=mul)``."""
    return MultiplyHueAndSaturation(mul_saturation=mul, from_colorspace=from_colorspace,
                                    seed=seed, name=name, random_state=random_state,
                                    deterministic=deterministic)
