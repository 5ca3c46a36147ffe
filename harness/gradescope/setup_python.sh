#!/usr/bin/env bash
# The Python part of setup.sh, also run alone to try the bundle outside Gradescope:
#   PYTHON=python3.10 bash setup_python.sh
# Creates venv/ next to this script and installs requirements.txt from wheels/ only
# (--no-index: no network), then checks that the harness imports and reads the rubric, and
# says what containment this machine gives student programs.
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    echo "setup_python.sh: the harness needs Python 3.9+, $PYTHON is $("$PYTHON" -V 2>&1)" >&2
    exit 1
fi

"$PYTHON" -m venv "$SOURCE/venv"
"$SOURCE/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-index --find-links "$SOURCE/wheels" --requirement "$SOURCE/requirements.txt"

# Fail the build now rather than at the first submission.
PYTHONPATH="$SOURCE/kit" "$SOURCE/venv/bin/python" -m harness list \
    --rubric "$SOURCE/kit/lab/rubric.toml" >/dev/null
echo "setup_python.sh: harness ready in $SOURCE/venv ($("$SOURCE/venv/bin/python" -V))"
# What this machine allows (bubblewrap, uid, network): shown in the build log.
PYTHONPATH="$SOURCE/kit" "$SOURCE/venv/bin/python" -m harness.gradescope --check \
    --root "$(dirname "$SOURCE")" || true
