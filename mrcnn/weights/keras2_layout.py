"""The Keras 2 HDF5 weight layout (Matterport's ``mask_rcnn_coco.h5``): reader and writer.

Keras 3 writes its own ``.weights.h5`` layout (``layers/<class name>/vars/<i>``) and cannot load the
Keras 2 layout by layer name, so this module reads and writes the Keras 2 layout itself with h5py:

* root attributes ``layer_names`` (every top-level layer, in ``model.layers`` order; possibly split
  into ``layer_names0``, ``layer_names1``, ... when long), ``backend`` and ``keras_version``;
* one group per layer whose attribute ``weight_names`` lists its variables (``conv1/kernel:0``,
  ...); the arrays are stored at ``<layer>/<weight name>`` (so ``conv1/conv1/kernel:0``);
* a nested model (``rpn_model``) is one group holding the weights of all its inner layers, in
  inner-layer order (``rpn_conv_shared/kernel:0``, ..., ``rpn_bbox_pred/bias:0``).

Attributes may be ``bytes`` or ``str`` (h5py 3 returns ``str`` for variable-length strings, which
broke Matterport's loader). Reading: :func:`read_layer_names`, :func:`read_weight_names`,
:func:`read_weight_shapes` (and ``_WeightFile``, ``_file_layers``, ``_dataset``, ``_read_array``
for the loader); writing: :func:`write_matterport_layout`, :func:`save_weights` (Keras 2
``save_weights_to_hdf5_group``, which Matterport's checkpoints used).
"""

from __future__ import annotations

import os
import uuid

import h5py
import numpy as np

from mrcnn.weights.file_check import (
    _DOWNLOAD_HINT,
    WeightFileError,
    _short_list,
    check_weight_file,
)
from mrcnn.weights.model_variables import (
    _layer_variables,
    _resolve_model,
    _to_numpy,
    _variable_names,
)

# Keras 2 splits an attribute into chunks above this many bytes (HDF5 object header limit).
HDF5_OBJECT_HEADER_LIMIT = 64512


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


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------


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
# Inspection (public)
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
