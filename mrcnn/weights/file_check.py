"""Weight file checks before h5py opens a file, and the error they raise.

:func:`check_weight_file` reads the HDF5 superblock itself, so that a file that is not HDF5 (a
``.keras`` ZIP, an HTML page from a failed download, a Git LFS pointer, ...) or one cut short by
an interrupted download gets a message that says so and what to do, instead of h5py's own
("truncated file: eof = ..., stored_eof = ..."). :class:`WeightFileError` (an ``OSError``) is the
error of every unreadable, truncated or foreign weight file in :mod:`mrcnn.weights`.

Matterport's ``load_weights`` opened the file with h5py directly, without such a check.
"""

from __future__ import annotations

import os

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_UNDEFINED_ADDRESS = None  # sentinel for an all-ones HDF5 address
_DOWNLOAD_HINT = (
    "Delete it and download it again; for Matterport's COCO weights use "
    "mrcnn.utils.download_trained_weights(path)."
)


class WeightFileError(OSError):
    """A weight file that cannot be used: not HDF5, truncated, damaged, or in a foreign layout."""


def _short_list(names, limit=5) -> str:
    """``"a, b, c"``; more than ``limit`` names end in ``", ... (N more)"`` (for messages)."""
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... ({len(names) - limit} more)"


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
