"""The ``Dataset`` base class (Matterport ``utils.Dataset``).

Subclass it, add classes and images in a ``load_xxx()`` method, override ``load_mask()`` (and
optionally ``load_image()`` and ``image_reference()``), then call ``prepare()``::

    class ShapesDataset(utils.Dataset):
        def load_shapes(self, count):
            self.add_class("shapes", 1, "square")
            for i in range(count):
                self.add_image("shapes", image_id=i, path=None)
        def load_mask(self, image_id):
            ...
            return mask, class_ids   # bool [H, W, N], int32 [N]

Image ids are internal indices (0 .. num_images-1); ``image_info[i]["id"]`` is the source's own id.
"""

import logging

import numpy as np

from mrcnn.image import read_image

logger = logging.getLogger("mrcnn")


class Dataset:
    """Base class for dataset classes; mirrors Matterport's ``utils.Dataset``."""

    def __init__(self, class_map=None):
        # class_map is accepted for compatibility and ignored, as in the original.
        self._image_ids = []
        self.image_info = []
        # Background is always the first class.
        self.class_info = [{"source": "", "id": 0, "name": "BG"}]
        self.source_class_ids = {}

    def add_class(self, source, class_id, class_name):
        """Registers class ``class_id`` of ``source``; a repeated (source, class_id) is ignored.

        Raises:
            ValueError: ``source`` contains a dot (dots separate source and id in map keys).
        """
        if "." in source:
            raise ValueError(f"Source name {source!r} cannot contain a dot")
        for info in self.class_info:
            if info["source"] == source and info["id"] == class_id:
                return
        self.class_info.append({"source": source, "id": class_id, "name": class_name})

    def add_image(self, source, image_id, path, **kwargs):
        """Registers an image. ``image_id`` is the source's id; extra keyword args are kept."""
        image_info = {"id": image_id, "source": source, "path": path}
        image_info.update(kwargs)
        self.image_info.append(image_info)

    def image_reference(self, image_id):
        """A string (link or path) naming the image, for debugging. Override in subclasses."""
        return ""

    def prepare(self, class_map=None):
        """Builds the lookup tables; call after adding classes and images, before use."""

        def clean_name(name):
            return ",".join(name.split(",")[:1])

        self.num_classes = len(self.class_info)
        self.class_ids = np.arange(self.num_classes)
        self.class_names = [clean_name(c["name"]) for c in self.class_info]
        self.num_images = len(self.image_info)
        self._image_ids = np.arange(self.num_images)

        self.class_from_source_map = {f"{info['source']}.{info['id']}": cid
                                      for info, cid in zip(self.class_info, self.class_ids)}
        self.image_from_source_map = {f"{info['source']}.{info['id']}": iid
                                      for info, iid in zip(self.image_info, self.image_ids)}

        self.sources = list({i["source"] for i in self.class_info})
        self.sources.sort()
        self.source_class_ids = {}
        for source in self.sources:
            self.source_class_ids[source] = [
                i for i, info in enumerate(self.class_info)
                if i == 0 or source == info["source"]]

    def map_source_class_id(self, source_class_id):
        """``"coco.12"`` -> internal class id."""
        return self.class_from_source_map[source_class_id]

    def get_source_class_id(self, class_id, source):
        """Internal class id -> the source's class id.

        Raises:
            ValueError: the class does not belong to ``source``.
        """
        info = self.class_info[class_id]
        if info["source"] != source:
            raise ValueError(f"Class {class_id} belongs to source {info['source']!r}, "
                             f"not {source!r}")
        return info["id"]

    @property
    def image_ids(self):
        return self._image_ids

    def source_image_link(self, image_id):
        """The path or URL of the image."""
        return self.image_info[image_id]["path"]

    def load_image(self, image_id):
        """Loads the image as [H, W, 3] RGB (uint8 for 8-bit and 16-bit files).

        Reads ``image_info[image_id]["path"]`` with ``mrcnn.image.read_image`` (Pillow): CMYK
        and YCCK JPEGs, palette, ``LA`` and 1-bit images are converted to RGB, grayscale is
        repeated over 3 channels and an alpha channel is dropped, as in the original; 16-bit
        grayscale is scaled to uint8 (see ``mrcnn.image.to_rgb``). No EXIF rotation is applied.

        Raises:
            OSError: the file cannot be read (``FileNotFoundError`` if missing); the message
                names the path and the image id.
            ValueError: the image cannot be converted to RGB (the message names the path).
        """
        path = self.image_info[image_id]["path"]
        try:
            return read_image(path)
        except OSError as e:
            raise type(e)(f"{e} (image_id {image_id})") from e
        except ValueError:
            raise
        except Exception as e:  # noqa: BLE001 - e.g. a path of the wrong type; re-raised
            raise OSError(f"Cannot read image {path!r} (image_id {image_id}): {e}") from e

    def load_mask(self, image_id):
        """Instance masks of the image: (bool [H, W, N], int32 [N] class ids).

        Override in subclasses. The base version warns and returns an empty mask, as the
        original does.
        """
        logger.warning("You are using the default load_mask(), maybe you need to define your "
                       "own one.")
        mask = np.empty([0, 0, 0], dtype=bool)
        class_ids = np.empty([0], np.int32)
        return mask, class_ids
