"""The ``image_meta`` vector (Matterport ``compose_image_meta`` / ``parse_image_meta``), and named
accessors for its fields.

Layout of the 1-D vector of length ``12 + NUM_CLASSES`` (``meta_size``):

| index | field | content |
|---|---|---|
| 0 | ``IMAGE_ID`` | image_id (internal dataset index) |
| 1:4 | ``ORIGINAL_IMAGE_SHAPE`` | original image shape (H, W, C) before resizing |
| 4:7 | ``IMAGE_SHAPE`` | molded image shape (H, W, C) after resizing and padding |
| 7:11 | ``WINDOW`` | window (y1, x1, y2, x2): the real image in molded pixels, exclusive ends |
| 11 | ``SCALE`` | scale |
| 12: | ``ACTIVE_CLASS_IDS`` | active_class_ids (NUM_CLASSES): 1 for the source's classes, else 0 |

The accessors (``image_id``, ``original_image_shape``, ``image_shape``, ``window``, ``scale``,
``active_class_ids``) read a field from the last axis of a meta of any rank: one image's
``[META]`` or a batch ``[B, META]``, as a NumPy array, a ``tf.Tensor`` or a Keras symbolic
tensor. They return the values in the meta's own dtype (float), without casting; the field
constants above are the index / slice of each field, for the code that builds metas.
"""

import numpy as np

IMAGE_ID = 0
ORIGINAL_IMAGE_SHAPE = slice(1, 4)
IMAGE_SHAPE = slice(4, 7)
WINDOW = slice(7, 11)
SCALE = 11
ACTIVE_CLASS_IDS = slice(12, None)

#: Number of values before ``active_class_ids``.
FIXED_SIZE = 12


def meta_size(num_classes):
    """Length of an image_meta vector for ``num_classes`` classes (``Config.IMAGE_META_SIZE``)."""
    return FIXED_SIZE + num_classes


def compose_image_meta(image_id, original_image_shape, image_shape, window, scale,
                       active_class_ids):
    """Packs image attributes into one float64 vector [12 + NUM_CLASSES] (Matterport
    ``model.compose_image_meta``).

    Args:
        image_id: int, the image's index in its dataset.
        original_image_shape: (H, W, C) before resizing.
        image_shape: (H, W, C) after resizing and padding (the molded image).
        window: (y1, x1, y2, x2) pixel box of the real image in the molded one, exclusive ends.
        scale: float, the resize factor.
        active_class_ids: [NUM_CLASSES] 1 for the classes of the image's source dataset, else 0.

    Raises:
        ValueError: a shape that is not 3 values or a window that is not 4 (the layout would
            shift every later field).
    """
    for name, value, n in (("original_image_shape", original_image_shape, 3),
                           ("image_shape", image_shape, 3), ("window", window, 4)):
        if len(value) != n:
            raise ValueError(f"compose_image_meta: {name} must have {n} values, got "
                             f"{len(value)} ({tuple(value)}); pass the full (H, W, C) shape "
                             "and a (y1, x1, y2, x2) window")
    return np.array([image_id] + list(original_image_shape) + list(image_shape) + list(window)
                    + [scale] + list(active_class_ids), dtype=np.float64)


def _checked(meta):
    """Returns ``meta`` (NumPy from a list) after checking that its last axis can hold a meta."""
    if not hasattr(meta, "shape"):
        meta = np.asarray(meta)
    if getattr(meta.shape, "rank", 0) is None:  # a tensor of unknown rank: nothing to check
        return meta
    shape = tuple(meta.shape)
    if not shape:
        raise ValueError("image_meta must be [META] or [B, META], got a scalar")
    if shape[-1] is not None and shape[-1] <= FIXED_SIZE:
        raise ValueError(f"image_meta has {shape[-1]} values on its last axis (shape {shape}); "
                         f"it needs {FIXED_SIZE} + NUM_CLASSES (config.IMAGE_META_SIZE): build it "
                         "with compose_image_meta")
    return meta


def image_id(meta):
    """image_id: [...] from a meta [..., META] (NumPy or tensor, the meta's dtype).

    Raises:
        ValueError: the last axis is too short to be an image_meta.
    """
    return _checked(meta)[..., IMAGE_ID]


def original_image_shape(meta):
    """Original (H, W, C) before resizing: [..., 3] from a meta [..., META] (the meta's dtype).

    Raises:
        ValueError: the last axis is too short to be an image_meta.
    """
    return _checked(meta)[..., ORIGINAL_IMAGE_SHAPE]


def image_shape(meta):
    """Molded image (H, W, C): [..., 3] from a meta [..., META] (the meta's dtype).

    Raises:
        ValueError: the last axis is too short to be an image_meta.
    """
    return _checked(meta)[..., IMAGE_SHAPE]


def window(meta):
    """Window (y1, x1, y2, x2): [..., 4] pixel box of the real image in the molded one,
    exclusive ends, from a meta [..., META] (the meta's dtype).

    Raises:
        ValueError: the last axis is too short to be an image_meta.
    """
    return _checked(meta)[..., WINDOW]


def scale(meta):
    """Resize scale: [...] from a meta [..., META] (the meta's dtype).

    Raises:
        ValueError: the last axis is too short to be an image_meta.
    """
    return _checked(meta)[..., SCALE]


def active_class_ids(meta):
    """Active class ids: [..., NUM_CLASSES] (1 for classes of the image's source dataset, else
    0) from a meta [..., META] (the meta's dtype).

    Raises:
        ValueError: the last axis is too short to be an image_meta.
    """
    return _checked(meta)[..., ACTIVE_CLASS_IDS]


def parse_image_meta(meta):
    """Splits [batch, META] image_meta (NumPy) into a dict of typed arrays (Matterport
    ``model.parse_image_meta``).

    Returns:
        dict with ``image_id`` int32 [B], ``original_image_shape`` int32 [B, 3],
        ``image_shape`` int32 [B, 3], ``window`` int32 [B, 4], ``scale`` float32 [B],
        ``active_class_ids`` int32 [B, NUM_CLASSES].

    Raises:
        ValueError: the last axis is too short to be an image_meta.
    """
    meta = np.asarray(meta)
    return {
        "image_id": image_id(meta).astype(np.int32),
        "original_image_shape": original_image_shape(meta).astype(np.int32),
        "image_shape": image_shape(meta).astype(np.int32),
        "window": window(meta).astype(np.int32),
        "scale": scale(meta).astype(np.float32),
        "active_class_ids": active_class_ids(meta).astype(np.int32),
    }


def parse_image_meta_graph(meta):
    """Tensor version of ``parse_image_meta`` (Matterport ``model.parse_image_meta_graph``):
    same keys, float tensors, no casts.

    Raises:
        ValueError: the last axis is statically known and too short to be an image_meta.
    """
    return {
        "image_id": image_id(meta),
        "original_image_shape": original_image_shape(meta),
        "image_shape": image_shape(meta),
        "window": window(meta),
        "scale": scale(meta),
        "active_class_ids": active_class_ids(meta),
    }
