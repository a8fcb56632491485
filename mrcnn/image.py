"""Image conversion, resizing and normalisation (NumPy).

Mirrors Matterport's ``utils.resize``, ``utils.resize_image``, ``model.mold_image`` and
``model.unmold_image``; adds ``to_rgb`` for grayscale, RGBA and 16-bit input.
"""

import numpy as np


def to_rgb(image):
    """Converts an image to 3-channel RGB, as ``Dataset.load_image`` and ``detect()`` do.

    Args:
        image: [H, W] or [H, W, 1] grayscale, [H, W, 3] RGB or [H, W, 4] RGBA array of any
            numeric dtype.

    Returns:
        [H, W, 3] array. Grayscale is repeated over 3 channels, alpha is dropped, and uint16
        images are scaled to uint8 (``value // 257``, so 65535 -> 255). Other dtypes are kept.

    Raises:
        ValueError: the array is not 2-D or 3-D with 1, 3 or 4 channels, or is empty.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"Expected an image of shape [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], got an array "
            f"of shape {image.shape}. Pass one image per list entry (detect() takes a list).")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"Image has no pixels (shape {image.shape})")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    elif image.shape[-1] == 4:
        image = image[..., :3]
    return image
