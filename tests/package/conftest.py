"""Fixtures for the platform bundles: one Gradescope zip built and set up per session.

The zip is built with the real command (``python -m harness package gradescope``, which
downloads the wheels from the package index), unpacked into a temporary ``autograder`` tree
that unprivileged sandbox uids can traverse, and set up with the bundle's own
``setup_python.sh`` under a pip that cannot reach any index (see ``OFFLINE_PIP``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from package_helpers import KIT, OFFLINE_PIP, package, unpack


@pytest.fixture(scope="session")
def bundle_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (KIT / "reference" / "server.py").is_file():
        pytest.skip("reference/server.py is not written yet")
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    done = package("gradescope", "--out", str(out))
    assert done.returncode == 0, f"package gradescope failed:\n{done.stdout}\n{done.stderr}"
    return out


@pytest.fixture(scope="session")
def wheelhouse(bundle_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheels of the session's bundle, to build more bundles without downloading."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    with zipfile.ZipFile(bundle_zip) as bundle:
        for name in bundle.namelist():
            if name.startswith("wheels/"):
                (folder / Path(name).name).write_bytes(bundle.read(name))
    return folder


@pytest.fixture(scope="session")
def autograder(bundle_zip: Path) -> Iterator[Path]:
    """``ROOT`` with ``ROOT/source`` = the unpacked zip after ``setup_python.sh``."""
    # Not under pytest's 0700 temp folder: sandbox uids must reach the submission copies.
    root = Path(tempfile.mkdtemp(prefix="autograder-"))
    root.chmod(0o755)
    try:
        unpack(bundle_zip, root / "source")
        done = subprocess.run(
            ["bash", str(root / "source" / "setup_python.sh")],
            env=OFFLINE_PIP,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"setup_python.sh failed:\n{done.stdout}\n{done.stderr}"
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def reference_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``python -m harness grade reference --json``: the score the bundle must reproduce."""
    if not (KIT / "reference" / "server.py").is_file():
        pytest.skip("reference/server.py is not written yet")
    out = tmp_path_factory.mktemp("grade") / "reference.json"
    subprocess.run(
        [sys.executable, "-m", "harness", "grade", "reference", "--json", str(out), "--quiet"],
        cwd=KIT,
        check=True,
    )
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report
