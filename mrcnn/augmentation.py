"""Training-time augmentation that moves the instance masks with the image.

``augment(image, mask, augmentation, rng=None)`` applies one of three kinds of augmentation to an
image and its instance masks, and guarantees that every geometric change (flip, rotation, affine
warp, crop-and-pad, elastic or perspective warp, ...) moves the masks exactly as it moves the
image, while photometric changes (colour, brightness, contrast, blur, noise, ...) touch only the
image:

1. **albumentations** (recommended; ``pip install albumentations``, tested with 2.0.8) -- an
   ``A.Compose([...])`` or a single transform. The masks are passed as ``masks=`` (an
   ``[N, H, W]`` uint8 array); albumentations moves them for "dual" (spatial) transforms, with
   nearest-neighbour interpolation, and leaves them alone for pixel-level transforms::

       import albumentations as A
       augmentation = A.Compose([A.HorizontalFlip(p=0.5), A.RandomRotate90(p=0.5),
                                 A.RandomBrightnessContrast(p=0.3)])

2. **imgaug** (``imgaug.augmenters`` objects, detected by the module name ``imgaug`` in the type's
   MRO, so imgaug is never imported here when it is absent). Real imgaug augmenters work only
   with NumPy < 1.24, hence only with TensorFlow < 2.18 (which mrcnn does not support): imgaug
   0.4.0 and its forks (``imgaug-denk`` 0.4.6, ``imgaug3`` 0.4.1) fail to import with NumPy >= 2
   (``np.sctypes``), and with NumPy 1.24-1.26 imgaug 0.4.0 imports but its meta augmenters
   (``SomeOf``, ``Sometimes``, ...) fail with ``AttributeError: module 'numpy' has no attribute
   'bool'`` (measured with NumPy 1.26.4); that failure inside ``augment`` raises a
   ``RuntimeError`` that says so. Use
   ``mrcnn.imgaug_compat`` instead: ``import mrcnn.imgaug_compat as imgaug`` /
   ``from mrcnn.imgaug_compat import augmenters as iaa`` give imgaug's augmenters with the same
   names, arguments and semantics, executed by albumentations; they are plain callables
   ``aug(image, mask, rng=...)`` (kind 3 below) that move the masks with every geometric
   augmenter. For real imgaug, the augmenter is made deterministic (``to_deterministic()``) and
   the image and the masks (as one ``SegmentationMapsOnImage`` with one channel per instance)
   go through it in a single call. imgaug itself applies only the geometric part of an
   augmenter to segmentation maps (nearest neighbour), so **every** geometric augmenter --
   ``Fliplr``, ``Flipud``, ``Rot90``, ``Affine``, ``PiecewiseAffine``, ``PerspectiveTransform``,
   ``ElasticTransformation``, ``CropAndPad`` (``keep_size=True``), ... -- moves the masks. This
   fixes Matterport's hard-coded ``MASK_AUGMENTERS`` list, with which ``Rot90`` and other
   geometric augmenters rotated the image but not the masks. Requires imgaug >= 0.4.

3. **A plain callable** ``f(image, mask) -> (image, mask)`` with ``mask`` bool ``[H, W, N]``; it
   must transform both consistently itself. If it accepts an ``rng`` keyword argument, the
   per-call ``np.random.Generator`` is passed as ``rng=``.

The augmentation runs after ``resize_image`` (as in Matterport), so it must keep the image size:
the training model needs every image at ``config.IMAGE_SHAPE``. An augmentation that changes the
height or width raises a ``ValueError`` that names it.
"""

import copy
import inspect
import threading

import numpy as np

__all__ = ["augment", "augmentation_kind", "describe_augmentation"]


def _mro_modules(obj):
    return [getattr(cls, "__module__", "") or "" for cls in type(obj).__mro__]


def _from_package(obj, package):
    return any(m == package or m.startswith(package + ".") for m in _mro_modules(obj))


def augmentation_kind(augmentation):
    """Which path ``augment`` takes: ``"imgaug"``, ``"albumentations"``, ``"callable"`` or ``None``.

    imgaug and albumentations are recognised by the module names of the classes in
    ``type(augmentation).__mro__`` (``imgaug...`` / ``albumentations...``), so neither library is
    imported here.

    Raises:
        TypeError: ``augmentation`` is none of these (not callable).
    """
    if augmentation is None:
        return None
    if _from_package(augmentation, "imgaug"):
        return "imgaug"
    if _from_package(augmentation, "albumentations"):
        return "albumentations"
    if callable(augmentation):
        return "callable"
    raise TypeError(
        f"augmentation must be an imgaug augmenter, an albumentations transform (or Compose), or a "
        f"callable f(image, mask) -> (image, mask); got {type(augmentation).__name__}")


