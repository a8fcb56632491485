"""imgaug's augmenter API on NumPy 2, executed by albumentations: ``mrcnn.imgaug_compat``.

imgaug 0.4.0 (and its forks) cannot be imported with NumPy >= 2 (``np.sctypes``) and its meta
augmenters fail with NumPy >= 1.24 (``np.bool``); TensorFlow >= 2.18 needs one of those. Scripts
written for Matterport's Mask R-CNN keep working with a one-line change::

    import imgaug                               # before
    import mrcnn.imgaug_compat as imgaug        # after
    from mrcnn.imgaug_compat import augmenters as iaa

    augmentation = iaa.SomeOf((0, 2), [iaa.Fliplr(0.5), iaa.Flipud(0.5), ...])
    model.train(..., augmentation=augmentation)

Provided: ``augmenters`` (imgaug's augmenter classes, names, arguments, defaults and random
semantics; see ``mrcnn.imgaug_compat.augmenters``), ``parameters`` (stochastic parameters,
``iap``), ``seed(n)`` (seeds the global generator), ``random``, ``ALL``, ``HooksImages``,
``SegmentationMapsOnImage``. The draws follow imgaug's distributions, not its exact random
streams (``tests/imgaug_compat/test_imgaug_compat.py`` compares both with fixtures made by real imgaug).
Other imgaug names raise an error that says what to use instead.
"""

from mrcnn.imgaug_compat import augmenters, parameters, random  # noqa: F401
from mrcnn.imgaug_compat.augmentables import SegmentationMapsOnImage
from mrcnn.imgaug_compat.hooks import HooksHeatmaps, HooksImages
from mrcnn.imgaug_compat.random import seed

ALL = "ALL"

__all__ = ["augmenters", "parameters", "random", "seed", "ALL", "HooksImages", "HooksHeatmaps",
           "SegmentationMapsOnImage"]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(
        f"mrcnn.imgaug_compat does not provide imgaug's {name!r}: it provides imgaug's "
        f"augmenters ({__name__}.augmenters), stochastic parameters ({__name__}.parameters), "
        "seed(), ALL, HooksImages and SegmentationMapsOnImage; use NumPy/OpenCV/albumentations "
        "for image utilities")
