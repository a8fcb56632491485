"""Convolution augmenters (mirrors ``imgaug.augmenters.convolutional``): ``Sharpen`` and
``Emboss``, with imgaug's 3x3 kernels, executed by albumentations' ``Sharpen`` (kernel method)
and ``Emboss``. Colour augmenters: masks are left alone. uint8 images.
"""

import numpy as np

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.augmenters._albu import require_uint8, transform
from mrcnn.imgaug_compat.augmenters._base import Leaf

__all__ = ["Sharpen", "Emboss"]

_IDENTITY = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32)


class _Convolve(Leaf):
    geometric = False

    def __init__(self, alpha, second, second_name, seed, name, random_state, deterministic):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.alpha = iap.handle_continuous_param(alpha, "alpha", value_range=(0, 1.0))
        setattr(self, second_name, iap.handle_continuous_param(second, second_name,
                                                               value_range=(0, None)))
        self._second_name = second_name

    def get_parameters(self):
        return [self.alpha, getattr(self, self._second_name)]

    def _draw(self, rng, image):
        alpha = float(self.alpha._draw_samples((1,), rng)[0])
        value = float(getattr(self, self._second_name)._draw_samples((1,), rng)[0])
        matrix = (1 - alpha) * _IDENTITY + alpha * self._effect(value)
        return alpha, matrix.astype(np.float32)

    def _image(self, image, params):
        require_uint8(image, self)
        return self._apply(image, params)


class Sharpen(_Convolve):
    """Sharpens (imgaug's ``iaa.Sharpen(alpha=(0.0, 0.2), lightness=(0.8, 1.2))``: kernel
    ``(1 - alpha) * identity + alpha * [[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]]``).
    """

    def __init__(self, alpha=(0.0, 0.2), lightness=(0.8, 1.2), seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(alpha, lightness, "lightness", seed, name, random_state, deterministic)

    @staticmethod
    def _effect(lightness):
        return np.array([[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]], dtype=np.float32)

    def _apply(self, image, params):
        alpha, matrix = params
        return transform("Sharpen", method="kernel").apply(image, alpha=alpha,
                                                           sharpening_matrix=matrix)


class Emboss(_Convolve):
    """Embosses (imgaug's ``iaa.Emboss(alpha=(0.0, 1.0), strength=(0.25, 1.0))``: kernel
    ``(1 - alpha) * identity + alpha * [[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]]``)."""

    def __init__(self, alpha=(0.0, 1.0), strength=(0.25, 1.0), seed=None, name=None,
                 random_state="deprecated", deterministic="deprecated"):
        super().__init__(alpha, strength, "strength", seed, name, random_state, deterministic)

    @staticmethod
    def _effect(s):
        return np.array([[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]], dtype=np.float32)

    def _apply(self, image, params):
        return transform("Emboss").apply(image, emboss_matrix=params[1])
