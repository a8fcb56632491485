"""imgaug's augmentables (``imgaug.augmentables``): only segmentation maps are provided."""

from mrcnn.imgaug_compat.augmentables.segmaps import SegmentationMapsOnImage, as_segmaps

__all__ = ["SegmentationMapsOnImage", "as_segmaps"]
