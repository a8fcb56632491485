"""Model configuration: the ``Config`` base class (Matterport ``mrcnn/config.py``).

Subclass ``Config``, override class attributes, then instantiate::

    class ShapesConfig(Config):
        NAME = "shapes"
        NUM_CLASSES = 1 + 3
        IMAGE_MIN_DIM = IMAGE_MAX_DIM = 128

    config = ShapesConfig()   # computes the derived attributes and validates
    config.display()

Every attribute and default of Matterport's ``Config`` is kept. Unlike the original, values that
cannot work raise a ``ValueError`` at construction time that names the attribute and the rule.
Call ``validate(mode)`` for the checks that depend on the mode (``MaskRCNN`` calls it).
"""


import numpy as np


class Config:
    """Base configuration. All sizes are in pixels; boxes are (y1, x1, y2, x2)."""

    NAME = None  # Override in sub-classes; used in log folder and checkpoint names.

    # GPUs and images per GPU. BATCH_SIZE = IMAGES_PER_GPU * GPU_COUNT. With tf.distribute, each
    # replica gets IMAGES_PER_GPU images.
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
    # False: frozen BN (moving statistics used and not updated; gamma/beta still train when their
    # layers are trainable). None: normal Keras behaviour. True: batch statistics in training.
    TRAIN_BN = False
    GRADIENT_CLIP_NORM = 5.0

    def __init__(self):
        """Computes the derived attributes and validates the values.

        Derived: ``BATCH_SIZE``, ``IMAGE_SHAPE`` (int array [H, W, C]), ``IMAGE_META_SIZE``.

        Raises:
            ValueError: an attribute has a value that cannot work; the message names it and the rule.
        """
        self.BATCH_SIZE = self.IMAGES_PER_GPU * self.GPU_COUNT
        if self.IMAGE_RESIZE_MODE == "crop":
            self.IMAGE_SHAPE = np.array([self.IMAGE_MIN_DIM, self.IMAGE_MIN_DIM,
                                         self.IMAGE_CHANNEL_COUNT])
        else:
            self.IMAGE_SHAPE = np.array([self.IMAGE_MAX_DIM, self.IMAGE_MAX_DIM,
                                         self.IMAGE_CHANNEL_COUNT])
        # image_id(1) + original_image_shape(3) + image_shape(3) + window(4) + scale(1)
        # + active_class_ids(NUM_CLASSES)
        self.IMAGE_META_SIZE = 1 + 3 + 3 + 4 + 1 + self.NUM_CLASSES
        self._validate_static()

    # ------------------------------------------------------------------------------------------
    def _validate_static(self):
        def fail(attr, rule):
            raise ValueError(f"{type(self).__name__}.{attr} = {getattr(self, attr)!r}: {rule}")

        for attr in ("GPU_COUNT", "IMAGES_PER_GPU", "NUM_CLASSES", "IMAGE_CHANNEL_COUNT",
                     "POOL_SIZE", "MASK_POOL_SIZE", "DETECTION_MAX_INSTANCES",
                     "POST_NMS_ROIS_TRAINING", "POST_NMS_ROIS_INFERENCE", "PRE_NMS_LIMIT",
                     "TRAIN_ROIS_PER_IMAGE", "MAX_GT_INSTANCES", "RPN_TRAIN_ANCHORS_PER_IMAGE",
                     "RPN_ANCHOR_STRIDE", "TOP_DOWN_PYRAMID_SIZE", "FPN_CLASSIF_FC_LAYERS_SIZE"):
            value = getattr(self, attr)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                fail(attr, "must be a positive integer")
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
        if len(self.RPN_ANCHOR_RATIOS) < 1 or any(r <= 0 for r in self.RPN_ANCHOR_RATIOS):
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
        if len(self.MINI_MASK_SHAPE) != 2 or min(self.MINI_MASK_SHAPE) < 1:
            fail("MINI_MASK_SHAPE", "must be a (height, width) pair of positive integers")
        for attr in ("RPN_BBOX_STD_DEV", "BBOX_STD_DEV"):
            std = np.asarray(getattr(self, attr), dtype=float).reshape(-1)
            if std.shape != (4,) or np.any(std <= 0):
                fail(attr, "must be 4 positive numbers (dy, dx, dh, dw)")
        if not 0 < self.ROI_POSITIVE_RATIO <= 1:
            fail("ROI_POSITIVE_RATIO", "must be in (0, 1]")
        for attr in ("RPN_NMS_THRESHOLD", "DETECTION_NMS_THRESHOLD"):
            if not 0 < getattr(self, attr) <= 1:
                fail(attr, "must be an IoU threshold in (0, 1]")
        if not 0 <= self.DETECTION_MIN_CONFIDENCE <= 1:
            fail("DETECTION_MIN_CONFIDENCE", "must be in [0, 1] (0 turns the filter off)")
        if self.TRAIN_BN not in (True, False, None):
            fail("TRAIN_BN", "must be True, False or None")
        missing = set(Config.LOSS_WEIGHTS) - set(self.LOSS_WEIGHTS)
        if missing:
            fail("LOSS_WEIGHTS", f"lacks {sorted(missing)}")

    def validate(self, mode):
        """Checks that depend on the model mode ("training" or "inference").

        Raises:
            ValueError: the mode is unknown, or the image size does not fit it.
        """
        if mode not in ("training", "inference"):
            raise ValueError(f'mode must be "training" or "inference", not {mode!r}')
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

    def display(self):
        """Prints every configuration value, one per line, in alphabetical order."""
        print("\nConfigurations:")
        for key, val in self.to_dict().items():
            print(f"{key:30} {val}")
        print("\n")
