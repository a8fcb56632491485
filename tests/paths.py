"""The one place that knows where the tests' files are.

Every test module imports its paths from here (``from tests.paths import DATA_DIR, REPO_ROOT``)
instead of counting ``Path(__file__).parents``, so a test file can move between the folders of
tests/ without its paths changing. Plain module (no pytest import): subprocess helpers may use it
too, with the repository root on ``PYTHONPATH``.

- ``REPO_ROOT``: the repository root (the folder holding ``mrcnn/``, ``samples/``, ``setup.py``);
  subprocess tests run with ``cwd=REPO_ROOT`` and ``PYTHONPATH=REPO_ROOT``.
- ``DATA_DIR``: the real data, ``<REPO_ROOT>/../shared/data`` (see its README.md); never copied
  into the repository.
- ``TESTS_DIR``: this folder; ``FIXTURES_DIR``: ``tests/fixtures`` (the imgaug reference).
"""

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
DATA_DIR = REPO_ROOT.parent / "shared" / "data"
FIXTURES_DIR = TESTS_DIR / "fixtures"