def describe_augmentation(augmentation, limit=200):
    """A short human-readable name of an augmentation, for error messages."""
    name = getattr(augmentation, "name", None)  # imgaug augmenters have names
    if not isinstance(name, str):
        name = getattr(augmentation, "__qualname__", None) or type(augmentation).__name__
    try:
        text = repr(augmentation)
    except Exception:  # noqa: BLE001 - a broken repr must not hide the real error
        text = ""
    text = " ".join(text.split())
    if text and text != name:
        if len(text) > limit:
            text = text[:limit] + "..."
        return f"{name} ({text})"
    return name


def _seed_from(rng):
    return int(rng.integers(0, 2 ** 31 - 1))


# --------------------------------------------------------------------------------------------
# imgaug
_COMPAT_HINT = ("use mrcnn.imgaug_compat instead (imgaug's augmenters executed by albumentations): "
                "replace 'import imgaug' by 'import mrcnn.imgaug_compat as imgaug' and "
                "'from imgaug import augmenters as iaa' by "
                "'from mrcnn.imgaug_compat import augmenters as iaa'")


def _numpy_alias_error(error):
    """True for NumPy's AttributeErrors on removed aliases (``np.bool`` in 1.24-1.26,
    ``np.sctypes`` in 2.x, ...), which is how old imgaug fails on new NumPy."""
    text = str(error)
    return "module 'numpy' has no attribute" in text or (
        "`np." in text and "removed in the NumPy" in text)


def _imgaug_numpy_error(augmentation, error):
    return RuntimeError(
        f"imgaug augmenter {describe_augmentation(augmentation)} failed with NumPy "
        f"{np.__version__}: {type(error).__name__}: {str(error).splitlines()[0]} Real imgaug "
        "0.4.0 augmenters work only with NumPy < 1.24 (np.bool was removed in 1.24, np.sctypes "
        f"in 2.0), hence only with TensorFlow < 2.18; {_COMPAT_HINT}.")


def _augment_imgaug(image, mask, augmentation, rng):
    try:
        from imgaug.augmentables.segmaps import SegmentationMapsOnImage
    except AttributeError as e:  # pragma: no cover - imgaug on NumPy 2 fails at import
        if _numpy_alias_error(e):
            raise _imgaug_numpy_error(augmentation, e) from e
        raise
    except ImportError as e:  # pragma: no cover - depends on the installed imgaug
        raise ImportError("imgaug augmentation needs imgaug >= 0.4 "
                          f"(imgaug.augmentables.segmaps.SegmentationMapsOnImage); or "
                          f"{_COMPAT_HINT}") from e
    try:
        det = augmentation.to_deterministic()
        if rng is not None:
            det.seed_(_seed_from(rng), deterministic_too=True)
        n = mask.shape[-1]
        # imgaug cannot hold a map with zero channels: augment one empty dummy channel instead.
        arr = mask if n > 0 else np.zeros(mask.shape[:2] + (1,), dtype=bool)
        segmap = SegmentationMapsOnImage(np.ascontiguousarray(arr, dtype=bool), shape=image.shape)
        image_aug, segmap_aug = det.augment(image=image, segmentation_maps=segmap)
    except AttributeError as e:
        if _numpy_alias_error(e):
            raise _imgaug_numpy_error(augmentation, e) from e
        raise
    mask_aug = np.asarray(segmap_aug.get_arr()).astype(bool)
    if n == 0:
        mask_aug = mask_aug[:, :, :0]
    return image_aug, mask_aug


# --------------------------------------------------------------------------------------------
# albumentations
_local = threading.local()


def _seeded_albumentations(augmentation, seed):
    """A per-thread copy of the transform, seeded for this call (thread-safe and repeatable)."""
    cache = getattr(_local, "albumentations", None)
    if cache is None:
        cache = _local.albumentations = {}
    entry = cache.get(id(augmentation))
    if entry is None or entry[0] is not augmentation:
        entry = (augmentation, copy.deepcopy(augmentation))
        cache[id(augmentation)] = entry
    local = entry[1]
    local.set_random_seed(seed)
    return local


def _augment_albumentations(image, mask, augmentation, rng):
    transform = augmentation
    if rng is not None and hasattr(augmentation, "set_random_seed"):
        transform = _seeded_albumentations(augmentation, _seed_from(rng))
    n = mask.shape[-1]
    # [N, H, W] uint8 masks; albumentations cannot stack zero masks, so pass one empty dummy.
    masks = np.ascontiguousarray(np.moveaxis(mask, -1, 0), dtype=np.uint8) if n else \
        np.zeros((1,) + mask.shape[:2], dtype=np.uint8)
    result = transform(image=image, masks=masks)
    image_aug = result["image"]
    out = result["masks"]
    if isinstance(out, (list, tuple)):
        out = np.stack([np.asarray(m) for m in out]) if len(out) else \
            np.zeros((0,) + np.shape(image_aug)[:2], dtype=np.uint8)
    out = np.asarray(out)
    if out.ndim == 4 and out.shape[-1] == 1:  # [N, H, W, 1]
        out = out[..., 0]
    mask_aug = np.moveaxis(out, 0, -1).astype(bool)
    if n == 0:
        mask_aug = mask_aug[:, :, :0]
    return image_aug, mask_aug


