"""Per-image ground truth for training (Matterport ``model.load_image_gt``): the image resized
and augmented with its masks, the boxes of the masks, the instances that survive, the image meta.

Conventions: pixel boxes (y1, x1, y2, x2) with exclusive y2/x2; masks [H, W, N] bool; class id 0
is background and negative class ids mark crowd instances (COCO ``iscrowd``).
"""

import logging
import warnings

import numpy as np

from mrcnn.augmentation import augment as _augment
from mrcnn.boxes import extract_bboxes
from mrcnn.image import resize_image, to_pixel_range
from mrcnn.image_meta import compose_image_meta
from mrcnn.masks import minimize_mask, resize_mask
from mrcnn.rng import as_generator

logger = logging.getLogger("mrcnn")

__all__ = ["load_image_gt", "load_ground_truth", "image_name"]


def image_name(dataset, image_id):
    """``"image <id> (<reference or path>)"``: how messages name an image of a dataset
    (``dataset.image_reference``, else its ``path``; ``"image <id>"`` when neither is known)."""
    ref = ""
    try:
        ref = dataset.image_reference(image_id)
    except Exception:  # noqa: BLE001 - only used for messages
        pass
    if not ref:
        try:
            ref = dataset.image_info[image_id].get("path") or ""
        except Exception:  # noqa: BLE001
            ref = ""
    return f"image {image_id}" + (f" ({ref})" if ref else "")


def _resize(image, config, rng):
    """``resize_image`` with the config's settings; in "crop" mode with ``rng`` the crop position
    comes from ``rng`` (``resize_image`` draws it from Python's global ``random``)."""
    mode = config.IMAGE_RESIZE_MODE
    if mode != "crop" or rng is None:
        return resize_image(image, min_dim=config.IMAGE_MIN_DIM, min_scale=config.IMAGE_MIN_SCALE,
                            max_dim=config.IMAGE_MAX_DIM, mode=mode)
    min_dim = int(config.IMAGE_MIN_DIM)
    # "pad64" scales exactly as "crop" does (no max_dim cap); strip its padding, then crop.
    padded, window, scale, _, _ = resize_image(image, min_dim=min_dim,
                                               min_scale=config.IMAGE_MIN_SCALE, mode="pad64")
    y1, x1, y2, x2 = window
    scaled = padded[y1:y2, x1:x2]
    h, w = scaled.shape[:2]
    y = int(rng.integers(0, h - min_dim + 1))
    x = int(rng.integers(0, w - min_dim + 1))
    crop = (y, x, min_dim, min_dim)
    return (scaled[y:y + min_dim, x:x + min_dim], (0, 0, min_dim, min_dim), scale,
            [(0, 0), (0, 0), (0, 0)], crop)


def load_image_gt(dataset, config, image_id, augment=False, augmentation=None,
                  use_mini_mask=False, *, rng=None):
    """Loads an image and its ground truth, resized and augmented for training (Matterport
    ``model.load_image_gt``).

    Steps: ``dataset.load_image``, its pixel values put on the 0-255 scale or refused
    (``mrcnn.image.to_pixel_range``: float images in [0, 1] are multiplied by 255, bool images
    become 0 / 255, NaN and ambiguous float ranges raise), and ``dataset.load_mask``;
    ``resize_image`` with the config's ``IMAGE_MIN_DIM``, ``IMAGE_MIN_SCALE``,
    ``IMAGE_MAX_DIM``, ``IMAGE_RESIZE_MODE`` and ``resize_mask`` with the same
    scale/padding/crop; the deprecated 50 % horizontal flip if
    ``augment``; ``augmentation.augment`` if ``augmentation``; instances whose mask is empty (or
    whose box has zero height or width) are dropped with their class ids; boxes are computed from
    the masks (``extract_bboxes``; boxes the dataset may hold are ignored); mini masks if
    ``use_mini_mask``. Dropped instances are logged on the ``"mrcnn"`` logger: at WARNING level
    when the mask was empty in ``load_mask`` or vanished when the image was scaled, at DEBUG level
    when a random crop or the augmentation moved it out of the image (expected, not a data error).

    Args:
        dataset: a prepared ``Dataset``.
        config: a ``Config``.
        image_id: internal image id (index into ``dataset.image_info``).
        augment: deprecated (DeprecationWarning): flip left/right with probability 0.5. Use
            ``augmentation`` instead.
        augmentation: imgaug augmenter, albumentations transform or callable; see
            ``mrcnn.augmentation.augment``. It must keep the image size.
        use_mini_mask: return masks cropped to their boxes and resized to
            ``config.MINI_MASK_SHAPE`` (``minimize_mask``).
        rng: optional ``np.random.Generator`` for every random choice of this call (flip, crop
            position in "crop" mode, augmentation). Without it the flip uses a fresh generator,
            the crop Python's ``random`` and the augmentation its own random state.

    Returns:
        image: [H, W, C] resized image, dtype of ``load_image`` (uint8 for usual files;
            float32 for a float [0, 1] image, scaled to [0, 255]; uint8 for a bool one).
        image_meta: float64 [12 + dataset.num_classes] (``compose_image_meta``; active class ids
            are 1 for the classes of the image's source).
        class_ids: int32 [N] (negative = crowd).
        bbox: int32 [N, 4] pixel boxes of the masks (y1, x1, y2, x2), exclusive ends.
        mask: bool [H, W, N], or [MINI_MASK_SHAPE[0], MINI_MASK_SHAPE[1], N] with
            ``use_mini_mask``.

    Raises:
        ValueError: ``load_image`` returned NaN / infinite values or a float range that fits
            neither [0, 1] nor [0, 255]; ``load_mask`` returned masks whose size differs from
            the image's or whose count differs from the class ids', or a class id that is not
            an integer in ``1 .. dataset.num_classes - 1`` (or its negative, for a crowd); the
            augmentation changed the image size.
        Any error of ``load_image`` / ``load_mask``.
    """
    if augment:
        warnings.warn("load_image_gt(augment=True) is deprecated: pass augmentation= instead, "
                      "e.g. albumentations.HorizontalFlip(p=0.5)", DeprecationWarning,
                      stacklevel=2)
    return load_ground_truth(dataset, config, image_id, flip=augment, augmentation=augmentation,
                             use_mini_mask=use_mini_mask, rng=rng)


