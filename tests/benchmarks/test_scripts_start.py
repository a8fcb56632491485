"""Every benchmark script starts: ``python -I benchmarks/X.py --help`` exits 0 (``-I``, as
benchmarks/export.py runs its SavedModel side: no script folder or PYTHONPATH on sys.path, so a
script must find its sibling modules such as bench_machine itself)."""

import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT

SCRIPTS = sorted(p for p in (REPO_ROOT / "benchmarks").glob("*.py"))


def test_the_benchmarks_are_found():
    assert {"bench_machine.py", "export.py", "compare_matterport.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_starts_isolated(script, tmp_path):
    r = subprocess.run([sys.executable, "-I", str(script), "--help"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
