"""``python -m mrcnn export``: arguments and errors, checked before any model is built (exit
status 2) or before any output is written (exit status 1, one ``error:`` line). The successful
export through the command line is the fixture of tests/export/test_export.py."""

import subprocess
import sys
from pathlib import Path

import pytest

from mrcnn import cli
from tests.paths import DATA_DIR, REPO_ROOT

ROOT = REPO_ROOT
DATA = DATA_DIR
TRUNCATED = DATA / "weights" / "mask_rcnn_coco.first4MB.h5"

CONFIGS = '''
from mrcnn.config import Config

class Small(Config):
    NAME = "small"
    NUM_CLASSES = 4
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    DETECTION_MIN_CONFIDENCE = 0.5

class Crop(Small):
    IMAGE_RESIZE_MODE = "crop"

class BadMean(Small):
    MEAN_PIXEL = [1.0, 2.0]

NOT_A_CONFIG = 3
'''


@pytest.fixture()
def configs(tmp_path, monkeypatch):
    (tmp_path / "my_configs.py").write_text(CONFIGS)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop("my_configs", None)


def test_parse_export_arguments(configs):
    args = cli.parse_args(["export", "--weights", "coco", "--output", "out"])
    assert (args.command, args.weights, args.config, args.format, args.full_masks) == \
        ("export", "coco", "coco", "savedmodel", False)
    assert args.config_object.NUM_CLASSES == 81
    assert args.config_object.DETECTION_MIN_CONFIDENCE == 0.7
    args = cli.parse_args(["export", "--weights", "coco", "--config", "my_configs:Small",
                           "--output", "out", "--format", "tflite", "--full-masks",
                           "--min-confidence", "0.2"])
    config = args.config_object
    assert type(config).__mro__[1].__name__ == "Small"
    assert (config.NUM_CLASSES, config.BATCH_SIZE, config.DETECTION_MIN_CONFIDENCE) == \
        (4, 1, 0.2)
    assert (args.format, args.full_masks) == ("tflite", True)
    assert cli.export_target("out", "tflite") == str(Path("out") / "model.tflite")
    assert cli.export_target("out", "savedmodel") == "out"
    args = cli.parse_args(["export", "--weights", "coco", "--config", "my_configs:Small",
                           "--output", "out"])
    assert args.config_object.DETECTION_MIN_CONFIDENCE == 0.5  # the config's own value


@pytest.mark.parametrize("extra, message", [
    (["--config", "my_configs"], "give 'coco' or module:ClassName"),
    (["--config", "no_such_module:X"], "cannot import 'no_such_module'"),
    (["--config", "my_configs:Missing"], "has no attribute 'Missing'"),
    (["--config", "my_configs:NOT_A_CONFIG"], "non-Config attribute 'NOT_A_CONFIG'"),
    (["--config", "my_configs:Crop"], "IMAGE_RESIZE_MODE 'crop' cannot be exported"),
    (["--config", "my_configs:BadMean"], "MEAN_PIXEL"),
    (["--weights", "missing.h5"], "weights file not found: missing.h5"),
    (["--format", "pb"], "invalid choice"),
    (["--min-confidence", "2"], "must be in [0, 1]"),
])
def test_bad_export_arguments_exit_2_with_a_message(configs, extra, message, capsys):
    argv = ["export", "--weights", "coco", "--output", "out"] + extra
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err


def test_export_never_overwrites(configs, capsys):
    (configs / "busy").mkdir()
    (configs / "busy" / "saved_model.pb").write_bytes(b"x")
    (configs / "a_file").write_text("x")
    (configs / "tfl").mkdir()
    (configs / "tfl" / "model.tflite").write_bytes(b"x")
    for output, extra, message in (("busy", [], "exists and is not empty"),
                                   ("a_file", [], "exists and is not a directory"),
                                   ("tfl", ["--format", "tflite"], "model.tflite exists")):
        with pytest.raises(SystemExit) as info:
            cli.main(["export", "--weights", "coco", "--output", output] + extra)
        assert info.value.code == 2
        assert message in capsys.readouterr().err
    assert (configs / "busy" / "saved_model.pb").read_bytes() == b"x"


def test_weights_that_cannot_fit_fail_with_one_line_before_a_model_is_built(configs):
    """Status 1 and one error line: COCO weights for a 4-class config (no download tried), a
    truncated weights file (no model built); nothing is written."""
    for weights, config, message in (
            ("coco", "my_configs:Small", "--weights coco has 81 classes but --config "
                                         "my_configs:Small has NUM_CLASSES = 4"),
            (str(TRUNCATED), "coco", "refused")):
        proc = subprocess.run(
            [sys.executable, "-m", "mrcnn", "export", "--weights", weights, "--config", config,
             "--output", "out"], cwd=configs, capture_output=True, text=True, timeout=120,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "MRCNN_HOME": str(configs)})
        assert proc.returncode == 1, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and message in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr
        assert not (configs / "out").exists()


def test_onnx_without_the_extra_fails_with_the_pip_command(tmp_path, monkeypatch):
    """--format onnx where tf2onnx is not installed: ExportError (one line in the command)
    naming the package and the pip command, before any SavedModel is written."""
    from mrcnn import export as export_lib
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import tf2onnx raises ImportError
    with pytest.raises(export_lib.ExportError, match=r"tf2onnx is not installed.*mrcnn\[onnx\]"):
        export_lib.export(None, None, str(tmp_path / "out"), format="onnx")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
