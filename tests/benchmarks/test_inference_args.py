"""benchmarks/inference.py refuses bad --precision / --rounds values at once, before it builds
anything (a subprocess with a timeout), and its CPU line names the low-precision flags."""

import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "inference.py"


@pytest.mark.parametrize("option, message", [
    (["--precision", "fp32,int8"], "unknown 'int8'"),
    (["--precision", ","], "--precision needs a value"),
    (["--precision", "fp32,mixed_bfloat16", "--rounds", "0"], "--rounds and --runs must be >= 1"),
])
def test_bad_options_exit_2_naming_the_problem(tmp_path, option, message):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--weights", str(tmp_path / "w.h5")]
                          + option, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing built


def test_cpu_description_reads_proc_cpuinfo():
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        import inference
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))
    model, flags = inference.cpu_description()
    with open("/proc/cpuinfo") as f:
        text = f.read()
    assert model in text
    for flag in flags:
        assert f" {flag}" in text
