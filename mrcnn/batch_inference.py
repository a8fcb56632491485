"""Detection over many image files: which files (folders, glob patterns, list files), which
share of them (``--shard I/N``), a parallel ``tf.data`` pipeline that reads, decodes and molds
them, batches of one molded shape through the model, and results written as each image is done
(one JSON line per image in a results file that ``--resume`` continues). Behind ``mrcnn
detect`` (``mrcnn/cli.py``); no Matterport counterpart (Matterport's ``detect`` took a list of
arrays already in memory).

Inputs (``expand_inputs``):

* an image file: taken as it is (it must exist, be a file and not be empty);
* a folder: searched recursively (``os.walk``, symbolic links to folders not followed, names
  starting with "." skipped) for files ending in one of ``IMAGE_EXTENSIONS``, case-insensitive;
* a glob pattern (``*``, ``?``, ``[...]``; ``**`` matches folders recursively): matching files
  are taken as they are, whatever their extension (as the shell would), matching folders are
  searched as above; quote it so that the shell does not expand it first;
* a list file (``--list FILE``): one entry per line (an image file, folder or glob pattern, as
  on the command line), blank lines and lines starting with "#" ignored, relative entries
  relative to the list file's folder.

Order: the arguments in the order given, then the list files; the files of one folder, glob
pattern or list file sorted by path (Python string order); a file named twice is taken once (its
first place). So the same arguments give the same list on every machine, which is what
``select_shard`` needs: ``paths[I::N]`` for shard I of N.

Results file (``ResultsFile``): ``<output>/results.jsonl`` (``results-I-of-N.jsonl`` for shard I
of N, so that shards can share a folder). One line per image, appended and flushed when the
image is done: ``{"image": path, "height": H, "width": W, "rois": [[y1, x1, y2, x2], ...]
(pixels, exclusive ends), "class_ids": [...], "class_names": [...], "scores": [...], "masks":
[{"size": [H, W], "counts": str}, ...] (COCO RLE, pycocotools)}``, or ``{"image": path,
"error": message}`` for an image that cannot be read. Resuming reads the complete lines, skips
their images, and cuts off a last line without its newline (what a kill during a write leaves)
so that its image is done again.
"""

import contextlib
import glob
import json
import os
from typing import NamedTuple

#: File name endings (lower case) that a folder search takes as images.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")

_GLOB_CHARACTERS = "*?["


class InputError(ValueError):
    """Bad inputs (a missing file, an empty folder, a glob that matches nothing, ...): the
    message names each problem and the fix, on one line."""


class BatchWriteError(OSError):
    """Writing an image's results failed; the run stopped there. ``str()`` is a one-line message
    that says which images have their results and what to do."""


def file_problem(path):
    """Why ``path`` cannot be an input file (str), or None if it is a non-empty file."""
    if not os.path.exists(path):
        return "not found"
    if os.path.isdir(path):
        return "is a directory, not a file"
    try:
        if os.path.getsize(path) == 0:
            return "is empty (0 bytes), e.g. an interrupted copy or download"
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    return None


def _one_line(text):
    return " ".join(str(text).split())


def image_problem(path, error):
    """What is wrong with an image file that could not be read, and the fix, from the file
    itself rather than from the decoder's guess (imageio suggests a video plugin for a text
    file): ``"<problem>; skipped it (<fix>)"``."""
    if isinstance(error, ValueError):
        return f"it cannot be used: {_one_line(error)}; skipped it (convert it to RGB)"
    problem = file_problem(path)
    if problem is not None:
        problem = "no longer exists" if problem == "not found" else problem
        return f"it {problem}; skipped it"
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image_format = image.format
    except UnidentifiedImageError:
        with open(path, "rb") as f:
            head = f.read(12)
        return (f"it is not an image file: it starts with {head!r}, which is no image format "
                "Pillow knows; skipped it (check that it is the file you meant)")
    except OSError as e:
        return f"it cannot be read ({e.strerror or e}); skipped it"
    return (f"it is a {image_format} file that cannot be decoded ({_one_line(error)}), probably "
            "truncated or damaged; skipped it (copy or download it again)")


