"""Downloading the released COCO weights (Matterport ``utils.download_trained_weights``) and the
MS COCO dataset archives (Matterport's ``CocoDataset.auto_download``, ``download_coco_dataset``).

``download_file`` streams to a temporary file next to the target and renames it into place only
after the size checks pass, so an interrupted or truncated download never leaves a partial
``.h5`` file behind (a frequent cause of "Unable to open file" errors with the original).
"""

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile

COCO_MODEL_URL = "https://github.com/matterport/Mask_RCNN/releases/download/v2.0/mask_rcnn_coco.h5"
COCO_MODEL_SIZE = 257557808  # bytes of mask_rcnn_coco.h5 (v2.0)
COCO_MODEL_FILENAME = "mask_rcnn_coco.h5"

logger = logging.getLogger("mrcnn")

_CHUNK = 1 << 20
_TIMEOUT = 60  # seconds without data before the download fails


class DownloadError(OSError):
    """A download failed; nothing was written at the target path."""


def _fmt(size):
    return "unknown" if size is None else f"{size:,} bytes"


def download_file(url, path, expected_size=None, progress=True, desc=None):
    """Downloads ``url`` to ``path`` atomically.

    The body is streamed (urllib) into a temporary file in the directory of ``path`` with a
    tqdm progress bar. Only when the byte count equals the ``Content-Length`` header (if sent)
    and ``expected_size`` (if given) is the file renamed to ``path`` with ``os.replace``. On any
    failure (HTTP or network error, short read, size mismatch, KeyboardInterrupt) the temporary
    file is removed and ``path`` is left untouched (not created, or an existing file kept).

    Args:
        url: http(s) URL.
        path: destination file; its directory is created if missing.
        expected_size: the exact size in bytes, or None to skip that check.
        progress: show a tqdm progress bar (on stderr).
        desc: label of the progress bar (default: the file name).

    Returns:
        ``path``.

    Raises:
        DownloadError (an ``OSError``): the download failed; the message names the URL, the
            expected and received sizes and what to do.
        KeyboardInterrupt: re-raised after cleaning up.
    """
    from tqdm import tqdm

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    advice = (f"Check the network connection and the URL and try again, or download {url} "
              f"yourself and save it as {path}.")
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".",
                                    suffix=".part")
    received = 0
    content_length = None
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=_TIMEOUT)
            except urllib.error.HTTPError as e:
                raise DownloadError(f"Downloading {url} failed: HTTP {e.code} {e.reason}. "
                                    f"{advice}") from e
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                raise DownloadError(f"Downloading {url} failed: {reason}. {advice}") from e
            with response:
                header = response.headers.get("Content-Length")
                if header is not None and header.strip().isdigit():
                    content_length = int(header)
                if (content_length is not None and expected_size is not None
                        and content_length != expected_size):
                    raise DownloadError(
                        f"Downloading {url}: the server announces {_fmt(content_length)} but "
                        f"{_fmt(expected_size)} are expected; the URL probably points to a "
                        f"different file. {advice}")
                total = content_length if content_length is not None else expected_size
                with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                          desc=desc or os.path.basename(path), disable=not progress) as bar:
                    while True:
                        try:
                            chunk = response.read(_CHUNK)
                        except Exception as e:  # IncompleteRead, timeout, reset
                            raise DownloadError(
                                f"Downloading {url} failed after {_fmt(received)} of "
                                f"{_fmt(total)}: {e!r}. {advice}") from e
                        if not chunk:
                            break
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if content_length is not None and received != content_length:
            raise DownloadError(
                f"Downloading {url} is incomplete: received {_fmt(received)} but the server "
                f"announced {_fmt(content_length)} (Content-Length). Nothing was saved at "
                f"{path}. {advice}")
        if expected_size is not None and received != expected_size:
            raise DownloadError(
                f"Downloading {url} gave the wrong size: received {_fmt(received)} but "
                f"{_fmt(expected_size)} were expected. Nothing was saved at {path}. {advice}")
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.remove(tmp_path)
        except FileNotFoundError:
            pass
        raise
    return path


# ---------------------------------------------------------------------------------------------
# MS COCO dataset archives (samples/coco ``CocoDataset.auto_download``)
# ---------------------------------------------------------------------------------------------

