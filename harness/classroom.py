"""``python -m harness.classroom REPORT.json``: a harness report as GitHub Actions reads it.

Run by the Classroom template's ``.chatlab/grade.sh`` (``lab/github-classroom/grade.sh``)
after the student edition's ``check.py SUBMISSION --json REPORT``:

- prints ``Итого: X из Y`` (the line to look for in the job log);
- with ``$GITHUB_STEP_SUMMARY`` set, appends a Markdown scorecard (the run's summary page);
- with ``$GITHUB_OUTPUT`` set, writes the step output ``result``: the base64 JSON that
  GitHub Classroom's ``autograding-grading-reporter`` action reads from the environment
  variable ``<STEP-ID>_RESULTS``.  Its format, as the reporter's source reads it:
  ``{"version": 1, "status": "pass"|"fail"|"error", "max_score": N, "tests": [{"name",
  "status", "score", "message", "test_code", "filename", "line_no", "duration"}]}``; the
  reporter sends ``sum(tests[].score)`` / ``max_score`` to Classroom as the points.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

from harness.report import STATUS_MARK, STATUS_TEXT, failure_lines, fmt_points, result_output
from harness.verdict import ERROR, PASSED, GradeReport

# Step outputs are capped at 1 MB in all: keep each test's message well below that.
MESSAGE_CHARS = 4000


def reporter_result(report: GradeReport) -> dict[str, Any]:
    """The JSON the Classroom grading reporter expects from one runner step."""
    tests = [
        {
            "name": r.title,
            "status": "pass" if r.status == PASSED else ("error" if r.status == ERROR else "fail"),
            "score": r.points,
            "message": "" if r.status == PASSED else result_output(r)[:MESSAGE_CHARS],
            "test_code": f"python3 .chatlab/check.py . --scenario {r.id}",
            "filename": "",
            "line_no": 0,
            "duration": round(r.duration * 1000),
        }
        for r in report.results
    ]
    failed = [t["status"] for t in tests if t["status"] != "pass"]
    return {
        "version": 1,
        "status": "pass" if not failed else ("error" if "error" in failed else "fail"),
        "max_score": report.max_score,
        "tests": tests,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_summary(report: GradeReport) -> str:
    """The scorecard as GitHub-flavoured Markdown (table, then what went wrong)."""
    words = STATUS_TEXT["ru"]
    lines = [
        f"## Чат: {fmt_points(report.score)} из {fmt_points(report.max_score)}",
        "",
        "| | Сценарий | Часть | Баллы | Статус |",
        "|---|---|---|---|---|",
    ]
    for r in report.results:
        lines.append(
            f"| {STATUS_MARK[r.status]} | {_cell(r.title)} | {r.part} | "
            f"{fmt_points(r.points)}/{fmt_points(r.max_points)} | {words[r.status]} |"
        )
    for r in report.results:
        if r.status == PASSED:
            continue
        lines += ["", f"<details><summary>{STATUS_MARK[r.status]} {r.title}</summary>", ""]
        lines += ["```text", r.description]
        lines += [f"{label}: {value}" for label, value in failure_lines(r)]
        lines += ["```", "", "</details>"]
    return "\n".join(lines) + "\n"


def _append(variable: str, text: str) -> bool:
    path = os.environ.get(variable)
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.classroom",
        description="Отчёт проверки (grade --json) для GitHub Actions и GitHub Classroom.",
    )
    parser.add_argument("report", type=Path, help="файл от python -m harness grade --json")
    args = parser.parse_args(argv)
    report = GradeReport.from_dict(json.loads(args.report.read_text(encoding="utf-8")))
    payload = json.dumps(reporter_result(report), ensure_ascii=False).encode("utf-8")
    encoded = base64.b64encode(payload).decode("ascii")
    _append("GITHUB_OUTPUT", f"result={encoded}\n")
    _append("GITHUB_STEP_SUMMARY", markdown_summary(report))
    print(f"Итого: {fmt_points(report.score)} из {fmt_points(report.max_score)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
