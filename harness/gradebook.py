"""A class's gradebook rows: one per student, with a status, a score and a reason.

Standard library only, plus :mod:`harness.roster` (the student) and :mod:`harness.verdict`
(the student's report).  ``batch`` makes the rows and writes the CSVs and the summary from
them; ``classpage`` draws them.  Neither imports the other: both import this module.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from harness.roster import Student
from harness.verdict import FLAKY, SKIPPED, GradeReport

GRADED = "graded"
NO_PROGRAM = "no_program"
ERROR = "error"
NOT_GRADED = "not_graded"  # the batch was interrupted before (or while) grading it
STATUS_TEXT = {
    GRADED: "проверено",
    NO_PROGRAM: "нет программы",
    ERROR: "ошибка проверки",
    NOT_GRADED: "не проверено (прервано)",
}
NOT_PASSED = ("failed", "timed_out", "error", FLAKY)  # every status but passed and skipped


@dataclass
class Row:
    """A student's line of the gradebook."""

    student: Student
    status: str
    max_score: float
    report: GradeReport | None = None
    cached: bool = False
    error: str = ""

    @property
    def name(self) -> str:
        return self.student.name

    @property
    def score(self) -> float | None:
        """Points; 0 without a program; None when not graded (harness error, interrupted)."""
        if self.report is not None:
            return self.report.score
        return 0.0 if self.status == NO_PROGRAM else None

    @property
    def max_points(self) -> float:
        return self.report.max_score if self.report is not None else self.max_score

    @property
    def reason(self) -> str:
        """Why the score is what it is, beyond the scenarios: where found, what went wrong."""
        parts = [self.student.note] if self.student.note else []
        if self.report is not None:
            parts += [f"{f.program}: {f.problem}" for f in self.report.findings]
            first = next((r for r in self.report.results if r.status in NOT_PASSED), None)
            if first is not None and not self.report.findings:
                said = (first.got or first.reason or first.expected).strip().splitlines()
                parts.append(f"«{first.title}»: {said[0][:160]}" if said else f"«{first.title}»")
        if self.status == ERROR:
            parts.append(self.error)
        elif self.status == NOT_GRADED:
            parts.append("проверка прервана до конца этой работы; запустите batch снова")
        return "; ".join(parts)

    def not_passed(self) -> list[str]:
        if self.report is None:
            return []
        return [r.id for r in self.report.results if r.status in NOT_PASSED]

    def skipped(self) -> list[str]:
        if self.report is None:
            return []
        return [r.id for r in self.report.results if r.status == SKIPPED]


def counts(rows: list[Row]) -> collections.Counter[str]:
    """How many rows have each status."""
    return collections.Counter(row.status for row in rows)
