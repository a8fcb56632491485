"""Export an inference model for serving: one TF SavedModel that takes raw images and returns
the final detections, with nothing but TensorFlow needed to run it.

Matterport's model could not be served on its own (its upstream issues #218, #1321, #1468,
#2431, #2611): molding, anchors and unmolding were NumPy code around ``keras_model.predict``. The
SavedModel written here holds all of ``detect()``: resizing in the config's
``IMAGE_RESIZE_MODE`` (``mrcnn.ops.serving_ops``, bit-identical to ``resize_image``), mean
subtraction, the image meta, the anchors (a constant in ``"square"`` mode, computed in the graph
for the molded size otherwise), the network, and the unmolding to original-image pixels.

Signatures:

* ``serving_default``: ``images`` uint8 [B, H, W, C] (C = ``IMAGE_CHANNEL_COUNT``, 3 for RGB),
  any H and W, one size per batch, B >= 1.
* ``serve_encoded`` (RGB models): ``encoded`` string [B], JPEG/PNG/BMP/GIF bytes of any sizes,
  decoded in the graph (first frame of a GIF) and run one image at a time; this is what TF
  Serving's REST API (``{"b64": ...}``) and Apache Beam's RunInference send.

Outputs of both, D = ``DETECTION_MAX_INSTANCES``, rows sorted by descending score, padding rows
zero:

* ``num_detections`` int32 [B];
* ``boxes`` float32 [B, D, 4] (y1, x1, y2, x2) pixels of the original image, exclusive ends
  (integer values: ``detect()``'s ``rois``);
* ``class_ids`` int32 [B, D]; ``scores`` float32 [B, D];
* ``masks`` float32 [B, D, 28, 28]: each detection's mask probabilities in its box frame (the
  TF Object Detection API convention; ``MASK_SHAPE`` in general);
* with ``full_masks=True``, ``full_masks`` uint8 [B, D, H, W]: the masks pasted into the image
  in the graph (threshold 0.5, as ``detect()``); for ``serve_encoded`` H and W are the largest
  in the batch and each image's masks fill its own top-left H_i x W_i.

``detect()`` and the exported model agree: the same class ids and boxes, scores to float
rounding (``tests/export/test_export.py`` runs the SavedModel in a process where mrcnn cannot be
imported).
"""

import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from mrcnn.anchors import get_anchors
from mrcnn.ops import serving_ops

#: Export formats of ``MaskRCNN.export`` and ``python -m mrcnn export --format``.
FORMATS = ("savedmodel", "tflite", "onnx")

#: Extra file written into the SavedModel folder: the config and the signatures, as JSON.
METADATA_PATH = os.path.join("assets.extra", "mrcnn_export.json")

OUTPUT_KEYS = ("num_detections", "boxes", "class_ids", "scores", "masks")


class ExportError(Exception):
    """An export that cannot be done (a converter that fails on an op, a missing converter);
    the message names the op or package and what to do."""


