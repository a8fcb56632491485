"""Pure TensorFlow functions of the Mask R-CNN graph; Keras layers in ``mrcnn.layers`` wrap them."""
