"""mrcnn: Mask R-CNN for TensorFlow 2 / Keras 3, compatible with Matterport's Mask_RCNN.

Import the submodules as with Matterport's package::

    from mrcnn.config import Config
    from mrcnn import utils, visualize
    import mrcnn.model as modellib
"""

__version__ = "3.0.0"
