"""``MaskRCNN``, the Matterport model wrapper, and the names of Matterport's ``mrcnn.model``.

Usage, as with Matterport::

    import mrcnn.model as modellib
    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=MODEL_DIR)
    model.load_weights(COCO_MODEL_PATH, by_name=True)
    r = model.detect([image], verbose=1)[0]   # rois, class_ids, scores, masks

The graph lives in ``mrcnn.graph`` and the modules it imports; this module keeps Matterport's
public paths (``modellib.BatchNorm``, ``modellib.resnet_graph``, ``modellib.log``, ...).
"""

import datetime
import errno
import logging
import os
import re
from collections import OrderedDict

import keras
import numpy as np
import tensorflow as tf

from mrcnn import distribute, function_options, graph, training, weights
from mrcnn.anchors import compute_backbone_shapes, get_anchors as _get_anchors  # noqa: F401
from mrcnn.data_generator import (build_detection_targets, data_generator,  # noqa: F401
                                  generate_random_rois)
from mrcnn.ground_truth import load_image_gt  # noqa: F401
from mrcnn.rpn_targets import build_rpn_targets  # noqa: F401
from mrcnn.backbone import conv_block, identity_block, resnet_graph  # noqa: F401
from mrcnn.heads import (build_fpn_mask_graph, build_rpn_model,  # noqa: F401
                         fpn_classifier_graph, rpn_graph)
from mrcnn.image import mold_image, to_pixel_range, to_rgb, unmold_image  # noqa: F401
from mrcnn.image_meta import (compose_image_meta, parse_image_meta,  # noqa: F401
                              parse_image_meta_graph)
from mrcnn.layers import (BatchNorm, DetectionLayer, DetectionTargetLayer,  # noqa: F401
                          ProposalLayer, PyramidROIAlign)
from mrcnn.losses import (mrcnn_bbox_loss_graph, mrcnn_class_loss_graph,  # noqa: F401
                          mrcnn_mask_loss_graph, rpn_bbox_loss_graph, rpn_class_loss_graph,
                          smooth_l1_loss)
from mrcnn.ops.target_ops import detection_targets as detection_targets_graph  # noqa: F401
from mrcnn.ops.box_ops import (apply_box_deltas as apply_box_deltas_graph,  # noqa: F401
                               clip_boxes as clip_boxes_graph, denorm_boxes as denorm_boxes_graph,
                               norm_boxes as norm_boxes_graph, overlaps as overlaps_graph)
from mrcnn.transform import mold_inputs, molded_batches, unmold_detections
from mrcnn.weights.imagenet import RESNET50_IMAGENET_URL as IMAGENET_WEIGHTS_URL  # noqa: F401

logger = logging.getLogger("mrcnn")


# Checkpoint path pattern: <model_dir>/<name><YYYYmmddTHHMM>/mask_rcnn_<name>_<epoch:04d>.h5
_CHECKPOINT_RE = re.compile(
    r".*[/\\][\w-]+(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})[/\\]mask\_rcnn\_[\w-]+(\d{4})\.h5$")


def find_last_checkpoint(model_dir, name):
    """Path of the newest checkpoint of configuration ``name`` under ``model_dir`` (the body of
    ``MaskRCNN.find_last``; the command line calls it before any model is built).

    Raises:
        FileNotFoundError: no ``<name>YYYYmmddTHHMM`` folder, or none holds a checkpoint.
    """
    key = name.lower()
    try:
        dir_names = sorted(d for d in next(os.walk(model_dir))[1] if d.startswith(key))
    except StopIteration:
        dir_names = []
    if not dir_names:
        raise FileNotFoundError(
            errno.ENOENT, f"Could not find model directory under {model_dir}")
    for dir_name in reversed(dir_names):
        folder = os.path.join(model_dir, dir_name)
        checkpoints = sorted(f for f in next(os.walk(folder))[2]
                             if f.startswith("mask_rcnn") and f.endswith(".h5"))
        if checkpoints:
            return os.path.join(folder, checkpoints[-1])
    raise FileNotFoundError(
        errno.ENOENT, f"Could not find weight files in {os.path.join(model_dir, dir_names[-1])}")


