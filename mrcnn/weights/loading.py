"""Loading a Keras 2 weight file into a model: pairing layers, checking shapes, assigning.

:func:`load_weights` (Matterport's ``MaskRCNN.load_weights``) runs in three steps, and changes no
weight unless all of them pass:

1. pairing (``_pair_layers``): top-level model layers with file layer groups, by name or by order,
   minus ``exclude``;
2. checking (``_check_shapes``): every pair's weight count and every weight's shape; all problems
   are reported together, with the ``exclude`` list for fine-tuning when a class-count head
   differs;
3. reading then assigning (``_read_values``, ``_assign``): every array is read (and its dtype
   checked) before the first variable is assigned.

Layers are matched by group (layer) name and weights inside a layer by position, never by the exact
variable string (Keras versions add prefixes and ``_1`` suffixes).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np

from mrcnn.weights.file_check import WeightFileError, _short_list
from mrcnn.weights.keras2_layout import _dataset, _file_layers, _read_array, _WeightFile
from mrcnn.weights.model_variables import _layer_variables, _resolve_model, _variable_names

logger = logging.getLogger("mrcnn")

#: Layers whose shapes depend on NUM_CLASSES, plus the weightless ``mrcnn_bbox`` that Matterport's
#: samples traditionally list too. Pass as ``exclude`` to fine-tune COCO weights on other classes.
FINE_TUNE_EXCLUDE = ["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask"]

# Class-count heads -> number of output channels per class (mrcnn_bbox_fc has 4 per class).
_CLASS_HEADS = {"mrcnn_class_logits": 1, "mrcnn_bbox_fc": 4, "mrcnn_mask": 1}


@dataclass
class LoadReport:
    """What :func:`load_weights` did.

    Attributes:
        filepath: the file that was read.
        by_name: True when layers were matched by name, False when by order.
        loaded: model layer names whose weights were set from the file (model order).
        kept_initial: model layers with weights that were NOT set (absent from the file or
            excluded), so they keep their initial values (model order).
        not_in_model: layers of the file that hold weights but match no top-level model layer
            (file order; always empty when loading by order).
        excluded: model layers skipped because of ``exclude`` (model order).
        exclude_not_found: names given in ``exclude`` that are not top-level model layers (they have
            no effect; e.g. ``"rpn_conv_shared"``, which lives inside ``rpn_model``).
        reordered: True when ``by_name=False`` found the model's weighted layer names in the file in
            another order and therefore matched them by name (see :func:`load_weights`).
    """

    filepath: str
    by_name: bool
    loaded: list = field(default_factory=list)
    kept_initial: list = field(default_factory=list)
    not_in_model: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    exclude_not_found: list = field(default_factory=list)
    reordered: bool = False

    def summary(self) -> str:
        """One line: how many layers were loaded and which model layers kept initial values."""
        mode = "by name" if self.by_name else "by order"
        if self.reordered:
            mode = "by order; the file lists the same layers in another order, matched by name"
        text = f"Loaded weights of {len(self.loaded)} layers from {self.filepath} ({mode})"
        if not self.kept_initial:
            return text + "; every model layer with weights was loaded."
        excluded = set(self.excluded)
        names = [n + (" (excluded)" if n in excluded else "") for n in self.kept_initial]
        return (
            f"{text}; {len(self.kept_initial)} model layers kept their initial values: "
            f"{_short_list(names, 10)}"
        )


def load_weights(keras_model, filepath, by_name=False, exclude=None, verbose=1) -> LoadReport:
    """Load a Keras 2 HDF5 weight file (e.g. ``mask_rcnn_coco.h5``) into a Keras 3 model.

    Mirrors Matterport's ``MaskRCNN.load_weights`` (Keras 2 ``load_weights_from_hdf5_group`` and
    ``..._by_name``), for a Keras 3 model whose top-level layers carry Matterport's names.

    * ``exclude``: top-level layer names to skip; a non-empty ``exclude`` forces ``by_name=True``.
      ``"rpn_model"`` skips the whole RPN; inner names such as ``"rpn_conv_shared"`` have no effect
      (reported in ``LoadReport.exclude_not_found`` and logged as a warning). A single string is
      taken as one name.
    * ``by_name=True``: each file layer group sets the top-level model layer of the same name; model
      layers absent from the file keep their values.
    * ``by_name=False``: the file's layers with weights set the model's layers with weights in
      order; the counts must be equal. Exception: when the file holds exactly the model's weighted
      layer names in another order, they are matched by name (``LoadReport.reordered``). Keras 3
      orders functional layers differently from Keras 2 (``mask_rcnn_coco.h5`` lists the mask head
      before the class head, a Keras 3 model may not), and pairing by position would cross
      same-shaped layers such as ``mrcnn_mask_conv1`` and ``mrcnn_mask_conv3``.
    * Inside a layer, weights are matched by position in ``weight_names`` (Keras ``layer.weights``
      order: Conv/Dense kernel, bias; BN gamma, beta, moving_mean, moving_variance); a nested model
      takes all its inner weights in inner-layer order.
    * A root without ``layer_names`` but with a ``model_weights`` group (a full-model save) is read
      from that group. ``bytes`` and ``str`` attributes and chunked ``layer_names0, 1, ...`` work.
    * Every count and shape is checked, and every array read, before any variable is assigned.

    Args:
        keras_model: keras.Model (or an object with a ``keras_model`` attribute).
        filepath: str or os.PathLike.
        by_name: bool.
        exclude: list of str or None.
        verbose: >= 1 logs the summary line at INFO on the ``"mrcnn"`` logger (printed when the
            application configured no logging handler), 0 at DEBUG.

    Returns:
        LoadReport.

    Raises:
        FileNotFoundError: no such file.
        WeightFileError (OSError): not HDF5, truncated, damaged, a Keras 3 ``.weights.h5`` file,
            or an HDF5 file without ``layer_names``.
        ValueError: weight count or shape mismatch (naming layer, weight, both shapes; for the class
            heads ``mrcnn_class_logits``/``mrcnn_bbox_fc``/``mrcnn_mask`` also the ``exclude``
            list for fine-tuning), a different number of weighted layers when loading by order,
            or a file that holds none of the model's layers.
        TypeError: ``keras_model`` is not a model.
    """
    path = os.fspath(filepath)
    model = _resolve_model(keras_model)
    if isinstance(exclude, str):
        exclude = [exclude]
    exclude = list(exclude or [])
    if exclude:
        by_name = True
    layers = list(model.layers)
    layer_vars = {layer.name: _layer_variables(layer) for layer in layers}
    weighted = [layer.name for layer in layers if layer_vars[layer.name]]
    if not weighted:
        raise ValueError(
            f"The model {getattr(model, 'name', '')!r} has no weights yet; build it (call it on "
            "inputs or use the functional API) before loading weights."
        )

    with _WeightFile(path) as group:
        pairing = _pair_layers(path, layers, weighted, _file_layers(group, path), by_name, exclude)
        _check_shapes(group, path, pairing.pairs, layers, layer_vars)
        values = _read_values(group, path, pairing.pairs, layer_vars)
    _assign(values)

    loaded_set = {p.model_name for p in pairing.pairs}
    report = LoadReport(
        filepath=path,
        by_name=by_name,
        loaded=[n for n in weighted if n in loaded_set],
        kept_initial=[n for n in weighted if n not in loaded_set],
        not_in_model=pairing.not_in_model,
        excluded=pairing.excluded,
        exclude_not_found=pairing.exclude_not_found,
        reordered=pairing.reordered,
    )
    if report.exclude_not_found:
        logger.warning(
            "load_weights: exclude names that are not top-level model layers have no effect: %s "
            "(exclude takes top-level names; 'rpn_model' holds rpn_conv_shared, rpn_class_raw "
            "and rpn_bbox_pred).",
            ", ".join(report.exclude_not_found),
        )
    _log_summary(report.summary(), verbose)
    return report


def _log_summary(text, verbose):
    """The summary line of ``load_weights``: an INFO (``verbose``) or DEBUG record on the
    ``"mrcnn"`` logger, printed instead (stdout) when ``verbose`` and the application has set
    no logging handler for it or an ancestor, where the record would reach no one (logging's
    last-resort handler shows WARNING and above only). One line either way, never both."""
    if verbose and not logger.hasHandlers():
        print(text)
    else:
        logger.log(logging.INFO if verbose else logging.DEBUG, text)


# ------------------------------------------------------------------------------------------------
# Step 1: pairing
# ------------------------------------------------------------------------------------------------


@dataclass
class _Pair:
    """One top-level model layer and the file layer group whose weights it takes."""

    model_name: str
    file_name: str
    weight_names: list  # the file group's weight_names, in order


@dataclass
class _Pairing:
    """The outcome of :func:`_pair_layers` (the matching part of a :class:`LoadReport`)."""

    pairs: list  # [_Pair], file order (by name) or model order (by order)
    excluded: list  # model layers named in exclude (model order)
    exclude_not_found: list  # exclude names that are not top-level model layers
    not_in_model: list  # weighted file layers that match no model layer (file order; by name)
    reordered: bool  # by order, but the file lists the same layers in another order


def _pair_layers(path, layers, weighted, file_layers, by_name, exclude) -> _Pairing:
    """Pair the model's top-level layers with the file's layer groups.

    Args:
        path: the file's path (for messages).
        layers: the model's top-level layers (``model.layers``).
        weighted: names of those that hold weights, in model order.
        file_layers: ``[(layer name, [weight names])]`` in the file's ``layer_names`` order.
        by_name: pair by layer name (True) or weighted layers by position (False).
        exclude: list of top-level layer names to leave out (only used by name).

    Raises:
        ValueError: the file holds no weights; by name, no file layer matches a model layer; by
            order, the numbers of weighted layers differ.
    """
    index = {layer.name: i for i, layer in enumerate(layers)}
    file_weighted = [(n, w) for n, w in file_layers if w]
    if not file_weighted:
        raise ValueError(f"{path!r} holds no weights: every layer group is empty.")
    excluded = [n for n in index if n in set(exclude)]
    exclude_not_found = [n for n in exclude if n not in index]
    not_in_model = []
    reordered = False
    pairs = []
    if by_name:
        if not any(n in index for n, _ in file_weighted):
            raise ValueError(
                f"{path!r} holds none of the model's layers: no layer name of the file matches "
                f"a top-level model layer. File layers with weights: "
                f"{_short_list([n for n, _ in file_weighted])}; model layers with weights: "
                f"{_short_list(weighted)}. Is this a weight file for a different model?"
            )
        for name, weight_names in file_layers:
            if name not in index:
                if weight_names:
                    not_in_model.append(name)
            elif name not in excluded:
                pairs.append(_Pair(name, name, weight_names))
    else:
        if len(file_weighted) != len(weighted):
            raise ValueError(
                f"Cannot load {path!r} by order: the file has {len(file_weighted)} layers with "
                f"weights but the model has {len(weighted)}. Loading by order needs the same "
                "architecture; use by_name=True to load the layers whose names match (e.g. "
                "pretrained COCO or ImageNet weights)."
            )
        file_names = [n for n, _ in file_weighted]
        if file_names != weighted and sorted(file_names) == sorted(weighted):
            # Same layers, another order (Keras 3 sorts functional layers differently from
            # Keras 2, e.g. the mask and class heads): pairing by position would cross them.
            reordered = True
            by_file = dict(file_weighted)
            pairs = [_Pair(m, m, by_file[m]) for m in weighted]
        else:
            pairs = [_Pair(m, f, w) for m, (f, w) in zip(weighted, file_weighted)]
    return _Pairing(pairs, excluded, exclude_not_found, not_in_model, reordered)


# ------------------------------------------------------------------------------------------------
# Step 2: checking counts and shapes
# ------------------------------------------------------------------------------------------------


def _check_shapes(group, path, pairs, layers, layer_vars) -> None:
    """Check every pair's weight count and shapes against the file, reading no array.

    Raises:
        ValueError: one message listing every mismatch (see :func:`_mismatch_error`).
        WeightFileError: a listed weight has no dataset in the file.
    """
    index = {layer.name: i for i, layer in enumerate(layers)}
    problems, class_hint = [], None
    for pair in pairs:
        model_name, file_name, weight_names = pair.model_name, pair.file_name, pair.weight_names
        variables = layer_vars[model_name]
        where = f"layer #{index[model_name]} ({model_name!r}"
        where += ")" if file_name == model_name else f", {file_name!r} in the file)"
        if len(variables) != len(weight_names):
            problems.append(
                f"{where}: the model has {len(variables)} weight(s) "
                f"({', '.join(_variable_names(layers[index[model_name]]))}) but the file has "
                f"{len(weight_names)} ({', '.join(weight_names) or 'none'})."
            )
            continue
        for i, (var, weight_name) in enumerate(zip(variables, weight_names)):
            file_shape = tuple(_dataset(group, file_name, weight_name, path).shape)
            model_shape = tuple(var.shape)
            if file_shape == model_shape:
                continue
            problems.append(
                f"{where}, weight {i} ({weight_name!r}): the model's shape is {model_shape} "
                f"but the file's is {file_shape}."
            )
            if (
                model_name in _CLASS_HEADS
                and len(file_shape) == len(model_shape)
                and file_shape[:-1] == model_shape[:-1]
                and (class_hint is None or class_hint[0] is None)
            ):
                class_hint = (
                    _class_count(model_name, file_shape),
                    _class_count(model_name, model_shape),
                )
    if problems:
        raise _mismatch_error(path, problems, class_hint)


def _class_count(layer_name, shape):
    per_class = _CLASS_HEADS[layer_name]
    if not shape or shape[-1] % per_class:
        return None
    return shape[-1] // per_class


def _mismatch_error(path, problems, class_hint) -> ValueError:
    lines = [f"Cannot load weights from {path!r}: {len(problems)} weight(s) do not fit the model."]
    lines += ["  " + p for p in problems[:10]]
    if len(problems) > 10:
        lines.append(f"  ... and {len(problems) - 10} more.")
    if class_hint is not None:
        file_nc, model_nc = class_hint
        exclude_text = "[" + ", ".join(f'"{name}"' for name in FINE_TUNE_EXCLUDE) + "]"
        counts = ""
        if file_nc is not None and model_nc is not None:
            counts = f" (NUM_CLASSES = {file_nc} in the file, {model_nc} in the model)"
        lines.append(
            "The file was trained for a different number of classes" + counts + ". To fine-tune "
            "on your classes, load every other layer and keep the class-specific heads at their "
            "initial values: model.load_weights(path, by_name=True, exclude=" + exclude_text + ")."
        )
    lines.append("No weights were changed.")
    return ValueError("\n".join(lines))


# ------------------------------------------------------------------------------------------------
# Step 3: reading, then assigning
# ------------------------------------------------------------------------------------------------


def _read_values(group, path, pairs, layer_vars) -> list:
    """``[(variable, ndarray)]`` for every pair, all read before any is assigned.

    Raises:
        WeightFileError: a weight that is not numeric (a damaged file).
    """
    values = []
    for pair in pairs:
        for var, weight_name in zip(layer_vars[pair.model_name], pair.weight_names):
            array = _read_array(_dataset(group, pair.file_name, weight_name, path))
            if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
                raise WeightFileError(
                    f"{path!r}: weight {pair.file_name}/{weight_name} has dtype {array.dtype}, "
                    "expected numbers; the file is damaged."
                )
            values.append((var, array))
    return values


def _assign(values) -> None:
    """Assign each array to its variable, cast to the variable's dtype."""
    for var, array in values:
        var.assign(array.astype(np.dtype(var.dtype), copy=False))
