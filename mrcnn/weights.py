"""Keras 2 HDF5 weight files (Matterport's ``mask_rcnn_coco.h5``) for Keras 3 models.

Keras 3 writes its own ``.weights.h5`` layout (``layers/<class name>/vars/<i>``) and cannot load the
Keras 2 layout by layer name, so this module reads and writes the Keras 2 layout itself with h5py:

* root attributes ``layer_names`` (every top-level layer, in ``model.layers`` order; possibly split
  into ``layer_names0``, ``layer_names1``, ... when long), ``backend`` and ``keras_version``;
* one group per layer whose attribute ``weight_names`` lists its variables (``conv1/kernel:0``,
  ...); the arrays are stored at ``<layer>/<weight name>`` (so ``conv1/conv1/kernel:0``);
* a nested model (``rpn_model``) is one group holding the weights of all its inner layers, in
  inner-layer order (``rpn_conv_shared/kernel:0``, ..., ``rpn_bbox_pred/bias:0``).

Layers are matched by group (layer) name and weights inside a layer by position, never by the exact
variable string (Keras versions add prefixes and ``_1`` suffixes). Attributes may be ``bytes`` or
``str`` (h5py 3 returns ``str`` for variable-length strings, which broke Matterport's loader).

Public API:

* :func:`load_weights` -- Matterport's ``MaskRCNN.load_weights`` semantics, returns a
  :class:`LoadReport`; every mismatch is found before any weight changes.
* :func:`save_weights` -- writes the Keras 2 layout atomically.
* :func:`write_matterport_layout` -- the low-level writer (arbitrary ``layer_names``).
* :func:`read_layer_names`, :func:`read_weight_names`, :func:`read_weight_shapes` -- inspection.
* :func:`check_weight_file` -- detects non-HDF5 and truncated files from the HDF5 superblock.
* :class:`WeightFileError` (an ``OSError``) for unreadable, truncated or foreign files.
* :data:`FINE_TUNE_EXCLUDE` -- the ``exclude`` list for fine-tuning on a different class count.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field

import h5py
import numpy as np

logger = logging.getLogger("mrcnn")

#: Layers whose shapes depend on NUM_CLASSES, plus the weightless ``mrcnn_bbox`` that Matterport's
#: samples traditionally list too. Pass as ``exclude`` to fine-tune COCO weights on other classes.
FINE_TUNE_EXCLUDE = ["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask"]

# Class-count heads -> number of output channels per class (mrcnn_bbox_fc has 4 per class).
_CLASS_HEADS = {"mrcnn_class_logits": 1, "mrcnn_bbox_fc": 4, "mrcnn_mask": 1}

# Keras 2 splits an attribute into chunks above this many bytes (HDF5 object header limit).
HDF5_OBJECT_HEADER_LIMIT = 64512

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_UNDEFINED_ADDRESS = None  # sentinel for an all-ones HDF5 address
_DOWNLOAD_HINT = (
    "Delete it and download it again; for Matterport's COCO weights use "
    "mrcnn.utils.download_trained_weights(path)."
)


class WeightFileError(OSError):
    """A weight file that cannot be used: not HDF5, truncated, damaged, or in a foreign layout."""


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


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------


def _short_list(names, limit=5) -> str:
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... ({len(names) - limit} more)"


def _decode_names(value, what: str, path) -> list:
    """Attribute value (bytes/str scalar or array, or an empty numeric array) -> list of str."""
    arr = np.asarray(value)
    if arr.size == 0:
        return []
    items = [arr.item()] if arr.ndim == 0 else arr.ravel().tolist()
    out = []
    for item in items:
        if isinstance(item, (bytes, np.bytes_)):
            out.append(bytes(item).decode("utf8"))
        elif isinstance(item, str):
            out.append(item)
        else:
            raise WeightFileError(
                f"{path}: attribute {what!r} should hold strings (bytes or str) but holds "
                f"{type(item).__name__} values; this is not a Keras 2 weight file."
            )
    return out


def _has_name_attr(obj, name: str) -> bool:
    return name in obj.attrs or f"{name}0" in obj.attrs


def _read_name_attr(obj, name: str, path) -> list:
    """Read a string-list attribute, joining Keras 2 chunks ``name0``, ``name1``, ... if split."""
    if name in obj.attrs:
        return _decode_names(obj.attrs[name], name, path)
    out = []
    chunk = 0
    while f"{name}{chunk}" in obj.attrs:
        out.extend(_decode_names(obj.attrs[f"{name}{chunk}"], f"{name}{chunk}", path))
        chunk += 1
    return out


def _resolve_model(keras_model):
    """Accept a keras.Model (or an object with a ``keras_model``/``inner_model`` attribute)."""
    model = keras_model
    if not hasattr(model, "layers"):
        model = getattr(model, "keras_model", model)
    model = getattr(model, "inner_model", model)  # Matterport's ParallelModel
    if not hasattr(model, "layers"):
        raise TypeError(
            "Expected a keras.Model (or MaskRCNN) with a .layers list, got "
            f"{type(keras_model).__name__}."
        )
    return model


def _layer_variables(layer) -> list:
    """The variables saved for a top-level layer, in Keras ``layer.weights`` order.

    A ``TimeDistributed`` wrapper contributes its inner layer's weights; a nested model contributes
    the weights of all its layers in inner-layer order.
    """
    import keras

    if isinstance(layer, keras.layers.TimeDistributed):
        return list(layer.layer.weights)
    return list(layer.weights)


def _variable_names(layer) -> list:
    """Keras 2 style weight names ``<owner layer>/<variable>:0`` for :func:`_layer_variables`.

    Plain layers and TimeDistributed wrappers use the top-level layer name (``conv1/kernel:0``,
    ``mrcnn_class_conv1/kernel:0``); a nested model names each weight after the inner layer that
    owns it (``rpn_conv_shared/kernel:0``).
    """
    variables = _layer_variables(layer)
    owner = {}
    sublayers = getattr(layer, "layers", None)
    if sublayers is not None and not _is_time_distributed(layer):
        for sub in sublayers:
            for var, name in zip(_layer_variables(sub), _variable_names(sub)):
                owner.setdefault(id(var), name)
    names, seen = [], set()
    for var in variables:
        short = str(getattr(var, "name", "")).split("/")[-1].split(":")[0] or "weight"
        name = owner.get(id(var), f"{layer.name}/{short}:0")
        base, k = name[:-2] if name.endswith(":0") else name, 1
        while name in seen:  # keep names unique inside one group
            name = f"{base}_{k}:0"
            k += 1
        seen.add(name)
        names.append(name)
    return names


def _is_time_distributed(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.TimeDistributed)


def _to_numpy(var) -> np.ndarray:
    if hasattr(var, "numpy"):
        return np.asarray(var.numpy())
    import keras

    return np.asarray(keras.ops.convert_to_numpy(var))


# ------------------------------------------------------------------------------------------------
# File checks (before h5py opens the file)
# ------------------------------------------------------------------------------------------------


def _read_address(buf: bytes, pos: int, size: int):
    raw = buf[pos : pos + size]
    if len(raw) < size:
        raise _ShortHeader()
    if raw == b"\xff" * size:
        return _UNDEFINED_ADDRESS
    return int.from_bytes(raw, "little")


class _ShortHeader(Exception):
    pass


def _sniff_format(head: bytes) -> str:
    """A human description of a non-HDF5 file from its first bytes."""
    stripped = head.lstrip().lower()
    if not head:
        return "it is empty (0 bytes)"
    if head.startswith(b"PK\x03\x04"):
        return (
            "it is a ZIP archive (a Keras 3 '.keras' model file is one; load that with "
            "keras.models.load_model)"
        )
    if head.startswith(b"\xff\xd8\xff"):
        return "it is a JPEG image"
    if head.startswith(b"\x89PNG"):
        return "it is a PNG image"
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "it is an HTML page (a failed or redirected download)"
    if head.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the file itself (run git lfs pull)"
    try:
        head[:512].decode("utf8")
        return "it looks like a text file"
    except UnicodeDecodeError:
        return "it has no HDF5 signature"


def check_weight_file(filepath) -> int:
    """Check that ``filepath`` is a complete HDF5 file, from its superblock, without h5py.

    The HDF5 superblock (versions 0/1 and 2/3 are read) stores the end-of-file address, i.e. the
    size the file must have. A shorter file is an interrupted download; h5py's own error for it
    ("truncated file: eof = ..., stored_eof = ...") is cryptic, so this check runs first.

    Args:
        filepath: str or os.PathLike.

    Returns:
        int: the file size recorded in the superblock (bytes). The file on disk may be larger.

    Raises:
        FileNotFoundError: the file does not exist.
        WeightFileError: it is not an HDF5 file (no signature at offset 0, 512, 1024, ...), or it is
            truncated (shorter than the recorded end-of-file address).
    """
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Weight file not found: {path!r}. Check the path; to fetch Matterport's COCO weights "
            "use mrcnn.utils.download_trained_weights(path)."
        )
    if os.path.isdir(path):
        raise WeightFileError(f"{path!r} is a directory, expected an HDF5 weight file (.h5).")
    actual = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(4096)
        # HDF5 looks for the superblock at 0, 512, 1024, 2048, ... (after a user block).
        offset = 0
        buf = None
        while offset < actual:
            fh.seek(offset)
            block = fh.read(96)
            if block.startswith(_HDF5_SIGNATURE):
                buf = block
                break
            offset = 512 if offset == 0 else offset * 2
    if buf is None:
        raise WeightFileError(
            f"{path!r} is not an HDF5 weight file: {_sniff_format(head)}. Expected a Keras 2 "
            "HDF5 weight file such as Matterport's mask_rcnn_coco.h5 (written by "
            "keras_model.save_weights / ModelCheckpoint, or by mrcnn.weights.save_weights)."
        )
    try:
        version = buf[8] if len(buf) > 8 else None
        if version is None:
            raise _ShortHeader()
        if version in (0, 1):
            size_of_offsets = buf[13]
            pos = 24 if version == 0 else 28
            step = size_of_offsets
            # base address, free-space address, end-of-file address, driver info address
            eof = _read_address(buf, pos + 2 * step, step)
            driver = _read_address(buf, pos + 3 * step, step)
            if driver is not _UNDEFINED_ADDRESS:
                return actual  # family/multi-file driver: the address spans several files
        elif version in (2, 3):
            size_of_offsets = buf[9]
            step = size_of_offsets
            # base address, superblock extension address, end-of-file address, root header address
            eof = _read_address(buf, 12 + 2 * step, step)
        else:
            return actual  # a future superblock version: let h5py judge
    except _ShortHeader:
        raise WeightFileError(
            f"{path!r} is truncated: it ends inside its HDF5 header ({actual:,} bytes on disk). "
            + _DOWNLOAD_HINT
        ) from None
    if eof is _UNDEFINED_ADDRESS:
        return actual
    # The stored end-of-file address counts from the start of the file (user block included).
    if actual < eof:
        raise WeightFileError(
            f"{path!r} is truncated: its HDF5 header says the file is {eof:,} bytes but it is only "
            f"{actual:,} bytes on disk ({100.0 * actual / eof:.1f}%), probably an interrupted "
            "download. " + _DOWNLOAD_HINT
        )
    return eof


class _WeightFile:
    """Context manager: check, open read-only, and find the group that holds ``layer_names``."""

    def __init__(self, filepath):
        self.path = os.fspath(filepath)
        self.file = None

    def __enter__(self):
        check_weight_file(self.path)
        try:
            self.file = h5py.File(self.path, "r")
        except OSError as exc:
            raise WeightFileError(
                f"{self.path!r} could not be opened by h5py ({exc}). The file is probably damaged. "
                + _DOWNLOAD_HINT
            ) from exc
        f = self.file
        if _has_name_attr(f, "layer_names"):
            return f
        if "model_weights" in f and _has_name_attr(f["model_weights"], "layer_names"):
            return f["model_weights"]  # a full-model save (keras_model.save)
        keras3 = "layers" in f or "vars" in f
        root_groups, root_attrs = sorted(f.keys()), sorted(f.attrs.keys())
        self.file.close()
        if keras3:
            raise WeightFileError(
                f"{self.path!r} is a Keras 3 '.weights.h5' file (layout layers/<name>/vars/<i>), "
                "not the Keras 2 layout of mask_rcnn_coco.h5 (root attribute 'layer_names', one "
                "group per layer). Load it with keras_model.load_weights(path) into the same "
                "architecture, or write Matterport-compatible files with "
                "mrcnn.weights.save_weights(model, path)."
            )
        raise WeightFileError(
            f"{self.path!r} is an HDF5 file but not a Keras weight file: the root has no "
            f"'layer_names' attribute and no 'model_weights' group (root groups: "
            f"{_short_list(root_groups) or 'none'}; attributes: "
            f"{_short_list(root_attrs) or 'none'}). "
            "Expected a Keras 2 weight file such as mask_rcnn_coco.h5."
        )

    def __exit__(self, *exc):
        if self.file is not None and self.file.id.valid:
            self.file.close()
        return False


def _file_layers(group, path) -> list:
    """[(layer name, [weight names])] in the file's ``layer_names`` order."""
    out = []
    for name in _read_name_attr(group, "layer_names", path):
        if name not in group:
            raise WeightFileError(
                f"{path!r} lists layer {name!r} in 'layer_names' but has no group for it; the "
                "file is damaged. " + _DOWNLOAD_HINT
            )
        out.append((name, _read_name_attr(group[name], "weight_names", path)))
    return out