#: Where ``download_coco_dataset`` fetches images (``<base>/zips/<type><year>.zip``) and
#: annotations (``<base>/annotations/annotations_trainval<year>.zip``).
COCO_URL_BASE = "http://images.cocodataset.org"
#: The 2014 minival / valminusminival splits (Detectron's), as zipped JSON files.
COCO_2014_SPLIT_URLS = {
    "minival": "https://dl.dropboxusercontent.com/s/o43o90bna78omob/"
               "instances_minival2014.json.zip?dl=0",
    "valminusminival": "https://dl.dropboxusercontent.com/s/s3tw5zcg7395368/"
                       "instances_valminusminival2014.json.zip?dl=0",
}


def _merge_tree(src, dst):
    """Moves the entries of ``src`` into ``dst`` with renames; existing entries are kept."""
    for name in sorted(os.listdir(src)):
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if os.path.isdir(s) and os.path.isdir(d):
            _merge_tree(s, d)
        elif not os.path.lexists(d):
            os.replace(s, d)


def _extract_zip(zip_path, dest_dir):
    """Extracts ``zip_path`` into ``dest_dir`` atomically, as far as a file system allows.

    The archive is extracted into a temporary folder inside ``dest_dir`` (same file system), then
    its entries are renamed into place; on any failure the temporary folder is removed, so no
    half-extracted folder is left. Entries already present in ``dest_dir`` are kept.

    Raises:
        ValueError: the file is not a valid zip archive (it is then deleted, so that a new
            download is tried next time).
    """
    from tqdm.auto import tqdm

    os.makedirs(dest_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".unzip-", dir=dest_dir)
    try:
        try:
            with zipfile.ZipFile(zip_path) as archive:
                members = archive.infolist()
                for member in tqdm(members, desc=f"Unzipping {os.path.basename(zip_path)}",
                                   unit="file", leave=False):
                    archive.extract(member, tmp)
        except zipfile.BadZipFile as e:
            os.remove(zip_path)
            raise ValueError(f"{zip_path} is not a valid zip archive ({e}); it was deleted, run "
                             "again to download it again") from e
        _merge_tree(tmp, dest_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _download_and_extract(url, zip_path, dest_dir, expected):
    """Downloads ``url`` to ``zip_path`` (unless present), extracts it, checks ``expected``."""
    if not os.path.isfile(zip_path):
        print(f"Downloading {url}")
        download_file(url, zip_path, progress=True, desc=os.path.basename(zip_path))
    print(f"Unzipping {zip_path} into {dest_dir}")
    _extract_zip(zip_path, dest_dir)
    if not os.path.exists(expected):
        raise FileNotFoundError(f"{zip_path} (from {url}) did not contain {expected}")


def download_coco_dataset(dataset_dir, subset, year, url_base=None, split_urls=None):
    """Downloads and unzips the MS COCO images and annotations of a subset, if not present.

    The code behind Matterport's ``CocoDataset.auto_download`` (samples/coco/coco.py), which
    calls it. Images come from ``<url_base>/zips/<type><year>.zip`` into
    ``<dataset_dir>/<type><year>/`` (type "val" for minival and valminusminival), annotations
    from ``<url_base>/annotations/annotations_trainval<year>.zip`` into
    ``<dataset_dir>/annotations/``, or for the 2014 minival / valminusminival splits from
    ``split_urls[subset]``. Downloads go through ``download_file`` (a temporary file renamed
    when complete); a zip already present is not downloaded again, and a subset whose image
    folder and annotation file exist downloads nothing. Archives are extracted into a temporary
    folder and renamed into place, so a failure leaves no half-extracted folder; entries already
    present are kept.

    Args:
        dataset_dir: the dataset root (created if needed).
        subset: "train", "val", "minival" or "valminusminival".
        year: "2014" or "2017" (str or int).
        url_base: server of the official zips; None means ``COCO_URL_BASE``.
        split_urls: {subset: URL} of the zipped 2014 split JSON files; None means
            ``COCO_2014_SPLIT_URLS``.

    Raises:
        ValueError: minival / valminusminival with a year other than 2014, or a download that
            is not a zip archive (the zip is deleted, so the next call downloads it again).
        DownloadError (an ``OSError``): the download failed (see ``download_file``).
        FileNotFoundError: an archive did not contain the expected folder or file.
    """
    url_base = COCO_URL_BASE if url_base is None else url_base
    split_urls = COCO_2014_SPLIT_URLS if split_urls is None else split_urls
    year = str(year)
    if subset in split_urls and year != "2014":
        raise ValueError(f"The {subset} subset exists only for 2014, not {year}")
    os.makedirs(dataset_dir, exist_ok=True)

    image_type = "val" if subset in split_urls else subset
    img_dir = os.path.join(dataset_dir, f"{image_type}{year}")
    if os.path.isdir(img_dir):
        print(f"Images present in {img_dir}")
    else:
        _download_and_extract(f"{url_base}/zips/{image_type}{year}.zip",
                              img_dir + ".zip", dataset_dir, img_dir)

    ann_dir = os.path.join(dataset_dir, "annotations")
    if subset in split_urls:
        ann_zip = os.path.join(dataset_dir, f"instances_{subset}2014.json.zip")
        ann_file = os.path.join(ann_dir, f"instances_{subset}2014.json")
        ann_url = split_urls[subset]
        unzip_dir = ann_dir
    else:
        ann_zip = os.path.join(dataset_dir, f"annotations_trainval{year}.zip")
        ann_file = os.path.join(ann_dir, f"instances_{subset}{year}.json")
        ann_url = f"{url_base}/annotations/annotations_trainval{year}.zip"
        unzip_dir = dataset_dir
    if os.path.isfile(ann_file):
        print(f"Annotations present in {ann_file}")
    else:
        _download_and_extract(ann_url, ann_zip, unzip_dir, ann_file)


def download_trained_weights(coco_model_path, verbose=1, url=COCO_MODEL_URL):
    """Downloads the COCO-trained weights (Matterport ``utils.download_trained_weights``).

    Args:
        coco_model_path: where to save ``mask_rcnn_coco.h5``.
        verbose: > 0 prints messages and shows a progress bar.
        url: the file to fetch; when it is ``COCO_MODEL_URL`` the size must be
            ``COCO_MODEL_SIZE``.

    Returns:
        ``coco_model_path``.

    Raises:
        DownloadError: see ``download_file``; no partial file is left at ``coco_model_path``.
    """
    if verbose > 0:
        print(f"Downloading pretrained model to {coco_model_path} ...")
    expected = COCO_MODEL_SIZE if url == COCO_MODEL_URL else None
    download_file(url, coco_model_path, expected_size=expected, progress=verbose > 0)
    if verbose > 0:
        print("... done downloading pretrained model!")
    return coco_model_path


def default_cache_dir():
    """The weights cache: ``$MRCNN_HOME`` if set, else ``~/.cache/mrcnn``."""
    home = os.environ.get("MRCNN_HOME")
    if home:
        return os.path.expanduser(home)
    return os.path.join(os.path.expanduser("~"), ".cache", "mrcnn")


def get_coco_weights(cache_dir=None):
    """Path of ``mask_rcnn_coco.h5`` in the cache, downloading it the first time.

    A cached file whose size is not ``COCO_MODEL_SIZE`` (e.g. a truncated copy) is rejected: a
    warning on the ``"mrcnn"`` logger names it with the expected and the actual size, before
    the download that replaces it (atomically: if that download fails, the file is left as it
    was).

    Args:
        cache_dir: directory to keep the file in; default ``default_cache_dir()``.

    Returns:
        str: the path of the weights file.

    Raises:
        DownloadError: the download failed (see ``download_file``).
    """
    cache_dir = os.fspath(cache_dir) if cache_dir is not None else default_cache_dir()
    path = os.path.join(cache_dir, COCO_MODEL_FILENAME)
    if os.path.isfile(path):
        size = os.path.getsize(path)
        if size == COCO_MODEL_SIZE:
            return path
        logger.warning("Rejected the cached %s for its size: %s, but %s (the released %s) are "
                       "expected, e.g. an interrupted download or another file; downloading it "
                       "again.", path, _fmt(size), _fmt(COCO_MODEL_SIZE), COCO_MODEL_FILENAME)
    download_trained_weights(path, verbose=1, url=COCO_MODEL_URL)
    return path


__all__ = ["COCO_MODEL_URL", "COCO_MODEL_SIZE", "DownloadError", "download_file",
           "download_trained_weights", "default_cache_dir", "get_coco_weights", "COCO_URL_BASE",
           "COCO_2014_SPLIT_URLS", "download_coco_dataset"]
