"""Synthetic shapes dataset: squares, circles and triangles on a plain background.

Mirrors Matterport ``samples/shapes/shapes.py`` (the dataset of ``train_shapes.ipynb``). Images
are generated on the fly from a small description (background colour plus a list of shapes), so
the dataset needs no files. Use it from a notebook or script with this folder on ``sys.path``::

    import shapes
    config = shapes.ShapesConfig()
    dataset_train = shapes.ShapesDataset()
    dataset_train.load_shapes(500, config.IMAGE_SHAPE[0], config.IMAGE_SHAPE[1], seed=0)
    dataset_train.prepare()

or run it as a script to write a few sample images with their masks overlaid::

    python samples/shapes/shapes.py --count 4 --seed 0 --out /tmp/shapes

Unlike the original, generation does not use the global ``random`` state: ``load_shapes`` takes
an optional ``seed`` and draws from its own ``random.Random`` instance, so a seeded dataset is
reproducible (and an unseeded one differs from run to run).
"""

import math
import random
import sys
from pathlib import Path

import cv2
import numpy as np

try:
    import mrcnn  # noqa: F401
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mrcnn.boxes import non_max_suppression  # noqa: E402
from mrcnn.config import Config  # noqa: E402
from mrcnn.dataset import Dataset  # noqa: E402

SHAPE_NAMES = ("square", "circle", "triangle")

# random_shape keeps shape centres this many pixels from the border and uses it as the minimum size.
_BUFFER = 20


class ShapesConfig(Config):
    """Configuration for training on the shapes dataset (Matterport's values)."""

    NAME = "shapes"
    # Train on 1 GPU and 8 images per GPU: the images are small (128x128).
    GPU_COUNT = 1
    IMAGES_PER_GPU = 8
    NUM_CLASSES = 1 + 3  # background + 3 shapes
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    # Smaller anchors, since images and objects are small.
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    # Few objects per image, so fewer ROIs are needed.
    TRAIN_ROIS_PER_IMAGE = 32
    STEPS_PER_EPOCH = 100
    VALIDATION_STEPS = 5


