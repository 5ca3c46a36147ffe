"""The GitHub Classroom workflow: the command it runs, run here, and what it reports."""

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
from package_helpers import KIT, REFERENCE, WORKFLOW, not_passed, package, workflow_run_commands

from harness.classroom import markdown_summary, reporter_result
from harness.verdict import FAILED, PASSED, SKIPPED, GradeReport, ScenarioResult

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
    assert commands[GRADE_STEP].startswith("bash kit/lab/github-classroom/grade.sh submission")
    assert f'CHATLAB_RESULTS: "${{{{ steps.{GRADE_STEP}.outputs.result }}}}"' in text
    assert f"runners: {GRADE_STEP}" in text
    # The reporter looks the check run up by this job name, and needs to write to it.
    assert "\n  run-autograding-tests:\n" in text
    assert "checks: write" in text
    install = commands["Install the kit"]
    assert "pip install" in install and "-e ./kit" in install


@pytest.mark.slow
def test_workflow_grade_command_scores_the_reference_like_grade(
    tmp_path: Path, reference_report: dict[str, Any]
) -> None:
    # The checkout layout of the workflow: the kit in kit/, the student's repo in submission/.
    (tmp_path / "kit").symlink_to(KIT)
    shutil.copytree(REFERENCE, tmp_path / "submission", ignore=shutil.ignore_patterns("__py*"))
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    done = subprocess.run(
        ["bash", "-c", workflow_run_commands()[GRADE_STEP]],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHON": sys.executable,
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    score = reference_report["score"]
    total = f"Итого: {score:g} из {reference_report['max_score']:g}"
    assert total in done.stdout, not_passed(reference_report) + "\n" + done.stdout[-3000:]
    name, _, value = outputs.read_text().strip().partition("=")
    assert name == "result"
    data = json.loads(base64.b64decode(value).decode("utf-8"))
    assert sum(t["score"] for t in data["tests"]) == score
    assert data["max_score"] == reference_report["max_score"]
    assert summary.read_text(encoding="utf-8").startswith(f"## Чат: {score:g} из ")
    for report in ("report.json", "report.html"):
        assert (tmp_path / "chat-lab-report" / report).is_file()


def test_package_classroom_fills_in_the_kit_repository(tmp_path: Path) -> None:
    kit = ("--kit-repo", "cs-dept/chat-lab-kit", "--kit-ref", "v2026.1")
    done = package("classroom", "--out", str(tmp_path), *kit)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8")
    template = WORKFLOW.read_text(encoding="utf-8")
    changed = [
        (old, new) for old, new in zip(template.splitlines(), written.splitlines()) if old != new
    ]
    assert changed == [
        ("  KIT_REPOSITORY: your-org/chat-lab-kit", "  KIT_REPOSITORY: cs-dept/chat-lab-kit"),
        ("  KIT_REF: main", "  KIT_REF: v2026.1"),
    ]


def test_package_classroom_refuses_a_repository_that_is_not_owner_slash_name(
    tmp_path: Path,
) -> None:
    done = package(
        "classroom", "--out", str(tmp_path), "--kit-repo", "https://github.com/cs-dept/chat-lab-kit"
    )
    assert done.returncode == 2
    assert "OWNER/NAME" in done.stderr
    assert not (tmp_path / ".github").exists()