def decode_image(data, channels):
    """Decodes one encoded image in the graph as ``mrcnn.image.read_image`` reads the file.

    JPEGs are decoded with libjpeg's accurate integer IDCT (``dct_method="INTEGER_ACCURATE"``),
    which gives Pillow's pixels exactly (TensorFlow's default, the fast IDCT, differs from them
    by up to 8 grey levels in half of the pixels of the demo photos); PNG, BMP and GIF (first
    frame) go through ``tf.io.decode_image``.

    Args:
        data: scalar string tensor, the file's bytes.
        channels: 3 (RGB; grayscale is repeated, alpha dropped) or 1.

    Returns:
        uint8 [H, W, channels].
    """
    image = tf.cond(
        tf.io.is_jpeg(data),
        lambda: tf.io.decode_jpeg(data, channels=channels, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(data, channels=channels, dtype=tf.uint8,
                                   expand_animations=False))
    return tf.ensure_shape(image, [None, None, channels])


#: Elements per row of the packed weight buffers (64 bytes of float32).
_PACK_ROW = 16


class ServingModule(tf.Module):
    """The ``tf.Module`` saved by ``export_saved_model``: the inference ``keras_model`` plus
    the graph pre- and post-processing of ``mrcnn.ops.serving_ops``.

    Args:
        keras_model: the inference Keras model (``MaskRCNN.keras_model`` in inference mode).
        config: its ``Config``.
        full_masks: also return ``full_masks`` (uint8 [B, D, H, W]).

    Raises:
        ValueError: the config's ``IMAGE_RESIZE_MODE`` cannot be exported (``"crop"``), or a
            callable ``BACKBONE`` in a mode whose anchors depend on the image size.
    """

    def __init__(self, keras_model, config, full_masks=False):
        super().__init__(name="mask_rcnn_serving")
        mode = config.IMAGE_RESIZE_MODE
        serving_ops._check_mode(mode)
        if callable(config.BACKBONE) and mode != "square":
            raise ValueError(
                f"IMAGE_RESIZE_MODE {mode!r} needs the anchors in the graph for each molded "
                "size, which a callable BACKBONE's COMPUTE_BACKBONE_SHAPE cannot give; export "
                'with IMAGE_RESIZE_MODE = "square"')
        # The weights are saved packed, one variable per dtype, not the Keras model nor its
        # ~700 variables: tf.saved_model.load rebuilds every tracked object in Python and
        # imports the save / restore functions, which grow with the number of variables
        # (COCO config: 4,169 of the SavedModel's 10,555 function nodes, and 0.4 s to recreate
        # the variables). The network runs with ``stateless_call`` on the unpacked values.
        self._call_model = self._packed_call(keras_model)
        self._config = config
        self._full_masks = bool(full_masks)
        self._channels = int(config.IMAGE_CHANNEL_COUNT)
        self._max_instances = int(config.DETECTION_MAX_INSTANCES)
        self._mask_shape = tuple(int(s) for s in config.MASK_SHAPE)
        if mode == "square":
            side = int(config.IMAGE_MAX_DIM)
            # A variable, not a graph constant: Grappler's constant folding spent ~2 s of the
            # first call on the 4 MB constant of the COCO config's 261,888 anchors.
            self.anchors_ = tf.Variable(get_anchors(config, (side, side)), trainable=False,
                                        name="anchors")
            self._anchors = self.anchors_
        else:
            self._anchors = None
        # One concrete function for both signatures, kept out of the tracked attributes (as a
        # tracked tf.function, or called as one from two outer graphs, the whole network would
        # be traced and saved twice).
        detect_images = tf.function(
            self._detect_images,
            input_signature=[tf.TensorSpec([None, None, None, self._channels], tf.uint8)])
        concrete = detect_images.get_concrete_function()
        self._detect = lambda images: concrete(images)
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None, None, None, self._channels], tf.uint8,
                                           name="images")])
        self.serve_encoded = tf.function(
            self._serve_encoded, input_signature=[tf.TensorSpec([None], tf.string,
                                                                name="encoded")])

    def _packed_call(self, keras_model):
        """Packs the model's weights into ``self.packed_weights`` (a list of 2-D variables,
        one per dtype, of 16-element rows: each weight starts on a 64-byte row, so that
        ``tf.split`` along rows hands out views of the buffer, not copies) and returns
        ``call(inputs)``, the model's inference outputs computed from them."""
        trainable = list(keras_model.trainable_variables)
        weights = trainable + list(keras_model.non_trainable_variables)
        groups = {}  # dtype -> [(index, shape, size, rows)]
        for i, v in enumerate(weights):
            shape = tuple(int(d) for d in v.shape)
            size = int(np.prod(shape, dtype=np.int64))
            groups.setdefault(np.dtype(tf.as_dtype(v.dtype).as_numpy_dtype), []).append(
                (i, shape, size, max(1, -(-size // _PACK_ROW))))
        self.packed_weights = []
        layout = []
        for dtype, items in groups.items():
            buffer = np.zeros((sum(rows for *_, rows in items), _PACK_ROW), dtype)
            flat = buffer.reshape(-1)
            offset = 0
            for i, _, size, rows in items:
                flat[offset:offset + size] = np.asarray(weights[i]).reshape(-1)
                offset += rows * _PACK_ROW
            self.packed_weights.append(tf.Variable(buffer, trainable=False,
                                                   name=f"weights_{dtype.name}"))
            layout.append(items)
        count = len(trainable)

        def call(inputs):
            values = [None] * len(weights)
            for variable, items in zip(self.packed_weights, layout):
                parts = tf.split(variable, [rows for *_, rows in items], axis=0)
                for (i, shape, size, rows), part in zip(items, parts):
                    part = tf.reshape(part, [-1])
                    if size != rows * _PACK_ROW:
                        part = part[:size]
                    values[i] = tf.reshape(part, shape)
            outputs, _ = keras_model.stateless_call(values[:count], values[count:], inputs,
                                                    training=False)
            return outputs
        return call

    def _anchors_for(self, height, width, batch):
        c = self._config
        if self._anchors is not None:
            anchors = self._anchors
        else:
            anchors = serving_ops.pyramid_anchors(height, width, c.RPN_ANCHOR_SCALES,
                                                  c.RPN_ANCHOR_RATIOS, c.BACKBONE_STRIDES,
                                                  c.RPN_ANCHOR_STRIDE)
        return tf.broadcast_to(anchors[tf.newaxis], tf.concat([[batch], tf.shape(anchors)], 0))

    def _detect_images(self, images):
        """uint8 [B, H, W, C] (one size) -> the output dict."""
        c = self._config
        shape = tf.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        checks = [
            tf.debugging.assert_positive(batch, message="images: the batch is empty; send at "
                                                        "least one image"),
            tf.debugging.assert_positive(tf.minimum(height, width),
                                         message="images: an image has no pixels (H or W is 0)"),
        ]
        if c.IMAGE_RESIZE_MODE == "none":
            checks.append(tf.debugging.assert_equal(
                tf.math.floormod(shape[1:3], 64), 0,
                message='IMAGE_RESIZE_MODE "none" feeds images as they are: their height and '
                        "width must be multiples of 64 (export with \"pad64\" or \"square\" "
                        "for other sizes)"))
        with tf.control_dependencies(checks):
            images = tf.identity(images)
        molded, window, scale = serving_ops.mold_images(
            images, c.MEAN_PIXEL, c.IMAGE_MIN_DIM, c.IMAGE_MAX_DIM, c.IMAGE_MIN_SCALE,
            c.IMAGE_RESIZE_MODE)
        molded_hw = tf.shape(molded)[1:3]
        metas = serving_ops.compose_image_meta_graph(
            tf.stack([height, width, self._channels]),
            tf.concat([molded_hw, [self._channels]], 0), window, scale, c.NUM_CLASSES, batch)
        anchors = self._anchors_for(molded_hw[0], molded_hw[1], batch)
        outputs = self._call_model([molded, metas, anchors])
        detections, mrcnn_mask = outputs[0], outputs[3]
        class_ids = tf.cast(detections[..., 4], tf.int32)
        masks = tf.gather(tf.transpose(mrcnn_mask, [0, 1, 4, 2, 3]), class_ids, batch_dims=2)
        result = serving_ops.unmold_detections_graph(detections, masks, tf.stack([height, width]),
                                                     molded_hw, window)
        d, (mh, mw) = self._max_instances, self._mask_shape
        result = {
            "num_detections": tf.ensure_shape(result["num_detections"], [None]),
            "boxes": tf.ensure_shape(result["boxes"], [None, d, 4]),
            "class_ids": tf.ensure_shape(result["class_ids"], [None, d]),
            "scores": tf.ensure_shape(result["scores"], [None, d]),
            "masks": tf.ensure_shape(result["masks"], [None, d, mh, mw]),
        }
        if self._full_masks:
            result["full_masks"] = serving_ops.paste_masks_graph(
                result["masks"], result["boxes"], height, width)
        return result

    def _serve(self, images):
        return self._detect(images)

    def _serve_encoded(self, encoded):
        n = tf.shape(encoded)[0]
        check = tf.debugging.assert_positive(
            n, message="encoded: the batch is empty; send at least one image")
        keys = list(OUTPUT_KEYS) + (["full_masks"] if self._full_masks else [])
        dtypes = {"num_detections": tf.int32, "boxes": tf.float32, "class_ids": tf.int32,
                  "scores": tf.float32, "masks": tf.float32, "full_masks": tf.uint8}
        # Full masks differ in size from image to image: no shape inference for them.
        arrays = tuple(tf.TensorArray(dtypes[k], size=n, infer_shape=k != "full_masks",
                                      element_shape=tf.TensorShape([None] * 3)
                                      if k == "full_masks" else None) for k in keys)
        sizes = tf.TensorArray(tf.int32, size=n)

        def body(i, arrays, sizes):
            image = decode_image(encoded[i], self._channels)
            out = self._detect(image[tf.newaxis])
            arrays = tuple(a.write(i, out[k][0]) for a, k in zip(arrays, keys))
            return i + 1, arrays, sizes.write(i, tf.shape(image)[:2])

        with tf.control_dependencies([check]):
            start = tf.constant(0)
        _, arrays, sizes = tf.while_loop(lambda i, *_: i < n, body, (start, arrays, sizes))
        result = {k: a for k, a in zip(keys, arrays)}
        if self._full_masks:
            full = result.pop("full_masks")
            sizes = sizes.stack()
            top = tf.reduce_max(sizes, axis=0)

            def pad(i, padded):
                m = full.read(i)
                hw = tf.shape(m)[1:3]
                m = tf.pad(m, [[0, 0], [0, top[0] - hw[0]], [0, top[1] - hw[1]]])
                return i + 1, padded.write(i, m)

            _, padded = tf.while_loop(lambda i, _: i < n, pad,
                                      (tf.constant(0), tf.TensorArray(tf.uint8, size=n)))
            result["full_masks"] = tf.ensure_shape(padded.stack(),
                                                   [None, self._max_instances, None, None])
        result = {k: (v.stack() if isinstance(v, tf.TensorArray) else v)
                  for k, v in result.items()}
        result["num_detections"] = tf.ensure_shape(result["num_detections"], [None])
        return result

    def signatures(self):
        """The concrete functions to save: ``serving_default`` and, for 1- or 3-channel
        models, ``serve_encoded``."""
        result = {"serving_default": self.serve.get_concrete_function()}
        if self._channels in (1, 3):
            result["serve_encoded"] = self.serve_encoded.get_concrete_function()
        return result


def _metadata(config, full_masks, signatures):
    from mrcnn import __version__

    def plain(value):
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, (np.integer, np.floating)):
            return value.item()
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if callable(value):
            return getattr(value, "__name__", repr(value))
        return value
    return {
        "mrcnn_version": __version__,
        "signatures": sorted(signatures),
        "full_masks": bool(full_masks),
        "config": {k: plain(v) for k, v in config.to_dict().items()},
    }


def _replace_dir(source, target):
    """Moves the finished ``source`` folder to ``target`` (absent or an empty folder)."""
    if os.path.isdir(target) and not os.listdir(target):
        os.rmdir(target)
    os.replace(source, target)


def check_output(path, is_dir):
    """Refuses an export target that would overwrite something.

    Raises:
        FileExistsError: ``path`` is a non-empty folder (SavedModel) or an existing file, or
            a file where a folder is wanted; the message says what to do.
    """
    if is_dir:
        if os.path.isfile(path):
            raise FileExistsError(f"{path} is a file; a SavedModel is a folder: choose another "
                                  "output path")
        if os.path.isdir(path) and os.listdir(path):
            raise FileExistsError(f"{path} exists and is not empty; remove it or choose "
                                  "another output folder (an export never overwrites)")
    elif os.path.exists(path):
        raise FileExistsError(f"{path} exists; remove it or choose another output (an export "
                              "never overwrites)")


def export_saved_model(keras_model, config, export_dir, full_masks=False):
    """Writes the serving SavedModel of an inference model.

    The folder is written under a temporary name next to ``export_dir`` and renamed when
    complete, so a failed export leaves nothing behind. ``assets.extra/mrcnn_export.json``
    records the mrcnn version, the config and the signatures.

    Args:
        keras_model: the inference Keras model.
        config: its ``Config``.
        export_dir: the SavedModel folder to create (absent or empty).
        full_masks: add the ``full_masks`` output (pasted in the graph).

    Returns:
        ``export_dir``.

    Raises:
        FileExistsError: ``export_dir`` is a file or a non-empty folder.
        ValueError: the config cannot be exported (see ``ServingModule``).
    """
    export_dir = os.path.abspath(os.fspath(export_dir))
    check_output(export_dir, is_dir=True)
    module = ServingModule(keras_model, config, full_masks=full_masks)
    signatures = module.signatures()
    parent = os.path.dirname(export_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(export_dir)}.", suffix=".part",
                           dir=parent)
    try:
        # No custom gradients: RoIAlign's (mrcnn.ops.spatial_transform_ops) would add 8
        # gradient functions (1,840 nodes) that serving never runs but loading imports.
        tf.saved_model.save(module, tmp, signatures=signatures,
                            options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
        os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
        with open(os.path.join(tmp, METADATA_PATH), "w") as f:
            json.dump(_metadata(config, full_masks, signatures), f, indent=1)
        _replace_dir(tmp, export_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return export_dir


#: The converted file that ``export`` writes into ``export_dir`` for each conversion format.
CONVERTED_FILES = {"tflite": "model.tflite", "onnx": "model.onnx"}


class ServingWarning(UserWarning):
    """A converted model was written but cannot be run here as it is (e.g. a TFLite model with
    TF Select ops, which the TFLite interpreter of this TensorFlow cannot run)."""


def _first_error(message):
    """The op and the first error line of a converter's message, for a one-line error."""
    import re
    text = str(message)
    ops = sorted(set(re.findall(r"'((?:tf|tfl)\.[A-Za-z0-9_]+)' op", text)))
    errors = [line.split("error: ", 1)[1].strip() for line in text.splitlines()
              if "error: " in line]
    first = errors[0] if errors else (text.strip().splitlines() or [""])[0]
    return ops, first[:500]


def _write_atomically(path, data):
    tmp = f"{path}.part"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def tflite_custom_ops(model):
    """The ops of a TFLite flatbuffer that are not TFLite builtins.

    Args:
        model: the ``.tflite`` file's bytes.

    Returns:
        sorted list of op names: ``"Flex<TfOp>"`` for TF Select ops (which need the Flex
        delegate at run time), or a custom op's name.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    root = schema.Model.GetRootAsModel(model, 0)
    names = set()
    for i in range(root.OperatorCodesLength()):
        code = root.OperatorCodes(i).CustomCode()
        if code:
            names.add(code.decode())
    return sorted(names)


def tflite_run_error(path):
    """Why the TFLite interpreter of this TensorFlow cannot run a converted model, or None.

    Allocates the tensors (of the first signature) with ``tf.lite.Interpreter``; TF Select ops fail
    there when the interpreter has no Flex delegate (the pip packages of TensorFlow 2.20 and
    later do not link it: google-ai-edge/LiteRT issue #6458).

    Returns:
        None when the model is ready to run, else the interpreter's message (one line).
    """
    import warnings
    with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=os.fspath(path))
    try:
        # Allocating the tensors prepares every node, Flex ones included; nothing runs.
        interpreter.allocate_tensors()
    except RuntimeError as e:
        return " ".join(str(e).split())
    return None


def convert_to_tflite(saved_model_dir, path):
    """Converts an exported SavedModel's ``serving_default`` signature to TFLite.

    ``tf.lite.TFLiteConverter.from_saved_model`` with TFLite builtins and TF Select ops
    (``SELECT_TF_OPS``) for the ops that have no builtin: the float64 arithmetic of the resize
    and unmolding (kept float64 so that the values are ``detect()``'s) and, in the network,
    ``CropAndResize`` and ``DynamicStitch`` of ROI Align. ``serve_encoded`` (a while loop over
    decoded images) is not converted. Only float32 and integer tensors are gathered in the
    graph: TFLite has no float64 gather.

    Args:
        saved_model_dir: a folder written by ``export_saved_model``.
        path: the ``.tflite`` file to write (written under a temporary name, then renamed).

    Returns:
        ``path``.

    Raises:
        ExportError: the converter failed; the message names the op(s) and gives the
            converter's first error line.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(
        os.fspath(saved_model_dir), signature_keys=["serving_default"])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                           tf.lite.OpsSet.SELECT_TF_OPS]
    try:
        model = converter.convert()
    except Exception as e:  # ConverterError; also the converter's own internal errors
        ops, first = _first_error(e)
        raise ExportError(f"the TFLite converter of TensorFlow {tf.__version__} failed"
                          f"{' on ' + ', '.join(ops) if ops else ''}: {first}") from None
    _write_atomically(os.fspath(path), model)
    return path


#: The ONNX opset of ``--format onnx`` (ONNX Runtime 1.17 and later run it).
ONNX_OPSET = 17

ONNX_EXTRA_HINT = ("pip install 'mrcnn[onnx]' (tf2onnx and onnxruntime; tested with tf2onnx 1.17.0, "
                   "onnxruntime 1.32.0, onnx 1.23.2 beside TensorFlow 2.21, NumPy 2.4, protobuf 7)")


def onnx_unconverted_ops(model):
    """The nodes of an ONNX model (subgraphs included) that are not ONNX ops: TensorFlow ops
    that tf2onnx left as they were because it has no conversion for them.

    Args:
        model: an ``onnx.ModelProto``.

    Returns:
        sorted list of op types.
    """
    import onnx
    found = set()

    def walk(graph):
        for node in graph.node:
            if not onnx.defs.has(node.op_type, node.domain or ""):
                found.add(node.op_type)
            for attr in node.attribute:
                for sub in list(attr.graphs) + ([attr.g] if attr.HasField("g") else []):
                    walk(sub)
    walk(model.graph)
    return sorted(found)


def _onnx_modules():
    """(onnxruntime, tf2onnx), or ExportError naming the missing package and the pip command."""
    try:
        import tf2onnx
        import onnxruntime
        import onnx  # noqa: F401  (tf2onnx needs it; named in the message when missing)
    except ImportError as e:
        raise ExportError(f"--format onnx needs the onnx extra ({e.name} is not installed): "
                          f"{ONNX_EXTRA_HINT}") from None
    return onnxruntime, tf2onnx


def convert_to_onnx(saved_model_dir, path, opset=ONNX_OPSET):
    """Converts an exported SavedModel's ``serving_default`` signature to ONNX.

    ``tf2onnx.convert.from_function`` on the loaded signature (input ``images`` uint8
    [B, H, W, C], the same outputs), then the model is loaded in ONNX Runtime to check that it
    can run. ``serve_encoded`` (JPEG decoding in a while loop) is not converted.

    Args:
        saved_model_dir: a folder written by ``export_saved_model``.
        path: the ``.onnx`` file to write (written under a temporary name, then renamed).
        opset: the ONNX opset (default ``ONNX_OPSET``).

    Returns:
        ``path``.

    Raises:
        ExportError: tf2onnx or onnxruntime is not installed (the message gives the pip
            command); some op has no ONNX conversion (the message names them); the converted
            model does not load in ONNX Runtime (its message).
    """
    onnxruntime, tf2onnx = _onnx_modules()
    import logging

    class Errors(logging.Handler):
        def __init__(self):
            super().__init__(logging.ERROR)
            self.lines = []

        def emit(self, record):
            self.lines.append(" ".join(record.getMessage().split()))

    loaded = tf.saved_model.load(os.fspath(saved_model_dir))
    signature = loaded.signatures["serving_default"]
    (name, spec), = signature.structured_input_signature[1].items()
    function = tf.function(lambda images: signature(**{name: images}))
    errors = Errors()
    logger = logging.getLogger("tf2onnx")
    logger.addHandler(errors)
    try:
        model, _ = tf2onnx.convert.from_function(
            function, input_signature=[tf.TensorSpec(spec.shape, spec.dtype, name=name)],
            opset=opset)
    except Exception as e:
        raise ExportError(f"tf2onnx {tf2onnx.__version__} failed (opset {opset}): "
                          f"{' '.join(str(e).split())[:500]}"
                          f"{'; ' + errors.lines[0][:300] if errors.lines else ''}") from None
    finally:
        logger.removeHandler(errors)
    missing = onnx_unconverted_ops(model)
    if missing:
        raise ExportError(f"tf2onnx {tf2onnx.__version__} has no ONNX conversion (opset {opset}) "
                          f"for the TensorFlow op(s) {', '.join(missing)}"
                          f"{': ' + errors.lines[0][:300] if errors.lines else ''}")
    data = model.SerializeToString()
    try:
        onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ExportError(f"the converted model does not load in ONNX Runtime "
                          f"{onnxruntime.__version__}: {' '.join(str(e).split())[:500]}"
                          f"{'; tf2onnx: ' + errors.lines[0][:300] if errors.lines else ''}"
                          ) from None
    _write_atomically(os.fspath(path), data)
    return path


def _convert(keras_model, config, export_dir, full_masks, format):
    """Writes the SavedModel to a temporary folder and the converted file into export_dir."""
    export_dir = os.path.abspath(os.fspath(export_dir))
    target = os.path.join(export_dir, CONVERTED_FILES[format])
    check_output(target, is_dir=False)
    if format == "onnx":
        _onnx_modules()  # before the SavedModel is written
    os.makedirs(export_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".saved_model.", dir=export_dir)
    try:
        saved_model = export_saved_model(keras_model, config, os.path.join(tmp, "saved_model"),
                                         full_masks=full_masks)
        if format == "tflite":
            convert_to_tflite(saved_model, target)
        else:
            convert_to_onnx(saved_model, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if format == "tflite":
        error = tflite_run_error(target)
        if error is not None:
            import warnings
            warnings.warn(ServingWarning(
                f"{target} needs a TFLite runtime with the Flex delegate for its TF Select ops "
                f"({', '.join(tflite_custom_ops(open(target, 'rb').read()))}); the "
                f"tf.lite.Interpreter of TensorFlow {tf.__version__} cannot run it: {error}"),
                stacklevel=3)
    return target


def export(keras_model, config, export_dir, full_masks=False, format="savedmodel"):
    """``MaskRCNN.export``: a SavedModel, or a SavedModel converted to TFLite or ONNX.

    Returns:
        the SavedModel folder, or the path of ``model.tflite`` / ``model.onnx`` in
        ``export_dir``.

    Raises:
        ValueError: unknown format, or a config that cannot be exported.
        FileExistsError: the target exists.
        ExportError: the conversion failed (the message names the op).

    Warns:
        ServingWarning: a TFLite model that the ``tf.lite.Interpreter`` here cannot run (TF
            Select ops without a Flex delegate); the message names the ops.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; use one of "
                         f"{', '.join(repr(f) for f in FORMATS)}")
    if format == "savedmodel":
        return export_saved_model(keras_model, config, export_dir, full_masks=full_masks)
    return _convert(keras_model, config, export_dir, full_masks, format)
