"""Base class of the compat augmenters that transform pixels (not meta augmenters)."""

from mrcnn.imgaug_compat.augmenters._albu import on_masks
from mrcnn.imgaug_compat.augmenters.meta import Augmenter

__all__ = ["Leaf"]


class Leaf(Augmenter):
    """An augmenter that draws its parameters per image (``_draw``), then transforms the image
    (``_image``) and, if it is geometric, the masks (``_masks``, nearest neighbour).

    ``_draw(rng, image)`` returns None when this image is left unchanged (e.g. a flip that was
    not drawn), else the parameters passed to ``_image(image, params)`` and
    ``_masks(masks, params)``.
    """

    def _augment_one(self, image, masks, rng, call, parents):
        params = self._draw(rng, image)
        if params is None:
            return image, masks
        image_aug = self._image(image, params)
        if masks is not None and self.geometric:
            masks = on_masks(lambda m: self._masks(m, params), masks)
        return image_aug, masks

    def _draw(self, rng, image):  # pragma: no cover - abstract
        raise NotImplementedError

    def _image(self, image, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _masks(self, masks, params):
        return self._image(masks, params)
