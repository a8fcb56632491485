"""COCO-style evaluation for any ``Dataset``, the COCO results format, and a Keras callback.

Matterport only evaluates COCO itself (``samples/coco/coco.py``: ``build_coco_results`` and
``evaluate_coco``); users asked for COCO metrics (AP, AP50, AP75, AP small/medium/large, for boxes
and masks) on their own datasets and during training (upstream issues #1839, #1395, PR #1024).
This module provides them on top of pycocotools:

* ``detections_to_coco_results``: one image's ``detect()`` output -> COCO result dicts;
* ``evaluate_coco_results``: pycocotools' ``COCOeval`` on a ground truth and result dicts -> the 12
  standard stats (``STAT_NAMES``);
* ``dataset_to_coco``: COCO ground truth built from any ``mrcnn.dataset.Dataset`` (its masks and
  class ids; negative class ids are crowds);
* ``evaluate_dataset``: runs ``model.detect`` over a dataset and returns the bbox and segm stats;
* ``COCOEvalCallback``: logs those stats every N epochs during ``MaskRCNN.train``.

Conventions: pixel boxes are (y1, x1, y2, x2) with exclusive y2/x2; COCO boxes are [x, y, w, h]
with ``w = x2 - x1`` and ``h = y2 - y1``; COCO masks are RLE dicts
``{"size": [H, W], "counts": str}``.
"""

import contextlib
import io
import json
import os
import time

import keras
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from tqdm.auto import tqdm

from mrcnn.layer_walk import is_nested_model, iter_layers

#: Names of the 12 numbers ``COCOeval.summarize()`` prints, in its order (``COCOeval.stats``).
#: AP: IoU 0.50:0.95; AP50/AP75: IoU 0.5/0.75; APs/APm/APl: small (< 32^2 px), medium, large
#: (> 96^2 px) objects; AR1/AR10/AR100: recall with at most 1/10/100 detections per image;
#: ARs/ARm/ARl: recall (100 detections) by object size.
STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")

#: The evaluation types supported (pycocotools' ``iouType``).
EVAL_TYPES = ("bbox", "segm")


@contextlib.contextmanager
def _quiet(enabled=True):
    """Swallows what pycocotools prints when ``enabled``."""
    if enabled:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    else:
        yield


