"""benchmarks/compare_matterport.py refuses bad options at once, before it builds anything
(no port environment, no weight file, no model: a subprocess with a timeout)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "compare_matterport.py"


@pytest.mark.parametrize("option, message", [
    (["--only", "export"], "--only takes inference and/or training"),
    (["--steps", "3"], "--steps must be >= 4"),
    (["--confidences", "high"], "--confidences takes numbers"),
    (["--precision", "int8"], "unknown 'int8'"),
])
def test_bad_options_exit_2_naming_the_problem(tmp_path, option, message):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--cache-dir", str(tmp_path)] + option,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing built


def test_a_missing_port_python_is_named(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--cache-dir", str(tmp_path),
                           "--port-python", str(tmp_path / "nope" / "python")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr
    assert not any(tmp_path.iterdir())
