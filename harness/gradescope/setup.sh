#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image; the zip is
# unpacked in /autograder/source.  It installs Python from the distribution, then the
# harness's dependencies from the wheels shipped in the zip: nothing else is downloaded,
# and grading itself needs no network at all.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv

bash "$(dirname "${BASH_SOURCE[0]}")/setup_python.sh"
