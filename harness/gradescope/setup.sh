#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image; the zip is
# unpacked in /autograder/source.  It installs Python and bubblewrap (the sandbox every
# student program runs in; setpriv from util-linux drops it to the scenario's uid) from the
# distribution, then the harness's dependencies from the wheels shipped in the zip: nothing
# else is downloaded, and grading itself needs no network at all.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap util-linux

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$SOURCE/setup_python.sh"
# Student programs run as other users: they must not read the kit (run_autograder closes it
# again before every grading, in case the image was copied without these modes).
chmod -R go-rwx "$SOURCE"
