"""The ``--weights {coco|imagenet|last|none|PATH}`` choice of the sample command lines
(``samples/balloon/balloon.py``, ``samples/nucleus/nucleus.py``): which file to load and how.

Matterport's samples load ``coco`` by name with the four class-specific head layers excluded
(their shapes depend on ``NUM_CLASSES``), ``imagenet`` (the ResNet50 file) and ``last`` by name,
and a PATH by name. Here a PATH whose heads were trained for another class count (such as the
COCO release file under another name) also loads with the heads excluded, and says so, instead
of failing on the shape mismatch; ``none`` keeps the random initialisation.
"""

import os

#: The named choices; anything else is a weights file path.
WEIGHT_CHOICES = ("coco", "imagenet", "last", "none")

#: Environment variable naming a local ``mask_rcnn_coco.h5`` for ``coco`` (as the notebooks).
COCO_PATH_ENV = "MRCNN_COCO_MODEL_PATH"


def weights_problem(spec):
    """Why ``spec`` cannot be a ``--weights`` value (str), or None."""
    if spec.lower() in WEIGHT_CHOICES:
        return None
    if not os.path.exists(spec):
        return f"{spec}: no such weights file (or use {', '.join(WEIGHT_CHOICES)})"
    if os.path.isdir(spec):
        return f"{spec} is a directory; give a .h5 weights file"
    return None


def resolve_weights(model, spec, coco_path=None):
    """The file ``--weights spec`` names for ``model`` (a ``MaskRCNN``), or None for ``none``.

    ``coco``: ``$MRCNN_COCO_MODEL_PATH`` if set, else ``coco_path`` if it exists (Matterport's
    ``<project>/mask_rcnn_coco.h5``), else the cached download (``get_coco_weights``).
    ``imagenet``: ``model.get_imagenet_weights()``. ``last``: ``model.find_last()``.

    Raises:
        FileNotFoundError: ``last`` without a checkpoint, or ``$MRCNN_COCO_MODEL_PATH`` missing.
        mrcnn.download.DownloadError: a download failed.
    """
    name = spec.lower()
    if name == "none":
        return None
    if name == "coco":
        env = os.environ.get(COCO_PATH_ENV)
        if env:
            if not os.path.isfile(env):
                raise FileNotFoundError(f"${COCO_PATH_ENV} = {env}: no such file")
            return env
        if coco_path and os.path.isfile(coco_path):
            return coco_path
        from mrcnn.download import get_coco_weights
        return get_coco_weights()
    if name == "imagenet":
        return model.get_imagenet_weights()
    if name == "last":
        return model.find_last()
    return spec


def _file_class_count(path):
    from mrcnn.weights import read_weight_shapes
    shapes = read_weight_shapes(path).get("mrcnn_class_logits")
    return shapes[-1][0] if shapes else None


def load_start_weights(model, spec, path, log=print):
    """Loads ``path`` (from ``resolve_weights(model, spec)``) into ``model`` by name.

    ``coco`` excludes ``FINE_TUNE_EXCLUDE`` (the four head layers that depend on the class
    count), as Matterport; a PATH whose ``mrcnn_class_logits`` has another class count than
    ``model.config.NUM_CLASSES`` does too, with a line saying so. ``path`` None loads nothing.

    Returns:
        The list of excluded layers ([] when none).

    Raises:
        OSError / ValueError: as ``MaskRCNN.load_weights`` (refused or unfitting file).
    """
    from mrcnn.weights import FINE_TUNE_EXCLUDE
    if path is None:
        log("Starting from random weights (--weights none)")
        return []
    exclude = []
    if spec.lower() == "coco":
        exclude = list(FINE_TUNE_EXCLUDE)
    elif spec.lower() not in WEIGHT_CHOICES:
        count = _file_class_count(path)
        if count is not None and count != model.config.NUM_CLASSES:
            exclude = list(FINE_TUNE_EXCLUDE)
            log(f"{path} has heads for {count} classes, this model {model.config.NUM_CLASSES}: "
                f"loading it without {', '.join(exclude)}")
    log(f"Loading weights {path}")
    model.load_weights(path, by_name=True, exclude=exclude or None)
    return exclude
