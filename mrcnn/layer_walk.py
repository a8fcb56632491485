"""One walk over a Keras model's layers with nested models expanded.

Mask R-CNN nests one model inside another (``rpn_model``, shared by the five pyramid levels), and
several parts of the library need the layers inside it: ``training.set_trainable`` (the layer
regex applies to ``rpn_conv_shared`` etc.), the weight file writer (a nested model's weights are
named after its inner layers), ``evaluation`` (copying weights by layer name) and
``visualize.display_weight_stats`` (which leaf layer owns a weight). They all walk with the
functions here.

Only ``keras.Model`` instances are expanded (functional, ``Sequential`` or subclassed); any other
layer is a leaf, also one that holds sublayers as attributes, whose weights Keras already lists in
``layer.weights``. The library builds no ``TimeDistributed`` wrappers, and a wrapper is a leaf too
(its ``weights`` are its inner layer's).

Matterport had no such helper: its ``set_trainable`` and ``load_weights`` each recursed on their
own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator


def is_nested_model(layer) -> bool:
    """True for a layer that is itself a Keras model (``rpn_model``), whose layers are walked."""
    import keras  # here, so that importing mrcnn.weights (the CLI's file check) loads no Keras

    return isinstance(layer, keras.Model)


def walk_layers(model, expand: Callable | None = None, _depth: int = 0) -> Iterator[tuple]:
    """Every layer of ``model`` with its nesting depth, depth first, in ``model.layers`` order.

    A nested model is yielded itself (at its own depth) and then, if ``expand(nested_model)``
    is true (always, when ``expand`` is None), its layers at depth + 1, before the next layer of
    the outer model. The top-level layers have depth 0; ``model`` itself is not yielded.

    Args:
        model: a ``keras.Model`` (anything with a ``layers`` list).
        expand: optional ``f(nested model) -> bool``; False keeps that model's layers out.

    Yields:
        ``(layer, depth)``: a ``keras.layers.Layer`` and an int >= 0.

    Raises:
        TypeError: ``model`` has no ``layers`` list (e.g. a ``MaskRCNN`` wrapper: pass its
            ``keras_model``).
    """
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(
            f"Expected a keras.Model with a .layers list, got {type(model).__name__}; for a "
            "MaskRCNN pass its .keras_model.")
    for layer in layers:
        yield layer, _depth
        if is_nested_model(layer) and (expand is None or expand(layer)):
            yield from walk_layers(layer, expand, _depth + 1)


def iter_layers(model, expand: Callable | None = None) -> Iterator:
    """The layers of :func:`walk_layers` without their depth: nested models and their layers."""
    for layer, _ in walk_layers(model, expand):
        yield layer


def iter_weighted_layers(model) -> Iterator:
    """The leaf layers (never a nested model) of ``model`` that hold weights, nested models
    expanded, in :func:`walk_layers` order. In a functional model every weight of ``model.weights``
    belongs to one of them. Raises ``TypeError`` as :func:`walk_layers`."""
    for layer in iter_layers(model):
        if not is_nested_model(layer) and layer.weights:
            yield layer
