"""Pixel-value augmenters (mirrors ``imgaug.augmenters.arithmetic``): ``Add``, ``Multiply``,
``AdditiveGaussianNoise``, ``Dropout``, ``CoarseDropout``, ``Invert``.

Colour augmenters: masks are left alone. uint8 images only (see ``require_uint8``). The values
are drawn by imgaug's rules (``per_channel`` may be a probability) and applied by
albumentations (``RandomBrightnessContrast``, ``MultiplicativeNoise``, ``GaussNoise``,
``PixelDropout``, ``InvertImg``). albumentations rounds where imgaug 0.4.0 truncates
(``Multiply``), so a pixel can differ from imgaug's by one grey level.
"""

import numpy as np

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.augmenters._albu import cv2, require_uint8, transform
from mrcnn.imgaug_compat.augmenters._base import Leaf

__all__ = ["Add", "Multiply", "AdditiveGaussianNoise", "Dropout", "CoarseDropout", "Invert"]


def _channel_values(param, per_channel, rng, channels):
    """imgaug's per-image draw: ``channels`` samples, all used if the per-channel coin says so,
    else the first for every channel."""
    use_per_channel = per_channel._draw_samples((1,), rng)[0] > 0.5
    values = param._draw_samples((channels,), rng)
    return (values.astype(np.float64) if use_per_channel else float(values[0])), use_per_channel


class _Colour(Leaf):
    geometric = False

    def _image(self, image, params):
        require_uint8(image, self)
        return self._apply(image, params)


