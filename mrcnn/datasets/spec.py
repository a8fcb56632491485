"""Dataset specs of the command line (``mrcnn train/evaluate --dataset SPEC``): strings naming a
dataset class and its files, parsed and checked before any model is built.

* ``coco:ANNOTATIONS.json:IMAGES_DIR``: ``CocoFormatDataset(ANNOTATIONS.json, IMAGES_DIR)``;
* ``via:REGIONS.json[:IMAGES_DIR]``: ``ViaDataset(REGIONS.json, IMAGES_DIR)`` (default: the
  JSON's folder, the balloon layout ``train/via_region_data.json`` + ``train/*.jpg``); a folder
  instead of the JSON means its ``via_region_data.json``.
"""

import os

__all__ = ["DATASET_KINDS", "parse_dataset_spec", "load_dataset"]

#: Kinds of dataset spec and their forms, for messages.
DATASET_KINDS = {"coco": "coco:ANNOTATIONS.json:IMAGES_DIR",
                 "via": "via:REGIONS.json[:IMAGES_DIR]"}

VIA_DEFAULT_FILENAME = "via_region_data.json"


def parse_dataset_spec(spec):
    """``(kind, annotation_path, image_dir)`` of a spec, with the files checked.

    Raises:
        ValueError: an unknown kind, a malformed spec, or a path that does not exist (the
            message gives the forms of ``DATASET_KINDS``).
    """
    forms = " or ".join(DATASET_KINDS.values())
    kind, sep, rest = str(spec).partition(":")
    if not sep or kind not in DATASET_KINDS:
        raise ValueError(f"dataset {spec!r}: expected {forms}")
    if kind == "coco":
        annotations, sep, image_dir = rest.rpartition(":")
        if not sep or not annotations or not image_dir:
            raise ValueError(f"dataset {spec!r}: expected {DATASET_KINDS['coco']}")
    else:
        annotations, image_dir = rest, None
        if ":" in rest and not os.path.exists(rest):
            annotations, _, image_dir = rest.rpartition(":")
        if os.path.isdir(annotations):
            annotations = os.path.join(annotations, VIA_DEFAULT_FILENAME)
        image_dir = image_dir or os.path.dirname(os.path.abspath(annotations))
    if not os.path.isfile(annotations):
        raise ValueError(f"dataset {spec!r}: annotation file not found: {annotations}")
    if not os.path.isdir(image_dir):
        raise ValueError(f"dataset {spec!r}: image folder not found: {image_dir}")
    return kind, annotations, image_dir


def load_dataset(spec, class_name=None, class_attribute=None):
    """The prepared dataset of a spec (``CocoFormatDataset`` or ``ViaDataset``).

    Args:
        spec: see ``parse_dataset_spec``.
        class_name: ``via:`` only: the one class of every region, whatever its attributes
            (``ViaDataset(single_class=True)``), so splits annotated differently get the same
            classes. None: classes from the region attributes.
        class_attribute: ``via:`` only: the region attribute that holds the class name.

    Raises:
        ValueError, FileNotFoundError: see ``parse_dataset_spec`` and the dataset classes;
            ValueError for ``class_name`` / ``class_attribute`` with a ``coco:`` spec (COCO
            files name their categories).
    """
    kind, annotations, image_dir = parse_dataset_spec(spec)
    if kind == "coco":
        if class_name is not None or class_attribute is not None:
            raise ValueError(f"dataset {spec!r}: a class name or class attribute applies to "
                             "via: datasets only (COCO files name their categories)")
        from mrcnn.datasets.coco_format import CocoFormatDataset
        return CocoFormatDataset(annotations, image_dir)
    from mrcnn.datasets.via_format import ViaDataset
    if class_name is not None:
        return ViaDataset(annotations, image_dir, class_attribute=class_attribute,
                          class_name=class_name, single_class=True)
    return ViaDataset(annotations, image_dir, class_attribute=class_attribute)