def _read_array(ds):
    """The values of a dataset. A contiguous, uncompressed dataset (Keras' layout) is mapped
    from the file instead of read through HDF5, which halves the time to load a 250 MB file."""
    offset = ds.id.get_offset()
    if offset is not None and ds.chunks is None and ds.compression is None and ds.size:
        try:
            return np.memmap(ds.file.filename, mode="r", dtype=ds.dtype, offset=offset,
                             shape=ds.shape)
        except (OSError, ValueError):
            pass
    return np.asarray(ds[()])


def _dataset(group, layer_name, weight_name, path):
    try:
        ds = group[layer_name][weight_name]
    except KeyError:
        ds = None
    if not isinstance(ds, h5py.Dataset):
        raise WeightFileError(
            f"{path!r}: layer {layer_name!r} lists weight {weight_name!r} but holds no such "
            "dataset; the file is damaged. " + _DOWNLOAD_HINT
        )
    return ds


# ------------------------------------------------------------------------------------------------
# Inspection
# ------------------------------------------------------------------------------------------------


def read_layer_names(filepath) -> list:
    """All layer names of a Keras 2 weight file, in file order (root ``layer_names``).

    Args:
        filepath: str or os.PathLike of a Keras 2 HDF5 weight file (or full-model save).

    Returns:
        list of str, weightless layers included.

    Raises:
        FileNotFoundError, WeightFileError: see :func:`check_weight_file`; also for a Keras 3
            ``.weights.h5`` file or an HDF5 file without ``layer_names``.
    """
    with _WeightFile(filepath) as group:
        return _read_name_attr(group, "layer_names", os.fspath(filepath))


