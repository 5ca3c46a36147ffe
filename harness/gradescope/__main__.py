"""``python -m harness.gradescope [--root DIR]``: what the bundle's run_autograder runs."""

import sys

from harness.gradescope import main

sys.exit(main())
