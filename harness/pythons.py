"""Find other Python interpreters on this machine (standard library only: nox imports it)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess


def find_python(version: str, needs: str | None = None) -> str | None:
    """Return a working ``pythonX.Y`` for ``version`` ("3.6"), or None.

    Looks on PATH and in pyenv's versions folder, because a pyenv shim can exist for a
    version that is installed but not active, and then fails when run.  With ``needs``
    (a module name, e.g. ``"pip"``) only an interpreter that can import it counts: Debian's
    ``/usr/bin/python3.11`` has no pip unless python3-pip is installed.
    """
    check = f"import {needs}" if needs else "pass"
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(
        glob.glob(os.path.join(root, "versions", f"{version}*", "bin", f"python{version}"))
    )
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run([candidate, "-c", check], capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):  # not runnable here: try the next one
            continue
        if probe.returncode == 0:
            return candidate
    return None
