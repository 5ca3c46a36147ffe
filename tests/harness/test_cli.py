"""The command line: exit codes, reports from a real grading, list, what the grading contained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from harness_helpers import HOSTILE, KIT, REFERENCE

from harness.sandbox import containment


def harness(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True, text=True, timeout=timeout, cwd=KIT,
    )  # fmt: skip


def test_grading_a_missing_folder_is_a_usage_error() -> None:
    proc = harness("grade", "/nonexistent/submission")
    assert proc.returncode == 2
    assert "нет папки" in proc.stderr


def test_unknown_scenario_is_a_usage_error() -> None:
    proc = harness("grade", str(REFERENCE), "--scenario", "no_such_thing")
    assert proc.returncode == 2


def test_list_shows_points_parts_and_dependencies() -> None:
    proc = harness("list")
    assert proc.returncode == 0
    assert "server_broadcast" in proc.stdout and "server_register" in proc.stdout
    assert "100" in proc.stdout


@pytest.mark.slow
def test_failing_submission_still_exits_zero_with_reports(tmp_path: Path) -> None:
    proc = harness(
        "grade", str(HOSTILE / "mute"), "--part", "2", "--json", str(tmp_path / "r.json")
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] < data["max_score"]


@pytest.mark.slow
def test_reference_gets_full_marks_with_every_report(
    tmp_path: Path, reference_server: None
) -> None:
    proc = harness(
        "grade", str(REFERENCE), "--json", str(tmp_path / "r.json"),
        "--junit", str(tmp_path / "j.xml"), "--gradescope", str(tmp_path / "g.json"),
        "--html", str(tmp_path / "r.html"), "--lang", "en",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    failed = {
        r["id"]: (r["status"], r["step"], r["got"])
        for r in data["results"]
        if r["status"] != "passed"
    }
    assert failed == {}
    assert data["score"] == data["max_score"] == 100
    # Speed (10 s a submission) is measured, not asserted: see the per-scenario durations.
    assert all(r["duration"] > 0 for r in data["results"])
    ET.parse(tmp_path / "j.xml")
    assert json.loads((tmp_path / "g.json").read_text())["score"] == 100
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    # The report says how student code was contained on this machine, missing parts named.
    environment = data["environment"]
    described = containment().describe()
    assert {key: environment.get(key) for key in described} == described
    missing = [v for k, v in sorted(environment.items()) if k.startswith("missing_")]
    assert missing == containment().missing()
    assert "только стандартная библиотека" in environment["python"]
    if os.geteuid() == 0 and containment().network:
        assert not environment["network"].startswith("НЕ")
