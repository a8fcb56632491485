"""Detection over many files (``mrcnn.batch_inference`` behind ``mrcnn detect``): folders, glob
patterns and list files; the tf.data read/mold pipeline with bad images among good ones;
batches of one molded shape; the results file and ``--resume`` after a kill; ``--shard I/N``."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mrcnn import batch_inference as bi
from mrcnn import cli
from mrcnn.config import Config

from tests.coco_layout import write_release_like_file
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
PHOTOS = sorted((DATA / "matterport_demo_images" / "images").glob("*.jpg"))


def photo_tree(root):
    """root/a.jpg, root/sub/b.JPG, root/sub/deeper/c.png (a real JPEG named .png: decoded by
    content), root/.hidden.jpg, root/notes.txt."""
    (root / "sub" / "deeper").mkdir(parents=True)
    shutil.copy(PHOTOS[0], root / "a.jpg")
    shutil.copy(PHOTOS[1], root / "sub" / "b.JPG")
    shutil.copy(PHOTOS[2], root / "sub" / "deeper" / "c.png")
    shutil.copy(PHOTOS[3], root / ".hidden.jpg")
    (root / "notes.txt").write_text("not an image\n")
    return root


def test_folders_globs_and_list_files(tmp_path):
    tree = photo_tree(tmp_path / "photos")
    a, b, c = (str(tree / "a.jpg"), str(tree / "sub" / "b.JPG"),
               str(tree / "sub" / "deeper" / "c.png"))
    # A folder: recursive, image extensions in any case, hidden names skipped, sorted.
    assert bi.expand_inputs([str(tree)]) == [a, b, c]
    # Globs: files as matched (any extension), "**" recursive, folders searched.
    assert bi.expand_inputs([str(tree / "**" / "*.JPG")]) == [b]
    assert bi.expand_inputs([str(tree / "*.txt")]) == [str(tree / "notes.txt")]
    assert bi.expand_inputs([str(tree / "su*")]) == [b, c]
    # Arguments in the order given, each file once (its first place).
    assert bi.expand_inputs([c, str(tree), a]) == [c, a, b]
    # A list file: relative to its folder, comments and blank lines ignored, sorted.
    listing = tree / "sub" / "list.txt"
    listing.write_text(f"# my images\n\ndeeper/c.png\n  {a}  \nb.JPG\n")
    assert bi.expand_inputs([], [str(listing)]) == [a, str(tree / "sub" / "b.JPG"),
                                                   str(tree / "sub" / "deeper" / "c.png")]
    # The command line: the expanded list, IMAGE arguments kept as given.
    args = cli.parse_args(["detect", str(tree), "--list", str(listing), "--weights", "coco",
                           "--output", str(tmp_path / "out"), "--jsonl"])
    assert args.images == [str(tree)] and args.image_paths == [a, b, c]
    assert args.results_path == str(tmp_path / "out" / "results.jsonl")


def test_bad_inputs_are_reported_together_before_anything_runs(tmp_path, capsys):
    empty_folder = tmp_path / "empty"
    (empty_folder / "sub").mkdir(parents=True)
    (empty_folder / "sub" / "readme.txt").write_text("x")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{PHOTOS[0]}\nmissing.jpg\n")
    with pytest.raises(bi.InputError) as info:
        bi.expand_inputs([str(empty_folder), str(tmp_path / "*.png")], [str(listing)])
    message = str(info.value)
    assert "\n" not in message
    assert f"image {empty_folder} is a directory, not a file, with no image files in it" in message
    assert f"no image file matches the pattern {tmp_path / '*.png'}" in message
    assert f"image file not found: {tmp_path / 'missing.jpg'} (line 2 of {listing})" in message
    with pytest.raises(bi.InputError, match="cannot read the list file"):
        bi.expand_inputs([], [str(tmp_path / "no_list.txt")])
    with pytest.raises(bi.InputError, match="no images given"):
        bi.expand_inputs([])
    for argv, expected in [
        ([str(empty_folder)], "with no image files in it"),
        ([], "no images given"),
        ([str(PHOTOS[0]), "--resume"], "--resume continues a results.jsonl: add --jsonl"),
        ([str(PHOTOS[0]), "--shard", "2/2"], "shard 2/2 is not one of N shards: need 0 <= I < N"),
        ([str(PHOTOS[0]), "--shard=-1/2"], "need 0 <= I < N"),
        ([str(PHOTOS[0]), "--shard", "1of2"], "expected I/N"),
        ([str(PHOTOS[0]), "--shard", "0/0"], "need 0 <= I < N (N >= 1)"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["detect", *argv, "--weights", "coco", "--output", str(tmp_path / "o")])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert expected in err and err.count("error:") == 1, err
    assert not (tmp_path / "o").exists()


def test_shards_are_disjoint_and_cover_the_list():
    paths = [str(p) for p in PHOTOS]
    for n in (1, 2, 3, 7, 40):
        shards = [bi.select_shard(paths, i, n) for i in range(n)]
        assert sorted(p for s in shards for p in s) == sorted(paths)
        assert sum(map(len, shards)) == len(paths)
    assert bi.select_shard(paths, 1, 3) == paths[1::3]
    assert bi.parse_shard("3/4") == (3, 4)
    with pytest.raises(ValueError, match="0 <= I < N"):
        bi.select_shard(paths, 3, 3)
    assert (bi.results_file_name(None), bi.results_file_name((0, 1)),
            bi.results_file_name((1, 4))) == ("results.jsonl", "results.jsonl",
                                             "results-1-of-4.jsonl")


class Pad64Config(Config):
    """No resizing, padded to multiples of 64: photos of different sizes mold to different
    shapes."""
    NAME = "pad64"
    NUM_CLASSES = 2
    GPU_COUNT = 1
    IMAGES_PER_GPU = 2
    IMAGE_RESIZE_MODE = "pad64"
    IMAGE_MIN_DIM = 64  # no photo is scaled up


def test_pipeline_reports_bad_images_in_place_and_batches_by_molded_shape(tmp_path):
    from mrcnn.image import read_image
    from mrcnn.transform import mold_one
    text = tmp_path / "notes.jpg"
    text.write_text("hello, these are notes\n")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(PHOTOS[1].read_bytes()[:3000])
    paths = [str(PHOTOS[0]), str(text), str(PHOTOS[4]), str(truncated), str(PHOTOS[5]),
             str(PHOTOS[6])]
    config = Pad64Config()
    items = list(bi.load_molded(paths, config, num_parallel_calls=3))
    assert [item.index for item in items] == list(range(len(paths)))
    assert [item.path for item in items] == paths
    assert items[1].error.startswith("it is not an image file: it starts with b'hello, these'")
    assert items[3].error.startswith("it is a JPEG file that cannot be decoded")
    for i in (0, 2, 4, 5):
        image = read_image(paths[i])
        molded, meta, window = mold_one(image, config)
        assert items[i].error is None and items[i].shape == image.shape
        np.testing.assert_array_equal(items[i].image, image)
        np.testing.assert_array_equal(items[i].molded, molded)
        np.testing.assert_array_equal(items[i].meta, meta)
        np.testing.assert_array_equal(items[i].window, window)
    # Batches: errors at once, full batches of one shape, then the partial ones.
    shapes = [None if item.error else item.molded.shape for item in items]
    batches = list(bi.shape_batches(items, 2))
    assert sorted(i.index for b in batches for i in b) == list(range(len(paths)))
    for batch in batches:
        assert len(batch) <= 2
        assert len({shapes[i.index] for i in batch}) == 1
    assert [b[0].index for b in batches if b[0].error] == [1, 3]
    assert len(set(s for s in shapes if s)) >= 2, shapes  # the test needs two molded shapes
    with pytest.raises(ValueError, match="IMAGE_CHANNEL_COUNT"):
        next(bi.load_molded(paths, type("Gray", (Pad64Config,), {
            "IMAGE_CHANNEL_COUNT": 1, "MEAN_PIXEL": np.array([120.0])})()))


def test_results_file_resumes_after_a_cut_line_and_refuses_damage(tmp_path):
    path = tmp_path / "results.jsonl"
    with bi.ResultsFile(str(path)) as results:
        assert results.done == set()
        results.append({"image": "a.jpg", "rois": []})
        results.append({"image": "b.jpg", "error": "it is not an image file"})
    with pytest.raises(FileExistsError, match="add --resume"):
        bi.ResultsFile(str(path))
    complete = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b'{"image": "c.jpg", "rois": [[1, 2')  # what a kill during a write leaves
    with bi.ResultsFile(str(path), resume=True) as results:
        assert results.done == {"a.jpg", "b.jpg"} and results.cut_bytes == 33
        assert path.read_bytes() == complete
        # A second writer of the same file is refused while this one holds it.
        with pytest.raises(BlockingIOError, match="being written by another run"):
            bi.ResultsFile(str(path), resume=True)
        results.append({"image": "c.jpg", "rois": []})
    assert [json.loads(line)["image"] for line in path.read_text().splitlines()] == \
        ["a.jpg", "b.jpg", "c.jpg"]
    path.write_bytes(complete + b"garbage\n" + complete)
    with pytest.raises(ValueError, match="line 3 of .* is not a results line"):
        bi.ResultsFile(str(path), resume=True)


# ----------------------------------------------------------------- end to end, COCO model

def read_lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def assert_same_detections(a, b):
    assert a["image"] == b["image"] and a.get("error") == b.get("error")
    if "error" in a:
        return
    assert (a["height"], a["width"]) == (b["height"], b["width"])
    assert a["class_ids"] == b["class_ids"] and a["class_names"] == b["class_names"]
    np.testing.assert_allclose(a["scores"], b["scores"], atol=1e-4)
    np.testing.assert_allclose(np.reshape(a["rois"], (-1, 4)), np.reshape(b["rois"], (-1, 4)),
                               atol=1)


def small_config(name, min_confidence, batch_size, make_config=cli.make_config):
    """The command line's COCO config (81 classes, ResNet101: the release layout loads) on
    256 x 256 images with fewer RoIs, to keep the test fast."""
    base = type(make_config(name, min_confidence, batch_size))
    return type("Small" + base.__name__, (base,), {
        "IMAGE_MIN_DIM": 256, "IMAGE_MAX_DIM": 256, "POST_NMS_ROIS_INFERENCE": 100,
        "DETECTION_MAX_INSTANCES": 20})()


# ``mrcnn detect`` with ``small_config``; "--pause-after-first-line" makes the run wait after
# its first results line (a long run, so that the kill surely comes part way).
SMALL_DETECT = r"""
import sys, time
sys.path.insert(0, ".")
from tests.cli import test_batch_inference
from mrcnn import batch_inference, cli
cli.make_config = test_batch_inference.small_config
argv = sys.argv[1:]
if "--pause-after-first-line" in argv:
    argv.remove("--pause-after-first-line")
    append = batch_inference.ResultsFile.append
    def append_then_pause(self, record):
        append(self, record)
        time.sleep(300)
    batch_inference.ResultsFile.append = append_then_pause
