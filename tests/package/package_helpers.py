"""Helpers for the Gradescope bundle, student edition and GitHub Classroom tests."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema

from harness.gradescope import SCHEMA_FILE
from harness.package import reference_lines
from harness.rubric import RubricEntry

KIT = Path(__file__).resolve().parents[2]
REFERENCE = KIT / "reference"
HOSTILE = Path(__file__).resolve().parent / "hostile"
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


def run_autograder(
    root: Path,
    submission: Path,
    nest: str = "",
    env: dict[str, str] | None = None,
    returncode: int = 0,
) -> tuple[dict[str, Any], str]:
    """Put ``submission`` in ``ROOT/submission`` (inside ``nest`` if given), run the bundle's
    ``run_autograder`` as Gradescope does (``AUTOGRADER_ROOT=ROOT``, from another folder);
    (results.json, stdout)."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
    shutil.copytree(submission, root / "submission" / nest)
    (root / "results").mkdir()
    done = subprocess.run(
        [str(root / "source" / "run_autograder")],
        env={**(env or os.environ), "AUTOGRADER_ROOT": str(root)},
        cwd=KIT,  # a harness/ in the current folder must not be what runs
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == returncode, f"run_autograder:\n{done.stdout}\n{done.stderr}"
    results_file = root / "results" / "results.json"
    assert results_file.is_file() and not results_file.is_symlink()
    results: dict[str, Any] = json.loads(results_file.read_text(encoding="utf-8"))
    jsonschema.validate(results, SCHEMA)
    return results, done.stdout


def without_bwrap(folder: Path) -> dict[str, str]:
    """An environment whose PATH has every program of this machine but bubblewrap."""
    folder.mkdir(parents=True, exist_ok=True)
    for directory in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            link = folder / name
            if name != "bwrap" and not link.exists() and not link.is_symlink():
                link.symlink_to(os.path.join(directory, name))
    return {**os.environ, "PATH": str(folder)}


def empty_submission(dest: Path) -> Path:
    """Programs that do nothing of the assignment: they exit at once."""
    dest.mkdir(parents=True)
    for name in ("server.py", "client.py"):
        (dest / name).write_text("import sys\nsys.exit(0)\n", encoding="utf-8")
    return dest


def hostile_submission(dest: Path, roots: list[str], cmdline: str, results: list[str]) -> Path:
    """``hostile/seek_kit.py`` as both programs, told where to look (``hostile.json``)."""
    dest.mkdir(parents=True)
    for name in ("server.py", "client.py"):
        shutil.copy(HOSTILE / "seek_kit.py", dest / name)
    config = {"roots": roots, "cmdline": cmdline, "results": results}
    (dest / "hostile.json").write_text(json.dumps(config), encoding="utf-8")
    return dest


def junk_submission(dest: Path, crash: bool = False) -> Path:
    """:func:`echo_to_sender` (or, with ``crash``, the reference client and a server that
    exits 1 at once), its server printing grade-like junk first (``junk_server.py``)."""
    if crash:
        crashing_server(dest)
    else:
        echo_to_sender(dest)
    (dest / "server.py").rename(dest / "real_server.py")
    shutil.copy(HOSTILE / "junk_server.py", dest / "server.py")
    return dest


def crashing_server(dest: Path) -> Path:
    """The reference client and a server that exits with code 1 at once."""
    dest.mkdir(parents=True)
    shutil.copy(REFERENCE / "client.py", dest / "client.py")
    (dest / "server.py").write_text("import sys\nsys.exit(1)\n", encoding="utf-8")
    return dest


def third_party_submission(dest: Path) -> Path:
    """The reference, its server importing a third-party package (rich) it never uses."""
    shutil.copytree(REFERENCE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    server = dest / "server.py"
    text = server.read_text(encoding="utf-8")
    assert "\nimport argparse\n" in text, "reference/server.py changed: update this helper"
    server.write_text(text.replace("\nimport argparse\n", "\nimport rich\nimport argparse\n", 1))
    return dest


def grade(submission: Path, out: Path, *args: str) -> dict[str, Any]:
    """``python -m harness grade SUBMISSION --json OUT ARGS`` from the kit: the report."""
    command = [sys.executable, "-m", "harness", "grade", str(submission), "--json", str(out)]
    subprocess.run(
        [*command, "--quiet", *args],
        cwd=KIT,
        check=True,
        timeout=600,
    )
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


def text_of(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (relative path -> text; binary files decoded loosely)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes().decode("utf-8", errors="replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


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


def leaks(files: dict[str, str], hidden: list[RubricEntry]) -> list[str]:
    """Where ``files`` name a hidden scenario or hold a line of the model answer."""
    answer = reference_lines()
    found = []
    for name, text in files.items():
        for entry in hidden:
            if entry.title in text or re.search(rf"\b{entry.id}\b", text):
                found.append(f"{name}: {entry.id}")
        found += [f"{name}: {line}" for line in text.splitlines() if line.strip() in answer]
    return found
