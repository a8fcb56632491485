"""``Fliplr`` / ``Flipud`` (mirrors ``imgaug.augmenters.flip``), executed by albumentations'
``HorizontalFlip`` / ``VerticalFlip``."""

from mrcnn.imgaug_compat import parameters as iap
from mrcnn.imgaug_compat.augmenters._albu import transform
from mrcnn.imgaug_compat.augmenters._base import Leaf

__all__ = ["Fliplr", "Flipud", "HorizontalFlip", "VerticalFlip"]


class _Flip(Leaf):
    geometric = True
    _albu = None

    def __init__(self, p=1, seed=None, name=None, random_state="deprecated",
                 deterministic="deprecated"):
        super().__init__(seed=seed, name=name, random_state=random_state,
                         deterministic=deterministic)
        self.p = iap.handle_probability_param(p, "p")

    def get_parameters(self):
        return [self.p]

    def _draw(self, rng, image):
        return True if self.p._draw_samples((1,), rng)[0] > 0.5 else None

    def _image(self, image, params):
        return transform(self._albu).apply(image)


class Fliplr(_Flip):
    """Mirrors the image left-right with probability ``p`` (imgaug's ``iaa.Fliplr(p=1)``;
    albumentations ``HorizontalFlip``). Masks are flipped with it."""
    _albu = "HorizontalFlip"


class Flipud(_Flip):
    """Flips the image upside down with probability ``p`` (imgaug's ``iaa.Flipud(p=1)``;
    albumentations ``VerticalFlip``). Masks are flipped with it."""
    _albu = "VerticalFlip"


HorizontalFlip = Fliplr  # imgaug's aliases
VerticalFlip = Flipud
