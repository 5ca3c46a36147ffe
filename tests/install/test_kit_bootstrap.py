"""`python3 kit.py`: the standard-library entry point that the Quick start and CI run.

The real bootstrap (a new `.venv/`, nox and the kit installed into it) is what `.ci/run`
does on every fresh clone with the README's two commands; these tests pin how a command
line is routed and when the environment is rebuilt.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kit
from harness.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def grader_verbs() -> set[str]:
    (action,) = [a for a in build_parser()._actions if a.dest == "command"]
    return set(action.choices)


def test_kit_py_reaches_every_session_ci_runs() -> None:
    sessions = kit.nox_sessions()
    assert {"tests", "lint", "typecheck", "compat", "docs", "floor"} <= set(sessions)


def test_sessions_tagged_harness_wrap_a_grader_verb_of_the_same_name() -> None:
    tagged = {name for name, tags in kit.nox_sessions().items() if "harness" in tags}
    assert "grade" in tagged
    assert tagged <= grader_verbs()


def test_a_grader_verb_runs_the_kit_venv_chat_harness_with_its_arguments() -> None:
    command = kit.command_for(["batch", "subs", "--jobs", "2"], kit.nox_sessions())
    assert command == [str(kit.VENV_BIN / "chat-harness"), "batch", "subs", "--jobs", "2"]


@pytest.mark.parametrize(
    ("argv", "graded"),
    [(["grade"], None), (["grade", "--part", "1"], None), (["grade", "my-chat"], "my-chat")],
)
def test_grade_without_a_folder_grades_the_reference(argv: list[str], graded: str | None) -> None:
    command = kit.command_for(argv, kit.nox_sessions())
    assert command[1:3] == ["grade", graded or str(ROOT / "reference")]


def test_grade_help_is_the_graders_help() -> None:
    assert kit.command_for(["grade", "--help"], kit.nox_sessions())[1:] == ["grade", "--help"]


@pytest.mark.parametrize("argv", [["tests", "-k", "framing"], ["tests", "--", "-k", "framing"]])
def test_words_after_a_session_name_go_to_the_session(argv: list[str]) -> None:
    command = kit.command_for(argv, kit.nox_sessions())
    assert command[:3] == ["-m", "nox", "-f"]
    assert command[-5:] == ["-s", "tests", "--", "-k", "framing"]


def test_the_environment_is_rebuilt_when_the_kit_requirements_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in kit.INPUTS:
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(kit, "ROOT", tmp_path)
    before = kit.wanted_state()
    assert kit.wanted_state() == before
    with (tmp_path / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write("\n# a new requirement\n")
    assert kit.wanted_state()["inputs"] != before["inputs"]
    assert kit.wanted_state()["version"] == ".".join(map(str, sys.version_info[:3]))


def test_kit_py_needs_only_the_standard_library() -> None:
    """`-S -I`: no site-packages, no user site, no environment: what a bare python3 has."""
    done = subprocess.run(
        [sys.executable, "-S", "-I", str(ROOT / "kit.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "grade" in done.stdout and "tests" in done.stdout
