"""Keras 2 HDF5 weight files (Matterport's ``mask_rcnn_coco.h5``) for Keras 3 models.

Keras 3 cannot load the Keras 2 layout by layer name, so this package reads and writes it with
h5py. One module per concept:

* ``file_check`` -- :func:`check_weight_file` (non-HDF5 and truncated files, from the HDF5
  superblock, before h5py opens them) and :class:`WeightFileError`;
* ``keras2_layout`` -- the layout's reader (:func:`read_layer_names`, :func:`read_weight_names`,
  :func:`read_weight_shapes`) and writer (:func:`write_matterport_layout`, :func:`save_weights`);
* ``model_variables`` -- which variables a top-level layer saves and their Keras 2 names (a nested
  ``rpn_model`` names them after its inner layers, found with :mod:`mrcnn.layer_walk`);
* ``loading`` -- :func:`load_weights` (pairing layers, checking counts and shapes, assigning; every
  mismatch is found before any weight changes), :class:`LoadReport`, :data:`FINE_TUNE_EXCLUDE`.

Public API (import it from ``mrcnn.weights``; the submodules are not a public path):

* :func:`load_weights` -- Matterport's ``MaskRCNN.load_weights`` semantics, returns a
  :class:`LoadReport`.
* :func:`save_weights` -- writes the Keras 2 layout atomically.
* :func:`write_matterport_layout` -- the low-level writer (arbitrary ``layer_names``).
* :func:`read_layer_names`, :func:`read_weight_names`, :func:`read_weight_shapes` -- inspection.
* :func:`check_weight_file` -- detects non-HDF5 and truncated files from the HDF5 superblock.
* :class:`WeightFileError` (an ``OSError``) for unreadable, truncated or foreign files.
* :data:`FINE_TUNE_EXCLUDE` -- the ``exclude`` list for fine-tuning on a different class count.
* :data:`HDF5_OBJECT_HEADER_LIMIT` -- the attribute size above which name lists are chunked.
"""

from mrcnn.weights.file_check import WeightFileError, check_weight_file
from mrcnn.weights.keras2_layout import (
    HDF5_OBJECT_HEADER_LIMIT,
    read_layer_names,
    read_weight_names,
    read_weight_shapes,
    save_weights,
    write_matterport_layout,
)
from mrcnn.weights.loading import FINE_TUNE_EXCLUDE, LoadReport, load_weights

# Not public: the Keras 2 names of a model's variables, which tests/weights/test_weights.py uses to write
# files in the layout by hand.
from mrcnn.weights.model_variables import _layer_variables, _to_numpy, _variable_names  # noqa: F401

__all__ = [
    "FINE_TUNE_EXCLUDE",
    "HDF5_OBJECT_HEADER_LIMIT",
    "LoadReport",
    "WeightFileError",
    "check_weight_file",
    "load_weights",
    "read_layer_names",
    "read_weight_names",
    "read_weight_shapes",
    "save_weights",
    "write_matterport_layout",
]
