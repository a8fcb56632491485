"""mrcnn.download against a local HTTP server on 127.0.0.1 (no network needed)."""

import os
import zipfile

import numpy as np
import pytest

import mrcnn.download as download
from mrcnn.download import (DownloadError, default_cache_dir, download_file,
                            download_trained_weights, get_coco_weights)
from tests.local_http import FileHandler, serve
from tests.paths import DATA_DIR


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    with serve(root) as base:
        yield base, root


def _payload(root, name, size, seed=0):
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    (root / name).write_bytes(data)
    return data


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if ".part" in p.name)


def test_download_success_streams_and_renames(server, tmp_path, capsys):
    base, root = server
    data = _payload(root, "weights.h5", 3 * 1024 * 1024 + 17)  # several chunks
    dest = tmp_path / "out" / "weights.h5"  # directory created on demand
    result = download_file(f"{base}/weights.h5", dest, expected_size=len(data), progress=True,
                           desc="test")
    assert result == str(dest)
    assert dest.read_bytes() == data
    assert _leftovers(dest.parent) == []


def test_http_404_leaves_nothing(server, tmp_path):
    base, _ = server
    dest = tmp_path / "missing.h5"
    with pytest.raises(DownloadError) as info:
        download_file(f"{base}/missing.h5", dest, progress=False)
    message = str(info.value)
    assert f"{base}/missing.h5" in message and "404" in message and str(dest) in message
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_truncated_response_leaves_nothing(server, tmp_path):
    base, _ = server
    dest = tmp_path / "partial.h5"
    with pytest.raises(DownloadError) as info:
        download_file(f"{base}/truncated/200000", dest, progress=False)
    message = str(info.value)
    assert f"{base}/truncated/200000" in message and "200,000" in message
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_wrong_size_leaves_nothing(server, tmp_path):
    base, root = server
    data = _payload(root, "small.bin", 5000)
    dest = tmp_path / "small.bin"
    with pytest.raises(DownloadError) as info:
        download_file(f"{base}/small.bin", dest, expected_size=len(data) + 1, progress=False)
    message = str(info.value)
    assert "5,000" in message and "5,001" in message
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_failure_keeps_an_existing_file_untouched(server, tmp_path):
    base, _ = server
    dest = tmp_path / "keep.h5"
    dest.write_bytes(b"old")
    with pytest.raises(DownloadError):
        download_file(f"{base}/nothing-here", dest, progress=False)
    assert dest.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_keyboard_interrupt_cleans_up(server, tmp_path, monkeypatch):
    base, root = server
    _payload(root, "big.bin", 3 * 1024 * 1024)
    dest = tmp_path / "big.bin"
    real_urlopen = download.urllib.request.urlopen

    def interrupted_urlopen(*args, **kwargs):
        response = real_urlopen(*args, **kwargs)
        real_read = response.read
        calls = []

        def read(n=-1):
            calls.append(n)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return real_read(n)
        response.read = read
        return response

    monkeypatch.setattr(download.urllib.request, "urlopen", interrupted_urlopen)
    with pytest.raises(KeyboardInterrupt):
        download_file(f"{base}/big.bin", dest, progress=False)
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_download_coco_dataset_defaults_split_urls_and_bad_archives(server, tmp_path,
                                                                    monkeypatch):
    # Real coco_tiny files zipped as the official archives; the defaults are read at call time.
    base, root = server
    coco_tiny = DATA_DIR / "coco_tiny"
    names = sorted(os.listdir(coco_tiny / "val2017"))[:2]
    ann_json = (coco_tiny / "annotations" / "instances_val2017.json").read_bytes()
    (root / "zips").mkdir()
    (root / "annotations").mkdir()
    with zipfile.ZipFile(root / "zips" / "val2017.zip", "w") as z:
        for name in names:
            z.write(coco_tiny / "val2017" / name, f"val2017/{name}")
    with zipfile.ZipFile(root / "annotations" / "annotations_trainval2017.zip", "w") as z:
        z.writestr("annotations/instances_val2017.json", ann_json)
    monkeypatch.setattr(download, "COCO_URL_BASE", base)
    target = tmp_path / "coco"
    download.download_coco_dataset(str(target), "val", 2017)
    assert sorted(os.listdir(target / "val2017")) == names
    assert (target / "annotations" / "instances_val2017.json").read_bytes() == ann_json
    assert FileHandler.requests == ["/zips/val2017.zip",
                                    "/annotations/annotations_trainval2017.zip"]
    download.download_coco_dataset(str(target), "val", "2017")  # all present: no request
    assert len(FileHandler.requests) == 2

    # split_urls given explicitly: the 2014 minival JSON from there, val2014 images from base.
    with zipfile.ZipFile(root / "zips" / "val2014.zip", "w") as z:
        z.write(coco_tiny / "val2017" / names[0], f"val2014/{names[0]}")
    with zipfile.ZipFile(root / "minival.zip", "w") as z:
        z.writestr("instances_minival2014.json", ann_json)
    download.download_coco_dataset(str(target), "minival", "2014",
                                   split_urls={"minival": f"{base}/minival.zip"})
    assert (target / "annotations" / "instances_minival2014.json").read_bytes() == ann_json
    assert os.listdir(target / "val2014") == [names[0]]
    assert FileHandler.requests[2:] == ["/zips/val2014.zip", "/minival.zip"]

    # An archive without the expected folder: FileNotFoundError naming both, no temporary
    # extraction folder left behind.
    with zipfile.ZipFile(root / "zips" / "train2017.zip", "w") as z:
        z.write(coco_tiny / "val2017" / names[0], f"images/{names[0]}")
    with pytest.raises(FileNotFoundError, match=r"train2017\.zip .* did not contain .*train2017"):
        download.download_coco_dataset(str(target), "train", "2017")
    assert not [p for p in target.rglob(".unzip-*")]
    assert not [p for p in target.rglob("*.part")]