# --------------------------------------------------------------------------------------------
# plain callable
def _accepts_rng(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "rng" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _augment_callable(image, mask, augmentation, rng):
    if rng is not None and _accepts_rng(augmentation):
        result = augmentation(image, mask, rng=rng)
    else:
        result = augmentation(image, mask)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ValueError(f"augmentation {describe_augmentation(augmentation)} must return a pair "
                         f"(image, mask), got {type(result).__name__}")
    return result


_PATHS = {"imgaug": _augment_imgaug, "albumentations": _augment_albumentations,
          "callable": _augment_callable}


def augment(image, mask, augmentation, rng=None):
    """Applies ``augmentation`` to an image and its instance masks, keeping them aligned.

    See the module docstring for the three supported kinds (imgaug augmenters, albumentations
    transforms, plain callables). Replaces the augmentation step of Matterport's
    ``model.load_image_gt`` (its ``augmentation`` argument and ``MASK_AUGMENTERS`` hook), with
    every geometric augmenter applied to the masks.

    Args:
        image: [H, W, C] image (uint8 for albumentations' colour transforms), after
            ``resize_image``.
        mask: [H, W, N] instance masks (bool, or any 0/non-0 array), after ``resize_mask``.
        augmentation: an imgaug augmenter, an albumentations transform / ``Compose``, a callable
            ``f(image, mask) -> (image, mask)``, or None (returns the inputs unchanged).
        rng: optional ``np.random.Generator``. When given, the random choices of this call are
            drawn from a seed taken from it (imgaug: ``seed_`` on the deterministic copy;
            albumentations >= 2: ``set_random_seed`` on a per-thread copy of the transform;
            callables: passed as ``rng=`` if they accept it), so results are repeatable and
            threads do not share random state. When None, the augmentation's own random state is
            used.

    Returns:
        (image, mask): the augmented image ([H, W, C], the dtype the augmentation returns) and
        bool [H, W, N] masks. Instances are never dropped here, even if their mask became empty
        (``load_image_gt`` drops those).

    Raises:
        ValueError: the augmentation changed the image height/width, returned masks whose size
            differs from the image's, or changed the number of masks; the message names the
            augmentation.
        TypeError: ``augmentation`` is not a supported kind.
        RuntimeError: a real imgaug augmenter failed on this NumPy (``np.bool``/``np.sctypes``
            removed); the message names ``mrcnn.imgaug_compat`` as the replacement.
    """
    kind = augmentation_kind(augmentation)
    mask = np.asarray(mask)
    if kind is None:
        return image, mask.astype(bool, copy=False)
    image = np.asarray(image)
    if mask.ndim != 3 or mask.shape[:2] != image.shape[:2]:
        raise ValueError(f"augment: mask must be [H, W, N] with the image's H and W "
                         f"{image.shape[:2]}, got shape {mask.shape}")
    image_aug, mask_aug = _PATHS[kind](image, mask.astype(bool, copy=False), augmentation, rng)
    image_aug = np.asarray(image_aug)
    mask_aug = np.asarray(mask_aug)
    if image_aug.shape[:2] != image.shape[:2]:
        raise ValueError(
            f"Augmentation {describe_augmentation(augmentation)} changed the image size from "
            f"{image.shape[:2]} to {image_aug.shape[:2]}. Training needs every image at "
            "config.IMAGE_SHAPE: use size-preserving augmenters (e.g. imgaug CropAndPad with "
            "keep_size=True, albumentations crops followed by a Resize or PadIfNeeded back to the "
            "input size), or change the size through IMAGE_RESIZE_MODE instead.")
    if mask_aug.ndim == 2 and mask.shape[-1] == 1:
        mask_aug = mask_aug[..., None]
    if mask_aug.ndim != 3 or mask_aug.shape[:2] != image.shape[:2]:
        raise ValueError(f"Augmentation {describe_augmentation(augmentation)} returned masks of "
                         f"shape {mask_aug.shape}; expected [H, W, N] = "
                         f"{tuple(image.shape[:2]) + (mask.shape[-1],)}")
    if mask_aug.shape[-1] != mask.shape[-1]:
        raise ValueError(f"Augmentation {describe_augmentation(augmentation)} changed the number "
                         f"of masks from {mask.shape[-1]} to {mask_aug.shape[-1]}; it must keep "
                         "one mask per instance (class ids cannot follow dropped masks)")
    return image_aug, mask_aug.astype(bool, copy=False)
