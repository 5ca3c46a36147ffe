"""A non-editable install is a working grader: `pip install .` into a fresh venv, no checkout.

The wheel is built from a copy of the kit (as `pip install .` and `pipx install .` build
it), installed into a new virtual environment, and run from a folder that has nothing of
the kit in it: `chat-harness list` shows the kit's rubric, and `chat-harness grade` on a
folder elsewhere gives the same scorecard as the checkout's own grader.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

# Building the wheel and installing its dependencies can take minutes on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
# What a build would never want from a working tree: caches, venvs, earlier builds.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".nox", ".venv", "build", "dist", "_build", "*.egg-info", "__pycache__",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", "reports", "out",
)  # fmt: skip
KIT_FILES = ["lab/protocol.json", "lab/rubric.toml", "exercises/*.py", "reference/*.py"]
STEP_TIMEOUT = 600


def run(argv: list[Any], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
        **kwargs,
    )
    assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stdout[-4000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit's wheel, built from a copy of the checkout."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "chat-lab-kit"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
    run([*pip_wheel, "-w", base / "dist", source], base)
    (built,) = (base / "dist").glob("chat_lab_kit-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel (and its dependencies) installed; its bin/ folder."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", venv], venv)
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], venv)
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder with nothing of the kit in it."""
    folder = tmp_path / "somewhere" / "else"
    folder.mkdir(parents=True)
    return folder


def scorecard(report: Path) -> list[tuple[str, str, float]]:
    data = json.loads(report.read_text(encoding="utf-8"))
    return [(r["id"], r["status"], r["points"]) for r in data["results"]]


def test_the_wheel_carries_the_kit_files_the_grader_reads(wheel: Path) -> None:
    expected = {
        path.relative_to(ROOT).as_posix(): path.read_bytes()
        for pattern in KIT_FILES
        for path in sorted(ROOT.glob(pattern))
    }
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name[len("harness/_kit/") :]: archive.read(name)
            for name in archive.namelist()
            if name.startswith("harness/_kit/")
        }
    assert packaged == expected


def test_the_checkout_keeps_one_copy_of_each_kit_file() -> None:
    assert not (ROOT / "harness" / "_kit").exists(), "harness/_kit is made by the build only"


def test_installed_grader_reads_its_packaged_files_not_a_checkout(
    installed: Path, elsewhere: Path
) -> None:
    probe = "import harness.kit as k; print(k.in_checkout()); print(k.RUBRIC_FILE)"
    out = run([installed / "python", "-c", probe], elsewhere).stdout.split()
    assert out[0] == "False"
    assert Path(out[1]).is_relative_to(installed.parent), out[1]
    assert Path(out[1]).is_file()


def test_installed_chat_harness_lists_the_kit_rubric_from_any_folder(
    installed: Path, elsewhere: Path
) -> None:
    listing = run([installed / "chat-harness", "list"], elsewhere).stdout
    with (ROOT / "lab" / "rubric.toml").open("rb") as f:
        ids = [entry["id"] for entry in tomllib.load(f)["scenario"]]
    missing = [i for i in ids if i not in listing]
    assert not missing, f"`chat-harness list` does not show {missing}:\n{listing}"


def test_installed_chat_harness_grades_a_folder_elsewhere_as_the_checkout_does(
    installed: Path, elsewhere: Path
) -> None:
    submission = elsewhere / "some" / "other" / "folder"
    submission.mkdir(parents=True)
    for program in ("server.py", "client.py"):
        shutil.copy(ROOT / "reference" / program, submission / program)
    from_wheel, from_checkout = elsewhere / "wheel.json", elsewhere / "checkout.json"
    shown = run(
        [installed / "chat-harness", "grade", "some/other/folder", "--json", from_wheel],
        elsewhere,
    ).stdout
    run([sys.executable, "-m", "harness", "grade", submission, "--json", from_checkout], ROOT)
    card = scorecard(from_wheel)
    assert card == scorecard(from_checkout)
    assert all(status == "passed" for _, status, _ in card), card
    data = json.loads(from_wheel.read_text(encoding="utf-8"))
    assert data["score"] == data["max_score"] == 100, shown