sys.exit(cli.main(argv))
"""


@pytest.fixture(scope="module")
def folder_and_weights(tmp_path_factory):
    """A folder of 4 real photos (one in a subfolder) and a corrupt one, and a weights file in
    the released COCO layout."""
    root = tmp_path_factory.mktemp("batch")
    folder = root / "photos"
    (folder / "more").mkdir(parents=True)
    for photo in PHOTOS[:3]:
        shutil.copy(photo, folder / photo.name)
    shutil.copy(PHOTOS[3], folder / "more" / PHOTOS[3].name)
    (folder / "broken.jpg").write_bytes(PHOTOS[4].read_bytes()[:2500])
    weights = root / "w.h5"
    write_release_like_file(weights)
    return folder, weights


def test_shards_cover_a_folder_once_and_resume_after_a_kill_redoes_nothing(
        folder_and_weights, tmp_path, capsys, monkeypatch):
    folder, weights = folder_and_weights
    monkeypatch.setattr(cli, "make_config", small_config)
    images = bi.expand_inputs([str(folder)])
    assert len(images) == 5
    common = ["--weights", str(weights), "--min-confidence", "0", "--jsonl"]

    # Two shards into one folder: disjoint, together every image once; the corrupt image is a
    # line with its error (and status 1 for its shard), the good ones have detections.
    out = tmp_path / "shards"
    statuses = [cli.main(["detect", str(folder), "--output", str(out), "--shard", f"{i}/2",
                          "--overlays", *common]) for i in range(2)]
    err = capsys.readouterr().err
    broken = str(folder / "broken.jpg")
    assert err.count("error:") == 1 and f"error: cannot read image {broken}: it is a JPEG " \
        "file that cannot be decoded" in err
    shards = [read_lines(out / f"results-{i}-of-2.jsonl") for i in range(2)]
    assert [r["image"] for r in shards[0]] == images[0::2]
    assert [r["image"] for r in shards[1]] == images[1::2]
    assert statuses == [int(broken in images[0::2]), int(broken in images[1::2])]
    reference = {r["image"]: r for shard in shards for r in shard}
    assert sorted(reference) == sorted(images)
    assert reference[broken]["error"].startswith("it is a JPEG file that cannot be decoded")
    for path in set(images) - {broken}:
        r = reference[path]
        assert r["class_ids"] and len(r["rois"]) == len(r["scores"]) == len(r["masks"])
        assert all(m["size"] == [r["height"], r["width"]] for m in r["masks"])
        assert (out / (Path(path).stem + ".png")).is_file()
    assert not (out / (Path(broken).stem + ".png")).exists()

    # Killed after its first results line, then resumed: every image once, nothing redone.
    out = tmp_path / "killed"
    results = out / "results.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", SMALL_DETECT, "detect", str(folder), "--output", str(out),
         *common, "--pause-after-first-line"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while not (results.is_file() and results.read_bytes().count(b"\n") >= 1):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "no results line within 600 s"
            time.sleep(0.05)
        proc.kill()
    finally:
        proc.kill()
        proc.wait(timeout=60)
        proc.stderr.close()
    before = results.read_bytes()
    done = before.count(b"\n")
    assert done == 1, before
    # A kill while a line is being written leaves a partial line: simulate it for the next
    # image (the line cut part way, no newline).
    partial = json.dumps(reference[images[done]]).encode()[:120]
    results.write_bytes(before[:before.rindex(b"\n") + 1] + partial)
    kept = results.read_bytes()[:-len(partial)]
    done = kept.count(b"\n")

    status = cli.main(["detect", str(folder), "--output", str(out), "--resume", *common])
    captured = capsys.readouterr()
    assert status == (1 if broken in images[done:] else 0)
    assert f"Resuming {results}: {done} of 5 images done, {5 - done} to go; cut off an " \
           f"incomplete last line ({len(partial)} bytes)" in captured.out
    new = sum(1 for _ in images[done:] if _ != broken)
    assert f"Wrote results for {new} of 5 images to {results}" in captured.out
    after = results.read_bytes()
    assert after.startswith(kept)  # the lines written before the kill are untouched
    lines = read_lines(results)
    assert [r["image"] for r in lines] == images  # each image once, in order
    for r in lines:
        assert_same_detections(r, reference[r["image"]])
    # Resuming a finished file does nothing.
    assert cli.main(["detect", str(folder), "--output", str(out), "--resume", *common]) == 0
    assert "5 of 5 images done, 0 to go" in capsys.readouterr().out
    assert results.read_bytes() == after
    # Without --resume an existing results file is refused before anything runs.
    with pytest.raises(SystemExit) as info:
        cli.main(["detect", str(folder), "--output", str(out), *common])
    assert info.value.code == 2 and "already holds results; add --resume" in \
        capsys.readouterr().err
