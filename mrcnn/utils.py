"""Matterport's ``mrcnn.utils`` entry point.

Re-exports the public names of the original module from where they live now
(``mrcnn.boxes``, ``mrcnn.masks``, ``mrcnn.image``, ``mrcnn.metrics``, ``mrcnn.anchors``,
``mrcnn.dataset``, ``mrcnn.download``) and defines ``batch_slice``. Code written as
``from mrcnn import utils; utils.compute_ap(...)`` keeps working.

TensorFlow is imported only when ``batch_slice`` or ``box_refinement_graph`` is used.
"""

from mrcnn.anchors import generate_anchors, generate_pyramid_anchors
from mrcnn.boxes import (apply_box_deltas, box_refinement, compute_iou, compute_overlaps,
                         denorm_boxes, extract_bboxes, non_max_suppression, norm_boxes,
                         trim_zeros)
from mrcnn.dataset import Dataset
from mrcnn.download import (COCO_MODEL_SIZE, COCO_MODEL_URL, download_file,
                            download_trained_weights, get_coco_weights)
from mrcnn.image import mold_image, resize, resize_image, unmold_image
from mrcnn.masks import (compute_overlaps_masks, expand_mask, minimize_mask, mold_mask,
                         paste_masks, resize_mask, unmold_mask)
from mrcnn.metrics import compute_ap, compute_ap_range, compute_matches, compute_recall

# Imported on first use (module __getattr__): name -> (module, attribute).
_LAZY = {
    "box_refinement_graph": ("mrcnn.ops.box_ops", "box_refinement"),
}

__all__ = [
    "COCO_MODEL_URL", "COCO_MODEL_SIZE", "Dataset",
    "extract_bboxes", "compute_iou", "compute_overlaps", "compute_overlaps_masks",
    "non_max_suppression", "apply_box_deltas", "box_refinement", "box_refinement_graph",
    "resize", "resize_image", "resize_mask", "minimize_mask", "expand_mask", "mold_mask",
    "unmold_mask", "paste_masks", "mold_image", "unmold_image",
    "generate_anchors", "generate_pyramid_anchors",
    "trim_zeros", "compute_matches", "compute_ap", "compute_ap_range", "compute_recall",
    "batch_slice", "download_trained_weights", "download_file", "get_coco_weights",
    "norm_boxes", "denorm_boxes",
]


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def batch_slice(inputs, graph_fn, batch_size, names=None):
    """Runs ``graph_fn`` on each batch element and stacks the results (Matterport
    ``utils.batch_slice``).

    Kept for user code; the library's own layers use batched TF ops instead.

    Args:
        inputs: a tensor/array or a list of them, each with the batch on axis 0.
        graph_fn: called as ``graph_fn(*[x[i] for x in inputs])``; returns a tensor or a
            list/tuple of tensors.
        batch_size: the number of elements to process (a Python int; the loop is unrolled).
        names: optional list of names, one per output (ignored by eager ``tf.stack``).

    Returns:
        The outputs stacked on a new axis 0: a single tensor when ``graph_fn`` returns one
        output, else a list of tensors.

    Raises:
        ValueError: ``batch_size`` is not a positive integer, or ``names`` has the wrong length.
    """
    import tensorflow as tf

    import operator

    try:
        batch_size = operator.index(batch_size)
    except TypeError:
        batch_size = -1
    if batch_size < 1:
        raise ValueError("batch_slice: batch_size must be a positive integer (e.g. "
                         "config.IMAGES_PER_GPU)")
    if not isinstance(inputs, list):
        inputs = [inputs]
    outputs = []
    for i in range(batch_size):
        output_slice = graph_fn(*[x[i] for x in inputs])
        if not isinstance(output_slice, (tuple, list)):
            output_slice = [output_slice]
        outputs.append(output_slice)
    outputs = list(zip(*outputs))
    if names is None:
        names = [None] * len(outputs)
    elif len(names) != len(outputs):
        raise ValueError(f"batch_slice: {len(names)} names for {len(outputs)} outputs")
    result = [tf.stack(o, axis=0, name=n) for o, n in zip(outputs, names)]
    if len(result) == 1:
        result = result[0]
    return result
