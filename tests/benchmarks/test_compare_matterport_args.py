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


def test_table_puts_the_bf16_column_next_to_fp32(capsys):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import compare_matterport
    finally:
        sys.path.remove(str(SCRIPT.parent))
    one = {"import": 1.0, "build": 2.0, "load_weights": 1.0, "first_detect": 5.0,
           "import_to_result": 9.0, "steady_detect": 4.0, "peak_rss_gb": 1.6, "detections": 0}
    columns = [compare_matterport.column_name("mrcnn", p) for p in ("fp32", "mixed_bfloat16")]
    assert columns == ["mrcnn", "mrcnn mixed_bfloat16"]
    results = {("inference", "detect, DETECTION_MIN_CONFIDENCE = 0.7"): {
        "port": [dict(one, steady_detect=5.0)], "mrcnn": [one],
        "mrcnn mixed_bfloat16": [dict(one, steady_detect=2.0)]}}
    compare_matterport.print_table(results, 1, columns)
    lines = capsys.readouterr().out.splitlines()
    assert "| mrcnn mixed_bfloat16 (rounds 1..1) |" in lines[1]
    assert "ratio mrcnn mixed_bfloat16 / mrcnn fp32" in lines[1]
    steady = [line for line in lines if "steady detect()" in line][0].split("|")
    # fp32 4.00 s, bf16 2.00 s, Matterport 5.00 s; ratios 0.80, 0.40, bf16 / fp32 0.50
    assert [c.strip() for c in steady[2:9]] == ["4.00 s", "2.00 s", "5.00 s", "0.80", "0.40",
                                                  "0.50", "<= 0.75"]
