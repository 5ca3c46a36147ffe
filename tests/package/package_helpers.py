"""Helpers for the Gradescope bundle and GitHub Classroom tests."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema

from harness.gradescope import SCHEMA_FILE

KIT = Path(__file__).resolve().parents[2]
REFERENCE = KIT / "reference"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
WORKFLOW = KIT / "lab" / "github-classroom" / "classroom.yml"
# pip with no configuration (no local find-links) and no way out to an index: whatever
# setup installs must come from the bundle's wheels.
OFFLINE_PIP = {
    **os.environ,
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_NO_INDEX": "1",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
}
# The one-line bug a student makes most often: the sender gets its own message back.
ECHO_LINE = "            if receiver is not sender:"


def package(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m harness package ARGS`` from the kit, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "harness", "package", *args],
        cwd=KIT,
        capture_output=True,
        text=True,
        check=False,
    )


def unpack(bundle: Path, dest: Path) -> None:
    """Unzip keeping the permission bits (``zipfile`` alone drops the executable bit)."""
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, dest))
            mode = info.external_attr >> 16 & 0o777
            if mode and not info.is_dir():
                path.chmod(mode)
    dest.chmod(0o755)


def run_autograder(root: Path, submission: Path, nest: str = "") -> tuple[dict[str, Any], str]:
    """Put ``submission`` in ``ROOT/submission`` (inside ``nest`` if given), run the bundle's
    ``run_autograder`` with ``AUTOGRADER_ROOT=ROOT``; (results.json, stdout)."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
    shutil.copytree(submission, root / "submission" / nest)
    done = subprocess.run(
        [str(root / "source" / "run_autograder")],
        env={**os.environ, "AUTOGRADER_ROOT": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"run_autograder failed:\n{done.stdout}\n{done.stderr}"
    results: dict[str, Any] = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results, done.stdout


def echo_to_sender(dest: Path) -> Path:
    """The reference with the sender's own messages echoed back to it."""
    shutil.copytree(REFERENCE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    server = dest / "server.py"
    text = server.read_text(encoding="utf-8")
    assert text.count(ECHO_LINE) == 1, "reference/server.py changed: update ECHO_LINE"
    server.write_text(text.replace(ECHO_LINE, "            if True:"), encoding="utf-8")
    return dest


def python(version: str) -> str | None:
    """A working ``pythonX.Y`` (on PATH, or a pyenv version not selected globally)."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(str(pyenv / "versions" / f"{version}.*" / "bin" / "python3")))
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


def workflow_run_commands() -> dict[str, str]:
    """``{step id or name: run command}`` of the workflow's one-line ``run:`` steps.

    A deliberately small reader for the template's own shape (block sequence of steps,
    ``run:`` on one line), so the test needs no YAML library.
    """
    commands: dict[str, str] = {}
    step: dict[str, str] = {}
    for line in WORKFLOW.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("- "):
            step = {}
            stripped = stripped[2:]
        key, _, value = stripped.partition(":")
        if key in ("name", "id"):
            step[key] = value.strip()
        elif key == "run":
            commands[step.get("id") or step.get("name", "?")] = value.strip()
    return commands


def not_passed(report: dict[str, Any]) -> str:
    """The scenarios of a ``grade --json`` report that lost points, for assertion messages."""
    lost = [
        f"{r['id']}: {r['status']} {r['reason'] or r['expected']}"
        for r in report["results"]
        if r["points"] < r["max_points"]
    ]
    return "grade lost points in: " + ("; ".join(lost) or "none")
