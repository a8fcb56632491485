"""Blur augmenters (mirrors ``imgaug.augmenters.blur``): ``GaussianBlur``, ``AverageBlur``,
``MotionBlur``, executed by albumentations' ``GaussianBlur``, ``Blur`` and ``MotionBlur``.

Colour augmenters: masks are left alone. uint8 images.
"""

import numpy as np

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.augmenters._albu import cv2, require_uint8, transform
from mrcnn.imgaug_compat.augmenters._base import Leaf
from mrcnn.imgaug_compat.augmenters.geometric import _gaussian_ksize, _gaussian_kernel, \
    affine_matrix

import albumentations.augmentations.geometric.functional as fgeometric

__all__ = ["GaussianBlur", "AverageBlur", "MotionBlur"]


class _Blur(Leaf):
    geometric = False

    def _image(self, image, params):
        require_uint8(image, self)
        return self._apply(image, params)


class GaussianBlur(_Blur):
    """Gaussian blur with standard deviation ``sigma`` (imgaug's ``iaa.GaussianBlur(sigma=(0.0,
    3.0))``; albumentations ``GaussianBlur`` with imgaug's kernel size: about 3.3 sigma below
    sigma 3, 2.9 sigma below 5, 2.6 sigma above, odd, at least 5; sigma <= 0.001: no blur)."""

    def __init__(self, sigma=(0.0, 3.0), seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.sigma = iap.handle_continuous_param(sigma, "sigma", value_range=(0, None))
        self.eps = 1e-3

    def get_parameters(self):
        return [self.sigma]

    def _draw(self, rng, image):
        sigma = float(self.sigma._draw_samples((1,), rng)[0])
        return None if sigma <= self.eps else sigma

    def _apply(self, image, sigma):
        kernel = _gaussian_kernel(sigma, _gaussian_ksize(sigma))
        return transform("GaussianBlur").apply(image, kernel=kernel)


class AverageBlur(_Blur):
    """Box blur with kernel size ``k`` (imgaug's ``iaa.AverageBlur(k=(1, 7))``: an int,
    ``(a, b)``, a list, a parameter, or a tuple of two of these for the two axes (as in imgaug
    0.4.0, the first is the kernel's width); albumentations ``Blur``, or ``MotionBlur`` with a
    box kernel for non-square sizes). A size of 0 leaves the image unchanged."""

    def __init__(self, k=(1, 7), seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.k = iap.handle_discrete_kernel_size_param(k, "k", value_range=(0, None))

    def get_parameters(self):
        return [self.k]

    def _draw(self, rng, image):
        kh = int(self.k[0]._draw_samples((1,), rng)[0])
        kw = kh if self.k[1] is None else int(self.k[1]._draw_samples((1,), rng)[0])
        if kh <= 0 or kw <= 0 or (kh == 1 and kw == 1):
            return None
        return kh, kw

    def _apply(self, image, k):
        kh, kw = k
        if kh == kw:
            return transform("Blur").apply(image, kernel=kh)
        # imgaug 0.4.0 passes (k_height, k_width) as OpenCV's (width, height): same here
        kernel = np.full((kw, kh), 1.0 / (kh * kw), dtype=np.float32)
        return transform("MotionBlur").apply(image, kernel=kernel)


class MotionBlur(_Blur):
    """Motion blur along a line of ``k`` pixels at ``angle`` degrees (imgaug's
    ``iaa.MotionBlur(k=(3, 7), angle=(0, 360), direction=(-1.0, 1.0), order=1)``; the kernel is
    built as imgaug builds it and applied by albumentations ``MotionBlur``)."""

    def __init__(self, k=(3, 7), angle=(0, 360), direction=(-1.0, 1.0), order=1, seed=None,
                 name=None, random_state="deprecated", deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.k = iap.handle_discrete_param(k, "k", value_range=(3, None), allow_floats=False)
        self.angle = iap.handle_continuous_param(angle, "angle")
        self.direction = iap.handle_continuous_param(direction, "direction",
                                                     value_range=(-1.0, 1.0))
        if order not in (0, 1, 3):
            raise ValueError(f"MotionBlur: order must be 0, 1 or 3, got {order!r}")
        self.order = order

    def get_parameters(self):
        return [self.k, self.angle, self.direction, self.order]

    def _draw(self, rng, image):
        k = int(self.k._draw_samples((1,), rng)[0])
        angle = float(self.angle._draw_samples((1,), rng)[0])
        direction = float(self.direction._draw_samples((1,), rng)[0])
        k = k if k % 2 else k + 1
        direction = (np.clip(direction, -1.0, 1.0) + 1.0) / 2.0
        line = np.zeros((k, k), dtype=np.float32)
        line[:, k // 2] = np.linspace(direction, 1.0 - direction, num=k)
        line = (line * 255).astype(np.uint8)[:, :, np.newaxis]
        flag = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 3: cv2.INTER_CUBIC}[self.order]
        rotated = fgeometric.warp_affine(line, affine_matrix(line.shape, rotate_deg=angle),
                                         interpolation=flag, fill=0,
                                         border_mode=cv2.BORDER_CONSTANT,
                                         output_shape=(k, k))
        kernel = rotated.reshape(k, k).astype(np.float32) / 255.0
        total = kernel.sum()
        return kernel / total if total > 0 else None

    def _apply(self, image, kernel):
        return transform("MotionBlur").apply(image, kernel=kernel)
