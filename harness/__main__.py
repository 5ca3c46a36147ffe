"""``python -m harness``: the grading command line."""

import sys

from harness.cli import main

sys.exit(main())