def _is_glob(spec):
    return any(c in spec for c in _GLOB_CHARACTERS) and not os.path.exists(spec)


def _folder_images(folder, problems):
    found = []

    def unreadable(error):
        problems.append(f"cannot list folder {error.filename}: {error.strerror or error}")

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, f) for f in files
                     if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS))
    return found


def _expand_one(spec, problems, where=""):
    """The files of one argument (unsorted), or [] with a problem appended."""
    if _is_glob(spec):
        found = []
        for match in glob.glob(spec, recursive=True):
            if os.path.isdir(match):
                found.extend(_folder_images(match, problems))
            elif os.path.isfile(match):
                found.append(match)
        if not found:
            problems.append(f"no image file matches the pattern {spec}{where}")
        return found
    if os.path.isdir(spec):
        found = _folder_images(spec, problems)
        if not found:
            problems.append(
                f"image {spec}{where} is a directory, not a file, with no image files in it "
                f"(searched recursively for {', '.join(IMAGE_EXTENSIONS)})")
        return found
    problem = file_problem(spec)
    if problem == "not found":
        problems.append(f"image file not found: {spec}{where}")
    elif problem is not None:
        problems.append(f"image {spec}{where} {problem}")
    else:
        return [spec]
    return []


def _list_entries(list_file):
    try:
        with open(list_file, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise InputError(f"cannot read the list file {list_file}: {_one_line(reason)} (give a "
                         "UTF-8 text file with one image file, folder or pattern per line)") \
            from None
    base = os.path.dirname(list_file)
    for number, line in enumerate(lines, 1):
        entry = line.strip()
        if entry and not entry.startswith("#"):
            yield number, entry if os.path.isabs(entry) else os.path.join(base, entry)


def expand_inputs(specs, list_files=(), max_problems=10):
    """The image files of command-line inputs, in a deterministic order (see the module
    docstring for what a file, folder, glob pattern and list file give).

    Args:
        specs: list of str, image files, folders or glob patterns.
        list_files: list of str, text files of entries (one per line).
        max_problems: how many problems the error message names (then "and N more").

    Returns:
        list of str: the image file paths (as given, or joined to the folder / list file folder
        they were found in), each once.

    Raises:
        InputError: an image file that does not exist, is a folder with no images or is empty,
            a pattern that matches nothing, a folder that cannot be listed, a list file that
            cannot be read, or no images at all; all the problems in one line.
    """
    problems, groups = [], []
    for spec in specs:
        found = _expand_one(spec, problems)
        groups.append(found if len(found) <= 1 else sorted(found))
    for list_file in list_files:
        found = []
        for number, entry in _list_entries(list_file):
            found.extend(_expand_one(entry, problems, f" (line {number} of {list_file})"))
        groups.append(sorted(found))
    if problems:
        shown = "; ".join(problems[:max_problems])
        if len(problems) > max_problems:
            shown += f"; and {len(problems) - max_problems} more problems"
        raise InputError(shown + " (give image files, folders or glob patterns such as "
                         "'photos/*.jpg')")
    paths, seen = [], set()
    for path in (p for group in groups for p in group):
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            paths.append(path)
    if not paths:
        raise InputError("no images given (give image files, folders, glob patterns such as "
                         "'photos/*.jpg', or --list FILE)")
    return paths


def parse_shard(text):
    """``"I/N"`` -> (I, N), ints with 0 <= I < N.

    Raises:
        ValueError: not two integers separated by "/", or not 0 <= I < N; the message says so.
    """
    index, sep, count = str(text).partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        raise ValueError(f"expected I/N (shard I of N, 0 <= I < N), e.g. 0/4; got "
                         f"{text!r}") from None
    if not sep or count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {text} is not one of N shards: need 0 <= I < N (N >= 1), e.g. "
                         f"0/{max(count, 2)} ... {max(count, 2) - 1}/{max(count, 2)}")
    return index, count


def select_shard(paths, index, count):
    """Shard ``index`` of ``count``: every ``count``-th path from position ``index``
    (``paths[index::count]``). The shards of one list are disjoint and together cover it, so
    ``count`` jobs given the same arguments split the work without coordination."""
    parse_shard(f"{index}/{count}")
    return list(paths)[index::count]


