"""The model side of a weight file: which variables a top-level layer saves, and their names.

A Keras 2 weight file has one group per top-level layer. A plain layer's group holds its own
variables; a nested model's group (``rpn_model``) holds the variables of all its inner layers, in
inner-layer order, named after the inner layer that owns each (``rpn_conv_shared/kernel:0``).
Used by the writer (:func:`mrcnn.weights.save_weights`) and the loader
(:func:`mrcnn.weights.load_weights`) alike. Mirrors Keras 2's ``save_weights_to_hdf5_group``
naming, which Matterport's ``mask_rcnn_coco.h5`` was written with.
"""

from __future__ import annotations

import numpy as np

from mrcnn.layer_walk import is_nested_model, iter_weighted_layers


def _resolve_model(keras_model):
    """The ``keras.Model`` itself, or the ``keras_model`` of a ``MaskRCNN`` wrapper.

    Raises:
        TypeError: neither has a ``layers`` list.
    """
    model = keras_model
    if not hasattr(model, "layers"):
        model = getattr(model, "keras_model", model)
    if not hasattr(model, "layers"):
        raise TypeError(
            "Expected a keras.Model (or MaskRCNN) with a .layers list, got "
            f"{type(keras_model).__name__}."
        )
    return model


def _layer_variables(layer) -> list:
    """The variables saved for a top-level layer: ``layer.weights``, in Keras order.

    A nested model's ``weights`` are those of all its layers in inner-layer order.
    """
    return list(layer.weights)


def _variable_names(layer) -> list:
    """Keras 2 style weight names ``<owner layer>/<variable>:0`` for :func:`_layer_variables`.

    A plain layer uses its own name (``conv1/kernel:0``, ``mrcnn_class_conv1/kernel:0``); a nested
    model names each weight after the inner (leaf) layer that owns it
    (``rpn_conv_shared/kernel:0``). Names are unique inside one layer (a repeated one gets
    ``_1``, ``_2``, ... before ``:0``).
    """
    owner = {}
    if is_nested_model(layer):
        for sub in iter_weighted_layers(layer):
            for var, name in zip(_layer_variables(sub), _variable_names(sub)):
                owner.setdefault(id(var), name)
    names, seen = [], set()
    for var in _layer_variables(layer):
        short = str(getattr(var, "name", "")).split("/")[-1].split(":")[0] or "weight"
        name = owner.get(id(var), f"{layer.name}/{short}:0")
        base, k = name[:-2] if name.endswith(":0") else name, 1
        while name in seen:  # keep names unique inside one group
            name = f"{base}_{k}:0"
            k += 1
        seen.add(name)
        names.append(name)
    return names


def _to_numpy(var) -> np.ndarray:
    """A Keras or TF variable's value as a NumPy array."""
    if hasattr(var, "numpy"):
        return np.asarray(var.numpy())
    import keras

    return np.asarray(keras.ops.convert_to_numpy(var))
