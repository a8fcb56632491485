"""mrcnn: Mask R-CNN for TensorFlow 2 / Keras 3, compatible with Matterport's Mask_RCNN.

Import the submodules as with Matterport's package::

    from mrcnn.config import Config
    from mrcnn import utils, visualize
    import mrcnn.model as modellib
"""

import os as _os

# The package version: setup.py reads it from this line; `mrcnn --version` prints it.
__version__ = "3.0.0"

# TensorFlow's C++ INFO and WARNING lines (oneDNN and CPU-feature notices) flood notebooks; errors
# still show. Set TF_CPP_MIN_LOG_LEVEL yourself, before importing mrcnn, to choose otherwise.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The notices that TensorFlow prints at start-up regardless of that level (Abseil's banner, the
# failed cuInit of a machine without a CUDA driver) are filtered when TensorFlow is imported after
# mrcnn: see mrcnn/tf_startup.py.
from mrcnn import tf_startup as _tf_startup  # noqa: E402

_tf_startup.install()
