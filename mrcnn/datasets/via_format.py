"""``ViaDataset``: a ``Dataset`` from a VGG Image Annotator (VIA 1.x / 2.x) region file, with no
code to write. Parsing and rasterising are ``mrcnn.via``'s (``load_via_annotations``,
``region_to_mask``); this class only maps them onto ``Dataset``.

Classes come from the regions' attributes (``mrcnn.via.region_class_name``, or the attribute
named by ``class_attribute``); regions without a class name get ``class_name`` (default
"object"). Classes are numbered 1 .. K in alphabetical order. Images without regions are kept
(background-only images; negatives with ``config.TRAIN_ON_BACKGROUND_IMAGES``).
Mirrors Matterport's ``BalloonDataset.load_balloon`` / ``load_mask`` for any VIA export.
"""

import os

import numpy as np
from PIL import Image

from mrcnn.dataset import Dataset
from mrcnn.via import load_via_annotations, region_to_mask

__all__ = ["ViaDataset"]


class ViaDataset(Dataset):
    """A prepared ``Dataset`` of one VIA region file and its image folder.

    Args:
        json_path: the VIA JSON (``via_region_data.json``, a VIA 2.x export or project file).
        image_dir: the folder of the images (default: the JSON's folder).
        class_attribute: the region attribute holding the class name (default: any attribute).
        class_name: the class of regions without a name (default "object").
        single_class: True: every region is ``class_name``, whatever its attributes say (one
            class for splits annotated differently, e.g. named regions in train and unnamed
            ones in val). Default False.
        source: the ``add_class`` / ``add_image`` source name (default "via").

    ``load_mask`` returns bool [H, W, N] and int32 [N] (N = 0 for an image without regions).

    Raises (at construction): FileNotFoundError for a missing JSON, folder or image file (count
    and first names); ``mrcnn.via.ViaFormatError`` (a ValueError) for a malformed file.
    """

    def __init__(self, json_path, image_dir=None, class_attribute=None, class_name="object",
                 source="via", single_class=False):
        super().__init__()
        self.json_path = os.fspath(json_path)
        records = load_via_annotations(self.json_path, class_attribute=class_attribute)
        if single_class:
            for rec in records:
                for region in rec["regions"]:
                    region["class_name"] = class_name
        self.image_dir = os.fspath(image_dir) if image_dir is not None else \
            os.path.dirname(os.path.abspath(self.json_path))
        if not os.path.isdir(self.image_dir):
            raise FileNotFoundError(f"image folder not found: {self.image_dir}")
        self.source = source
        self.default_class_name = class_name
        names = sorted({r["class_name"] or class_name for rec in records
                        for r in rec["regions"]}) or [class_name]
        for i, name in enumerate(names, start=1):
            self.add_class(source, i, name)
        self._class_of = {name: i for i, name in enumerate(names, start=1)}
        missing = []
        for rec in records:
            path = os.path.join(self.image_dir, rec["filename"])
            if not os.path.isfile(path):
                missing.append(rec["filename"])
            self.add_image(source, rec["filename"], path, regions=rec["regions"])
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} of the {len(records)} images of {self.json_path} are not in "
                f"{self.image_dir} (first: {missing[:3]}); give the folder that holds them")
        self.prepare()

    def image_reference(self, image_id):
        return self.image_info[image_id]["path"]

    def _size(self, image_id):
        info = self.image_info[image_id]
        if "height" not in info:
            with Image.open(info["path"]) as image:
                info["width"], info["height"] = image.size
        return info["height"], info["width"]

    def load_mask(self, image_id):
        """bool [H, W, N] masks and int32 [N] class ids of the image's regions."""
        info = self.image_info[image_id]
        height, width = self._size(image_id)
        regions = info["regions"]
        masks = np.zeros([height, width, len(regions)], dtype=bool)
        class_ids = np.zeros([len(regions)], dtype=np.int32)
        for i, region in enumerate(regions):
            masks[:, :, i] = region_to_mask(region, height, width)
            class_ids[i] = self._class_of[region["class_name"] or self.default_class_name]
        return masks, class_ids
