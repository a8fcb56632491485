"""``CocoFormatDataset``: a ``Dataset`` from any COCO-format instance annotation file, with no
code to write (the JSON that CVAT, Label Studio, Roboflow, labelme2coco and COCO itself export).

What it reads (``images``, ``annotations``, ``categories``; other keys are ignored):

* categories with any ids (1, 2, 3 or 7, 42, 1000): they become internal class ids 1 .. K in
  ascending category-id order; ``category_ids[class_id]`` maps back (``category_ids[0]`` = 0,
  background);
* segmentations as polygons (a list of ``[x1, y1, x2, y2, ...]`` rings, merged), uncompressed
  RLE (``counts`` a list, as COCO's crowd annotations) or compressed RLE (``counts`` a string),
  decoded by pycocotools (``frPyObjects``, ``merge``, ``decode``) as COCO's own API does; an
  annotation with an empty segmentation (detection-only exporters) becomes its ``bbox`` as a
  rectangle mask;
* ``iscrowd = 1`` annotations: negative class ids (Matterport's crowd convention: not training
  targets, anchors and RoIs touching them are not negatives);
* images without annotations are kept: background-only images, negatives when
  ``config.TRAIN_ON_BACKGROUND_IMAGES`` is True (otherwise the training loader skips them).

Mirrors Matterport's ``samples/coco/coco.py`` ``CocoDataset.load_coco`` / ``load_mask`` /
``annToRLE`` for a single annotation file, without its assumption of COCO's 80 category ids.
"""

import json
import os

import numpy as np
from pycocotools import mask as mask_utils

from mrcnn.dataset import Dataset

__all__ = ["CocoFormatDataset", "annotation_to_mask"]


def annotation_to_mask(annotation, height, width):
    """The bool [height, width] mask of one COCO annotation (polygons, RLE, or its bbox when
    the segmentation is empty).

    Raises:
        ValueError: the segmentation has an unknown form, or a polygon has fewer than 3 points;
            the message names the annotation id.
    """
    seg = annotation.get("segmentation")
    ann_id = annotation.get("id")
    if isinstance(seg, list) and seg:
        rings = [ring for ring in seg if len(ring) >= 6]
        if len(rings) != len(seg):
            raise ValueError(f"annotation {ann_id}: a polygon needs at least 3 points "
                             "(6 numbers x1, y1, x2, y2, x3, y3); fix or remove it")
        rle = mask_utils.merge(mask_utils.frPyObjects(rings, height, width))
    elif isinstance(seg, dict) and "counts" in seg:
        if isinstance(seg["counts"], list):
            rle = mask_utils.frPyObjects(seg, height, width)
        else:
            rle = dict(seg)
            if isinstance(rle["counts"], str):
                rle["counts"] = rle["counts"].encode("ascii")
        size = [int(s) for s in rle["size"]]
        if size != [height, width]:
            raise ValueError(f"annotation {ann_id}: its RLE has size {size} but the image is "
                             f"{height}x{width}")
    elif not seg and annotation.get("bbox"):
        x, y, w, h = (float(v) for v in annotation["bbox"])
        mask = np.zeros([height, width], dtype=bool)
        mask[max(0, int(round(y))):int(round(y + h)), max(0, int(round(x))):int(round(x + w))] = 1
        return mask
    else:
        raise ValueError(f"annotation {ann_id}: segmentation must be a list of polygons or an "
                         f"RLE dict with 'counts' and 'size', got {type(seg).__name__}")
    return mask_utils.decode(rle).astype(bool)


