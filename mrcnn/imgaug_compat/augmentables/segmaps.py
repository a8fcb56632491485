"""``SegmentationMapsOnImage`` (``imgaug.augmentables.segmaps``), reduced to what augmentation
needs: an integer (class-id) or bool array ``[H, W]`` / ``[H, W, C]`` on an image of ``shape``.

Geometric augmenters move it with nearest-neighbour interpolation and fill 0; colour
augmenters leave it alone. Unlike imgaug, the array must have the image's height and width.
"""

import numpy as np

__all__ = ["SegmentationMapsOnImage", "as_segmaps"]


class SegmentationMapsOnImage:
    """A segmentation map ``arr`` (int or bool, ``[H, W]`` or ``[H, W, C]``) on an image of
    ``shape``.

    Raises:
        ValueError: ``arr`` is not 2-D/3-D, is float, has negative ids or ids >= 65536, or its
            height and width differ from ``shape``'s.
    """

    def __init__(self, arr, shape):
        arr = np.asarray(arr)
        if arr.ndim not in (2, 3):
            raise ValueError(f"SegmentationMapsOnImage: arr must be [H, W] or [H, W, C], got "
                             f"shape {arr.shape}")
        if arr.dtype.kind not in "biu":
            raise ValueError(f"SegmentationMapsOnImage: arr must hold integer class ids or "
                             f"bools, got dtype {arr.dtype}")
        if arr.size and arr.dtype.kind != "b" and (arr.min() < 0 or arr.max() >= 2 ** 16):
            raise ValueError("SegmentationMapsOnImage: class ids must be in [0, 65535]")
        shape = tuple(int(s) for s in shape)
        if tuple(arr.shape[:2]) != shape[:2]:
            raise ValueError(f"SegmentationMapsOnImage: arr of shape {arr.shape} does not match "
                             f"the image shape {shape}; mrcnn.imgaug_compat needs segmentation "
                             "maps at the image's resolution (resize them with nearest "
                             "neighbour first)")
        self.arr = arr
        self.shape = shape

    def get_arr(self):
        """The array, in its input dtype and number of dimensions."""
        return self.arr

    def _arr_for_augmentation(self):
        arr = self.arr[:, :, np.newaxis] if self.arr.ndim == 2 else self.arr
        big = arr.dtype.kind != "b" and arr.size and arr.max() > 255
        return np.ascontiguousarray(arr, dtype=np.uint16 if big else np.uint8)

    def _from_augmented(self, arr):
        out = arr[:, :, 0] if self.arr.ndim == 2 else arr
        out = out.astype(self.arr.dtype)
        return SegmentationMapsOnImage(out, tuple(arr.shape[:2]) + tuple(self.shape[2:]))

    def __repr__(self):
        return f"SegmentationMapsOnImage(shape={self.shape}, arr.shape={self.arr.shape})"


def as_segmaps(segmaps, images, single):
    """Wraps what imgaug accepts as ``segmentation_maps`` (objects or arrays; one per image)."""
    if single:
        items = [segmaps]
    elif isinstance(segmaps, np.ndarray):
        items = list(segmaps)
    else:
        items = list(segmaps)
    if len(items) != len(images):
        raise ValueError(f"augment(): got {len(items)} segmentation maps for {len(images)} "
                         "images")
    return [s if isinstance(s, SegmentationMapsOnImage) else
            SegmentationMapsOnImage(s, np.shape(img)) for s, img in zip(items, images)]