def _newer_backup(model_dir, config, checkpoint):
    """The step backup to resume from instead of ``checkpoint`` (the newest epoch checkpoint,
    or None), else None. Run folders are visited newest first; the first that holds a backup
    or the checkpoint decides:

    * a backup in a newer folder than the checkpoint's (or with no checkpoint): the backup;
    * the checkpoint's folder: its backup when that is at least as far (global step >= the
      checkpoint's epoch x the backup's ``steps_per_epoch``; an unreadable backup is not),
      else the checkpoint (None).
    """
    from mrcnn.backup import backup_path, read_backup_state
    key = (config.NAME or "mrcnn").lower()
    try:
        dir_names = sorted(d for d in next(os.walk(model_dir))[1] if d.startswith(key))
    except StopIteration:
        return None
    checkpoint_folder = os.path.dirname(checkpoint) if checkpoint is not None else None
    for dir_name in reversed(dir_names):
        folder = os.path.join(model_dir, dir_name)
        path = backup_path(folder, key)
        has_backup = os.path.exists(path)
        if folder != checkpoint_folder:
            if has_backup:
                return path if checkpoint_folder is None or checkpoint_folder < folder else None
            continue
        if not has_backup:
            return None
        try:
            state = read_backup_state(path)
        except ValueError:
            return None
        m = _CHECKPOINT_RE.match(checkpoint)
        done = int(m.group(6)) * int(state["steps_per_epoch"]) if m else 0
        return path if int(state["global_step"]) >= done else None
    return None


def log(text, array=None):
    """Prints a text message; with an array, also its shape, min, max and dtype."""
    if array is not None:
        text = text.ljust(25)
        array = np.asarray(array)
        if array.size:
            text += (f"shape: {str(array.shape):20}  min: {array.min():10.5f}  "
                     f"max: {array.max():10.5f}  {array.dtype}")
        else:
            text += f"shape: {str(array.shape):20}  min: {'':10}  max: {'':10}  {array.dtype}"
    print(text)


