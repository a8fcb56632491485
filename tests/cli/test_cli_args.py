"""``python -m mrcnn detect``: argument parsing and errors (a real-model run is tested elsewhere)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mrcnn import cli
from mrcnn.coco_classes import COCO_CATEGORY_IDS, COCO_CLASS_NAMES
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
IMAGES = DATA / "matterport_demo_images" / "images"


def demo_images(n):
    return [str(p) for p in sorted(IMAGES.glob("*.jpg"))[:n]]


def test_parse_detect_arguments(tmp_path):
    images = demo_images(2)
    args = cli.parse_args(["detect", *images, "--weights", "coco", "--output", str(tmp_path)])
    assert (args.command, args.images, args.weights, args.output) == \
        ("detect", images, "coco", str(tmp_path))
    assert (args.config, args.min_confidence, args.batch_size) == ("coco", 0.7, 1)
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"")
    args = cli.parse_args(["detect", images[0], "--weights", str(weights), "--output",
                           str(tmp_path / "new"), "--min-confidence", "0.25",
                           "--batch-size", "4"])
    assert (args.min_confidence, args.batch_size) == (0.25, 4)
    config = cli.make_config(args.config, args.min_confidence, args.batch_size)
    assert (config.NAME, config.NUM_CLASSES, config.BATCH_SIZE,
            config.DETECTION_MIN_CONFIDENCE) == ("coco", 81, 4, 0.25)


@pytest.mark.parametrize("extra, message", [
    (["--min-confidence", "1.5"], "must be in [0, 1]"),
    (["--min-confidence", "high"], "expected a number"),
    (["--batch-size", "0"], "must be >= 1"),
    (["--config", "shapes"], "invalid choice"),
    (["--weights", "/nonexistent/weights.h5"], "weights file not found"),
])
def test_bad_arguments_exit_2_with_a_message(extra, message, tmp_path, capsys):
    argv = ["detect", demo_images(1)[0], "--weights", "coco", "--output", str(tmp_path)] + extra
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_output_must_be_a_directory_and_stems_unique(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(SystemExit):
        cli.main(["detect", demo_images(1)[0], "--weights", "coco", "--output", str(a_file)])
    assert "not a directory" in capsys.readouterr().err
    image = demo_images(1)[0]
    (tmp_path / "other").mkdir()
    copy = tmp_path / "other" / os.path.basename(image)
    copy.write_bytes(Path(image).read_bytes())
    with pytest.raises(SystemExit):
        cli.main(["detect", image, str(copy), "--weights", "coco", "--output", str(tmp_path)])
    assert "stem" in capsys.readouterr().err


def test_missing_image_file_fails_fast_from_the_command_line(tmp_path):
    """A missing image is reported before any model is built (no TensorFlow start-up)."""
    missing = tmp_path / "no_such_image.jpg"
    proc = subprocess.run(
        [sys.executable, "-m", "mrcnn", "detect", demo_images(1)[0], str(missing),
         "--weights", "coco", "--output", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "image file not found" in proc.stderr and str(missing) in proc.stderr
    assert not (tmp_path / "out").exists()
    assert "tensorflow" not in proc.stderr.lower()

    proc = subprocess.run([sys.executable, "-m", "mrcnn"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "COMMAND" in proc.stderr


def test_coco_class_tables_match_the_coco_annotations():
    import json
    raw = json.loads((DATA / "coco_tiny" / "annotations" / "instances_val2017.json").read_text())
    cats = sorted(raw["categories"], key=lambda c: c["id"])
    assert COCO_CLASS_NAMES == ["BG"] + [c["name"] for c in cats]
    assert COCO_CATEGORY_IDS == [0] + [c["id"] for c in cats]


def test_directory_and_empty_images_get_their_own_messages(tmp_path, capsys):
    folder = tmp_path / "photos.jpg"
    folder.mkdir()
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(SystemExit) as info:
        cli.main(["detect", str(folder), str(empty), "--weights", "coco", "--output",
                  str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"image {folder} is a directory, not a file" in err
    assert f"image {empty} is empty (0 bytes)" in err
    assert "not found" not in err and "imageio" not in err
    with pytest.raises(SystemExit) as info:
        cli.main(["detect", demo_images(1)[0], "--weights", str(tmp_path), "--output",
                  str(tmp_path / "out")])
    assert info.value.code == 2
    assert f"--weights {tmp_path} is a directory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def run_cli(code, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


CONSOLE_SCRIPT = "import sys; from mrcnn.cli import main; sys.argv[0] = 'mrcnn'; sys.exit(main())"


def test_console_script_usage_and_version():
    """setup.py's entry point ``mrcnn=mrcnn.cli:main`` names itself ``mrcnn``; ``python -m
    mrcnn`` names itself so; ``--version`` prints the package version."""
    import mrcnn
    proc = run_cli(CONSOLE_SCRIPT)
    assert proc.returncode == 2 and proc.stderr.startswith("usage: mrcnn [-h] [--version]")
    proc = run_cli(CONSOLE_SCRIPT, "detect")
    assert proc.returncode == 2 and "usage: mrcnn detect" in proc.stderr
    assert "mrcnn detect: error:" in proc.stderr
    proc = run_cli(CONSOLE_SCRIPT, "--version")
    assert proc.returncode == 0 and proc.stdout == f"mrcnn {mrcnn.__version__}\n"
    proc = subprocess.run([sys.executable, "-m", "mrcnn", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0 and proc.stdout == f"mrcnn {mrcnn.__version__}\n"
    proc = subprocess.run([sys.executable, "-m", "mrcnn"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 2 and proc.stderr.startswith("usage: python -m mrcnn [-h]")
    assert "entry_points={\"console_scripts\": [\"mrcnn=mrcnn.cli:main\"]}" in \
        (ROOT / "setup.py").read_text()


def test_setup_reads_the_package_version():
    import mrcnn
    proc = subprocess.run([sys.executable, "setup.py", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == mrcnn.__version__
    assert mrcnn.__version__ not in (ROOT / "setup.py").read_text()
