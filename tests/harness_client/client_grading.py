"""Helpers for the client-side harness tests: grade client scenarios in-process."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import harness.scenarios  # noqa: F401 - registers every scenario
from harness.rubric import RubricEntry, load_rubric
from harness.runner import grade
from harness.verdict import GradeReport

KIT = Path(__file__).resolve().parent.parent.parent
REFERENCE = KIT / "reference"
TERMINAL_TARGETS = ("client", "both")


def terminal_entries(ids: Iterable[str] = ()) -> list[RubricEntry]:
    """Rubric entries that run a client in a terminal (client and end-to-end scenarios)."""
    wanted = set(ids)
    return [
        e for e in load_rubric() if e.target in TERMINAL_TARGETS and (not wanted or e.id in wanted)
    ]


def grade_clients(path: Path, ids: Iterable[str] = (), **kwargs: object) -> GradeReport:
    return grade(path, terminal_entries(ids), **kwargs)  # type: ignore[arg-type]


def failures(report: GradeReport) -> str:
    """Every result that did not pass, with what the harness said (for assert messages)."""
    parts = []
    for r in report.results:
        if r.status == "passed":
            continue
        parts.append(
            f"{r.id}: {r.status} at step «{r.step}»\n  expected: {r.expected}\n"
            f"  got: {r.got}\n  reason: {r.reason}\n  screen:\n{r.screen or ''}"
        )
    return "\n".join(parts)
