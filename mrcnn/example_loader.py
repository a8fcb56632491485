"""One molded, padded training example per image id (the per-image part of Matterport's
``data_generator``): ``TrainingExampleLoader``, and ``SkippedImages``, its record of the images
it skipped and of when to give up.

Randomness is thread-safe and seedable (one ``np.random.Generator`` per call), so that
``mrcnn.input_pipeline.build_dataset`` can run the loader on parallel threads.
"""

import logging
import threading
import warnings

import numpy as np

from mrcnn.anchors import get_anchors
from mrcnn.augmentation import augmentation_kind
from mrcnn.ground_truth import image_name, load_ground_truth
from mrcnn.image import mold_image
from mrcnn.rpn_targets import build_rpn_targets

logger = logging.getLogger("mrcnn")

__all__ = ["TrainingExampleLoader", "SkippedImages", "TRAINING_INPUT_NAMES"]

# Order of the training model's inputs (Matterport §2.10), and of build_dataset's tuples.
TRAINING_INPUT_NAMES = ("input_image", "input_image_meta", "input_rpn_match", "input_rpn_bbox",
                        "input_gt_class_ids", "input_gt_boxes", "input_gt_masks")


class SkippedImages:
    """Thread-safe record of the images a loader skipped.

    Attributes (read them under no lock; they are snapshots):
        count: total number of skips (an image skipped in several epochs counts each time).
        background: how many of those skips were of images without any positive instance
            (background-only images, or all instances lost to the crop/augmentation), skipped
            because ``config.TRAIN_ON_BACKGROUND_IMAGES`` is False.
        successes: number of examples produced.
        reasons: dict image_id -> the latest reason (insertion order = first skip order).
        consecutive: skips since the last success.

    The loader reports to it through ``record_success`` and ``record_skip`` (which also says when
    to give up).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0
        self.background = 0
        self.successes = 0
        self._reasons = {}
        self._fails = {}
        self._certain = set()
        self._consecutive = 0

    @property
    def consecutive(self):
        """Skips since the last success (or since the start)."""
        return self._consecutive

    @property
    def reasons(self):
        with self._lock:
            return dict(self._reasons)

    def __len__(self):
        return self.count

    def __repr__(self):
        return (f"SkippedImages(count={self.count}, images={len(self._reasons)}, "
                f"background={self.background}, successes={self.successes})")

    def record_success(self):
        """Counts one example produced; ends the current run of consecutive skips."""
        with self._lock:
            self.successes += 1
            self._consecutive = 0

    def record_skip(self, image_id, reason, certain, num_images, retries, background=False):
        """Records a skip of ``image_id`` and says whether the caller should give up.

        Args:
            image_id: the image skipped.
            reason: why (kept as the image's latest reason).
            certain: True when the image will fail again (unreadable, bad class ids); False when
                the failure may be bad luck of a random pipeline (no positive instance left).
            num_images: the number of images of the dataset.
            retries: how many times an uncertain failure must repeat to count as certain, and
                how many epochs of skips in a row make the caller give up.
            background: the image had no positive instance (counted in ``background``).

        Returns:
            ``(first, give_up)``: ``first`` is True the first time this image is skipped;
            ``give_up`` is None, ``"all"`` when every image has failed (certainly, or
            ``retries`` times) and none succeeded, or ``"streak"`` after
            ``retries * num_images`` skips in a row.
        """
        with self._lock:
            self.count += 1
            self.background += int(bool(background))
            self._consecutive += 1
            first = image_id not in self._reasons
            self._reasons[image_id] = reason
            self._fails[image_id] = self._fails.get(image_id, 0) + 1
            if certain:
                self._certain.add(image_id)
            if self.successes == 0:
                hopeless = sum(1 for i, n in self._fails.items()
                               if i in self._certain or n >= retries)
                if hopeless >= num_images:
                    return first, "all"
            if self._consecutive >= retries * num_images:
                return first, "streak"
            return first, None

    def summary(self, dataset=None, limit=5):
        """The first ``limit`` skipped images and their reasons, one per line."""
        items = list(self.reasons.items())[:limit]
        lines = []
        for image_id, reason in items:
            name = image_name(dataset, image_id) if dataset is not None else f"image {image_id}"
            lines.append(f"  {name}: {reason}")
        return "\n".join(lines)


class TrainingExampleLoader:
    """Produces one molded training example per image id (the per-image part of Matterport's
    ``data_generator``), for ``build_dataset`` and ``data_generator``.

    ``loader(image_id)`` runs ``load_image_gt`` (with ``config.USE_MINI_MASK``), skips the image
    when it has no positive instance (unless ``config.TRAIN_ON_BACKGROUND_IMAGES``: then it is a
    negative example, with all-zero GT and RPN targets that are only negative or neutral), builds the RPN targets against the pixel anchors of
    ``config.IMAGE_SHAPE`` (computed once), randomly subsamples more than ``MAX_GT_INSTANCES``
    instances, molds the image and zero-pads the GT.

    Randomness is thread-safe and seedable: each call draws from its own
    ``np.random.default_rng([seed, key])``, where ``key`` is passed by the caller
    (``build_dataset`` passes a per-element random key from a seeded stream) or taken from an
    internal thread-safe call counter.

    Skipped images (``load_image``/``load_mask``/augmentation raised, ``load_mask`` returned a
    class id outside ``1 .. NUM_CLASSES - 1`` (negative for crowds) or ``load_image`` pixel
    values that ``to_pixel_range`` refuses, the result does not have ``IMAGE_SHAPE``, or no
    instance with a class id > 0 is left and ``TRAIN_ON_BACKGROUND_IMAGES`` is False) make the
    call return None; the
    first skip of each image is logged as a warning naming the image and the reason (later ones at
    DEBUG level) and every skip is counted in ``loader.skipped`` (``SkippedImages``). When every
    image of the dataset has failed and none has succeeded, the call raises ``RuntimeError`` with
    the first reasons instead of returning None, so a training loop can never spin forever on a
    dataset that yields nothing. An image whose only failure is "no positive instance" while the
    pipeline is random (augmentation or "crop" mode) must fail 3 times to count as failed. It also
    raises after ``3 * len(dataset)`` skips in a row (e.g. the files became unreadable after some
    successes).

    Args:
        dataset: a prepared ``Dataset`` with at least one image and ``num_classes ==
            config.NUM_CLASSES``.
        config: a ``Config`` with ``IMAGE_RESIZE_MODE`` "square" or "crop" (training needs every
            image at ``IMAGE_SHAPE``).
        augmentation: see ``mrcnn.augmentation.augment``.
        no_augmentation_sources: sources (``image_info[i]["source"]``) not to augment.
        seed: int >= 0 for repeatable examples, or None.
        augment: deprecated 50 % horizontal flip (``load_image_gt(augment=True)``).

    Attributes:
        anchors: float32 [A, 4] pixel anchors for ``config.IMAGE_SHAPE``.
        skipped: ``SkippedImages``.
        mask_shape: (h, w) of ``input_gt_masks``.

    Raises:
        ValueError: the config or dataset cannot give fixed-size training examples (see Args).
        TypeError: unsupported augmentation.
    """

    RANDOM_FAILURE_RETRIES = 3

    def __init__(self, dataset, config, augmentation=None, no_augmentation_sources=None,
                 seed=None, *, augment=False):
        if config.IMAGE_RESIZE_MODE not in ("square", "crop"):
            raise ValueError(
                f'IMAGE_RESIZE_MODE = "{config.IMAGE_RESIZE_MODE}" gives images of varying size, '
                'but training needs every image at IMAGE_SHAPE: use "square" or "crop"')
        if not hasattr(dataset, "num_classes"):
            raise ValueError("The dataset is not prepared: call dataset.prepare() first")
        if int(dataset.num_classes) != int(config.NUM_CLASSES):
            raise ValueError(
                f"The dataset has {dataset.num_classes} classes (including BG) but "
                f"config.NUM_CLASSES = {config.NUM_CLASSES}; they must match (image_meta and the "
                "class head have one entry per class)")
        self.num_images = len(dataset.image_ids)
        if self.num_images == 0:
            raise ValueError("The dataset has no images: add images and call dataset.prepare()")
        augmentation_kind(augmentation)  # TypeError early for unsupported objects
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        if augment:
            warnings.warn("augment=True is deprecated: pass augmentation= instead, e.g. "
                          "albumentations.HorizontalFlip(p=0.5)", DeprecationWarning,
                          stacklevel=2)
        self.dataset = dataset
        self.config = config
        self.augmentation = augmentation
        self.no_augmentation_sources = set(no_augmentation_sources or ())
        self.augment = bool(augment)
        self.seed = seed
        self._entropy = int(seed) if seed is not None else int(np.random.SeedSequence().entropy)
        self._lock = threading.Lock()
        self._calls = 0
        self.skipped = SkippedImages()
        self.image_shape = tuple(int(s) for s in config.IMAGE_SHAPE)
        self.anchors = get_anchors(config, self.image_shape[:2], normalized=False)
        self.max_gt = int(config.MAX_GT_INSTANCES)
        self.mask_shape = (tuple(int(s) for s in config.MINI_MASK_SHAPE) if config.USE_MINI_MASK
                           else self.image_shape[:2])
        self._random = (augmentation is not None or self.augment
                        or config.IMAGE_RESIZE_MODE == "crop")

    # -- shapes and dtypes of one example, in TRAINING_INPUT_NAMES order
    def output_signature(self):
        """[(name, shape, numpy dtype)] of one example, in training-model input order."""
        c = self.config
        return [
            ("input_image", self.image_shape, np.float32),
            ("input_image_meta", (int(c.IMAGE_META_SIZE),), np.float32),
            ("input_rpn_match", (self.anchors.shape[0], 1), np.int32),
            ("input_rpn_bbox", (int(c.RPN_TRAIN_ANCHORS_PER_IMAGE), 4), np.float32),
            ("input_gt_class_ids", (self.max_gt,), np.int32),
            ("input_gt_boxes", (self.max_gt, 4), np.float32),
            ("input_gt_masks", self.mask_shape + (self.max_gt,), np.bool_),
        ]

    def rng(self, key=None):
        """The generator of one call: ``default_rng([seed, key])`` (key: next call number)."""
        if key is None:
            with self._lock:
                key = self._calls
                self._calls += 1
        return np.random.default_rng([self._entropy, int(key) & 0xFFFFFFFFFFFFFFFF])

    def __call__(self, image_id, key=None):
        """One molded, padded training example as a dict (``TRAINING_INPUT_NAMES`` keys), or None
        if the image is skipped. See the class docstring."""
        result = self.load(image_id, key)
        return None if result is None else result[0]

    def load(self, image_id, key=None):
        """Like ``__call__`` but returns ``(example, gt)`` where ``gt`` holds the unpadded,
        un-subsampled ``image`` (resized, not molded), ``class_ids``, ``boxes`` (int32) and
        ``masks``, as ``data_generator`` needs them for random RoIs; or None."""
        image_id = int(image_id)
        rng = self.rng(key)
        try:
            result = self._build(image_id, rng)
        except Exception as e:  # noqa: BLE001 - skipped and reported, as Matterport did
            return self._skip(image_id, f"{type(e).__name__}: {e}", certain=True)
        if result is None:
            return self._skip(image_id, "no instance with a positive class id (after resizing "
                              "and augmentation); set config.TRAIN_ON_BACKGROUND_IMAGES = True to "
                              "train on such images as negatives", certain=not self._random,
                              background=True)
        self.skipped.record_success()
        return result

    def _build(self, image_id, rng):
        augmentation = self.augmentation
        if self.no_augmentation_sources and \
                self.dataset.image_info[image_id]["source"] in self.no_augmentation_sources:
            augmentation = None
        # augment=True (deprecated) was warned about once, in __init__.
        image, image_meta, class_ids, boxes, masks = load_ground_truth(
            self.dataset, self.config, image_id, flip=self.augment, augmentation=augmentation,
            use_mini_mask=self.config.USE_MINI_MASK, rng=rng)
        if tuple(image.shape) != self.image_shape:
            raise ValueError(f"the image has shape {tuple(image.shape)} after resizing but "
                             f"config.IMAGE_SHAPE is {self.image_shape} (check "
                             "IMAGE_CHANNEL_COUNT and the resize settings)")
        if len(image_meta) != int(self.config.IMAGE_META_SIZE):
            raise ValueError(f"image_meta has {len(image_meta)} values, expected "
                             f"config.IMAGE_META_SIZE = {self.config.IMAGE_META_SIZE}")
        if not np.any(class_ids > 0) and not self.config.TRAIN_ON_BACKGROUND_IMAGES:
            return None

        rpn_match, rpn_bbox = build_rpn_targets(image.shape, self.anchors, class_ids, boxes,
                                                self.config, rng=rng)
        gt = {"image": image, "class_ids": class_ids, "boxes": boxes, "masks": masks}
        n = class_ids.shape[0]
        if n > self.max_gt:
            ids = np.sort(rng.choice(n, self.max_gt, replace=False))
            class_ids, boxes, masks = class_ids[ids], boxes[ids], masks[:, :, ids]
            n = self.max_gt
        gt_class_ids = np.zeros([self.max_gt], dtype=np.int32)
        gt_boxes = np.zeros([self.max_gt, 4], dtype=np.float32)
        gt_masks = np.zeros(self.mask_shape + (self.max_gt,), dtype=bool)
        gt_class_ids[:n] = class_ids
        gt_boxes[:n] = boxes
        gt_masks[:, :, :n] = masks
        example = {
            "input_image": mold_image(image, self.config),
            "input_image_meta": np.asarray(image_meta, dtype=np.float32),
            "input_rpn_match": rpn_match[:, np.newaxis],
            "input_rpn_bbox": rpn_bbox,
            "input_gt_class_ids": gt_class_ids,
            "input_gt_boxes": gt_boxes,
            "input_gt_masks": gt_masks,
        }
        return example, gt

    def _skip(self, image_id, reason, certain, background=False):
        first, give_up = self.skipped.record_skip(image_id, reason, certain, self.num_images,
                                                  self.RANDOM_FAILURE_RETRIES,
                                                  background=background)
        name = image_name(self.dataset, image_id)
        (logger.warning if first else logger.debug)("Skipping %s: %s", name, reason)
        if give_up == "all":
            raise RuntimeError(
                f"All {self.num_images} images of the dataset failed to give a training example "
                f"({self.skipped.count} attempts, 0 successes). First reasons:\n"
                f"{self.skipped.summary(self.dataset)}")
        if give_up == "streak":
            raise RuntimeError(
                f"The last {self.skipped.consecutive} attempts ({self.RANDOM_FAILURE_RETRIES} x "
                f"the {self.num_images} images of the dataset) all failed to give a training "
                f"example. First reasons:\n{self.skipped.summary(self.dataset)}")
        return None
