"""Model configuration: the ``Config`` base class (Matterport ``mrcnn/config.py``).

Subclass ``Config``, override class attributes, then instantiate::

    class ShapesConfig(Config):
        NAME = "shapes"
        NUM_CLASSES = 1 + 3
        IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128

    config = ShapesConfig()   # computes the derived attributes and validates
    config.display()

Every attribute and default of Matterport's ``Config`` is kept. Unlike the original, values that
cannot work raise a ``ValueError`` at construction time that names the attribute and the rule;
every numeric attribute has a type and range rule (``NUMERIC_RULES``, e.g. ``IMAGE_MAX_DIM``
an integer >= 1, so ``'512'`` is refused). Call ``validate(mode)`` for the checks that depend on
the mode (``MaskRCNN`` calls it; it also checks every value again).
"""


import json
import math
import numbers
import os
import re
import tempfile

import numpy as np

from mrcnn.image_meta import meta_size

_RANGE_RE = re.compile(r"^\s*([\[(])\s*([-+.\w]+)\s*,\s*([-+.\w]+)\s*([\])])\s*$")


def _in_range(value, spec):
    """Whether ``value`` lies in ``spec``: ">= a", "> a" or an interval "[a, b]", "(a, b]", ..."""
    if spec.startswith(">="):
        return value >= float(spec[2:])
    if spec.startswith(">"):
        return value > float(spec[1:])
    opening, low, high, closing = _RANGE_RE.match(spec).groups()
    low, high = float(low), float(high)
    above = value >= low if opening == "[" else value > low
    below = value <= high if closing == "]" else value < high
    return above and below