def results_file_name(shard=None):
    """``results.jsonl``, or ``results-I-of-N.jsonl`` for shard (I, N) with N > 1."""
    if shard is None or shard[1] == 1:
        return "results.jsonl"
    return f"results-{shard[0]}-of-{shard[1]}.jsonl"


class ResultsFile:
    """The append-only JSON-lines results file of a run (one line per image), locked against
    a second writer.

    Args:
        path: the file; created if missing.
        resume: False: the file must be absent or empty. True: its complete lines are read
            (``done``: their images) and a last line without its newline is cut off.

    Raises:
        FileExistsError: the file has results and ``resume`` is False.
        BlockingIOError: another process holds the file (a second run on the same shard).
        ValueError: a complete line that is not a JSON object with an "image" (the file is
            damaged or not a results file); the message names the line.
        OSError: the file cannot be opened, read or cut.
    """

    def __init__(self, path, resume=False):
        self.path = path
        self.done = set()
        self.cut_bytes = 0
        self._file = open(path, "a+b")
        try:
            self._lock()
            self._file.seek(0)
            if not resume and self._file.read(1):
                raise FileExistsError(f"{path} already holds results; add --resume to continue "
                                      "it, or remove it (or choose another --output) to start "
                                      "again")
            if resume:
                self._read_done()
        except BaseException:
            self._file.close()
            raise

    def _lock(self):
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BlockingIOError(f"{self.path} is being written by another run (of the same "
                                  "shard?); wait for it or give this run another --output or "
                                  "--shard") from None

    def _read_done(self):
        self._file.seek(0)
        good = 0
        for number, line in enumerate(self._file, 1):
            if not line.endswith(b"\n"):
                break  # the last line, cut by a kill during its write: done again
            try:
                record = json.loads(line)
                image = record["image"]
            except (ValueError, TypeError, KeyError):
                raise ValueError(f"line {number} of {self.path} is not a results line (a JSON "
                                 "object with an \"image\"): the file is damaged or not a "
                                 "results file; remove that line or start another --output") \
                    from None
            self.done.add(image)
            good += len(line)
        size = self._file.seek(0, os.SEEK_END)
        if size > good:
            self._file.truncate(good)
            self.cut_bytes = size - good

    def append(self, record):
        """Writes one image's record as a line and flushes it to the operating system."""
        self._file.write(json.dumps(record).encode("utf-8") + b"\n")
        self._file.flush()

    def sync(self):
        """Flushes the file to the disk (``os.fsync``)."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self):
        with contextlib.suppress(OSError):
            self.sync()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LoadedImage(NamedTuple):
    """One image out of ``load_molded``.

    Fields:
        index: int, its position in the path list.
        path: str.
        error: None, or the one-line problem of an image that cannot be read (``image_problem``).
        image: the [H, W, 3] image as read (``mrcnn.image.read_image``), or None (error, or
            ``keep_images=False``).
        shape: (H, W, 3) tuple of the image as read (None on error).
        molded: float32 [h, w, 3] molded image (``mrcnn.transform.mold_one``).
        meta: float64 [META] image meta.
        window: int32 [4] (y1, x1, y2, x2) of the image in the molded one.
    """

    index: int
    path: str
    error: object
    image: object
    shape: object
    molded: object
    meta: object
    window: object


def load_molded(paths, config, keep_images=True, num_parallel_calls=None, prefetch=None):
    """Reads, decodes and molds image files in a parallel ``tf.data`` pipeline.

    ``tf.data.Dataset.range`` over the positions, ``map`` of a ``tf.numpy_function`` that calls
    ``mrcnn.image.read_image``, ``mrcnn.image.to_pixel_range`` and
    ``mrcnn.transform.mold_one`` (``num_parallel_calls`` at a time, results kept in order), and
    ``prefetch``. An image that cannot be read does not stop the pipeline: it comes out with its
    ``error``.

    Args:
        paths: list of str, image files.
        config: the model's ``Config`` (3 channels; resizing and mean pixel).
        keep_images: also hand on each image as read (for overlays); else ``image`` is None.
        num_parallel_calls: images read at the same time; default ``tf.data.AUTOTUNE``.
        prefetch: images molded ahead of the consumer; default ``config.BATCH_SIZE`` (so
            memory holds about two batches whatever the number of files).

    Returns:
        an iterator of ``LoadedImage``, in the order of ``paths``.

    Raises:
        ValueError: ``config.IMAGE_CHANNEL_COUNT`` is not 3 (files are read as RGB).
    """
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    from mrcnn.image import read_image, to_pixel_range
    from mrcnn.transform import mold_one

    if config.IMAGE_CHANNEL_COUNT != 3:
        raise ValueError(f"image files are read as RGB, but config.IMAGE_CHANNEL_COUNT = "
                         f"{config.IMAGE_CHANNEL_COUNT}; mold such images yourself and use "
                         "MaskRCNN.detect")
    paths = [os.fspath(p) for p in paths]
    images = {}  # index -> image as read, handed to the consumer beside the tensors
    failed = (np.zeros([3], np.int64), np.zeros([0, 0, 3], np.float32),
              np.zeros([config.IMAGE_META_SIZE], np.float64), np.zeros([4], np.int32))

    def load(index):
        index = int(index)
        path = paths[index]
        try:
            image = read_image(path)
            image = to_pixel_range(image, config, path)
            molded, meta, window = mold_one(image, config)
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            return (np.bytes_(image_problem(path, e).encode("utf-8")),) + failed
        if keep_images:
            images[index] = image
        return (np.bytes_(b""), np.asarray(image.shape, np.int64),
                molded.astype(np.float32), meta.astype(np.float64), window.astype(np.int32))

    def load_tf(index):
        error, shape, molded, meta, window = tf.numpy_function(
            load, [index], [tf.string, tf.int64, tf.float32, tf.float64, tf.int32],
            stateful=False)
        return index, error, shape, molded, meta, window

    dataset = tf.data.Dataset.range(len(paths)).map(
        load_tf, num_parallel_calls=num_parallel_calls or tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.prefetch(prefetch or max(1, int(config.BATCH_SIZE)))
    for index, error, shape, molded, meta, window in dataset.as_numpy_iterator():
        index = int(index)
        if error:
            yield LoadedImage(index, paths[index], error.decode("utf-8"), None, None, None,
                              None, None)
        else:
            yield LoadedImage(index, paths[index], None, images.pop(index, None),
                              tuple(int(v) for v in shape), molded, meta, window)


def shape_batches(items, batch_size):
    """Groups loaded images into batches of at most ``batch_size`` images of one molded shape.

    Args:
        items: iterable of ``LoadedImage``.
        batch_size: int >= 1.

    Returns:
        an iterator of lists: ``[item]`` for an item with an ``error`` (as soon as it comes),
        else a batch of items of one molded shape, yielded when it is full; the partial batches
        at the end, in the order their shapes were first seen. At most one partial batch per
        molded shape is held.
    """
    pending = {}
    for item in items:
        if item.error is not None:
            yield [item]
            continue
        batch = pending.setdefault(item.molded.shape, [])
        batch.append(item)
        if len(batch) == batch_size:
            del pending[item.molded.shape]
            yield batch
    yield from pending.values()


def predict_batch(model, batch, strategy=None):
    """Runs the inference graph on one batch of molded images of one shape and unmolds the
    detections (Matterport ``MaskRCNN.detect``, for a batch of files).

    Args:
        model: an inference-mode ``mrcnn.model.MaskRCNN``.
        batch: list of ``LoadedImage`` of one molded shape.
        strategy: a ``tf.distribute.Strategy``; None = the model's (``model.strategy``). With
            N > 1 replicas the batch is split in input order into N parts of
            ``ceil(len(batch) / N)`` images (the last part padded with copies of the last
            image, whose results are dropped), ``strategy.run`` runs the graph on every replica
            at once, and the results come back in input order: the same results as one
            replica, a batch of ``BATCH_SIZE`` = ``IMAGES_PER_GPU`` x replicas images per step.

    Returns:
        one dict per item, as ``MaskRCNN.detect``: ``rois`` int32 [N, 4], ``class_ids`` int32
        [N], ``scores`` float32 [N], ``masks`` bool [H, W, N].

    Raises:
        ValueError: a multi-worker strategy (each worker detects its own files: run one job
            per machine with ``--shard I/N``).
    """
    import numpy as np
    import tensorflow as tf

    from mrcnn import distribute

    strategy = strategy or getattr(model, "strategy", None) or tf.distribute.get_strategy()
    images = np.stack([item.molded for item in batch])
    metas = np.stack([item.meta for item in batch])
    anchors = model.get_anchors(images.shape[1:3])
    anchors = np.broadcast_to(anchors, (len(batch),) + anchors.shape)
    if strategy.num_replicas_in_sync == 1:
        detections, masks = model._predict(images, metas, anchors)
    else:
        if distribute.is_multi_worker(strategy):
            raise ValueError(
                "batch inference runs on the replicas of one machine, not on a multi-worker "
                "strategy (TF_CONFIG is set): unset TF_CONFIG and run one job per machine with "
                "--shard I/N (mrcnn.batch_inference.select_shard)")
        detections, masks = _predict_on_replicas(model, strategy, images, metas, anchors)
    results = []
    for j, item in enumerate(batch):
        rois, class_ids, scores, full_masks = model.unmold_detections(
            detections[j], masks[j], item.shape, images[j].shape, item.window)
        results.append({"rois": rois, "class_ids": class_ids, "scores": scores,
                        "masks": full_masks})
    return results


def _predict_on_replicas(model, strategy, images, metas, anchors):
    """``model._predict`` spread over the replicas of a one-machine ``strategy``: replica r gets
    the images ``[r * k, (r + 1) * k)`` (k = ceil(B / replicas), padded by repeating the last
    image); returns numpy (detections [B, DMAX, 6], masks [B, DMAX, h, w]) in input order."""
    import numpy as np
    import tensorflow as tf

    from mrcnn import function_options

    replicas = strategy.num_replicas_in_sync
    count = len(images)
    per_replica = -(-count // replicas)
    pad = per_replica * replicas - count
    inputs = [np.concatenate([a, np.repeat(a[-1:], pad, axis=0)]) if pad else a
              for a in (images, metas, anchors)]

    def part(context):
        r = context.replica_id_in_sync_group
        return tuple(tf.constant(a[r * per_replica:(r + 1) * per_replica], tf.float32)
                     for a in inputs)

    values = strategy.experimental_distribute_values_from_function(part)
    cache = getattr(model, "_replica_predict_fns", None)
    if cache is None:
        cache = model._replica_predict_fns = {}
    run = cache.get(id(strategy))
    if run is None:
        @tf.function(autograph=False)
        def run(values):
            return strategy.run(model._predict_outputs, args=values)
        cache[id(strategy)] = run
    with function_options.inference():
        detections, masks = run(values)
    detections = np.concatenate([t.numpy() for t in
                                 strategy.experimental_local_results(detections)])
    masks = np.concatenate([t.numpy() for t in strategy.experimental_local_results(masks)])
    return detections[:count], masks[:count]


def result_record(path, result, class_names):
    """One image's results line: ``{"image", "height", "width", "rois", "class_ids",
    "class_names", "scores", "masks"}`` (masks as COCO RLE, ``mrcnn.evaluation.encode_masks``),
    JSON-serialisable."""
    import numpy as np

    from mrcnn.evaluation import encode_masks
    masks = np.asarray(result["masks"])
    class_ids = [int(c) for c in np.asarray(result["class_ids"]).reshape(-1)]
    return {"image": path, "height": int(masks.shape[0]), "width": int(masks.shape[1]),
            "rois": np.asarray(result["rois"]).reshape(-1, 4).astype(int).tolist(),
            "class_ids": class_ids, "class_names": [class_names[c] for c in class_ids],
            "scores": [float(s) for s in np.asarray(result["scores"]).reshape(-1)],
            "masks": encode_masks(masks)}


class RunSummary(NamedTuple):
    """What ``detect_files`` did: ``total`` images given, ``skipped`` (already in the results
    file), ``written`` (paths whose results were written in this run), ``unreadable`` (paths
    reported as not readable in this run)."""

    total: int
    skipped: int
    written: list
    unreadable: list


def _listing(paths, limit=10):
    if not paths:
        return "none"
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _atomic_png(output, stem, draw):
    target = os.path.join(output, stem + ".png")
    temporary = os.path.join(output, f".{stem}.png.{os.getpid()}.part")
    try:
        draw(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def detect_files(model, paths, output, class_names, results=None, write_image_files=None,
                 overlays=True, strategy=None, progress=True, report=None):
    """Detects objects in image files through ``load_molded`` and ``shape_batches``, writing
    each image's results as soon as its batch is done.

    Args:
        model: an inference-mode ``MaskRCNN``; ``model.config.BATCH_SIZE`` images per batch.
        paths: list of str, image files (e.g. from ``expand_inputs`` and ``select_shard``).
        output: the output folder (exists, writable).
        class_names: list of str, the model's class names by class id.
        results: a ``ResultsFile`` or None; images in ``results.done`` are skipped, every other
            image gets a line (also an unreadable one, with its "error").
        write_image_files: None, or ``write(path, image, result)`` that writes an image's own
            files (the command line's ``<stem>.json`` and ``<stem>.png``), called before its line
            is appended.
        overlays: with ``results`` and no ``write_image_files``: also ``<output>/<stem>.png``
            (``mrcnn.rendering.save_instances_png``), written atomically.
        strategy: see ``predict_batch``.
        progress: show a tqdm progress bar.
        report: called with one line for each image that cannot be read (default: printed on
            stderr above the progress bar).

    Returns:
        a ``RunSummary``.

    Raises:
        BatchWriteError: writing results failed; the run stopped there (the message lists the
            images done).
    """
    import sys

    from tqdm.auto import tqdm

    from mrcnn import rendering

    done = results.done if results is not None else set()
    todo = [p for p in paths if p not in done]
    written, unreadable = [], []
    if report is None:
        def report(line):
            tqdm.write(line, file=sys.stderr)

    def fail(path, error):
        where = f"{results.path}: their lines are there; " if results is not None else ""
        again = ("run again with --resume" if results is not None else "run again")
        return BatchWriteError(
            f"cannot write the results of {path} to {output}: {error.strerror or error}. "
            f"Stopped there: the results of {len(written)} of {len(paths)} images are written "
            f"({where}{_listing(written)}); nothing was written for {path} and the images "
            f"after it. Free some space (or fix the folder) and {again} for the remaining "
            "images.")

    keep_images = write_image_files is not None or (results is not None and overlays)
    batch_size = max(1, int(model.config.BATCH_SIZE))
    loaded = load_molded(todo, model.config, keep_images=keep_images)
    with tqdm(total=len(todo), desc="Detecting", unit="image", disable=not progress) as bar:
        for batch in shape_batches(loaded, batch_size):
            if batch[0].error is not None:
                item = batch[0]
                unreadable.append(item.path)
                report(f"error: cannot read image {item.path}: {item.error}")
                if results is not None:
                    try:
                        results.append({"image": item.path, "error": item.error})
                    except OSError as e:
                        raise fail(item.path, e) from None
                bar.update(1)
                continue
            for item, r in zip(batch, predict_batch(model, batch, strategy)):
                stem = os.path.splitext(os.path.basename(item.path))[0]
                try:
                    if write_image_files is not None:
                        write_image_files(item.path, item.image, r)
                    elif results is not None and overlays:
                        _atomic_png(output, stem, lambda png, item=item, r=r:
                                    rendering.save_instances_png(
                                        png, item.image, r["rois"], r["masks"], r["class_ids"],
                                        class_names, r["scores"]))
                    if results is not None:
                        results.append(result_record(item.path, r, class_names))
                except OSError as e:
                    raise fail(item.path, e) from None
                written.append(item.path)
                bar.set_postfix_str(f"{stem}: {len(r['class_ids'])} objects")
                bar.update(1)
            if results is not None:
                try:
                    results.sync()
                except OSError as e:
                    raise fail(batch[-1].path, e) from None
    return RunSummary(len(paths), len(paths) - len(todo), written, unreadable)