class ShapesDataset(Dataset):
    """Generates images of random shapes on the fly.

    Each image's ``image_info`` entry holds ``path=None``, ``width``, ``height``, ``bg_color``
    (int array [3], RGB) and ``shapes``: a list of ``(name, color, (x, y, s))`` with ``name`` in
    "square", "circle", "triangle", ``color`` an (r, g, b) tuple of ints 0..255, centre ``(x, y)``
    in pixels and size ``s`` (half side / radius / triangle half height), drawn in list order.
    """

    def __init__(self, class_map=None):
        super().__init__(class_map)
        self._rng = random.Random()

    def _random(self, rng):
        if rng is not None:
            return rng
        if getattr(self, "_rng", None) is None:
            self._rng = random.Random()
        return self._rng

    def load_shapes(self, count, height, width, seed=None):
        """Adds the 3 shape classes and ``count`` random images of ``height`` x ``width``.

        Args:
            count: number of images (int >= 0).
            height, width: image size in pixels; ``random_shape`` needs height >= 80 and
                width >= 41.
            seed: optional seed of the dataset's own ``random.Random``; the same seed gives the
                same images. None continues the dataset's unseeded generator.

        Raises:
            ValueError: count is negative, or the size is too small for ``random_shape``.
        """
        if not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        _check_size(height, width)
        if seed is not None:
            self._rng = random.Random(seed)
        for class_id, name in enumerate(SHAPE_NAMES, start=1):
            self.add_class("shapes", class_id, name)
        for i in range(count):
            bg_color, shapes = self.random_image(height, width)
            self.add_image("shapes", image_id=i, path=None, width=int(width), height=int(height),
                           bg_color=bg_color, shapes=shapes)

    def load_image(self, image_id):
        """Draws the image from its description.

        Returns:
            uint8 [height, width, 3] RGB image: the background colour with the shapes drawn in
            order (later shapes on top).
        """
        info = self.image_info[image_id]
        image = np.empty([info["height"], info["width"], 3], dtype=np.uint8)
        image[:] = np.asarray(info["bg_color"], dtype=np.uint8).reshape(1, 1, 3)
        for shape, color, dims in info["shapes"]:
            image = self.draw_shape(image, shape, dims, color)
        return image

    def image_reference(self, image_id):
        """The image's shapes list for "shapes" images; the base class's reference otherwise."""
        info = self.image_info[image_id]
        if info["source"] == "shapes":
            return info["shapes"]
        return super().image_reference(image_id)

    def load_mask(self, image_id):
        """Instance masks of the image's shapes, with occlusion resolved.

        A pixel belongs to the last shape drawn over it, so each pixel is in at most one mask and
        every mask pixel has its shape's colour in ``load_image``.

        Returns:
            masks: uint8 [height, width, N] of 0/1, one channel per shape in list order.
            class_ids: int32 [N], ``class_names.index(shape name)``.

        Raises:
            RuntimeError: ``prepare()`` has not been called (class names are not known yet).
        """
        if not hasattr(self, "class_names"):
            raise RuntimeError("call prepare() on the dataset before load_mask()")
        info = self.image_info[image_id]
        shapes = info["shapes"]
        height, width = info["height"], info["width"]
        mask = np.zeros([height, width, len(shapes)], dtype=np.uint8)
        for i, (shape, _, dims) in enumerate(shapes):
            mask[:, :, i] = self.draw_shape(np.zeros([height, width], np.uint8), shape, dims, 1)
        # Later shapes cover earlier ones: walk back from the top, removing covered pixels.
        covered = np.zeros([height, width], dtype=bool)
        for i in range(len(shapes) - 1, -1, -1):
            mask[:, :, i][covered] = 0
            covered |= mask[:, :, i].astype(bool)
        class_ids = np.array([self.class_names.index(s[0]) for s in shapes], dtype=np.int32)
        return mask, class_ids

    def draw_shape(self, image, shape, dims, color):
        """Draws one filled shape into ``image`` in place with OpenCV; returns the image.

        Args:
            image: uint8 [H, W] or [H, W, 3] C-contiguous array.
            shape: "square", "circle" or "triangle".
            dims: (x, y, s): centre column, centre row and size in pixels. A square spans
                x - s .. x + s inclusive, a circle has radius s, a triangle has its apex at
                (x, y - s) and its base on row y + s, s / sin(60 degrees) either side of x.
            color: int (for one channel) or (r, g, b) tuple of ints.

        Raises:
            ValueError: unknown shape name.
        """
        x, y, s = (int(v) for v in dims)
        color = tuple(int(c) for c in color) if np.ndim(color) else int(color)
        if shape == "square":
            cv2.rectangle(image, (x - s, y - s), (x + s, y + s), color, -1)
        elif shape == "circle":
            cv2.circle(image, (x, y), s, color, -1)
        elif shape == "triangle":
            half_base = s / math.sin(math.radians(60))
            points = np.array([[(x, y - s), (x - half_base, y + s), (x + half_base, y + s)]],
                              dtype=np.int32)
            cv2.fillPoly(image, points, color)
        else:
            raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPE_NAMES}")
        return image

    def random_shape(self, height, width, rng=None):
        """A random shape that fits in a ``height`` x ``width`` image.

        Args:
            height, width: image size (height >= 80, width >= 41).
            rng: optional ``random.Random``; default the dataset's own generator.

        Returns:
            (name, color, (x, y, s)): a shape name, an (r, g, b) tuple of ints 0..255, the centre
            (20 <= x <= width - 21, 20 <= y <= height - 21) and the size 20 <= s <= height // 4.

        Raises:
            ValueError: the size is too small.
        """
        _check_size(height, width)
        rng = self._random(rng)
        shape = rng.choice(SHAPE_NAMES)
        color = tuple(rng.randint(0, 255) for _ in range(3))
        y = rng.randint(_BUFFER, height - _BUFFER - 1)
        x = rng.randint(_BUFFER, width - _BUFFER - 1)
        s = rng.randint(_BUFFER, height // 4)
        return shape, color, (x, y, s)

    def random_image(self, height, width, rng=None):
        """A random image description: a background colour and 1 to 4 shapes.

        Shapes whose square bounding boxes (y - s, x - s, y + s, x + s) overlap an earlier-drawn
        kept shape with IoU > 0.3 are dropped (``non_max_suppression`` with later shapes ranked
        first); the kept shapes stay in drawing order.

        Args:
            height, width: image size (height >= 80, width >= 41).
            rng: optional ``random.Random``; default the dataset's own generator.

        Returns:
            (bg_color, shapes): int array [3] (RGB 0..255) and a list of
            ``(name, color, (x, y, s))``.
        """
        _check_size(height, width)
        rng = self._random(rng)
        bg_color = np.array([rng.randint(0, 255) for _ in range(3)])
        shapes = [self.random_shape(height, width, rng=rng) for _ in range(rng.randint(1, 4))]
        boxes = np.array([[y - s, x - s, y + s, x + s] for _, _, (x, y, s) in shapes])
        keep = set(non_max_suppression(boxes, np.arange(len(shapes)), 0.3).tolist())
        return bg_color, [shape for i, shape in enumerate(shapes) if i in keep]


def _check_size(height, width):
    if height // 4 < _BUFFER or height < 2 * _BUFFER + 1 or width < 2 * _BUFFER + 1:
        raise ValueError(f"shapes images must be at least 80 pixels high and 41 wide, got "
                         f"{height}x{width}")


def main(argv=None):
    """Command line: writes sample images with their masks overlaid as PNG files."""
    import argparse

    parser = argparse.ArgumentParser(description="Generate sample images of the shapes dataset.")
    parser.add_argument("--count", type=int, default=4, help="number of images (default 4)")
    parser.add_argument("--size", type=int, default=ShapesConfig.IMAGE_MAX_DIM,
                        help="image height and width in pixels (default 128)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument("--out", default=None,
                        help="folder for shapes_<i>.png overlays (default: only print a summary)")
    args = parser.parse_args(argv)

    dataset = ShapesDataset()
    dataset.load_shapes(args.count, args.size, args.size, seed=args.seed)
    dataset.prepare()
    out = Path(args.out) if args.out else None
    if out is not None:
        from mrcnn import visualize
        out.mkdir(parents=True, exist_ok=True)
    for image_id in dataset.image_ids:
        mask, class_ids = dataset.load_mask(image_id)
        names = [dataset.class_names[c] for c in class_ids]
        print(f"image {image_id}: {', '.join(names)}")
        if out is not None:
            from mrcnn.boxes import extract_bboxes
            visualize.save_instances_png(out / f"shapes_{image_id}.png",
                                         dataset.load_image(image_id), extract_bboxes(mask), mask,
                                         class_ids, dataset.class_names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
