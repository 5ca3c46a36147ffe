"""Helpers for the harness's own tests: grade in-process, look for leftover processes."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import harness.scenarios  # noqa: F401 - registers every scenario
from harness.rubric import RubricEntry, load_rubric
from harness.runner import grade
from harness.sandbox import UID_BASE, _pids_of_uid
from harness.verdict import GradeReport

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "hostile"
KIT = HERE.parent.parent
REFERENCE = KIT / "reference"


def server_entries(ids: Iterable[str] = ()) -> list[RubricEntry]:
    wanted = set(ids)
    return [e for e in load_rubric() if e.target == "server" and (not wanted or e.id in wanted)]


def grade_dir(path: Path, ids: Iterable[str] = (), **kwargs: object) -> GradeReport:
    return grade(path, server_entries(ids), **kwargs)  # type: ignore[arg-type]


def statuses(report: GradeReport) -> dict[str, str]:
    return {r.id: r.status for r in report.results}


def leftover_sandbox_processes() -> list[int]:
    """Live processes of any sandbox uid this test process may have used."""
    if os.geteuid() != 0:
        return []
    first = UID_BASE + (os.getpid() % 100_000) * 64
    return [pid for uid in range(first, first + 64) for pid in _pids_of_uid(uid)]