class MaskRCNN:
    """Mask R-CNN model: a Keras model (``self.keras_model``) plus Matterport's methods.

    Args:
        mode: "training" or "inference".
        config: a ``Config`` subclass instance.
        model_dir: folder for training logs and checkpoints.
        strategy: a ``tf.distribute.Strategy`` to build and train under; None chooses one
            (``mrcnn.distribute.choose_strategy``): ``TF_CONFIG`` set ->
            ``MultiWorkerMirroredStrategy``; ``GPU_COUNT > 1`` -> ``MirroredStrategy`` over that
            many GPUs; else the default strategy. The model, and in ``compile``/``train`` the
            optimizer and its slots, are created in its scope (``self.strategy``).
            ``IMAGES_PER_GPU`` is the batch of one replica.

    Raises:
        ValueError: unknown mode, or a configuration that cannot work in that mode;
            ``GPU_COUNT`` larger than the number of visible GPUs (both named); a malformed
            ``TF_CONFIG``.
    """

    def __init__(self, mode, config, model_dir, strategy=None):
        if mode not in ("training", "inference"):
            raise ValueError(f'mode must be "training" or "inference", not {mode!r}')
        config.validate(mode)
        self.strategy = distribute.choose_strategy(config, strategy)
        self.mode = mode
        self.config = config
        self.model_dir = model_dir
        self._anchor_cache = {}  # molded (h, w) -> normalized anchors (Matterport's name)
        self._pixel_anchor_cache = {}  # molded (h, w) -> pixel anchors (self.anchors)
        self._predict_fn = None
        self._resume_backup = None  # (state, weights, optimizer values) of a loaded backup
        self.set_log_dir()
        if config.SEED is not None:
            # Initial weights (and Keras' other random draws) from the seed.
            keras.utils.set_random_seed(int(config.SEED))
        self.keras_model = self.build(mode=mode, config=config)

    # ------------------------------------------------------------------ graph
    def build(self, mode, config):
        """Builds the Keras model of ``mode`` (see ``mrcnn.graph``) in the scope of
        ``self.strategy``, under the dtype policy of ``config.MIXED_PRECISION``."""
        strategy = getattr(self, "strategy", None) or tf.distribute.get_strategy()
        with strategy.scope():
            if mode == "inference":
                return graph.build_inference_model(config)
            return graph.build_training_model(config)

    # ------------------------------------------------------------------ training
    def set_trainable(self, layer_regex, keras_model=None, indent=0, verbose=1):
        """Makes the layers whose name matches ``layer_regex`` trainable (others frozen).
        See ``mrcnn.training.set_trainable``."""
        training.set_trainable(keras_model or self.keras_model, layer_regex, indent=indent,
                               verbose=verbose)

    def compile(self, learning_rate, momentum):
        """SGD with momentum and ``GRADIENT_CLIP_NORM``; the five losses plus L2 decay."""
        training.compile_model(self.keras_model, self.config, learning_rate, momentum)

    def train(self, train_dataset, val_dataset, learning_rate, epochs, layers,
              augmentation=None, custom_callbacks=None, no_augmentation_sources=None):
        """Trains the model (Matterport ``MaskRCNN.train``).

        Args:
            train_dataset, val_dataset: prepared ``utils.Dataset`` objects.
            learning_rate: SGD learning rate.
            epochs: the epoch to train up to (absolute, not a count): a second call continues
                from where the first stopped.
            layers: a regex of layer names, or "heads", "3+", "4+", "5+", "all".
            augmentation: an imgaug augmenter, an albumentations transform, or a callable
                ``f(image, masks) -> (image, masks)``; masks move with every geometric
                transform (see ``mrcnn.augmentation``).
            custom_callbacks: extra Keras callbacks.
            no_augmentation_sources: dataset sources whose images are not augmented.

        Checkpoints go to ``self.checkpoint_path`` every epoch; TensorBoard logs to
        ``self.log_dir``. Raises ``FloatingPointError`` when a loss becomes NaN or infinite,
        and ``ValueError`` before any data is loaded when ``learning_rate`` is not a number
        > 0 or a configuration value breaks its rule (``Config.validate``).
        """
        return training.train(self, train_dataset, val_dataset, learning_rate, epochs, layers,
                              augmentation=augmentation, custom_callbacks=custom_callbacks,
                              no_augmentation_sources=no_augmentation_sources)

    def get_trainable_layers(self):
        """Top-level layers that hold weights (a nested ``rpn_model`` counts as one)."""
        return [layer for layer in self.keras_model.layers if layer.weights]

    def find_trainable_layer(self, layer):
        """Returns ``layer`` itself (kept for Matterport code).

        Matterport's version unwrapped ``TimeDistributed`` layers; this library builds none (the
        heads are per-RoI layers on flat RoI batches), and a Keras 3 wrapper lists its inner
        layer's weights and passes ``trainable`` on to it anyway.
        """
        return layer

    # ------------------------------------------------------------------ weights and logs
    def find_last(self):
        """Path of the newest checkpoint of this configuration's NAME under ``model_dir``.

        Looks in the newest ``<name>YYYYmmddTHHMM`` folder that holds a ``mask_rcnn*.h5``
        file (Matterport looked only in the newest folder, even when it was empty).

        A training-mode model gets the run's step backup (``backup_<name>.npz``,
        ``mrcnn.backup``) instead when it is at least as far as that folder's last epoch
        checkpoint (or the folder has only the backup), so that ``load_weights(find_last())``
        plus the same ``train()`` continues at the step after it. The return value is a path
        string either way (Matterport's type).

        Raises:
            FileNotFoundError: no such folder or checkpoint.
        """
        try:
            path = find_last_checkpoint(self.model_dir, self.config.NAME)
        except FileNotFoundError:
            if self.mode != "training":
                raise
            path = None
        if self.mode == "training":
            found = _newer_backup(self.model_dir, self.config, path)
            if found:
                return found
        if path is None:
            return find_last_checkpoint(self.model_dir, self.config.NAME)
        return path

    def load_weights(self, filepath, by_name=False, exclude=None):
        """Loads weights from a Keras 2 HDF5 file such as ``mask_rcnn_coco.h5``.

        Layers are matched by name (``by_name=True``) or by order; ``exclude`` lists
        top-level layer names to skip (and forces ``by_name``). A checkpoint written by
        ``train()`` also restores the epoch counter and log folder (``set_log_dir``).
        See ``mrcnn.weights.load_weights`` for the errors raised.
        """
        if str(filepath).endswith(".npz") and \
                os.path.basename(str(filepath)).startswith("backup_"):
            return self._load_backup(filepath)
        report = weights.load_weights(self.keras_model, filepath, by_name=by_name,
                                      exclude=exclude)
        self.set_log_dir(filepath)
        return report

    def _load_backup(self, filepath):
        """A step backup (``mrcnn.backup``): weights now; optimizer state and the step for the
        next ``train()``; log folder and epoch as the backup's run."""
        from mrcnn import backup
        if self.mode != "training":
            raise ValueError(f"{filepath} is a step backup for resuming training; an "
                             "inference model loads an epoch checkpoint mask_rcnn_*.h5")
        state, ws, opt = backup.read_backup(filepath)
        backup.assign_weights(self.keras_model, filepath, state, ws)
        self.set_log_dir()
        name = self.config.NAME.lower() if self.config.NAME else "mrcnn"
        self.log_dir = os.path.dirname(os.path.abspath(str(filepath)))
        self.checkpoint_path = os.path.join(self.log_dir, f"mask_rcnn_{name}_" + "{epoch:04d}.h5")
        self.epoch = int(state["epoch"])
        self._resume_backup = (state, ws, opt)
        print(f"Re-starting from epoch {self.epoch}, step {state['step_in_epoch']} "
              f"(step backup {filepath})")
        return None

    def get_imagenet_weights(self):
        """Downloads (once) the ImageNet weights of ``config.BACKBONE`` and returns their path
        (Matterport ``MaskRCNN.get_imagenet_weights``; load them with ``by_name=True``).

        ResNet50: the Keras ResNet50 file Matterport used. ResNet101: Keras Applications'
        ResNet101 file, converted once to the backbone's layer names, so every backbone layer is
        filled (Matterport returned the ResNet50 file here and stage-4 blocks g..w stayed
        random). See ``mrcnn.weights.imagenet``.

        Raises:
            ValueError: a callable ``BACKBONE`` (there is no ImageNet file for it).
            mrcnn.download.DownloadError: the download failed (no partial file is left).
        """
        from mrcnn.weights import imagenet
        return imagenet.get_imagenet_weights(self.config.BACKBONE)

    def save_weights(self, filepath):
        """Writes the weights atomically in the layout of ``mask_rcnn_coco.h5``."""
        weights.save_weights(self.keras_model, filepath)

    def set_log_dir(self, model_path=None):
        """Sets ``log_dir``, ``checkpoint_path`` and ``epoch``.

        A ``model_path`` of the form ``.../<name>YYYYmmddTHHMM/mask_rcnn_<name>_NNNN.h5``
        resumes that folder at epoch NNNN (the next epoch trained is NNNN + 1); any other
        path starts a new timestamped folder at epoch 0.
        """
        self.epoch = 0
        now = datetime.datetime.now()
        if model_path:
            m = _CHECKPOINT_RE.match(str(model_path))
            if m:
                now = datetime.datetime(*(int(m.group(i)) for i in range(1, 6)))
                self.epoch = int(m.group(6))
                print(f"Re-starting from epoch {self.epoch}")
        name = self.config.NAME.lower() if self.config.NAME else "mrcnn"
        self.log_dir = os.path.join(self.model_dir, f"{name}{now:%Y%m%dT%H%M}")
        self.checkpoint_path = os.path.join(self.log_dir, f"mask_rcnn_{name}_" + "{epoch:04d}.h5")

    # ------------------------------------------------------------------ inference
    def get_anchors(self, image_shape):
        """Normalized anchors [A, 4] float32 for a molded image shape (cached per shape).

        Also sets ``self.anchors`` to the same anchors in pixels (float32 [A, 4]), as the
        original; both are computed once per shape (Matterport ``MaskRCNN.get_anchors``).
        """
        key = tuple(int(v) for v in image_shape[:2])
        if key not in self._anchor_cache:
            self._pixel_anchor_cache[key] = _get_anchors(self.config, key, normalized=False)
            self._anchor_cache[key] = _get_anchors(self.config, key, normalized=True)
        self.anchors = self._pixel_anchor_cache[key]
        return self._anchor_cache[key]

    def mold_inputs(self, images):
        """See ``mrcnn.transform.mold_inputs``."""
        return mold_inputs(images, self.config)

    def unmold_detections(self, detections, mrcnn_mask, original_image_shape, image_shape,
                          window):
        """See ``mrcnn.transform.unmold_detections``."""
        return unmold_detections(detections, mrcnn_mask, original_image_shape, image_shape,
                                 window)

    def _predict_outputs(self, images, metas, anchors):
        """The inference graph's (detections [B, DMAX, 6], masks [B, DMAX, h, w]) as tensors, for
        ``_predict`` and for each replica of ``mrcnn.batch_inference.predict_batch``: only each
        detection's own class channel of the mask head leaves the graph."""
        outputs = self.keras_model([images, metas, anchors], training=False)
        detections, mrcnn_mask = outputs[0], outputs[3]
        class_ids = tf.cast(detections[..., 4], tf.int32)
        masks = tf.gather(tf.transpose(mrcnn_mask, [0, 1, 4, 2, 3]), class_ids, batch_dims=2)
        return detections, masks

    def _predict(self, molded_images, image_metas, anchors):
        """Runs the graph; returns (detections [B, DMAX, 6], masks [B, DMAX, h, w]).

        Traced once (the input signature has no fixed sizes) and without AutoGraph: the graph
        has no Python control flow on tensors (the same 4,066 ops for the COCO config either
        way), and the conversion was 0.4-0.8 s of the first ``detect()``."""
        if self._predict_fn is None:
            channels = self.config.IMAGE_CHANNEL_COUNT

            @tf.function(input_signature=[
                tf.TensorSpec([None, None, None, channels], tf.float32),
                tf.TensorSpec([None, self.config.IMAGE_META_SIZE], tf.float32),
                tf.TensorSpec([None, None, 4], tf.float32)], autograph=False)
            def predict(images, metas, anchors_):
                return self._predict_outputs(images, metas, anchors_)

            self._predict_fn = predict
        args = (tf.constant(molded_images, tf.float32), tf.constant(image_metas, tf.float32),
                tf.constant(anchors, tf.float32))
        with function_options.inference():
            detections, masks = self._predict_fn(*args)
        return detections.numpy(), masks.numpy()

    def _check_images(self, images):
        if self.mode != "inference":
            raise ValueError('detect() needs a model built with mode="inference"')
        if isinstance(images, np.ndarray) and images.ndim == 4:
            images = list(images)
        if not isinstance(images, (list, tuple)):
            raise ValueError("detect() takes a list of images ([H, W, C] arrays), e.g. "
                             "model.detect([image]); got " + type(images).__name__)
        channels = self.config.IMAGE_CHANNEL_COUNT
        checked = []
        for i, image in enumerate(images):
            image = np.asarray(image)
            if channels == 3:
                try:
                    image = to_rgb(image)
                except ValueError as e:
                    raise ValueError(f"images[{i}]: {e}") from None
            else:
                if image.ndim == 2 and channels == 1:
                    image = image[..., np.newaxis]
                if image.ndim != 3 or image.shape[-1] != channels:
                    raise ValueError(
                        f"images[{i}] has shape {image.shape}; this model takes [H, W, "
                        f"{channels}] images (config.IMAGE_CHANNEL_COUNT = {channels})")
            checked.append(to_pixel_range(image, self.config, f"images[{i}]"))
        return checked

    def detect(self, images, verbose=0):
        """Runs detection on images.

        Args:
            images: list of images, each an [H, W, 3] RGB array, any number of them, of any
                sizes: they are grouped by molded size and run in batches of
                ``config.BATCH_SIZE``. Grayscale [H, W] / [H, W, 1] is repeated over 3
                channels; a 4-channel array is taken as RGBA and its alpha dropped (a CMYK
                image must be converted first: read files with ``mrcnn.image.read_image``,
                which converts CMYK, palette and other modes to RGB); uint16 is scaled to
                uint8 (``value // 257``). Pixel values (``mrcnn.image.to_pixel_range``): uint8
                0-255 is the model's scale; float images in [0, 1] are multiplied by 255;
                float images in [0, 255] with a maximum of at least 2 are used as they are;
                bool images become 0 / 255; other float ranges, NaN and infinite values are
                refused.
            verbose: 1 prints the inputs' statistics (after conversion).

        Returns:
            one dict per image, in order: ``rois`` int32 [N, 4] (y1, x1, y2, x2) pixel boxes,
            exclusive ends; ``class_ids`` int32 [N]; ``scores`` float32 [N]; ``masks`` bool
            [H, W, N], sorted by descending score.

        Raises:
            ValueError: not an inference model; an image of an unsupported shape, dtype or
                value range (the message names ``images[i]``).
        """
        images = self._check_images(images)
        if verbose:
            log(f"Processing {len(images)} images")
            for image in images:
                log("image", image)
        molded = [self.mold_inputs([image]) for image in images]
        results = [None] * len(images)
        anchors_shape = None
        for batch in molded_batches(molded, max(1, self.config.BATCH_SIZE)):
            if batch.shape != anchors_shape:  # once per shape: its batches come in a row
                anchors, anchors_shape = self.get_anchors(batch.shape), batch.shape
            batch_anchors = np.broadcast_to(anchors, (len(batch.indices),) + anchors.shape)
            if verbose:
                log("molded_images", batch.images)
                log("image_metas", batch.image_metas)
                log("anchors", batch_anchors)
            detections, masks = self._predict(batch.images, batch.image_metas, batch_anchors)
            for j, i in enumerate(batch.indices):
                rois, class_ids, scores, full_masks = self.unmold_detections(
                    detections[j], masks[j], images[i].shape, batch.images[j].shape,
                    batch.windows[j])
                results[i] = {"rois": rois, "class_ids": class_ids, "scores": scores,
                              "masks": full_masks}
        return results

    def detect_molded(self, molded_images, image_metas, verbose=0):
        """Runs detection on images already molded (e.g. from ``load_image_gt`` +
        ``mold_image``); boxes and masks are in molded-image pixels.

        Args:
            molded_images: float [B, h, w, C], all the same size.
            image_metas: [B, META].

        Returns:
            the list of dicts of ``detect``.
        """
        if self.mode != "inference":
            raise ValueError('detect_molded() needs a model built with mode="inference"')
        molded_images = np.asarray(molded_images, dtype=np.float32)
        image_metas = np.asarray(image_metas)
        if molded_images.ndim != 4 or len(molded_images) != len(image_metas):
            raise ValueError("molded_images must be [B, h, w, C] with one image_meta row each; "
                             f"got {molded_images.shape} and {image_metas.shape}")
        if verbose:
            log(f"Processing {len(molded_images)} images")
            for image in molded_images:
                log("image", image)
        anchors = self.get_anchors(molded_images.shape[1:3])
        batch_anchors = np.broadcast_to(anchors, (len(molded_images),) + anchors.shape)
        detections, masks = self._predict(molded_images, image_metas, batch_anchors)
        results = []
        for j, image in enumerate(molded_images):
            window = [0, 0, image.shape[0], image.shape[1]]
            rois, class_ids, scores, full_masks = self.unmold_detections(
                detections[j], masks[j], image.shape, image.shape, window)
            results.append({"rois": rois, "class_ids": class_ids, "scores": scores,
                            "masks": full_masks})
        return results

    def export(self, export_dir, full_masks=False, format="savedmodel"):
        """Exports the inference model for serving (see ``mrcnn.export``).

        Args:
            export_dir: the folder to create (absent or empty): the SavedModel itself for
                ``format="savedmodel"``; for ``"tflite"`` / ``"onnx"`` the folder that receives
                ``model.tflite`` / ``model.onnx``.
            full_masks: also output ``full_masks`` uint8 [B, D, H, W], pasted in the graph.
            format: ``"savedmodel"``; ``"tflite"`` (``serving_default`` converted with TF
                Select ops; the ``tf.lite.Interpreter`` of TF 2.20+ pip packages has no Flex
                delegate to run them: ``mrcnn.export.ServingWarning`` names the ops) or
                ``"onnx"`` (``serving_default`` through tf2onnx, opset 17, checked in ONNX
                Runtime; needs ``pip install 'mrcnn[onnx]'``).

        Returns:
            the path written (the SavedModel folder or the converted file).

        Raises:
            ValueError: not an inference model; an ``IMAGE_RESIZE_MODE`` that cannot be
                exported ("crop"); an unknown format.
            FileExistsError: ``export_dir`` is not empty.
            mrcnn.export.ExportError: the converter failed (the message names the op), or
                the onnx extra is missing.

        Warns:
            mrcnn.export.ServingWarning: a TFLite model this TensorFlow cannot run.
        """
        if self.mode != "inference":
            raise ValueError('export() needs a model built with mode="inference"; build one '
                             "and load the trained weights into it")
        from mrcnn import export as export_lib
        return export_lib.export(self.keras_model, self.config, export_dir,
                                 full_masks=full_masks, format=format)

    def run_graph(self, images, outputs, image_metas=None):
        """Runs the inference graph and returns named intermediate values (Matterport
        ``MaskRCNN.run_graph``, whose TF1 tensor names no longer exist).

        Args:
            images: list of images (molded here) or, with ``image_metas``, molded images
                float [B, h, w, C].
            outputs: list of ``(name, what)`` pairs; ``what`` is a Keras tensor of the model
                (e.g. ``model.keras_model.get_layer("ROI").output``), the name of a layer
                (``"ROI"``, ``"mrcnn_class"``, ``"res4w_out"``, ...), or a stage name:
                ``"pre_nms_anchors"``, ``"refined_anchors"``, ``"refined_anchors_clipped"``,
                ``"post_nms_anchor_ix"``, ``"proposals"`` (``mrcnn.ops.proposal_ops.
                proposal_stages``, from the RPN outputs with the ProposalLayer's settings),
                ``"classifier"`` (``mrcnn_class`` [B, R, NC]), ``"detections"``
                (``mrcnn_detection`` [B, DMAX, 6]), ``"masks"`` (the model's ``mrcnn_mask``
                output [B, DMAX, 28, 28, NC]).
            image_metas: optional metas [B, META] of already molded images.

        Returns:
            OrderedDict name -> NumPy array, each logged as in the original.

        Raises:
            ValueError: not an inference model, or an unknown layer or stage name.
        """
        from mrcnn.ops import proposal_ops
        if self.mode != "inference":
            raise ValueError("run_graph() is supported on inference models")
        model = self.keras_model
        if image_metas is None:
            molded_images, image_metas, _ = self.mold_inputs(self._check_images(images))
        else:
            molded_images = np.asarray(images, dtype=np.float32)
        # The model's own outputs (build_inference_model's order): the "mrcnn_mask" layer
        # itself runs on flat RoI batches.
        aliases = {"classifier": 1, "detections": 0, "masks": 3}
        layer_names = {layer.name for layer in model.layers}
        tensors, stages = [], False
        for name, what in outputs:
            if isinstance(what, str):
                if what in proposal_ops.PROPOSAL_STAGES:
                    stages = True
                    continue
                if what in aliases:
                    tensors.append(model.outputs[aliases[what]])
                    continue
                layer = what
                if layer not in layer_names:
                    raise ValueError(
                        f"run_graph: {what!r} is neither a layer of the model nor a stage "
                        f"({', '.join(proposal_ops.PROPOSAL_STAGES + tuple(aliases))})")
                tensors.append(model.get_layer(layer).output)
            else:
                tensors.append(what)
        if stages:
            tensors += [model.get_layer("rpn_class").output, model.get_layer("rpn_bbox").output]
        anchors = self.get_anchors(molded_images.shape[1:3])
        anchors = np.broadcast_to(anchors, (len(molded_images),) + anchors.shape)
        inputs = [molded_images, np.asarray(image_metas, dtype=np.float32), anchors]
        values = keras.Model(model.inputs, tensors)(inputs, training=False) if tensors else []
        if not isinstance(values, (list, tuple)):
            values = [values]
        values = list(values)
        stage_values = {}
        if stages:
            rpn_bbox, rpn_class = values.pop(), values.pop()
            roi = model.get_layer("ROI")
            stage_values = proposal_ops.proposal_stages(
                rpn_class, rpn_bbox, anchors, roi.proposal_count, roi.nms_threshold,
                roi.pre_nms_limit, roi.rpn_bbox_std_dev)
        result = OrderedDict()
        values = iter(values)
        for name, what in outputs:
            if isinstance(what, str) and what in proposal_ops.PROPOSAL_STAGES:
                result[name] = np.asarray(stage_values[what])
            else:
                result[name] = np.asarray(next(values))
        for name, value in result.items():
            log(name, value)
        return result