def _checked_class_ids(dataset, image_id, class_ids):
    """``load_mask``'s class ids as int32 [N], or a ValueError naming the image when one is not
    an integer in 1 .. num_classes - 1 (or its negative, Matterport's crowd marker)."""
    raw = np.asarray(class_ids).reshape(-1)
    if raw.size and (raw.dtype.kind not in "biuf"
                     or (raw.dtype.kind == "f" and not np.all(np.mod(raw, 1) == 0))):
        raise ValueError(f"load_mask of {image_name(dataset, image_id)} returned class ids "
                         f"{raw[:10].tolist()} ({raw.dtype}); they must be integers (int32 [N])")
    ids = raw.astype(np.int64)
    num_classes = int(dataset.num_classes)
    bad = (ids == 0) | (np.abs(ids) >= num_classes)
    if bad.any():
        values = sorted({int(v) for v in ids[bad]})
        raise ValueError(
            f"load_mask of {image_name(dataset, image_id)} returned class id(s) {values[:10]} "
            f"outside 1..{num_classes - 1}: the dataset has {num_classes} classes including BG "
            f"(0), so instance class ids must be 1..{num_classes - 1} (negative for crowds); "
            "add the class with add_class() and call prepare(), or fix load_mask")
    return ids.astype(np.int32)


def load_ground_truth(dataset, config, image_id, *, flip=False, augmentation=None,
                      use_mini_mask=False, rng=None):
    """``load_image_gt`` without its deprecation warning, for callers that warned once already
    (``TrainingExampleLoader``): the same steps, arguments, results and errors, with ``flip``
    for the deprecated ``augment`` flag (a 50 % horizontal flip)."""
    image = dataset.load_image(image_id)
    try:
        image = to_pixel_range(image, config, "the image of load_image")
    except ValueError as e:
        raise ValueError(f"{image_name(dataset, image_id)}: {e}") from None
    mask, class_ids = dataset.load_mask(image_id)
    mask = np.asarray(mask)
    class_ids = _checked_class_ids(dataset, image_id, class_ids)
    if mask.ndim == 3 and mask.shape[-1] == 0 and class_ids.size == 0:
        mask = np.zeros(image.shape[:2] + (0,), dtype=bool)
    if mask.ndim != 3 or mask.shape[:2] != image.shape[:2]:
        raise ValueError(f"load_mask of {image_name(dataset, image_id)} returned masks of shape "
                         f"{mask.shape}; expected [H, W, N] with the image's H, W "
                         f"{image.shape[:2]}")
    if mask.shape[-1] != class_ids.size:
        raise ValueError(f"load_mask of {image_name(dataset, image_id)} returned {mask.shape[-1]} "
                         f"masks but {class_ids.size} class ids")
    mask = mask.astype(bool, copy=False)
    original_shape = image.shape
    present_loaded = mask.any(axis=(0, 1))

    image, window, scale, padding, crop = _resize(image, config, rng)
    mask = resize_mask(mask, scale, padding, crop)
    present_resized = mask.any(axis=(0, 1))

    if flip:
        if as_generator(rng).random() < 0.5:
            image = np.fliplr(image)
            mask = np.fliplr(mask)

    if augmentation is not None:
        image, mask = _augment(image, mask, augmentation, rng=rng)

    bbox = extract_bboxes(mask)
    keep = mask.any(axis=(0, 1)) & (bbox[:, 2] > bbox[:, 0]) & (bbox[:, 3] > bbox[:, 1])
    if not keep.all():
        lost_load = ~present_loaded
        lost_scale = present_loaded & ~present_resized
        lost_later = present_resized & ~keep
        if config.IMAGE_RESIZE_MODE == "crop":  # the crop, not the scaling, removed them
            lost_later |= lost_scale
            lost_scale = np.zeros_like(lost_scale)
        name = image_name(dataset, image_id)
        if lost_load.any() or lost_scale.any():
            logger.warning("%s: dropped %d instance(s) with an empty mask in load_mask and %d "
                           "that vanished when the image was resized (scale %.3g)", name,
                           int(lost_load.sum()), int(lost_scale.sum()), float(scale))
        if lost_later.any():
            logger.debug("%s: dropped %d instance(s) moved out of the image by the crop or "
                         "augmentation", name, int(lost_later.sum()))
        mask = mask[:, :, keep]
        class_ids = class_ids[keep]
        bbox = bbox[keep]

    source = dataset.image_info[image_id]["source"]
    active_class_ids = np.zeros([dataset.num_classes], dtype=np.int32)
    active_class_ids[dataset.source_class_ids[source]] = 1

    if use_mini_mask:
        mask = minimize_mask(bbox, mask, config.MINI_MASK_SHAPE)

    image_meta = compose_image_meta(image_id, original_shape, image.shape, window, scale,
                                    active_class_ids)
    return image, image_meta, class_ids, bbox, mask