def test_download_trained_weights_checks_the_release_size(server, tmp_path, monkeypatch,
                                                          capsys):
    base, root = server
    data = _payload(root, "mask_rcnn_coco.h5", 4321)
    url = f"{base}/mask_rcnn_coco.h5"
    # Any other URL: no size expectation.
    dest = tmp_path / "a.h5"
    assert download_trained_weights(str(dest), verbose=1, url=url) == str(dest)
    assert dest.read_bytes() == data
    assert "Downloading pretrained model" in capsys.readouterr().out
    # The release URL must have the release size.
    monkeypatch.setattr(download, "COCO_MODEL_URL", url)
    monkeypatch.setattr(download, "COCO_MODEL_SIZE", len(data) + 10)
    dest = tmp_path / "b.h5"
    with pytest.raises(DownloadError, match="4,331"):
        download_trained_weights(str(dest), verbose=0, url=url)
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_get_coco_weights_downloads_once_and_repairs(server, tmp_path, monkeypatch):
    base, root = server
    data = _payload(root, "mask_rcnn_coco.h5", 10000, seed=3)
    monkeypatch.setattr(download, "COCO_MODEL_URL", f"{base}/mask_rcnn_coco.h5")
    monkeypatch.setattr(download, "COCO_MODEL_SIZE", len(data))
    cache = tmp_path / "cache"
    path = get_coco_weights(cache)
    assert path == os.path.join(str(cache), "mask_rcnn_coco.h5")
    assert open(path, "rb").read() == data and len(FileHandler.requests) == 1
    assert get_coco_weights(cache) == path and len(FileHandler.requests) == 1  # cached
    with open(path, "r+b") as f:  # a truncated cached copy is fetched again
        f.truncate(100)
    assert get_coco_weights(cache) == path and len(FileHandler.requests) == 2
    assert open(path, "rb").read() == data
    # Default cache directory comes from MRCNN_HOME.
    monkeypatch.setenv("MRCNN_HOME", str(tmp_path / "home"))
    assert get_coco_weights() == os.path.join(str(tmp_path / "home"), "mask_rcnn_coco.h5")


def test_cached_file_of_the_wrong_size_is_named_as_rejected_before_the_download(
        server, tmp_path, monkeypatch):
    import logging
    base, root = server
    data = _payload(root, "mask_rcnn_coco.h5", 10000, seed=4)
    monkeypatch.setattr(download, "COCO_MODEL_URL", f"{base}/mask_rcnn_coco.h5")
    monkeypatch.setattr(download, "COCO_MODEL_SIZE", len(data))
    cached = tmp_path / "cache" / "mask_rcnn_coco.h5"
    cached.parent.mkdir()
    cached.write_bytes(b"x" * 1234)
    seen = []  # (message, requests the server had received when it was logged)

    class Probe(logging.Handler):
        def emit(self, record):
            seen.append((record.getMessage(), record.levelno, len(FileHandler.requests)))

    probe = Probe()
    logging.getLogger("mrcnn").addHandler(probe)
    try:
        assert get_coco_weights(cached.parent) == str(cached)
    finally:
        logging.getLogger("mrcnn").removeHandler(probe)
    assert cached.read_bytes() == data and len(FileHandler.requests) == 1
    (message, level, requests_then), = seen
    assert level == logging.WARNING and requests_then == 0
    assert f"Rejected the cached {cached} for its size" in message
    assert "1,234 bytes" in message and "10,000 bytes" in message

    # A failed download leaves the rejected file as it was and says why.
    cached.write_bytes(b"x" * 1234)
    monkeypatch.setattr(download, "COCO_MODEL_URL", f"{base}/gone/mask_rcnn_coco.h5")
    with pytest.raises(DownloadError, match="404"):
        get_coco_weights(cached.parent)
    assert cached.read_bytes() == b"x" * 1234


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MRCNN_HOME", str(tmp_path / "mine"))
    assert default_cache_dir() == str(tmp_path / "mine")
    monkeypatch.delenv("MRCNN_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == os.path.join(str(tmp_path), ".cache", "mrcnn")


def test_release_constants():
    assert download.COCO_MODEL_URL == ("https://github.com/matterport/Mask_RCNN/releases/"
                                       "download/v2.0/mask_rcnn_coco.h5")
    assert download.COCO_MODEL_SIZE == 257557808
