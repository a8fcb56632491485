"""The ``image_meta`` vector (Matterport ``compose_image_meta`` / ``parse_image_meta``).

Layout of the 1-D vector of length ``12 + NUM_CLASSES``:

| index | content |
|---|---|
| 0 | image_id (internal dataset index) |
| 1:4 | original image shape (H, W, C) before resizing |
| 4:7 | molded image shape (H, W, C) after resizing and padding |
| 7:11 | window (y1, x1, y2, x2), pixels of the molded image, exclusive ends: the real image area |
| 11 | scale |
| 12: | active_class_ids (NUM_CLASSES): 1 for classes of the image's source dataset, else 0 |
"""

import numpy as np


def compose_image_meta(image_id, original_image_shape, image_shape, window, scale,
                       active_class_ids):
    """Packs image attributes into one float64 vector [12 + NUM_CLASSES]."""
    return np.array([image_id] + list(original_image_shape) + list(image_shape) + list(window)
                    + [scale] + list(active_class_ids), dtype=np.float64)


def parse_image_meta(meta):
    """Splits [batch, META] image_meta (NumPy) into a dict of typed arrays.

    Returns:
        dict with ``image_id`` int32 [B], ``original_image_shape`` int32 [B, 3],
        ``image_shape`` int32 [B, 3], ``window`` int32 [B, 4], ``scale`` float32 [B],
        ``active_class_ids`` int32 [B, NUM_CLASSES].
    """
    meta = np.asarray(meta)
    return {
        "image_id": meta[:, 0].astype(np.int32),
        "original_image_shape": meta[:, 1:4].astype(np.int32),
        "image_shape": meta[:, 4:7].astype(np.int32),
        "window": meta[:, 7:11].astype(np.int32),
        "scale": meta[:, 11].astype(np.float32),
        "active_class_ids": meta[:, 12:].astype(np.int32),
    }


def parse_image_meta_graph(meta):
    """Tensor version of ``parse_image_meta``: same keys, float tensors, no casts."""
    return {
        "image_id": meta[:, 0],
        "original_image_shape": meta[:, 1:4],
        "image_shape": meta[:, 4:7],
        "window": meta[:, 7:11],
        "scale": meta[:, 11],
        "active_class_ids": meta[:, 12:],
    }