class CocoFormatDataset(Dataset):
    """A prepared ``Dataset`` of one COCO-format annotation file and its image folder.

    Args:
        annotation_json: path of the COCO instances JSON.
        image_dir: folder of the images; an image's path is ``image_dir / file_name`` (a
            ``file_name`` with sub-folders works; an absolute one is used as it is).
        source: the dataset source name of ``add_class`` / ``add_image`` (default ``"coco"``).

    Attributes:
        category_ids: int [num_classes]: the COCO category id of each internal class id (0 for
            BG); pass it to ``mrcnn.evaluation.detections_to_coco_results``.
        annotation_json, image_dir.

    ``image_info[i]`` holds ``id`` (the COCO image id), ``path``, ``width``, ``height`` and the
    image's ``annotations``. ``load_mask`` returns (bool [H, W, N], int32 [N]), crowds negative,
    ``(bool [H, W, 0], int32 [0])`` for an image without annotations.

    Raises (at construction, before any image is read):
        FileNotFoundError: the JSON or the image folder does not exist, or image files listed
            in the JSON are missing (the message gives the count and the first ones).
        ValueError: the file is not COCO instances JSON (no ``images`` / ``categories``), or an
            annotation names an unknown image or category id.
    """

    def __init__(self, annotation_json, image_dir, source="coco"):
        super().__init__()
        self.annotation_json = os.fspath(annotation_json)
        self.image_dir = os.fspath(image_dir)
        self.source = source
        self._load()
        self.prepare()
        self.category_ids = np.array([0] + [int(info["id"]) for info in self.class_info[1:]],
                                     dtype=np.int64)

    def _load(self):
        path, image_dir = self.annotation_json, self.image_dir
        if not os.path.isfile(path):
            raise FileNotFoundError(f"COCO annotation file not found: {path}")
        if not os.path.isdir(image_dir):
            raise FileNotFoundError(f"image folder not found: {image_dir} (the folder that "
                                    f"holds the images of {path})")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from None
        if not isinstance(data, dict) or not {"images", "categories"} <= set(data):
            keys = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"{path} is not a COCO instances file: it needs the keys 'images', "
                             f"'annotations' and 'categories' (it has {keys}); export the "
                             "annotations as 'COCO' / 'COCO 1.0' from the labelling tool")
        categories = sorted(data["categories"], key=lambda c: int(c["id"]))
        if not categories:
            raise ValueError(f"{path} has no categories")
        for cat in categories:
            self.add_class(self.source, int(cat["id"]), str(cat["name"]))
        known_categories = {int(c["id"]) for c in categories}
        by_image = {}
        for ann in data.get("annotations") or []:
            by_image.setdefault(ann["image_id"], []).append(ann)
            if int(ann["category_id"]) not in known_categories:
                raise ValueError(f"{path}: annotation {ann.get('id')} has category_id "
                                 f"{ann['category_id']}, which is not in 'categories' "
                                 f"({sorted(known_categories)[:20]})")
        images = sorted(data["images"], key=lambda im: str(im["id"]))
        known_images = {im["id"] for im in images}
        orphans = [a.get("id") for i, anns in by_image.items() if i not in known_images
                   for a in anns]
        if orphans:
            raise ValueError(f"{path}: {len(orphans)} annotation(s) name an image id that is not "
                             f"in 'images' (annotation ids {orphans[:5]})")
        missing = []
        for im in images:
            file_path = os.path.join(image_dir, im["file_name"])
            if not os.path.isfile(file_path):
                missing.append(im["file_name"])
            info = {"annotations": by_image.get(im["id"], [])}
            if "width" in im and "height" in im:
                info.update(width=int(im["width"]), height=int(im["height"]))
            self.add_image(self.source, im["id"], file_path, **info)
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} of the {len(images)} images of {path} are not in {image_dir} "
                f"(first: {missing[:3]}); give the folder that holds them")

    def image_reference(self, image_id):
        return self.image_info[image_id]["path"]

    def _size(self, image_id):
        info = self.image_info[image_id]
        if "height" not in info or "width" not in info:
            image = self.load_image(image_id)
            info["height"], info["width"] = int(image.shape[0]), int(image.shape[1])
        return info["height"], info["width"]

    def load_mask(self, image_id):
        """Instance masks bool [H, W, N] and class ids int32 [N] (negative for crowds)."""
        info = self.image_info[image_id]
        height, width = self._size(image_id)
        masks, class_ids = [], []
        for ann in info["annotations"]:
            mask = annotation_to_mask(ann, height, width)
            if not mask.any():
                continue
            class_id = self.map_source_class_id(f"{self.source}.{int(ann['category_id'])}")
            masks.append(mask)
            class_ids.append(-class_id if ann.get("iscrowd") else class_id)
        if not masks:
            return np.zeros([height, width, 0], dtype=bool), np.zeros([0], dtype=np.int32)
        return np.stack(masks, axis=-1), np.asarray(class_ids, dtype=np.int32)