def _scalar(value):
    """A 0-d NumPy array -> its item; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def check_number(name, value, kind="number", spec=None, allow_none=False):
    """Checks one numeric value against a type and range rule; the rules of ``Config``.

    Args:
        name: how the message names the value (e.g. ``"MyConfig.LEARNING_RATE"``).
        value: the value. Python and NumPy numbers are accepted; bools are not numbers here;
            NaN and infinite values never pass.
        kind: ``"int"`` (an integer) or ``"number"`` (an integer or a float).
        spec: the range: ``">= a"``, ``"> a"``, or an interval such as ``"[0, 1)"``; None for
            any finite value.
        allow_none: None is accepted too.

    Raises:
        ValueError: ``"<name> = <value>: must be <kind> <spec>"``, with the type named when the
            value is not a number at all (e.g. the string ``'512'``).
    """
    value = _scalar(value)
    if value is None and allow_none:
        return
    noun = "an integer" if kind == "int" else "a number"
    rule = f"must be {noun}" + (f" {spec}" if spec and spec[0] in "<>" else
                                f" in {spec}" if spec else "")
    if allow_none:
        rule = rule.replace("must be ", "must be None or ", 1)
    shown = repr(value.item() if isinstance(value, np.generic) else value)
    types = (numbers.Integral,) if kind == "int" else (numbers.Real,)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, types):
        hint = " (write the number without quotes)" if isinstance(value, str) else ""
        raise ValueError(f"{name} = {shown}: {rule}, not a {type(value).__name__}{hint}")
    if not math.isfinite(value):
        raise ValueError(f"{name} = {shown}: {rule}, not NaN or infinite")
    if spec and not _in_range(value, spec):
        raise ValueError(f"{name} = {shown}: {rule}")


# Type and range of every numeric attribute: name -> (kind, range, None allowed). Kinds: "int",
# "number", and "ints" / "numbers" for lists, tuples or arrays checked element by element.
NUMERIC_RULES = {
    "GPU_COUNT": ("int", ">= 1", False),
    "IMAGES_PER_GPU": ("int", ">= 1", False),
    "STEPS_PER_EPOCH": ("int", ">= 1", False),
    "VALIDATION_STEPS": ("int", ">= 1", False),
    "BACKBONE_STRIDES": ("ints", ">= 1", False),
    "FPN_CLASSIF_FC_LAYERS_SIZE": ("int", ">= 1", False),
    "TOP_DOWN_PYRAMID_SIZE": ("int", ">= 1", False),
    "NUM_CLASSES": ("int", ">= 1", False),
    "RPN_ANCHOR_SCALES": ("numbers", "> 0", False),
    "RPN_ANCHOR_RATIOS": ("numbers", "> 0", False),
    "RPN_ANCHOR_STRIDE": ("int", ">= 1", False),
    "RPN_NMS_THRESHOLD": ("number", "(0, 1]", False),
    "RPN_TRAIN_ANCHORS_PER_IMAGE": ("int", ">= 1", False),
    "PRE_NMS_LIMIT": ("int", ">= 1", False),
    "POST_NMS_ROIS_TRAINING": ("int", ">= 1", False),
    "POST_NMS_ROIS_INFERENCE": ("int", ">= 1", False),
    "MINI_MASK_SHAPE": ("ints", ">= 1", False),
    "IMAGE_MIN_DIM": ("int", ">= 0", True),  # 0 / None: no upscaling ("square" mode)
    "IMAGE_MAX_DIM": ("int", ">= 1", False),
    "IMAGE_MIN_SCALE": ("number", ">= 0", True),  # 0 / None: off
    "IMAGE_CHANNEL_COUNT": ("int", ">= 1", False),
    "MEAN_PIXEL": ("numbers", None, False),
    "TRAIN_ROIS_PER_IMAGE": ("int", ">= 1", False),
    "ROI_POSITIVE_RATIO": ("number", "(0, 1]", False),
    "POOL_SIZE": ("int", ">= 1", False),
    "MASK_POOL_SIZE": ("int", ">= 1", False),
    "MASK_SHAPE": ("ints", ">= 1", False),
    "MAX_GT_INSTANCES": ("int", ">= 1", False),
    "RPN_BBOX_STD_DEV": ("numbers", "> 0", False),
    "BBOX_STD_DEV": ("numbers", "> 0", False),
    "DETECTION_MAX_INSTANCES": ("int", ">= 1", False),
    "DETECTION_MIN_CONFIDENCE": ("number", "[0, 1]", False),  # 0 turns the filter off
    "DETECTION_NMS_THRESHOLD": ("number", "(0, 1]", False),
    "LEARNING_RATE": ("number", "> 0", False),
    "LEARNING_MOMENTUM": ("number", "[0, 1)", False),
    "WEIGHT_DECAY": ("number", ">= 0", False),
    "GRADIENT_CLIP_NORM": ("number", "> 0", True),  # None: no clipping
    "SEED": ("int", ">= 0", True),  # None: not reproducible (as Matterport)
    "BACKUP_EVERY_STEPS": ("int", ">= 1", True),  # None: no step backups
}

# Attributes computed by Config.__init__ from the others (not read back by from_dict).
DERIVED_ATTRIBUTES = ("BATCH_SIZE", "IMAGE_SHAPE", "IMAGE_META_SIZE")

# Attributes that must be True or False (NumPy bools too); TRAIN_BN may also be None.
BOOL_ATTRIBUTES = ("USE_MINI_MASK", "USE_RPN_ROIS", "TRAIN_ON_BACKGROUND_IMAGES",
                   "SYNC_BN")

# Values of MIXED_PRECISION (mrcnn.precision).
MIXED_PRECISION_VALUES = (None, "mixed_float16", "mixed_bfloat16")


class Config:
    """Base configuration. All sizes are in pixels; boxes are (y1, x1, y2, x2)."""

    NAME = None  # Override in sub-classes; used in log folder and checkpoint names.

    # GPU_COUNT > 1: MaskRCNN trains data-parallel on a MirroredStrategy over that many GPUs
    # (mrcnn.distribute; with TF_CONFIG set, a MultiWorkerMirroredStrategy instead). IMAGES_PER_GPU
    # is the batch of one replica; BATCH_SIZE = IMAGES_PER_GPU * GPU_COUNT the global batch on one
    # machine (with a strategy: IMAGES_PER_GPU * its num_replicas_in_sync, all workers together).
    GPU_COUNT = 1
    IMAGES_PER_GPU = 2

    STEPS_PER_EPOCH = 1000
    VALIDATION_STEPS = 50

    # "resnet50", "resnet101", or a callable with the signature of model.resnet_graph.
    BACKBONE = "resnet101"
    # Required with a callable BACKBONE: f(image_shape) -> [5, 2] feature-map sizes.
    COMPUTE_BACKBONE_SHAPE = None
    BACKBONE_STRIDES = [4, 8, 16, 32, 64]

    FPN_CLASSIF_FC_LAYERS_SIZE = 1024
    TOP_DOWN_PYRAMID_SIZE = 256

    NUM_CLASSES = 1  # Including background.

    RPN_ANCHOR_SCALES = (32, 64, 128, 256, 512)
    RPN_ANCHOR_RATIOS = [0.5, 1, 2]
    RPN_ANCHOR_STRIDE = 1
    RPN_NMS_THRESHOLD = 0.7
    RPN_TRAIN_ANCHORS_PER_IMAGE = 256
    PRE_NMS_LIMIT = 6000
    POST_NMS_ROIS_TRAINING = 2000
    POST_NMS_ROIS_INFERENCE = 1000

    USE_MINI_MASK = True
    MINI_MASK_SHAPE = (56, 56)

    # "none", "square", "pad64" or "crop" (see utils.resize_image).
    IMAGE_RESIZE_MODE = "square"
    IMAGE_MIN_DIM = 800
    IMAGE_MAX_DIM = 1024
    IMAGE_MIN_SCALE = 0
    IMAGE_CHANNEL_COUNT = 3

    MEAN_PIXEL = np.array([123.7, 116.8, 103.9])

    TRAIN_ROIS_PER_IMAGE = 200
    ROI_POSITIVE_RATIO = 0.33

    POOL_SIZE = 7
    MASK_POOL_SIZE = 14
    MASK_SHAPE = [28, 28]

    MAX_GT_INSTANCES = 100

    RPN_BBOX_STD_DEV = np.array([0.1, 0.1, 0.2, 0.2])
    BBOX_STD_DEV = np.array([0.1, 0.1, 0.2, 0.2])

    DETECTION_MAX_INSTANCES = 100
    DETECTION_MIN_CONFIDENCE = 0.7
    DETECTION_NMS_THRESHOLD = 0.3

    LEARNING_RATE = 0.001
    LEARNING_MOMENTUM = 0.9
    WEIGHT_DECAY = 0.0001

    LOSS_WEIGHTS = {
        "rpn_class_loss": 1.,
        "rpn_bbox_loss": 1.,
        "mrcnn_class_loss": 1.,
        "mrcnn_bbox_loss": 1.,
        "mrcnn_mask_loss": 1.,
    }

    USE_RPN_ROIS = True
    # Images with no instance (no positive class id after resizing and augmentation) as negative
    # examples: True trains on them (RPN anchors all negative or neutral, no positive RoI, only
    # the background class target), which teaches the model that empty scenes hold nothing.
    # False (Matterport's behaviour) skips them; the skips are counted in the loader's
    # ``SkippedImages.background``. Not in Matterport (it always skipped them).
    TRAIN_ON_BACKGROUND_IMAGES = False
    # False: frozen BN (moving statistics used and not updated; gamma/beta still train when their
    # layers are trainable). None: normal Keras behaviour. True: batch statistics in training.
    TRAIN_BN = False
    GRADIENT_CLIP_NORM = 5.0

    # None (float32), "mixed_float16" (GPUs; loss scaling in training) or "mixed_bfloat16" (CPUs
    # with AVX512-BF16 / AMX, TPUs, recent GPUs): see mrcnn.precision. Variables and weight files
    # stay float32; softmax/sigmoid outputs, box decoding, NMS, RoIAlign and the losses run in
    # float32.
    MIXED_PRECISION = None
    # With TRAIN_BN=True (or None in training) under a multi-replica strategy: BatchNorm batch
    # statistics over the global batch (all-reduced) instead of each replica's own images.
    SYNC_BN = False

    # Reproducible training (not in Matterport): an int >= 0 derives the initial weights, the
    # dataset order, augmentations, anchor and RoI sampling from it, so two runs of the same
    # script on the same CPU machine end with the same weights (GPU: see the README section
    # "Interrupting and resuming"). None: fresh randomness each run.
    SEED = None
    # Steps between full-state backups (weights, optimizer slots, epoch/step, pipeline position)
    # in the run's folder (mrcnn.backup); None: none. Measured: one backup (266 MB for ResNet50
    # heads training) takes 0.75-1.7 s, so every 500 steps it costs < 0.4 % of a 1 s step and
    # < 2 % of a 0.2 s GPU step. Matterport's per-epoch mask_rcnn_<name>_NNNN.h5 is unchanged.
    BACKUP_EVERY_STEPS = 500

    def __init__(self):
        """Computes the derived attributes and validates the values.

        Derived: ``BATCH_SIZE``, ``IMAGE_SHAPE`` (int array [H, W, C]), ``IMAGE_META_SIZE``.

        Raises:
            ValueError: an attribute has a value that cannot work; the message names it and the rule.
        """
        self._check_numbers()
        self.BATCH_SIZE = self.IMAGES_PER_GPU * self.GPU_COUNT
        if self.IMAGE_RESIZE_MODE == "crop":
            self.IMAGE_SHAPE = np.array([self.IMAGE_MIN_DIM, self.IMAGE_MIN_DIM,
                                         self.IMAGE_CHANNEL_COUNT])
        else:
            self.IMAGE_SHAPE = np.array([self.IMAGE_MAX_DIM, self.IMAGE_MAX_DIM,
                                         self.IMAGE_CHANNEL_COUNT])
        # image_id(1) + original_image_shape(3) + image_shape(3) + window(4) + scale(1)
        # + active_class_ids(NUM_CLASSES): the layout of mrcnn.image_meta
        self.IMAGE_META_SIZE = meta_size(self.NUM_CLASSES)
        self._validate_static()

    # ------------------------------------------------------------------------------------------
    def _check_numbers(self):
        """The type and range rules of ``NUMERIC_RULES``, ``BOOL_ATTRIBUTES`` and
        ``LOSS_WEIGHTS``, checked before any derived value is computed."""
        cls = type(self).__name__
        for attr, (kind, spec, allow_none) in NUMERIC_RULES.items():
            value = getattr(self, attr)
            name = f"{cls}.{attr}"
            if kind in ("int", "number"):
                check_number(name, value, kind, spec, allow_none)
                continue
            if isinstance(value, (str, bytes, dict)) or not np.iterable(value) or \
                    np.ndim(value) != 1:
                noun = "integers" if kind == "ints" else "numbers"
                raise ValueError(f"{name} = {value!r}: must be a list, tuple or 1-D array of "
                                 f"{noun}" + (f" {spec}" if spec else ""))
            for i, element in enumerate(value):
                check_number(f"{name}[{i}]", element, kind[:-1], spec)
        for attr in BOOL_ATTRIBUTES:
            value = getattr(self, attr)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{cls}.{attr} = {value!r}: must be True or False")
        weights = self.LOSS_WEIGHTS
        if not isinstance(weights, dict):
            raise ValueError(f"{cls}.LOSS_WEIGHTS = {weights!r}: must be a dict of loss name -> "
                             f"weight, with the keys {sorted(Config.LOSS_WEIGHTS)}")
        unknown = sorted(set(weights) - set(Config.LOSS_WEIGHTS), key=str)
        if unknown:
            raise ValueError(f"{cls}.LOSS_WEIGHTS has unknown loss names {unknown}; the losses "
                             f"are {sorted(Config.LOSS_WEIGHTS)}")
        for key, value in weights.items():
            check_number(f"{cls}.LOSS_WEIGHTS[{key!r}]", value, "number", ">= 0")

    def _validate_static(self):
        def fail(attr, rule):
            raise ValueError(f"{type(self).__name__}.{attr} = {getattr(self, attr)!r}: {rule}")

        if callable(self.BACKBONE):
            if not callable(self.COMPUTE_BACKBONE_SHAPE):
                raise ValueError(
                    f"{type(self).__name__}.BACKBONE is a callable, so COMPUTE_BACKBONE_SHAPE must "
                    "be set to a function image_shape -> [5, 2] array of feature-map sizes")
        elif self.BACKBONE not in ("resnet50", "resnet101"):
            fail("BACKBONE", 'must be "resnet50", "resnet101" or a callable backbone builder')
        n_levels = len(self.BACKBONE_STRIDES)
        if n_levels != 5:
            fail("BACKBONE_STRIDES", "must list 5 strides, one per pyramid level P2..P6")
        if len(self.RPN_ANCHOR_SCALES) != n_levels:
            fail("RPN_ANCHOR_SCALES", f"must have one scale per pyramid level ({n_levels} levels, "
                 f"BACKBONE_STRIDES = {list(self.BACKBONE_STRIDES)})")
        if len(self.RPN_ANCHOR_RATIOS) < 1:
            fail("RPN_ANCHOR_RATIOS", "must be a non-empty list of positive width/height ratios")
        if self.IMAGE_RESIZE_MODE not in ("none", "square", "pad64", "crop"):
            fail("IMAGE_RESIZE_MODE", 'must be one of "none", "square", "pad64", "crop"')
        if self.IMAGE_RESIZE_MODE == "square" and self.IMAGE_MAX_DIM % 64:
            fail("IMAGE_MAX_DIM", 'must be a multiple of 64 in "square" mode (the FPN halves '
                 "the feature maps 6 times), e.g. 256, 320, 384, 448, 512, ...")
        if self.IMAGE_RESIZE_MODE in ("crop", "pad64") and (not self.IMAGE_MIN_DIM
                                                            or self.IMAGE_MIN_DIM % 64):
            fail("IMAGE_MIN_DIM", f'must be a multiple of 64 in "{self.IMAGE_RESIZE_MODE}" mode '
                 "(the FPN halves the feature maps 6 times)")
        if self.IMAGE_RESIZE_MODE == "square" and self.IMAGE_MIN_DIM and \
                self.IMAGE_MIN_DIM > self.IMAGE_MAX_DIM:
            fail("IMAGE_MIN_DIM", f"must not exceed IMAGE_MAX_DIM ({self.IMAGE_MAX_DIM})")
        if len(np.asarray(self.MEAN_PIXEL).reshape(-1)) != self.IMAGE_CHANNEL_COUNT:
            fail("MEAN_PIXEL", f"must have one value per channel (IMAGE_CHANNEL_COUNT = "
                 f"{self.IMAGE_CHANNEL_COUNT})")
        if list(self.MASK_SHAPE) != [2 * self.MASK_POOL_SIZE] * 2:
            fail("MASK_SHAPE", f"must be [2 * MASK_POOL_SIZE] * 2 = {[2 * self.MASK_POOL_SIZE] * 2}"
                 " (the mask head ends in one stride-2 transposed convolution)")
        if len(self.MINI_MASK_SHAPE) != 2:
            fail("MINI_MASK_SHAPE", "must be a (height, width) pair of positive integers")
        for attr in ("RPN_BBOX_STD_DEV", "BBOX_STD_DEV"):
            if len(getattr(self, attr)) != 4:
                fail(attr, "must be 4 positive numbers (dy, dx, dh, dw)")
        if self.TRAIN_BN not in (True, False, None):
            fail("TRAIN_BN", "must be True, False or None")
        if not (self.MIXED_PRECISION is None or isinstance(self.MIXED_PRECISION, str)) or \
                self.MIXED_PRECISION not in MIXED_PRECISION_VALUES:
            fail("MIXED_PRECISION", 'must be None (float32), "mixed_float16" or "mixed_bfloat16"')
        missing = set(Config.LOSS_WEIGHTS) - set(self.LOSS_WEIGHTS)
        if missing:
            fail("LOSS_WEIGHTS", f"lacks {sorted(missing)}")

    def validate(self, mode):
        """Checks every value again (attributes may have been changed on the instance), then
        those that depend on the model mode ("training" or "inference"). ``MaskRCNN`` calls it.

        Every numeric attribute has a type and range rule (``NUMERIC_RULES``): e.g.
        ``IMAGE_MAX_DIM`` an integer >= 1 (a multiple of 64 in "square" mode),
        ``DETECTION_MIN_CONFIDENCE`` a number in [0, 1], ``LEARNING_RATE`` > 0,
        ``LEARNING_MOMENTUM`` in [0, 1), ``GRADIENT_CLIP_NORM`` > 0 or None, ``STEPS_PER_EPOCH``
        an integer >= 1; lists (``BACKBONE_STRIDES``, ``MEAN_PIXEL``, ...) element by element;
        ``LOSS_WEIGHTS`` values >= 0. Python and NumPy numbers are accepted; bools, strings
        (``'512'``), NaN and infinite values are not.

        Raises:
            ValueError: the mode is unknown, a value breaks its rule (the message names the
                attribute, the value and the rule), or the image size does not fit the mode.
        """
        if mode not in ("training", "inference"):
            raise ValueError(f'mode must be "training" or "inference", not {mode!r}')
        self._check_numbers()
        self._validate_static()
        if self.NUM_CLASSES < 2:
            raise ValueError(
                f"{type(self).__name__}.NUM_CLASSES = {self.NUM_CLASSES}: a model needs at least 2 "
                "classes (background plus one or more); override it, e.g. NUM_CLASSES = 1 + 3")
        h, w = int(self.IMAGE_SHAPE[0]), int(self.IMAGE_SHAPE[1])
        if mode == "training" and self.IMAGE_RESIZE_MODE in ("none", "pad64"):
            raise ValueError(
                f'IMAGE_RESIZE_MODE = "{self.IMAGE_RESIZE_MODE}" gives images of varying size, but '
                'training needs every image at IMAGE_SHAPE: use "square" or "crop" for training')
        if h % 64 or w % 64:
            raise ValueError(f"IMAGE_SHAPE {h}x{w}: height and width must be multiples of 64 "
                             "(set IMAGE_MAX_DIM, or IMAGE_MIN_DIM in crop mode)")
        if mode == "training" and self.TRAIN_ROIS_PER_IMAGE * self.ROI_POSITIVE_RATIO < 1:
            raise ValueError("TRAIN_ROIS_PER_IMAGE * ROI_POSITIVE_RATIO must be at least 1")

    # ------------------------------------------------------------------------------------------
    def to_dict(self):
        """All public, non-callable attributes as a dict (name -> value)."""
        return {a: getattr(self, a) for a in sorted(dir(self))
                if not a.startswith("__") and not a.startswith("_")
                and not callable(getattr(self, a))}

    def to_json_dict(self):
        """``to_dict()`` with JSON values: arrays and tuples as lists, NumPy scalars as Python
        numbers. ``from_dict`` of the result rebuilds an equal configuration.

        Raises:
            ValueError: ``BACKBONE`` or ``COMPUTE_BACKBONE_SHAPE`` is a callable (a function
                cannot be written as JSON; save the configuration class in code instead).
        """
        for attr in ("BACKBONE", "COMPUTE_BACKBONE_SHAPE"):
            if callable(getattr(self, attr)):
                raise ValueError(f"{type(self).__name__}.{attr} is a callable, which JSON cannot "
                                 "hold; keep this configuration as a Config subclass in code")

        def plain(value):
            if isinstance(value, np.ndarray):
                return value.tolist()
            if isinstance(value, np.generic):
                return value.item()
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {str(k): plain(v) for k, v in value.items()}
            return value

        return {k: plain(v) for k, v in self.to_dict().items()}

    @classmethod
    def from_dict(cls, values, name=None):
        """A configuration with the given attribute values (the inverse of ``to_dict`` /
        ``to_json_dict``): an instance of a new subclass of ``cls`` whose class attributes are
        ``values`` (derived attributes, ``DERIVED_ATTRIBUTES``, are recomputed; lists are turned
        back into arrays where ``Config`` has arrays: ``MEAN_PIXEL``, ``RPN_BBOX_STD_DEV``,
        ``BBOX_STD_DEV``). Keys that are not ``Config`` attributes (e.g. ``CLASS_NAMES`` of a
        configuration derived from a dataset) are kept as attributes.

        Args:
            values: dict attribute name -> value.
            name: the new class's name (default ``cls.__name__``).

        Raises:
            ValueError: a value breaks its rule (as at construction), or a key is not a valid
                attribute name (lower case or private).
        """
        attrs = {}
        for key, value in dict(values).items():
            if not isinstance(key, str) or not key.isupper() or key.startswith("_"):
                raise ValueError(f"from_dict: {key!r} is not a configuration attribute (they are "
                                 "upper case, e.g. NUM_CLASSES)")
            if key in DERIVED_ATTRIBUTES:
                continue
            if isinstance(getattr(Config, key, None), np.ndarray):
                value = np.array(value)
            attrs[key] = value
        return type(name or cls.__name__, (cls,), attrs)()

    def write_json(self, path):
        """Writes ``to_json_dict()`` to ``path`` (atomically: a temporary file renamed into
        place). Raises ``ValueError`` as ``to_json_dict`` does, ``OSError`` on write errors."""
        text = json.dumps(self.to_json_dict(), indent=1, sort_keys=True)
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".config.", suffix=".json.part")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text + "\n")
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    @classmethod
    def read_json(cls, path):
        """The configuration written by ``write_json`` (``from_dict`` of the file).

        Raises:
            FileNotFoundError: no such file. ValueError: not a JSON object of attributes, or a
                value breaks its rule (the message names the file).
        """
        with open(path, encoding="utf-8") as f:
            try:
                values = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path} is not valid JSON: {e}") from None
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a JSON object of configuration attributes")
        try:
            return cls.from_dict(values, name=f"{values.get('NAME') or 'Loaded'}Config")
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    def display(self):
        """Prints every configuration value, one per line, in alphabetical order."""
        print("\nConfigurations:")
        for key, val in self.to_dict().items():
            print(f"{key:30} {val}")
        print("\n")
