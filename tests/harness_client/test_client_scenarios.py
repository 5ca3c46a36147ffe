"""The reference client gets full marks on every terminal scenario, and quickly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from client_grading import REFERENCE, failures, grade_clients, terminal_entries

from harness.verdict import GradeReport

pytestmark = pytest.mark.skipif(
    not (REFERENCE / "client.py").is_file() or not (REFERENCE / "server.py").is_file(),
    reason="the reference programs are not written yet",
)


@pytest.fixture(scope="module")
def reference_report() -> GradeReport:
    return grade_clients(REFERENCE)


def test_reference_gets_full_marks_on_client_and_end_to_end_scenarios(
    reference_report: GradeReport,
) -> None:
    report = reference_report
    assert {r.id for r in report.results} == {e.id for e in terminal_entries()}
    assert report.score == report.max_score, failures(report)


def test_a_correct_client_written_differently_gets_full_marks(tmp_path: Path) -> None:
    shutil.copy(REFERENCE / "server.py", tmp_path / "server.py")
    shutil.copy(Path(__file__).with_name("alt_client") / "client.py", tmp_path / "client.py")
    report = grade_clients(tmp_path)
    assert report.score == report.max_score, failures(report)


def test_a_missing_client_skips_client_scenarios_with_the_reason(tmp_path: Path) -> None:
    shutil.copy(REFERENCE / "server.py", tmp_path / "server.py")
    report = grade_clients(tmp_path)
    assert {r.status for r in report.results} == {"skipped"}
    assert all("client.py" in r.reason for r in report.results)


def test_failed_screen_check_shows_the_screen_and_a_hint(tmp_path: Path) -> None:
    source = (REFERENCE / "client.py").read_text(encoding="utf-8")
    broken = source.replace('"[лично]"', '""')
    assert broken != source
    (tmp_path / "client.py").write_text(broken, encoding="utf-8")
    report = grade_clients(tmp_path, ["client_display"])
    (result,) = report.results
    assert result.status == "failed"
    assert "лично" in result.expected or "лично" in result.got
    assert result.screen and "секрет 5120" in result.screen
    assert result.hint
