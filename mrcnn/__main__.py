"""``python -m mrcnn``: see ``mrcnn.cli``."""

import sys

from mrcnn.cli import main

sys.exit(main(prog="python -m mrcnn"))
