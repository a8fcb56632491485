"""Compatibility module: the training-input names that lived here, re-exported from the modules
that now hold them (one concept each).

* ``mrcnn.ground_truth``: ``load_image_gt`` (per-image ground truth);
* ``mrcnn.rpn_targets``: ``build_rpn_targets`` (anchor matching and sampling);
* ``mrcnn.example_loader``: ``TrainingExampleLoader``, ``SkippedImages``,
  ``TRAINING_INPUT_NAMES`` (one training example per image id, skip accounting);
* ``mrcnn.input_pipeline``: ``build_dataset`` (the ``tf.data`` pipeline);
* ``mrcnn.data_generator``: ``data_generator``, ``build_detection_targets``,
  ``generate_random_rois`` (Matterport's NumPy generator and target twins).

New code should import from those modules (or Matterport's ``mrcnn.model``).
"""

from mrcnn.data_generator import build_detection_targets, data_generator, generate_random_rois
from mrcnn.example_loader import TRAINING_INPUT_NAMES, SkippedImages, TrainingExampleLoader
from mrcnn.ground_truth import load_image_gt
from mrcnn.input_pipeline import build_dataset
from mrcnn.rpn_targets import build_rpn_targets

__all__ = ["load_image_gt", "build_rpn_targets", "build_detection_targets",
           "generate_random_rois", "data_generator", "TrainingExampleLoader", "SkippedImages",
           "build_dataset", "TRAINING_INPUT_NAMES"]