def read_weight_names(filepath) -> dict:
    """``{layer name: [weight name, ...]}`` for every layer of the file (``[]`` when weightless)."""
    path = os.fspath(filepath)
    with _WeightFile(path) as group:
        return dict(_file_layers(group, path))


def read_weight_shapes(filepath) -> dict:
    """``{layer name: [shape tuple, ...]}`` for every layer of the file, in file order.

    Shapes follow the ``weight_names`` order (Conv: kernel HWIO, bias; BN: gamma, beta,
    moving_mean, moving_variance); weightless layers map to ``[]``. Raises as
    :func:`read_layer_names`.
    """
    path = os.fspath(filepath)
    with _WeightFile(path) as group:
        return {
            name: [tuple(_dataset(group, name, w, path).shape) for w in names]
            for name, names in _file_layers(group, path)
        }


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


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
      takes all its inner weights in inner-layer order; a TimeDistributed layer its inner layer's.
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
    index = {layer.name: i for i, layer in enumerate(layers)}
    weighted = [layer.name for layer in layers if layer_vars[layer.name]]
    if not weighted:
        raise ValueError(
            f"The model {getattr(model, 'name', '')!r} has no weights yet; build it (call it on "
            "inputs or use the functional API) before loading weights."
        )

    with _WeightFile(path) as group:
        file_layers = _file_layers(group, path)
        file_weighted = [(n, w) for n, w in file_layers if w]
        if not file_weighted:
            raise ValueError(f"{path!r} holds no weights: every layer group is empty.")
        excluded = [n for n in index if n in set(exclude)]
        exclude_not_found = [n for n in exclude if n not in index]
        not_in_model = []
        reordered = False
        pairs = []  # (model layer name, file layer name, file weight names)
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
                    pairs.append((name, name, weight_names))
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
                pairs = [(m, m, by_file[m]) for m in weighted]
            else:
                pairs = [(m, f, w) for m, (f, w) in zip(weighted, file_weighted)]

        problems, class_hint = [], None
        for model_name, file_name, weight_names in pairs:
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

        values = []
        for model_name, file_name, weight_names in pairs:
            for var, weight_name in zip(layer_vars[model_name], weight_names):
                array = _read_array(_dataset(group, file_name, weight_name, path))
                if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
                    raise WeightFileError(
                        f"{path!r}: weight {file_name}/{weight_name} has dtype {array.dtype}, "
                        "expected numbers; the file is damaged."
                    )
                values.append((var, array))

    for var, array in values:
        var.assign(array.astype(np.dtype(var.dtype), copy=False))

    loaded_set = {m for m, _, _ in pairs}
    report = LoadReport(
        filepath=path,
        by_name=by_name,
        loaded=[n for n in weighted if n in loaded_set],
        kept_initial=[n for n in weighted if n not in loaded_set],
        not_in_model=not_in_model,
        excluded=excluded,
        exclude_not_found=exclude_not_found,
        reordered=reordered,
    )
    if exclude_not_found:
        logger.warning(
            "load_weights: exclude names that are not top-level model layers have no effect: %s "
            "(exclude takes top-level names; 'rpn_model' holds rpn_conv_shared, rpn_class_raw "
            "and rpn_bbox_pred).",
            ", ".join(exclude_not_found),
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
# Writing
# ------------------------------------------------------------------------------------------------


def _write_name_attr(obj, name: str, names, max_attr_bytes: int) -> None:
    """Write a list of names as a fixed-length bytes attribute, chunked like Keras 2 if large."""
    encoded = [n.encode("utf8") for n in names]
    if not encoded:
        obj.attrs[name] = np.asarray([])  # what Keras 2 writes for a weightless layer
        return
    too_long = [n for n in encoded if len(n) > max_attr_bytes]
    if too_long:
        raise ValueError(
            f"Cannot save attribute {name!r}: {len(too_long)} name(s) are longer than "
            f"{max_attr_bytes} bytes, e.g. {too_long[0][:60]!r}...; shorten the layer names."
        )
    data = np.asarray(encoded)
    num_chunks = 1
    chunks = [data]
    while any(chunk.nbytes > max_attr_bytes for chunk in chunks):
        num_chunks += 1
        chunks = np.array_split(data, num_chunks)
    if num_chunks == 1:
        obj.attrs[name] = data
    else:
        for i, chunk in enumerate(chunks):
            obj.attrs[f"{name}{i}"] = chunk


def _atomic_h5_write(path: str, write) -> None:
    """Run ``write(h5py.File)`` on a temporary file in the target directory, then os.replace it."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot save weights to {path!r}: directory {directory!r} does not exist.")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with h5py.File(tmp, "x") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_matterport_layout(
    path,
    layer_names,
    weights_by_layer,
    *,
    keras_version=None,
    backend="tensorflow",
    max_attr_bytes=HDF5_OBJECT_HEADER_LIMIT,
) -> None:
    """Write a weight file in the Keras 2 layout of ``mask_rcnn_coco.h5`` (atomically).

    Args:
        path: str or os.PathLike of the file to (over)write. It is written to a temporary file in
            the same directory and moved into place, so a failure leaves no partial file.
        layer_names: sequence of str, the root ``layer_names`` in order (weightless layers
            included; e.g. the 406 names of ``mask_rcnn_coco.layers.json``). Each gets a group.
        weights_by_layer: ``{layer name: [(weight name, ndarray), ...]}``; weight names such as
            ``"conv1/kernel:0"`` are stored at ``<layer>/<weight name>``. Layers missing from the
            mapping get an empty group (empty ``weight_names``).
        keras_version: str for the root ``keras_version`` attribute; None writes the running Keras
            version. Pass ``"2.0.8"`` to mimic ``mask_rcnn_coco.h5`` exactly (Keras 2 loaders only
            treat ``"1"`` specially, so any value loads).
        backend: str for the root ``backend`` attribute.
        max_attr_bytes: name lists larger than this are split into ``name0``, ``name1``, ...
            (Keras 2 behaviour; the default is the HDF5 object header limit Keras 2 uses).

    Attributes are written as bytes: ``layer_names``/``weight_names`` as fixed-length bytes arrays,
    ``backend``/``keras_version`` as byte strings, exactly like Keras 2 under h5py.

    Raises:
        ValueError: duplicate or invalid layer names, weights given for a layer that is not in
            ``layer_names``, duplicate weight names in a layer, non-numeric arrays.
        FileNotFoundError: the target directory does not exist.
    """
    path = os.fspath(path)
    layer_names = list(layer_names)
    bad = [n for n in layer_names if not isinstance(n, str) or not n or "/" in n]
    if bad:
        raise ValueError(f"Layer names must be non-empty str without '/': got {bad[:5]!r}.")
    dupes = sorted({n for n in layer_names if layer_names.count(n) > 1})
    if dupes:
        raise ValueError(f"Duplicate layer names: {dupes[:5]!r}; every layer needs a unique name.")
    unknown = [n for n in weights_by_layer if n not in set(layer_names)]
    if unknown:
        raise ValueError(
            f"weights_by_layer has layers that are not in layer_names: {unknown[:5]!r}; add them "
            "to layer_names."
        )
    prepared = {}
    for name, items in weights_by_layer.items():
        items = [(w, np.asarray(a)) for w, a in items]
        weight_names = [w for w, _ in items]
        if len(set(weight_names)) != len(weight_names) or not all(
            isinstance(w, str) and w and not w.startswith("/") for w in weight_names
        ):
            raise ValueError(
                f"Layer {name!r}: weight names must be unique non-empty str not starting with '/', "
                f"got {weight_names!r}."
            )
        for w, a in items:
            if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
                raise ValueError(
                    f"Layer {name!r}, weight {w!r}: expected a numeric array, got {a.dtype}.")
        prepared[name] = items
    if keras_version is None:
        import keras

        keras_version = keras.__version__

    def write(f):
        _write_name_attr(f, "layer_names", layer_names, max_attr_bytes)
        f.attrs["backend"] = str(backend).encode("utf8")
        f.attrs["keras_version"] = str(keras_version).encode("utf8")
        for name in layer_names:
            group = f.create_group(name)
            items = prepared.get(name, [])
            _write_name_attr(group, "weight_names", [w for w, _ in items], max_attr_bytes)
            for weight_name, array in items:
                group.create_dataset(weight_name, data=array)

    _atomic_h5_write(path, write)


def save_weights(keras_model, filepath, keras_version=None) -> None:
    """Save a Keras 3 model's weights in the Keras 2 layout of ``mask_rcnn_coco.h5``.

    Mirrors Keras 2 ``Model.save_weights(filepath)`` (HDF5): root ``layer_names`` lists every
    top-level layer in ``model.layers`` order; each layer group holds ``weight_names`` such as
    ``b"conv1/kernel:0"`` (for the nested ``rpn_model``: ``b"rpn_conv_shared/kernel:0"``, ...) and
    the arrays at ``<layer>/<weight name>``. The file loads with :func:`load_weights`, Matterport's
    Keras 2 code and Keras 3's ``model.load_weights("x.h5")``. Written atomically.

    The root ``keras_version`` attribute is the Keras version that wrote the file (e.g. "3.15.1")
    unless ``keras_version`` is given; Keras 2 readers accept any value but "1".

    Args:
        keras_model: keras.Model (or an object with a ``keras_model`` attribute).
        filepath: str or os.PathLike.
        keras_version: optional str for the ``keras_version`` attribute.

    Raises:
        TypeError: not a model. FileNotFoundError: the directory does not exist.
    """
    model = _resolve_model(keras_model)
    layers = list(model.layers)
    weights_by_layer = {}
    for layer in layers:
        variables = _layer_variables(layer)
        if variables:
            weights_by_layer[layer.name] = [
                (name, _to_numpy(var)) for name, var in zip(_variable_names(layer), variables)
            ]
    write_matterport_layout(
        filepath, [layer.name for layer in layers], weights_by_layer, keras_version=keras_version
    )
