"""The README's Quick start: two commands, and CI runs them exactly as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import kit

ROOT = Path(__file__).resolve().parents[2]


def quick_start() -> list[str]:
    """The command lines of the Quick start's code block, without their comments."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the Quick start has no ```bash block"
    lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def ci_lines() -> list[str]:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    return [line.strip() for line in script.splitlines()]


def test_quick_start_is_two_commands_one_grading_the_reference_one_running_the_tests() -> None:
    grade, tests = quick_start()
    sessions = kit.nox_sessions()
    grade_words, test_words = shlex.split(grade), shlex.split(tests)
    assert grade_words[:2] == test_words[:2] == ["python3", "kit.py"]
    assert kit.command_for(grade_words[2:], sessions)[1:] == ["grade", str(ROOT / "reference")]
    assert test_words[2] in sessions and "harness" not in sessions[test_words[2]]
    assert "--break-system-packages" not in grade + tests


def test_ci_runs_the_quick_start_commands_exactly_as_the_readme_writes_them() -> None:
    grade, tests = quick_start()
    lines = ci_lines()
    assert tests in lines, f"`.ci/run` does not run the README's test command `{tests}`"
    assert grade in lines, f"`.ci/run` does not run the README's grade command `{grade}`"
    assert lines[-1] == tests, "the README's test command is the last thing CI runs"


def test_ci_installs_what_the_tests_need_on_a_clean_debian() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for package in ("chromium", "bubblewrap", "apt-get update"):
        assert package in script, package
    sessions = re.search(r"^python3 kit\.py nox -s (.+)$", script, re.M)
    assert sessions, "CI runs no nox sessions besides the tests"
    assert {"lint", "compat", "typecheck", "docs", "floor"} <= set(sessions.group(1).split())
