"""Contrast augmenters (mirrors ``imgaug.augmenters.contrast``): ``LinearContrast`` (and its
deprecated alias ``ContrastNormalization``), ``GammaContrast``, executed by albumentations'
``RandomBrightnessContrast`` and ``RandomGamma``.

Colour augmenters: masks are left alone. uint8 images. ``LinearContrast`` maps
``v -> 127 + alpha * (v - 127)`` (imgaug's uint8 centre); albumentations rounds where imgaug
truncates, so a pixel can differ by one grey level.
"""

import numpy as np

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.augmenters._albu import require_uint8, transform
from mrcnn.imgaug_compat.augmenters._base import Leaf

__all__ = ["LinearContrast", "GammaContrast", "ContrastNormalization"]


class _Contrast(Leaf):
    geometric = False
    _param_name = None

    def __init__(self, value, per_channel, seed, name, random_state, deterministic,
                 value_range=None):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.value = iap.handle_continuous_param(value, self._param_name,
                                                 value_range=value_range)
        self.per_channel = iap.handle_probability_param(per_channel, "per_channel")

    def get_parameters(self):
        return [self.value, self.per_channel]

    def _draw(self, rng, image):
        per_channel = self.per_channel._draw_samples((1,), rng)[0] > 0.5
        values = self.value._draw_samples((image.shape[2] if per_channel else 1,), rng)
        return values.astype(np.float64) if per_channel else float(values[0])

    def _image(self, image, value):
        require_uint8(image, self)
        if np.ndim(value) == 0:
            return self._one(image, value)
        return np.stack([self._one(np.ascontiguousarray(image[:, :, c]), v)
                         for c, v in enumerate(value)], axis=-1)


class LinearContrast(_Contrast):
    """``v -> 127 + alpha * (v - 127)`` (imgaug's ``iaa.LinearContrast(alpha=(0.6, 1.4),
    per_channel=False)``)."""

    _param_name = "alpha"

    def __init__(self, alpha=(0.6, 1.4), per_channel=False, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(alpha, per_channel, seed, name, random_state, deterministic)

    def _one(self, image, alpha):
        alpha = float(np.float32(alpha))
        return transform("RandomBrightnessContrast").apply(image, alpha=alpha,
                                                           beta=(1.0 - alpha) * 127.0)


def ContrastNormalization(alpha=1.0, per_channel=False, seed=None, name=None,  # noqa: N802
                          random_state="deprecated", deterministic="deprecated"):
    """imgaug's deprecated alias: ``LinearContrast(alpha, per_channel)``."""
    return LinearContrast(alpha=alpha, per_channel=per_channel, seed=seed, name=name,
                          random_state=random_state, deterministic=deterministic)


class GammaContrast(_Contrast):
    """``v -> 255 * (v / 255) ** gamma`` (imgaug's ``iaa.GammaContrast(gamma=(0.7, 1.7),
    per_channel=False)``)."""

    _param_name = "gamma"

    def __init__(self, gamma=(0.7, 1.7), per_channel=False, seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(gamma, per_channel, seed, name, random_state, deterministic,
                         value_range=(0, None))

    def _one(self, image, gamma):
        return transform("RandomGamma").apply(image, gamma=float(gamma))
