"""The albumentations side of the compat augmenters: cached transform instances and helpers.

The compat augmenters draw their parameters by imgaug's rules and hand the pixel work to the
``apply`` (image) methods of albumentations transforms, configured once per setting (cached
here; the transforms are not called through ``Compose``, so albumentations' own random draws are
never used). Needs albumentations >= 2.0 (the ``apply`` signatures of the 2.x transforms).
"""

import threading

import cv2
import numpy as np

try:
    import albumentations as A
except ImportError as e:  # pragma: no cover - albumentations is a dependency of mrcnn
    raise ImportError("mrcnn.imgaug_compat executes imgaug augmenters with albumentations: "
                      "pip install 'albumentations>=2.0'") from e

_major = int(A.__version__.split(".")[0])
if _major < 2:  # pragma: no cover - depends on the installed albumentations
    raise ImportError(f"mrcnn.imgaug_compat needs albumentations >= 2.0 (found "
                      f"{A.__version__}): pip install -U 'albumentations>=2.0'")

__all__ = ["A", "cv2", "transform", "on_masks", "ORDER_TO_CV2", "MODE_TO_CV2", "require_uint8"]

#: imgaug interpolation orders -> OpenCV flags (what imgaug's cv2 backend uses).
ORDER_TO_CV2 = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 3: cv2.INTER_CUBIC}
#: imgaug (scikit-image style) border modes -> OpenCV border modes.
MODE_TO_CV2 = {"constant": cv2.BORDER_CONSTANT, "edge": cv2.BORDER_REPLICATE,
               "symmetric": cv2.BORDER_REFLECT, "reflect": cv2.BORDER_REFLECT_101,
               "wrap": cv2.BORDER_WRAP, "replicate": cv2.BORDER_REPLICATE}

_cache = {}
_lock = threading.Lock()


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def transform(name, **kwargs):
    """The albumentations transform ``A.<name>(**kwargs, p=1)``, created once per setting."""
    key = (name,) + tuple(sorted((k, _freeze(v)) for k, v in kwargs.items()))
    t = _cache.get(key)
    if t is None:
        with _lock:
            t = _cache.get(key)
            if t is None:
                t = getattr(A, name)(p=1.0, **kwargs)
                _cache[key] = t
    return t


def on_masks(fn, masks):
    """Applies an image function to ``[H, W, N]`` masks (N may be 0 or above OpenCV's 512
    channel limit: albumentations processes many channels in chunks)."""
    if masks.shape[2] == 0:
        out = fn(np.zeros(masks.shape[:2] + (1,), dtype=masks.dtype))
        return np.ascontiguousarray(out.reshape(out.shape[:2] + (-1,))[:, :, :0])
    out = fn(np.ascontiguousarray(masks))
    if out.ndim == 2:
        out = out[:, :, np.newaxis]
    return out


def require_uint8(image, aug):
    """Colour augmenters work on uint8 images (albumentations treats float images as [0, 1]
    and would clip imgaug's value ranges)."""
    if image.dtype != np.uint8:
        raise TypeError(
            f"{aug.name} ({type(aug).__name__}) in mrcnn.imgaug_compat works on uint8 images, got "
            f"{image.dtype}. Convert the image (e.g. np.clip(image, 0, 255).astype(np.uint8)) "
            "or write this step with albumentations directly.")
