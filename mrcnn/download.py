"""Downloading the released COCO weights (Matterport ``utils.download_trained_weights``).

``download_file`` streams to a temporary file next to the target and renames it into place only
after the size checks pass, so an interrupted or truncated download never leaves a partial
``.h5`` file behind (a frequent cause of "Unable to open file" errors with the original).
"""

import logging
import os
import tempfile
import urllib.error
import urllib.request

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
           "download_trained_weights", "default_cache_dir", "get_coco_weights"]