def _json_id(value):
    """NumPy scalars -> Python int/str so that ids stay JSON-serialisable and hashable."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.str_):
        return str(value)
    return value


def encode_masks(masks):
    """Encodes instance masks as COCO RLE, all at once.

    Args:
        masks: [H, W, N] array. bool or integer (non-zero = object), or float (>= 0.5 = object).

    Returns:
        A list of N dicts ``{"size": [H, W], "counts": str}`` (counts decoded to ASCII so the dicts
        are JSON-serialisable; pycocotools accepts them as they are).

    Raises:
        ValueError: ``masks`` is not 3-D.
    """
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks must be an [H, W, N] array (one channel per instance), got shape "
                         f"{masks.shape}; for a single mask use mask[..., np.newaxis]")
    if masks.shape[-1] == 0:
        return []
    if masks.dtype.kind == "f":
        binary = masks >= 0.5
    else:
        binary = masks != 0
    rles = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))
    for rle in rles:
        rle["counts"] = rle["counts"].decode("ascii")
        rle["size"] = [int(s) for s in rle["size"]]
    return rles


def detections_to_coco_results(image_id, rois, class_ids, scores, masks, category_ids=None):
    """One image's detections -> COCO result dicts (Matterport's ``build_coco_results``, per image).

    Args:
        image_id: the COCO image id to write (int or str; NumPy scalars are converted).
        rois: int [N, 4] pixel boxes (y1, x1, y2, x2), y2/x2 exclusive (``detect()["rois"]``).
            ``None`` gives ``[]``, as in Matterport.
        class_ids: int [N] internal class ids (``detect()["class_ids"]``).
        scores: float [N] confidences (``detect()["scores"]``).
        masks: bool [H, W, N] full-image masks (``detect()["masks"]``), or None to write boxes only.
        category_ids: maps an internal class id to a COCO category id: a dict, or a sequence / array
            indexed by class id (e.g. ``mrcnn.coco_classes.COCO_CATEGORY_IDS``). Default: identity.

    Returns:
        A list of N dicts ``{"image_id", "category_id" (int), "bbox": [x, y, w, h] floats,
        "score": float, "segmentation": {"size": [H, W], "counts": str}}`` (no "segmentation"
        when ``masks`` is None), all JSON-serialisable.

    Raises:
        ValueError: the arrays disagree in length or shape, or a class id has no category id.
    """
    if rois is None:
        return []
    rois = np.asarray(rois)
    if rois.size == 0:
        rois = rois.reshape(0, 4)
    class_ids = np.asarray(class_ids).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if rois.ndim != 2 or rois.shape[1] != 4:
        raise ValueError(f"rois must be an [N, 4] array of (y1, x1, y2, x2) boxes, got shape "
                         f"{rois.shape}")
    n = rois.shape[0]
    if len(class_ids) != n or len(scores) != n:
        raise ValueError(f"rois ({n}), class_ids ({len(class_ids)}) and scores ({len(scores)}) "
                         "must have one entry per detection")
    rles = None
    if masks is not None:
        masks = np.asarray(masks)
        if masks.ndim != 3 or masks.shape[-1] != n:
            raise ValueError(f"masks must be [H, W, N] with N = {n} detections (instances on the "
                             f"last axis, as detect() returns them), got shape {masks.shape}")
        rles = encode_masks(masks)
    if n == 0:
        return []

    def category(class_id):
        if category_ids is None:
            return class_id
        try:
            return int(category_ids[class_id])
        except (KeyError, IndexError):
            raise ValueError(f"class id {class_id} has no entry in category_ids; it must map every "
                             "internal class id the model predicts to a COCO category id") from None

    image_id = _json_id(image_id)
    boxes = rois.astype(np.float64)
    results = []
    for i in range(n):
        y1, x1, y2, x2 = boxes[i]
        result = {
            "image_id": image_id,
            "category_id": category(int(class_ids[i])),
            "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
            "score": float(scores[i]),
        }
        if rles is not None:
            result["segmentation"] = rles[i]
        results.append(result)
    return results


def _as_coco(coco_gt):
    """COCO object, annotation-file path or dataset dict -> COCO object."""
    if isinstance(coco_gt, COCO):
        return coco_gt
    if isinstance(coco_gt, (str, os.PathLike)):
        path = os.fspath(coco_gt)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"COCO annotation file not found: {path!r}")
        with _quiet():
            return COCO(path)
    if isinstance(coco_gt, dict):
        coco = COCO()
        coco.dataset = coco_gt
        with _quiet():
            coco.createIndex()
        return coco
    raise TypeError("coco_gt must be a pycocotools COCO object, the path of a COCO annotation "
                    f"file or a COCO dataset dict, not {type(coco_gt).__name__}")


def _empty_results(coco_gt):
    """A results COCO object with no detections (``COCO.loadRes`` fails on an empty list)."""
    res = COCO()
    res.dataset = {"images": list(coco_gt.dataset["images"]),
                   "categories": list(coco_gt.dataset.get("categories", [])),
                   "annotations": []}
    with _quiet():
        res.createIndex()
    return res


def evaluate_coco_results(coco_gt, results, eval_type, image_ids=None, verbose=True):
    """Runs pycocotools' ``COCOeval`` (evaluate, accumulate, summarize) and returns its 12 stats.

    This is the project's evaluation entry point (the evaluation half of Matterport's
    ``evaluate_coco``). With pycocotools' own fixtures it reproduces pycocotools' published numbers.

    Args:
        coco_gt: the ground truth: a ``pycocotools.coco.COCO`` object, the path of a COCO
            annotation JSON file, or a COCO dataset dict (``images``, ``annotations``,
            ``categories``).
        results: COCO result dicts (``image_id``, ``category_id``, ``score`` and ``bbox``
            [x, y, w, h] and/or ``segmentation`` RLE), e.g. from ``detections_to_coco_results``, or the path of a
            results JSON file. Not modified. May be empty (every stat is then 0, or -1 where the
            ground truth has no object of that size).
        eval_type: "bbox" or "segm".
        image_ids: COCO image ids to evaluate (``params.imgIds``); default all ground-truth images.
        verbose: print what pycocotools prints (the 12-line summary among it).

    Returns:
        float64 [12] array, in ``STAT_NAMES`` order.

    For "segm", the results' ``bbox`` keys are ignored, so that the object size used for the
    small/medium/large split is the mask area, as for the ground truth (with a ``bbox`` key,
    ``loadRes`` would take the box area; Matterport passes both keys and so mixes the two).

    Raises:
        ValueError: unknown ``eval_type``; a result lacks a key the evaluation needs; a result or
            ``image_ids`` names an image or category that is not in the ground truth.
    """
    if eval_type not in EVAL_TYPES:
        raise ValueError(f'eval_type must be one of {EVAL_TYPES}, not {eval_type!r}'
                         + (' (keypoints are not supported)' if eval_type == "keypoints" else ""))
    coco_gt = _as_coco(coco_gt)
    if isinstance(results, (str, os.PathLike)):
        with open(results) as f:
            results = json.load(f)
    if not isinstance(results, (list, tuple)):
        raise TypeError("results must be a list of COCO result dicts or the path of a results "
                        f"JSON file, not {type(results).__name__}")

    needed = "segmentation" if eval_type == "segm" else "bbox"
    gt_image_ids = set(coco_gt.getImgIds())
    gt_cat_ids = set(coco_gt.getCatIds())
    copies = []
    for k, result in enumerate(results):
        missing = [key for key in ("image_id", "category_id", "score", needed) if key not in result]
        if missing:
            raise ValueError(f"result {k} lacks {missing}; {eval_type} evaluation needs image_id, "
                             f"category_id, score and {needed}")
        result = dict(result)  # loadRes adds keys; never modify the caller's dicts
        if eval_type == "segm":
            result.pop("bbox", None)
            segm = result["segmentation"]
            if not isinstance(segm, dict) or "counts" not in segm:
                raise ValueError(f"result {k}: segm evaluation needs an RLE segmentation "
                                 "{'size': [H, W], 'counts': ...} (see encode_masks)")
        copies.append(result)
    bad_images = {r["image_id"] for r in copies} - gt_image_ids
    if bad_images:
        raise ValueError(f"{len(bad_images)} result image ids are not in the ground truth, e.g. "
                         f"{sorted(bad_images, key=str)[:5]}; results must use the ground truth's "
                         "COCO image ids (image_info[i]['id'] for a CocoDataset)")
    bad_cats = {r["category_id"] for r in copies} - gt_cat_ids
    if bad_cats:
        raise ValueError(f"result category ids {sorted(bad_cats, key=str)[:10]} are not in the "
                         "ground truth's categories; map internal class ids to COCO category ids "
                         "(category_ids= of detections_to_coco_results)")
    if image_ids is None:
        image_ids = sorted(gt_image_ids)
    else:
        image_ids = [_json_id(i) for i in image_ids]
        unknown = set(image_ids) - gt_image_ids
        if unknown:
            raise ValueError(f"image_ids {sorted(unknown, key=str)[:5]} are not in the ground "
                             "truth")

    with _quiet(not verbose):
        coco_dt = coco_gt.loadRes(copies) if copies else _empty_results(coco_gt)
        evaluator = COCOeval(coco_gt, coco_dt, eval_type)
        evaluator.params.imgIds = list(image_ids)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return np.array(evaluator.stats, dtype=np.float64)


def _image_size(dataset, image_id, masks):
    if masks.ndim == 3 and masks.shape[-1] > 0:
        return int(masks.shape[0]), int(masks.shape[1])
    info = dataset.image_info[image_id]
    if "height" in info and "width" in info:
        return int(info["height"]), int(info["width"])
    image = dataset.load_image(image_id)
    return int(image.shape[0]), int(image.shape[1])


def dataset_to_coco(dataset, image_ids=None, verbose=False):
    """Builds COCO ground truth from any prepared ``mrcnn.dataset.Dataset``.

    Each image becomes a COCO image whose id is the dataset's internal image id (so results must
    use internal ids, as ``evaluate_dataset`` does); its source id and path are kept as
    ``source_id`` and ``file_name``. Each instance of ``load_mask`` becomes an annotation:
    ``category_id`` = |class id|, ``iscrowd`` = 1 for a negative class id (Matterport's crowd
    convention), ``segmentation`` = RLE of the mask, ``area`` = mask pixel count, ``bbox`` = the
    tight [x, y, w, h] box of the mask. Empty masks are skipped. Categories are the dataset's
    classes except BG (ids 1 .. num_classes-1, names from ``class_names``).

    Args:
        dataset: a prepared Dataset (``prepare()`` called).
        image_ids: internal image ids to include; default all.
        verbose: show a progress bar.

    Returns:
        A ``pycocotools.coco.COCO`` object.

    Raises:
        ValueError: the dataset is not prepared; ``load_mask`` returns masks and class ids that do
            not match, class id 0 (background) or a class id outside the dataset's classes.
    """
    if not hasattr(dataset, "num_classes"):
        raise ValueError("The dataset is not prepared: call dataset.prepare() before evaluating")
    ids = dataset.image_ids if image_ids is None else image_ids
    images, annotations, next_ann_id = [], [], 1
    for image_id in tqdm(list(ids), desc="Ground truth", unit="image", disable=not verbose,
                         leave=False):
        image_id = int(image_id)
        masks, class_ids = dataset.load_mask(image_id)
        masks = np.asarray(masks)
        class_ids = np.asarray(class_ids).reshape(-1).astype(np.int64)
        if masks.ndim != 3 or masks.shape[-1] != len(class_ids):
            raise ValueError(f"load_mask({image_id}) returned masks of shape {masks.shape} and "
                             f"{len(class_ids)} class ids; it must return (bool [H, W, N], "
                             "int32 [N])")
        if np.any(class_ids == 0):
            raise ValueError(f"load_mask({image_id}) returned class id 0 (background) for an "
                             "instance; use ids 1 .. num_classes-1 (negative for crowds)")
        if np.any(np.abs(class_ids) >= dataset.num_classes):
            raise ValueError(f"load_mask({image_id}) returned class ids {class_ids.tolist()}, "
                             f"but the dataset has only {dataset.num_classes} classes")
        height, width = _image_size(dataset, image_id, masks)
        info = dataset.image_info[image_id]
        source_id = info.get("id")
        images.append({
            "id": image_id, "height": height, "width": width,
            "file_name": str(info.get("path") or ""), "source": info.get("source", ""),
            "source_id": _json_id(source_id) if isinstance(source_id, (int, str, np.integer,
                                                                      np.str_)) else str(source_id),
        })
        if len(class_ids) == 0:
            continue
        rles = mask_utils.encode(np.asfortranarray((masks != 0).astype(np.uint8)))
        areas = mask_utils.area(rles)
        boxes = mask_utils.toBbox(rles)
        for rle, area, box, class_id in zip(rles, areas, boxes, class_ids):
            if area == 0:
                continue
            annotations.append({
                "id": next_ann_id, "image_id": image_id,
                "category_id": int(abs(class_id)), "iscrowd": int(class_id < 0),
                "segmentation": {"size": [int(s) for s in rle["size"]],
                                 "counts": rle["counts"].decode("ascii")},
                "area": float(area), "bbox": [float(v) for v in box],
            })
            next_ann_id += 1
    categories = [{"id": int(c), "name": dataset.class_names[c],
                   "supercategory": dataset.class_info[c].get("source", "")}
                  for c in range(1, dataset.num_classes)]
    return _as_coco({"info": {"description": f"ground truth of {type(dataset).__name__}"},
                     "images": images, "annotations": annotations, "categories": categories})


def detect_images(model, dataset, image_ids, on_result, batch_size=None, verbose=True,
                  desc="Detecting"):
    """Runs ``model.detect`` over dataset images in batches and hands each result on.

    Args:
        model: anything with ``detect(images, verbose=0)`` returning one dict per image.
        dataset: a prepared Dataset (``load_image`` is used).
        image_ids: internal image ids, in order.
        on_result: called as ``on_result(image_id, result_dict)`` for every image.
        batch_size: images per ``detect`` call; default ``model.config.BATCH_SIZE`` (or 1).
        verbose: show a tqdm progress bar.
        desc: the progress bar's label.

    Returns:
        float, seconds spent inside ``detect`` (image loading excluded).

    Raises:
        ValueError: bad ``batch_size``, or ``detect`` returns a different number of results
            than images.
    """
    if batch_size is None:
        batch_size = int(getattr(getattr(model, "config", None), "BATCH_SIZE", 1) or 1)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    detect_time = 0.0
    with tqdm(total=len(image_ids), desc=desc, unit="image", disable=not verbose) as bar:
        for start in range(0, len(image_ids), batch_size):
            batch = image_ids[start:start + batch_size]
            images = [dataset.load_image(i) for i in batch]
            t0 = time.perf_counter()
            detections = model.detect(images, verbose=0)
            detect_time += time.perf_counter() - t0
            if len(detections) != len(images):
                raise ValueError(f"model.detect returned {len(detections)} results for "
                                 f"{len(images)} images")
            for image_id, r in zip(batch, detections):
                on_result(image_id, r)
            bar.update(len(batch))
    return detect_time


def evaluate_dataset(model, dataset, image_ids=None, limit=0, batch_size=None, verbose=True,
                     coco_gt=None, shard=None):
    """COCO-style evaluation of a model on any prepared ``Dataset`` (boxes and masks).

    Runs ``model.detect(images, verbose=0)`` on batches of ``dataset.load_image`` images (with a
    tqdm progress bar), converts the detections with ``detections_to_coco_results`` and evaluates
    them against ``dataset_to_coco(dataset)`` with ``evaluate_coco_results``. Images with no
    detection are fine. Class ids are the dataset's internal ids.

    Args:
        model: an inference-mode ``MaskRCNN`` (anything with ``detect(images, verbose=0)`` returning
            one dict per image with "rois", "class_ids", "scores", "masks").
        dataset: a prepared Dataset whose classes are the model's classes.
        image_ids: internal image ids to evaluate; default all.
        limit: evaluate only the first ``limit`` of them (0 = all).
        batch_size: images per ``detect`` call; default ``model.config.BATCH_SIZE`` (or 1).
        verbose: progress bar and pycocotools' printed summaries.
        coco_gt: ground truth already built by ``dataset_to_coco`` for these images (saves
            rebuilding it, e.g. in a callback).
        shard: None, or (I, N) with 0 <= I < N: detect only every N-th of the images (after
            ``limit``) from the I-th (``mrcnn.batch_inference.select_shard``), so that N jobs
            split the detection without coordination. The stats are then those of the shard's
            images, and the result has two more keys to merge the shards with: ``"results"``
            (the shard's COCO result dicts) and ``"image_ids"`` (its image ids); evaluating
            all the shards' results together with ``evaluate_coco_results(dataset_to_coco(
            dataset, ids), results, eval_type)`` gives the stats of the whole set.

    Returns:
        ``{"bbox": float64 [12], "segm": float64 [12], "time_per_image": seconds of detect()}``
        (plus ``"results"`` and ``"image_ids"`` with ``shard``); the arrays are in
        ``STAT_NAMES`` order.

    Raises:
        ValueError: no images to evaluate (also an empty shard), bad ``limit``/``batch_size``
            or ``shard``, or ``detect`` returns a different number of results than images.
    """
    ids = [int(i) for i in (dataset.image_ids if image_ids is None else image_ids)]
    if limit is None or limit < 0:
        raise ValueError(f"limit must be >= 0 (0 = all images), not {limit!r}")
    if limit:
        ids = ids[:limit]
    if shard is not None:
        from mrcnn.batch_inference import select_shard
        try:
            index, count = shard
            shard_ids = select_shard(ids, int(index), int(count))
        except (TypeError, ValueError) as e:
            raise ValueError(f"shard must be (I, N) with 0 <= I < N, got {shard!r}: {e}") \
                from None
        if ids and not shard_ids:
            raise ValueError(f"No images to evaluate: shard {index}/{count} of {len(ids)} "
                             "images is empty; use fewer shards than images")
        ids = shard_ids
    if not ids:
        raise ValueError("No images to evaluate: the dataset (or image_ids) is empty")
    if coco_gt is None:
        coco_gt = dataset_to_coco(dataset, ids, verbose=verbose)

    results = []

    def collect(image_id, r):
        results.extend(detections_to_coco_results(image_id, r["rois"], r["class_ids"],
                                                  r["scores"], r["masks"]))

    detect_time = detect_images(model, dataset, ids, collect, batch_size=batch_size,
                                verbose=verbose, desc="Evaluating")

    out = {}
    for eval_type in EVAL_TYPES:
        if verbose:
            print(f"\nCOCO {eval_type} evaluation on {len(ids)} images:")
        out[eval_type] = evaluate_coco_results(coco_gt, results, eval_type, image_ids=ids,
                                               verbose=verbose)
    out["time_per_image"] = detect_time / len(ids)
    if shard is not None:
        out["results"], out["image_ids"] = results, ids
    if verbose:
        print(f"Prediction time: {detect_time:.2f} s, {out['time_per_image']:.3f} s per image")
    return out


def _layers_by_name(model):
    """name -> layer for a Keras model's layers, nested models and their layers included (the
    first layer of a name wins)."""
    table = {}
    for layer in iter_layers(model):
        table.setdefault(layer.name, layer)
    return table


def _copy_weights_by_name(source, target):
    """Copies ``get_weights()`` of ``source`` layers into same-named ``target`` layers.

    Nested models (``rpn_model``) are copied whole when the source has one of the same name, else
    layer by layer. Returns the number of layers copied.

    Raises:
        ValueError: a target layer with weights has no source layer of that name, or the shapes
            differ (the two models were built from different configurations).
    """
    source_layers = _layers_by_name(source)
    copied, missing = 0, []
    # A nested target model is opened only when the source has no layer of its name.
    for layer in iter_layers(target, expand=lambda nested: nested.name not in source_layers):
        if not layer.weights:
            continue
        src = source_layers.get(layer.name)
        if src is None:
            if not is_nested_model(layer):  # a nested one: its layers come next
                missing.append(layer.name)
            continue
        values = src.get_weights()
        shapes = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != shapes:
            raise ValueError(
                f"Layer {layer.name!r}: the trained model has weights of shapes "
                f"{[v.shape for v in values]}, the inference model {shapes}; build both "
                "models from the same configuration (NUM_CLASSES, BACKBONE, ...)")
        layer.set_weights(values)
        copied += 1
    if missing:
        raise ValueError(f"{len(missing)} layers of the inference model are not in the trained "
                         f"model, e.g. {missing[:5]}; the callback needs an inference model "
                         "built with the same architecture as the trained one")
    return copied


class COCOEvalCallback(keras.callbacks.Callback):
    """Keras callback: COCO bbox and segm AP on a validation Dataset every ``every`` epochs.

    Pass it to ``MaskRCNN.train(..., custom_callbacks=[callback])``. The model being trained is a
    training-mode graph, which cannot run ``detect()``; so at the end of every ``every``-th epoch
    the callback copies the trained weights, layer by layer by name (the nested ``rpn_model``
    included), into an inference-mode ``MaskRCNN`` and runs ``evaluate_dataset`` with it.

    It writes ``logs[prefix + "<type>_<stat>"]`` for type in ("bbox", "segm") and each of
    ``stats`` (default: ``val_bbox_AP``, ``val_bbox_AP50``, ``val_bbox_AP75``, ``val_segm_AP``,
    ...), so the callbacks after it (the progress bar, ``History``, a ``TensorBoard`` placed after
    it) see them; with ``log_dir`` it also writes them as ``tf.summary`` scalars (step = 0-based
    epoch) into an event file in ``log_dir``. ``self.results`` keeps ``(epoch, evaluate_dataset
    output)`` for every evaluation.

    Args:
        inference_model: a ``MaskRCNN`` in inference mode (anything with ``keras_model`` and
            ``detect``), or a function of no arguments returning one, called at the first
            evaluation (so the model is only built when needed).
        dataset: a prepared validation Dataset with the model's classes.
        every: evaluate after epochs every, 2*every, ... (1-based epoch numbers).
        image_ids, limit, batch_size: which images, and how many per ``detect`` call (see
            ``evaluate_dataset``); a small ``limit`` keeps the evaluation quick.
        prefix: prefix of the ``logs`` keys.
        log_dir: folder for TensorBoard scalars, or None.
        stats: which of ``STAT_NAMES`` to log.
        verbose: 0 silent; 1 one line per evaluation; 2 also progress bars and pycocotools output.

    Raises:
        ValueError: ``every`` < 1 or an unknown stat name (at construction); at evaluation, an
            inference model whose layers do not match the trained model.
    """

    def __init__(self, inference_model, dataset, every=1, image_ids=None, limit=0, prefix="val_",
                 log_dir=None, stats=("AP", "AP50", "AP75"), batch_size=None, verbose=1):
        super().__init__()
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be a positive number of epochs, not {every!r}")
        unknown = [s for s in stats if s not in STAT_NAMES]
        if unknown:
            raise ValueError(f"unknown stats {unknown}; choose from {STAT_NAMES}")
        if not hasattr(inference_model, "detect") and not callable(inference_model):
            raise TypeError("inference_model must be an inference-mode MaskRCNN or a function "
                            "returning one")
        if not hasattr(dataset, "num_classes"):
            raise ValueError("The dataset is not prepared: call dataset.prepare() first")
        self._inference_model = inference_model
        self.dataset = dataset
        self.every = int(every)
        self.limit = limit
        ids = [int(i) for i in (dataset.image_ids if image_ids is None else image_ids)]
        self.image_ids = ids[:limit] if limit else ids
        self.prefix = prefix
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.stats = tuple(stats)
        self.batch_size = batch_size
        self.verbose = verbose
        self.results = []
        self._coco_gt = None
        self._writer = None

    @property
    def inference_model(self):
        """The inference ``MaskRCNN`` (built by the factory function on first use)."""
        if not hasattr(self._inference_model, "detect"):
            self._inference_model = self._inference_model()
            if not hasattr(self._inference_model, "detect"):
                raise TypeError("the inference_model function must return a MaskRCNN in "
                                "inference mode")
        return self._inference_model

    def evaluate(self, epoch=None):
        """Copies the trained weights into the inference model, evaluates, returns the log values.

        Returns:
            dict ``{prefix + "<type>_<stat>": float}``.
        """
        if self.model is None:
            raise RuntimeError("COCOEvalCallback has no model: it must be used inside fit()/train()"
                               " or given one with set_model()")
        inference = self.inference_model
        _copy_weights_by_name(self.model, inference.keras_model)
        if self._coco_gt is None:
            self._coco_gt = dataset_to_coco(self.dataset, self.image_ids,
                                            verbose=self.verbose > 1)
        out = evaluate_dataset(inference, self.dataset, image_ids=self.image_ids,
                               batch_size=self.batch_size, verbose=self.verbose > 1,
                               coco_gt=self._coco_gt)
        self.results.append((epoch, out))
        values = {}
        for eval_type in EVAL_TYPES:
            for stat in self.stats:
                values[f"{self.prefix}{eval_type}_{stat}"] = float(
                    out[eval_type][STAT_NAMES.index(stat)])
        return values

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        values = self.evaluate(epoch)
        if logs is not None:
            logs.update(values)
        if self.log_dir is not None:
            self._write_scalars(values, epoch)
        if self.verbose:
            text = " - ".join(f"{k}: {v:.4f}" for k, v in values.items())
            print(f"\nEpoch {epoch + 1}: COCO evaluation on {len(self.image_ids)} images - {text}")

    def _write_scalars(self, values, step):
        """Writes the values as TensorBoard scalars (step = 0-based epoch)."""
        import tensorflow as tf
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            for name, value in values.items():
                tf.summary.scalar(name, value, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
