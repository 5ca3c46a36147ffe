"""A report as PrairieLearn's ``results.json`` (rendered by ``<pl-external-grader-results>``).

The format (PrairieLearn's external grading docs): ``score`` 0..1, ``gradable`` (false: an
invalid submission, no attempt counted), ``message`` and ``output`` for the whole job, and
``tests``, each with ``name``, ``description``, ``points``, ``max_points``, ``message`` and
``output``.  The file must stay under 1 MB.

The score is computed here from the harness's verdicts; what the student's programs
printed only ever lands in string fields (``output``), which PrairieLearn shows escaped.
Hidden scenarios are listed without their titles or details, like everywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harness.offline import feedback as fb
from harness.verdict import PASSED, GradeReport

MAX_BYTES = 1_000_000
TEST_OUTPUT_CHARS = 8000


def _joined(pairs: Sequence[tuple[str, list[str]]]) -> str:
    return "\n".join(
        f"{label}:\n" + "\n".join(f"  {line}" for line in lines) for label, lines in pairs
    )


def to_results(report: GradeReport, notes: Sequence[str] = ()) -> dict[str, Any]:
    """``results.json`` for ``report``; ``notes`` (harness text) head the job's output."""
    hidden = fb.hidden_titles(report)
    tests = []
    number = 0
    for r in report.results:
        if r.hidden:
            number += 1
            tests.append(
                {
                    "name": f"Скрытый сценарий {number}",
                    "description": "Подробности — после срока сдачи.",
                    "points": r.points,
                    "max_points": r.max_points,
                    "message": fb.STATUS[r.status],
                    "output": "",
                }
            )
            continue
        output = "" if r.status == PASSED else _joined(fb.result_fields(r, hidden))
        tests.append(
            {
                "name": r.title,
                "description": r.description,
                "points": r.points,
                "max_points": r.max_points,
                "message": fb.STATUS[r.status],
                "output": fb.clip(output, TEST_OUTPUT_CHARS),
            }
        )
    parts = [*notes]
    for finding in report.findings:
        parts.append(
            f"Проверка запуска, {finding.program}:\n" + _joined(fb.finding_fields(finding, hidden))
        )
    parts.append("Как проверялось:\n" + "\n".join(fb.environment_lines(report)))
    score = fb.scaled(report.score, report.max_score, 0.0, 1.0)
    results = {
        "gradable": True,
        "score": round(score, 6),
        "message": f"Итого {fb.out_of(report.score, report.max_score)}. {fb.summary(report)}",
        "output": "\n\n".join(parts),
        "tests": tests,
    }
    return fit(results)


def fit(results: dict[str, Any]) -> dict[str, Any]:
    """Shorten test outputs until the file is under PrairieLearn's 1 MB."""
    limit = TEST_OUTPUT_CHARS
    while len(json.dumps(results, ensure_ascii=False).encode()) > MAX_BYTES and limit > 200:
        limit //= 2
        for test in results["tests"]:
            test["output"] = fb.clip(test["output"], limit)
        results["output"] = fb.clip(results["output"], limit * 4)
    return results


def not_gradable(message: str, details: Sequence[str] = ()) -> dict[str, Any]:
    """A job that graded nothing (no attempt counted): a refusal or a crash."""
    return {
        "gradable": False,
        "score": 0.0,
        "message": message,
        "format_errors": [message, *details],
        "output": "\n".join(details),
        "tests": [],
    }
