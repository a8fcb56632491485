"""Datasets from annotation files, without code: ``CocoFormatDataset`` (COCO instances JSON
with any category ids) and ``ViaDataset`` (VGG Image Annotator region files), and the
command line's dataset specs (``load_dataset("coco:ANN.json:IMAGES_DIR")``)."""

from mrcnn.datasets.coco_format import CocoFormatDataset, annotation_to_mask
from mrcnn.datasets.via_format import ViaDataset
from mrcnn.datasets.spec import DATASET_KINDS, load_dataset, parse_dataset_spec

__all__ = ["CocoFormatDataset", "annotation_to_mask", "DATASET_KINDS", "load_dataset",
           "parse_dataset_spec", "ViaDataset"]