class Add(_Colour):
    """Adds a value to all pixels (imgaug's ``iaa.Add(value=(-20, 20), per_channel=False)``;
    albumentations ``RandomBrightnessContrast`` with contrast 1). The value is rounded to an
    integer, as in imgaug."""

    def __init__(self, value=(-20, 20), per_channel=False, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.value = iap.handle_continuous_param(value, "value")
        self.per_channel = iap.handle_probability_param(per_channel, "per_channel")

    def get_parameters(self):
        return [self.value, self.per_channel]

    def _draw(self, rng, image):
        value, _ = _channel_values(self.value, self.per_channel, rng, image.shape[2])
        value = np.clip(np.round(value), -255, 255)
        return None if np.all(value == 0) else value

    def _apply(self, image, value):
        t = transform("RandomBrightnessContrast")
        if np.ndim(value) == 0:
            return t.apply(image, alpha=1.0, beta=float(value))
        return np.stack([t.apply(np.ascontiguousarray(image[:, :, c]), alpha=1.0,
                                 beta=float(v)) for c, v in enumerate(value)], axis=-1)


class Multiply(_Colour):
    """Multiplies all pixels by a factor (imgaug's ``iaa.Multiply(mul=(0.8, 1.2),
    per_channel=False)``; albumentations ``MultiplicativeNoise``)."""

    def __init__(self, mul=(0.8, 1.2), per_channel=False, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.mul = iap.handle_continuous_param(mul, "mul")
        self.per_channel = iap.handle_probability_param(per_channel, "per_channel")

    def get_parameters(self):
        return [self.mul, self.per_channel]

    def _draw(self, rng, image):
        mul, _ = _channel_values(self.mul, self.per_channel, rng, image.shape[2])
        return None if np.all(np.asarray(mul) == 1.0) else mul

    def _apply(self, image, mul):
        multiplier = np.float32(mul) if np.ndim(mul) == 0 else np.asarray(mul, np.float32)
        return transform("MultiplicativeNoise").apply(image, multiplier=multiplier)


class AdditiveGaussianNoise(_Colour):
    """Adds Gaussian noise per pixel (imgaug's ``iaa.AdditiveGaussianNoise(loc=0, scale=(0,
    15), per_channel=False)``; albumentations ``GaussNoise`` with the noise map drawn here).
    ``scale`` is in grey levels (0..255); without ``per_channel`` all channels of a pixel get
    the same noise value."""

    def __init__(self, loc=0, scale=(0, 15), per_channel=False, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        loc = iap.handle_continuous_param(loc, "loc")
        scale = iap.handle_continuous_param(scale, "scale", value_range=(0, None))
        self.value = iap.Normal(loc=loc, scale=scale)
        self.per_channel = iap.handle_probability_param(per_channel, "per_channel")

    def get_parameters(self):
        return [self.value, self.per_channel]

    def _draw(self, rng, image):
        h, w, c = image.shape
        channels = c if self.per_channel._draw_samples((1,), rng)[0] > 0.5 else 1
        noise = self.value._draw_samples((h, w, channels), rng)
        if not np.any(noise):
            return None
        return np.ascontiguousarray(np.broadcast_to(noise, (h, w, c)), dtype=np.float32)

    def _apply(self, image, noise):
        return transform("GaussNoise").apply(image, noise_map=noise)


def _handle_dropout_p(p, name):
    """imgaug's dropout probability: returns the parameter of the *keep* probability."""
    if iap.is_single_number(p):
        if not 0 <= p <= 1:
            raise ValueError(f"{name}: a dropout probability must be in [0, 1], got {p}")
        return iap.Binomial(1 - p)
    if isinstance(p, tuple):
        if len(p) != 2 or not (0 <= p[0] < p[1] <= 1):
            raise ValueError(f"{name}: a tuple must be (a, b) with 0 <= a < b <= 1, got {p!r}")
        return iap.Binomial(iap.Uniform(1 - p[1], 1 - p[0]))
    if isinstance(p, list):
        if not all(iap.is_single_number(v) and 0 <= v <= 1 for v in p):
            raise ValueError(f"{name}: a list must contain probabilities in [0, 1], got {p!r}")
        return iap.Binomial(1 - iap.Choice(p))
    if isinstance(p, iap.StochasticParameter):
        return p
    raise TypeError(f"{name}: expected a number, a tuple (a, b), a list or a "
                    f"StochasticParameter, got {type(p).__name__}")


class Dropout(_Colour):
    """Sets a fraction ``p`` of the pixels to 0 (imgaug's ``iaa.Dropout(p=(0.0, 0.05),
    per_channel=False)``; albumentations ``PixelDropout``). A tuple ``p`` draws the fraction
    per image; ``per_channel`` drops channels independently."""

    def __init__(self, p=(0.0, 0.05), per_channel=False, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.p = _handle_dropout_p(p, "p")
        self.per_channel = iap.handle_probability_param(per_channel, "per_channel")

    def get_parameters(self):
        return [self.p, self.per_channel]

    def _keep(self, rng, shape):
        return self.p._draw_samples(shape, rng)

    def _draw(self, rng, image):
        h, w, c = image.shape
        channels = c if self.per_channel._draw_samples((1,), rng)[0] > 0.5 else 1
        keep = self._keep(rng, (h, w, channels)) > 0.5
        if keep.all():
            return None
        return np.broadcast_to(~keep, (h, w, c))

    def _apply(self, image, drop):
        return transform("PixelDropout").apply(image, drop_mask=drop,
                                               drop_values=np.zeros((), image.dtype))


class CoarseDropout(Dropout):
    """Drops rectangular areas: the dropout mask is drawn at a low resolution and enlarged with
    nearest neighbour (imgaug's ``iaa.CoarseDropout(p=(0.02, 0.1), size_px=None,
    size_percent=None, per_channel=False, min_size=3)``; without sizes ``size_px=(3, 8)``).

    ``size_px`` / ``size_percent``: the low-resolution height and width (each drawn
    independently), in pixels or as fractions of the image size; at least ``min_size``.
    """

    def __init__(self, p=(0.02, 0.1), size_px=None, size_percent=None, per_channel=False,
                 min_size=3, seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(p=0.0, per_channel=per_channel, seed=seed, name=name,
                         random_state=random_state, deterministic=deterministic)
        self.p = _handle_dropout_p(p, "p")
        if size_px is None and size_percent is None:
            size_px = (3, 8)
        if size_percent is not None and size_px is None:
            self.size_method = "percent"
            self.size = iap.Uniform(*size_percent) if isinstance(size_percent, (tuple, list)) \
                else iap.handle_continuous_param(size_percent, "size_percent")
        else:
            self.size_method = "px"
            self.size = iap.DiscreteUniform(*size_px) if isinstance(size_px, (tuple, list)) \
                else iap.handle_discrete_param(size_px, "size_px")
        self.min_size = int(min_size)

    def get_parameters(self):
        return [self.p, self.size, self.size_method, self.min_size, self.per_channel]

    def _keep(self, rng, shape):
        h, w, c = shape
        hw = self.size._draw_samples((2,), rng)
        if self.size_method == "percent":
            hw = (hw * np.array([h, w])).astype(np.int32)
        hs, ws = max(int(hw[0]), self.min_size), max(int(hw[1]), self.min_size)
        small = self.p._draw_samples((hs, ws, c), rng).astype(np.uint8)
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        return big.reshape(h, w, c)


class Invert(_Colour):
    """Inverts pixel values, ``255 - v``, with probability ``p`` (per channel if
    ``per_channel``) (imgaug's ``iaa.Invert(p=1, per_channel=False)``; albumentations
    ``InvertImg``).

    Raises:
        ValueError: ``min_value``, ``max_value`` or ``threshold`` given (not supported by the
            compat module: albumentations inverts over the full uint8 range).
    """

    def __init__(self, p=1, per_channel=False, min_value=None, max_value=None, threshold=None,
                 invert_above_threshold=0.5, seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        for arg, value in (("min_value", min_value), ("max_value", max_value),
                           ("threshold", threshold)):
            if value is not None:
                raise ValueError(f"Invert({arg}=...) is not supported by mrcnn.imgaug_compat "
                                 "(uint8 images are inverted over 0..255); use "
                                 "albumentations.Solarize for threshold inversion")
        self.p = iap.handle_probability_param(p, "p")
        self.per_channel = iap.handle_probability_param(per_channel, "per_channel")

    def get_parameters(self):
        return [self.p, self.per_channel]

    def _draw(self, rng, image):
        c = image.shape[2]
        p = self.p._draw_samples((c,), rng) > 0.5
        per_channel = self.per_channel._draw_samples((1,), rng)[0] > 0.5
        channels = p if per_channel else np.full(c, p[0])
        return channels if channels.any() else None

    def _apply(self, image, channels):
        inverted = transform("InvertImg").apply(image)
        if channels.all():
            return inverted
        return np.where(channels[np.newaxis, np.newaxis, :], inverted, image)
