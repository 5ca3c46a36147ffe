"""Report files are the harness's alone: written atomically, never through a symlink, never
into a folder someone else can write, to exactly the paths of :class:`report.Targets`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness_helpers import KIT

from harness import report
from harness.verdict import PASSED, GradeReport, ScenarioResult

HOSTILE_SUBMISSION = Path(__file__).resolve().parent / "report_hostile"
STRANGER = 54321  # a uid that is neither root nor us (a sandbox uid would be one)
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="planting another user's files needs root"
)


@pytest.fixture
def graded() -> GradeReport:
    ok = ScenarioResult(
        id="a", title="A", description="", points=1, max_points=1, part=1, target="server",
        hidden=False, status=PASSED,
    )  # fmt: skip
    return GradeReport(submission="s", results=[ok], duration=0.1, started_at="now")


def all_targets(folder: Path) -> report.Targets:
    return report.Targets(
        json=folder / "r.json", junit=folder / "j.xml", gradescope=folder / "g.json",
        html=folder / "r.html",
    )  # fmt: skip


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_every_report_is_written_where_the_targets_say(tmp_path: Path, graded: GradeReport) -> None:
    out = tmp_path / "new" / "deeper"
    report.write_reports(graded, all_targets(out))
    assert json.loads((out / "r.json").read_text(encoding="utf-8"))["score"] == 1
    assert (out / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.iterdir()) == ["g.json", "j.xml", "r.html", "r.json"]
    report.write_reports(graded, report.Targets(json=out / "r.json"))  # replaced, not appended
    assert json.loads((out / "r.json").read_text(encoding="utf-8"))["score"] == 1


def test_a_planted_symlink_is_replaced_not_followed(tmp_path: Path, graded: GradeReport) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.json").symlink_to(victim)
    (out / "dangling.html").symlink_to(tmp_path / "nowhere" / "x.html")
    report.write_reports(graded, report.Targets(json=out / "r.json", html=out / "dangling.html"))
    assert victim.read_text(encoding="utf-8") == "do not touch"
    assert not (out / "r.json").is_symlink() and not (out / "dangling.html").is_symlink()
    assert json.loads((out / "r.json").read_text(encoding="utf-8"))["score"] == 1
    assert not (tmp_path / "nowhere").exists()
    assert leftovers(out) == []


def test_a_folder_others_can_write_is_refused(tmp_path: Path, graded: GradeReport) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    targets = report.Targets(json=shared / "r.json")
    with pytest.raises(report.ReportPathError, match="могут писать другие"):
        report.check_targets(targets)
    with pytest.raises(report.ReportPathError):
        report.write_reports(graded, targets)
    assert list(shared.iterdir()) == []
    shared.chmod(0o1777)  # sticky, like /tmp: others cannot replace what we write
    report.write_reports(graded, targets)
    assert (shared / "r.json").is_file()


def test_our_own_symlinked_folder_is_followed(tmp_path: Path, graded: GradeReport) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to("real")
    (tmp_path / "abs").symlink_to(real)
    report.write_reports(graded, report.Targets(json=tmp_path / "link" / "sub" / "r.json"))
    report.write_reports(graded, report.Targets(json=tmp_path / "abs" / "r.json"))
    assert (real / "sub" / "r.json").is_file() and (real / "r.json").is_file()


@needs_root
def test_a_symlinked_folder_planted_by_another_user_is_refused(
    tmp_path: Path, graded: GradeReport
) -> None:
    elsewhere = tmp_path / "kit-or-home"
    elsewhere.mkdir()
    drop = tmp_path / "drop"
    drop.mkdir()
    drop.chmod(0o1777)  # a /tmp-like folder a student's program could write
    (drop / "reports").symlink_to(elsewhere)
    os.lchown(drop / "reports", STRANGER, STRANGER)
    targets = report.Targets(html=drop / "reports" / "r.html")
    with pytest.raises(report.ReportPathError, match="символическая ссылка другого"):
        report.check_targets(targets)
    with pytest.raises(report.ReportPathError):
        report.write_reports(graded, targets)
    assert list(elsewhere.iterdir()) == []


@needs_root
def test_a_folder_of_another_user_is_refused(tmp_path: Path, graded: GradeReport) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, STRANGER, STRANGER)
    with pytest.raises(report.ReportPathError, match="принадлежит другому"):
        report.write_reports(graded, report.Targets(json=theirs / "sub" / "r.json"))
    assert list(theirs.iterdir()) == []


def test_a_folder_as_target_is_refused(tmp_path: Path, graded: GradeReport) -> None:
    (tmp_path / "r.json").mkdir()
    with pytest.raises(report.ReportPathError, match="папка"):
        report.check_targets(report.Targets(json=tmp_path / "r.json"))
    with pytest.raises(report.ReportPathError, match="папка"):
        report.write_reports(graded, report.Targets(json=tmp_path / "r.json"))
    assert leftovers(tmp_path) == []


def test_grade_refuses_a_bad_target_before_grading(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    proc = subprocess.run(
        [
            sys.executable, "-m", "harness", "grade", str(HOSTILE_SUBMISSION),
            "--json", str(shared / "r.json"),
        ],
        capture_output=True, text=True, timeout=60, cwd=KIT,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "могут писать другие" in proc.stderr
    assert list(shared.iterdir()) == []


def test_a_symlink_loop_is_refused(tmp_path: Path, graded: GradeReport) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(report.ReportPathError, match="слишком много"):
        report.write_reports(graded, report.Targets(json=tmp_path / "a" / "r.json"))
