"""The GitHub Classroom template (built from the student edition) and its workflow: the
command it runs, run here, and what it reports."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from package_helpers import (
    KIT,
    REFERENCE,
    WORKFLOW,
    crashing_server,
    junk_submission,
    leaks,
    not_passed,
    package,
    text_of,
    workflow_run_commands,
)

from harness.classroom import markdown_summary, reporter_result
from harness.rubric import load_rubric
from harness.verdict import FAILED, PASSED, SKIPPED, GradeReport, ScenarioResult

RUBRIC = load_rubric()
HIDDEN = [e for e in RUBRIC if e.hidden]

GRADE_STEP = "chatlab"


def result(id: str, status: str, points: float) -> ScenarioResult:
    return ScenarioResult(
        id=id,
        title=f"Сценарий {id} | с чертой",
        description="что проверяется",
        points=points if status == PASSED else 0.0,
        max_points=points,
        part=2,
        target="server",
        hidden=False,
        status=status,
        reason="нет server.py" if status == SKIPPED else "",
        expected="сообщение" if status == FAILED else "",
    )


def test_reporter_result_gives_classroom_the_harness_points() -> None:
    report = GradeReport(
        submission="s",
        results=[result("a", PASSED, 6), result("b", FAILED, 4), result("c", SKIPPED, 2)],
        duration=1.0,
        started_at="now",
    )
    data = reporter_result(report)
    assert data["max_score"] == 12
    assert sum(t["score"] for t in data["tests"]) == 6
    assert [t["status"] for t in data["tests"]] == ["pass", "fail", "fail"]
    assert data["status"] == "fail"
    assert "сообщение" in data["tests"][1]["message"]
    assert "нет server.py" in data["tests"][2]["message"]
    summary = markdown_summary(report)
    assert summary.startswith("## Чат: 6 из 12")
    assert "Сценарий a \\| с чертой" in summary


def test_workflow_wires_the_grade_step_to_the_classroom_reporter() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    commands = workflow_run_commands()
    assert commands[GRADE_STEP] == "bash .chatlab/grade.sh . chat-lab-report"
    assert f'CHATLAB_RESULTS: "${{{{ steps.{GRADE_STEP}.outputs.result }}}}"' in text
    assert f"runners: {GRADE_STEP}" in text
    # The reporter looks the check run up by this job name, and needs to write to it.
    assert "\n  run-autograding-tests:\n" in text
    assert "checks: write" in text
    # One checkout: the student's repository, with the student edition inside it.
    assert text.count("uses: actions/checkout@") == 1
    assert "repository:" not in text and "KIT_REPOSITORY" not in text


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("classroom") / "template"
    done = package("classroom", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_template_is_built_from_the_student_edition(template: Path) -> None:
    for name in ("server.py", "client.py"):
        assert (template / name).read_bytes() == (KIT / "exercises" / name).read_bytes()
    assert (template / ".github/workflows/classroom.yml").read_bytes() == WORKFLOW.read_bytes()
    for name in ("check.py", "grade.sh", "lab/README.md", "lab/rubric.toml", "harness/cli.py"):
        assert (template / ".chatlab" / name).is_file(), name
    assert (template / ".chatlab/grade.sh").stat().st_mode & 0o111
    assert "python3 .chatlab/check.py" in (template / "README.md").read_text(encoding="utf-8")
    names = [p.relative_to(template).as_posix() for p in template.rglob("*") if p.is_file()]
    assert not [n for n in names if "reference" in n or "/tests/" in f"/{n}"]
    assert not leaks(text_of(template), HIDDEN)
    visible = load_rubric(template / ".chatlab" / "lab" / "rubric.toml")
    assert [e.id for e in visible] == [e.id for e in RUBRIC if not e.hidden]


def run_grade_step(template: Path, solution: Path, work: Path) -> tuple[Any, str, str]:
    """The workflow's grade step in a checkout of the template whose programs are
    ``solution``'s; (completed process, the step output, the job summary)."""
    repo = work / "repo"
    shutil.copytree(template, repo)
    for path in solution.iterdir():
        if path.is_file():
            shutil.copy(path, repo / path.name)
    outputs, summary = work / "github_output", work / "step_summary"
    done = subprocess.run(
        ["bash", "-c", workflow_run_commands()[GRADE_STEP]],
        cwd=repo,
        env={
            **os.environ,
            "PYTHON": sys.executable,
            "CHATLAB_PYTHON": sys.executable,  # the edition's .venv bootstrap is tested apart
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for report in ("report.json", "report.html"):
        assert (repo / "chat-lab-report" / report).is_file()
    return done, outputs.read_text(encoding="utf-8"), summary.read_text(encoding="utf-8")


def reporter_payload(output: str) -> dict[str, Any]:
    name, _, value = output.strip().partition("=")
    assert name == "result"
    data: dict[str, Any] = json.loads(base64.b64decode(value).decode("utf-8"))
    return data


@pytest.mark.slow
def test_workflow_grade_step_gives_the_reference_every_visible_point(
    template: Path, tmp_path: Path, reference_report: dict[str, Any]
) -> None:
    done, output, summary = run_grade_step(template, REFERENCE, tmp_path)
    visible = sum(e.points for e in RUBRIC if not e.hidden)
    assert f"Итого: {visible:g} из {visible:g}" in done.stdout, (
        not_passed(reference_report) + "\n" + done.stdout[-3000:]
    )
    data = reporter_payload(output)
    assert sum(t["score"] for t in data["tests"]) == data["max_score"] == visible
    assert summary.startswith(f"## Чат: {visible:g} из {visible:g}")
    assert "/tests/" not in done.stdout and "reference" not in output


@pytest.mark.slow
def test_workflow_commands_printed_by_a_submission_stay_text(
    template: Path, tmp_path: Path
) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "junk").mkdir()
    # The server's stderr is in the scorecard the job log shows when it fails to start.
    crashing = crashing_server(tmp_path / "crash")
    _, plain, _ = run_grade_step(template, crashing, tmp_path / "plain")
    junky = junk_submission(tmp_path / "junk-solution", crash=True)
    done, junk, _ = run_grade_step(template, junky, tmp_path / "junk")

    def points(output: str) -> list[tuple[str, str, float]]:
        return [(t["name"], t["status"], t["score"]) for t in reporter_payload(output)["tests"]]

    assert points(junk) == points(plain)
    assert any(status != "pass" for _, status, _ in points(plain))
    # Every workflow command the submission printed is inside the stop-commands span.
    lines = done.stdout.splitlines()
    stop = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    marker = lines[stop].removeprefix("::stop-commands::")
    resume = lines.index(f"::{marker}::")
    printed = [i for i, line in enumerate(lines) if "::set-output" in line or "::add-mask" in line]
    assert printed and all(stop < i < resume for i in printed), done.stdout[-2000:]
    assert len(marker) > 30


def test_package_classroom_never_overwrites_a_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("мой репозиторий\n", encoding="utf-8")
    done = package("classroom", "--out", str(tmp_path))
    assert done.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]
