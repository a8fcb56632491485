"""mrcnn: Mask R-CNN for TensorFlow 2 / Keras 3, compatible with Matterport's Mask_RCNN.

Import the submodules as with Matterport's package::

    from mrcnn.config import Config
    from mrcnn import utils, visualize
    import mrcnn.model as modellib
"""

import os as _os

# TensorFlow's C++ INFO and WARNING lines (oneDNN notices, grappler cost-model warnings about the
# dynamic shapes of RoIAlign) flood notebooks; errors still show. Set TF_CPP_MIN_LOG_LEVEL
# yourself, before importing mrcnn, to choose otherwise.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "3.0.0"
