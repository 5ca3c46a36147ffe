"""Renderings of a :class:`~harness.runner.GradeReport`.

- ``print_scorecard`` — rich table for the terminal (Russian, or English with ``lang="en"``);
- ``to_json`` — everything, transcripts included (per-scenario status, points, duration...);
- ``to_junit`` — JUnit XML for CI systems;
- ``to_gradescope`` — ``results.json`` as the Gradescope autograder specification describes
  (``score``, ``execution_time``, ``output``, ``tests[]`` with ``name``, ``number``, ``score``,
  ``max_score``, ``status`` passed/failed, ``output``, ``visibility``; hidden rubric scenarios
  are ``after_published``);
- ``to_html`` — one self-contained file (inline CSS, no scripts, no external assets).
"""

from __future__ import annotations

import argparse
import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.rubric import RubricEntry
from harness.verdict import (
    ERROR,
    FAILED,
    FLAKY,
    PASSED,
    SKIPPED,
    TIMED_OUT,
    GradeReport,
    ScenarioResult,
)

STATUS_TEXT = {
    "ru": {
        PASSED: "пройден",
        FAILED: "не пройден",
        SKIPPED: "пропущен",
        TIMED_OUT: "время вышло",
        ERROR: "ошибка проверки",
        FLAKY: "нестабилен",
    },
    "en": {
        PASSED: "passed",
        FAILED: "failed",
        SKIPPED: "skipped",
        TIMED_OUT: "timed out",
        ERROR: "harness error",
        FLAKY: "flaky",
    },
}
STATUS_STYLE = {
    PASSED: "green",
    FAILED: "red",
    SKIPPED: "yellow",
    TIMED_OUT: "red",
    ERROR: "magenta",
    FLAKY: "red",
}
STATUS_MARK = {PASSED: "✓", FAILED: "✗", SKIPPED: "–", TIMED_OUT: "⧗", ERROR: "!", FLAKY: "~"}
WORDS = {
    "ru": {
        "title": "Оценка решения",
        "scenario": "Сценарий",
        "points": "Баллы",
        "status": "Статус",
        "time": "Время",
        "part": "Часть",
        "total": "Итого",
        "step": "Шаг",
        "expected": "Ожидалось",
        "got": "Получено",
        "hint": "Подсказка",
        "reason": "Причина",
        "screen": "Экран",
        "target": "Что проверяет",
        "depends": "Зависит от",
        "hidden": "скрытый",
        "id": "Идентификатор",
        "details": "Подробности",
        "transcripts": "Журналы процессов",
        "findings": "Сначала главное — проверка запуска нашла:",
    },
    "en": {
        "title": "Grading",
        "scenario": "Scenario",
        "points": "Points",
        "status": "Status",
        "time": "Time",
        "part": "Part",
        "total": "Total",
        "step": "Step",
        "expected": "Expected",
        "got": "Got",
        "hint": "Hint",
        "reason": "Reason",
        "screen": "Screen",
        "target": "Target",
        "depends": "Depends on",
        "hidden": "hidden",
        "id": "Id",
        "details": "Details",
        "transcripts": "Process transcripts",
        "findings": "First things first — the start-up check found:",
    },
}


def make_console() -> Console:
    """A console for stdout; wide when it is not a terminal (logs, CI, pipes)."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    return console


def fmt_points(value: float) -> str:
    return f"{value:g}"


def failure_lines(result: ScenarioResult, lang: str = "ru") -> list[tuple[str, str]]:
    """(label, text) pairs explaining a non-passed result, in reading order.

    A harness error shows only the last line of its traceback (the JSON and HTML reports
    keep the whole traceback).
    """
    w = WORDS[lang]
    reason = result.reason
    if result.status == ERROR and reason:
        reason = reason.strip().splitlines()[-1]
    fields = (
        ("reason", reason),
        ("step", result.step),
        ("expected", result.expected),
        ("got", result.got),
        ("hint", result.hint),
        ("screen", result.screen or ""),
    )
    return [(w[key], value) for key, value in fields if value]


# -- terminal ------------------------------------------------------------------------------
def print_scorecard(report: GradeReport, lang: str = "ru", console: Console | None = None) -> None:
    """A rich table: one row per scenario, then the details of every non-passed one."""
    console = console or make_console()
    w = WORDS[lang]
    print_findings(report, lang, console)
    table = Table(title=f"{w['title']}: {report.submission}", show_lines=False)
    table.add_column("", width=1)
    table.add_column(w["scenario"])
    table.add_column(w["part"], justify="right")
    table.add_column(w["points"], justify="right")
    table.add_column(w["status"])
    table.add_column(w["time"], justify="right")
    for r in report.results:
        style = STATUS_STYLE[r.status]
        table.add_row(
            Text(STATUS_MARK[r.status], style=style),
            r.title if lang == "ru" else r.id,
            str(r.part),
            f"{fmt_points(r.points)}/{fmt_points(r.max_points)}",
            Text(STATUS_TEXT[lang][r.status], style=style),
            f"{r.duration:.1f}s",
        )
    table.add_section()
    table.add_row(
        "",
        Text(w["total"], style="bold"),
        "",
        Text(f"{fmt_points(report.score)}/{fmt_points(report.max_score)}", style="bold"),
        "",
        f"{report.duration:.1f}s",
    )
    console.print(table)
    for r in report.results:
        if r.status == PASSED:
            continue
        console.print(
            Text(f"{STATUS_MARK[r.status]} {r.title}", style="bold " + STATUS_STYLE[r.status])
        )
        if lang == "ru":
            console.print(Text(f"  {r.description}", style="dim"))
        for label, value in failure_lines(r, lang):
            first, *rest = value.splitlines() or [""]
            console.print(Text(f"  {label}: ", style="bold").append(first, style=""))
            for line in rest[:25]:
                console.print(Text(f"      {line}"))
            if len(rest) > 25:
                console.print(Text(f"      … (+{len(rest) - 25})", style="dim"))
    for value in report.environment.values():
        console.print(Text(value, style="dim"))


def print_findings(report: GradeReport, lang: str, console: Console) -> None:
    """What the start-up check found, before anything else (the likely cause of the rest)."""
    if not report.findings:
        return
    w = WORDS[lang]
    console.print(Text(w["findings"], style="bold red"))
    for finding in report.findings:
        console.print(Text(f"• {finding.program}: ", style="bold").append(finding.problem))
        for line in finding.detail.splitlines()[:15]:
            console.print(Text(f"    {line}", style="dim"))
        if finding.hint:
            console.print(Text(f"    {w['hint']}: ", style="bold").append(finding.hint))
    console.print()


def print_list(
    entries: list[RubricEntry], lang: str = "ru", console: Console | None = None
) -> None:
    """``list``: scenarios with points, parts and dependencies."""
    import harness.scenarios  # noqa: F401 - registers every scenario module
    from harness.scenario import SCENARIOS

    console = console or make_console()
    w = WORDS[lang]
    table = Table()
    for col in ("id", "part", "points", "target", "depends", "scenario"):
        table.add_column(w[col])
    for e in entries:
        sc = SCENARIOS.get(e.id)
        deps = ", ".join(sc.depends) if sc else "—"
        title = e.title + (f" ({w['hidden']})" if e.hidden else "")
        table.add_row(e.id, str(e.part), fmt_points(e.points), e.target, deps or "—", title)
    console.print(table)
    console.print(f"{w['total']}: {fmt_points(sum(e.points for e in entries))}")


# -- files ---------------------------------------------------------------------------------
def to_json(report: GradeReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)


def result_output(r: ScenarioResult, lang: str = "ru", transcripts: bool = False) -> str:
    """Plain-text feedback on one scenario (for Gradescope, JUnit, ...)."""
    parts = [r.description]
    parts += [f"{label}: {value}" for label, value in failure_lines(r, lang)]
    if transcripts:
        for name, text in r.transcripts.items():
            parts.append(f"--- {name} ---\n{text}")
    return "\n".join(parts)


def to_gradescope(report: GradeReport) -> dict[str, Any]:
    tests = []
    for number, r in enumerate(report.results, start=1):
        tests.append(
            {
                "name": r.title,
                "number": str(number),
                "score": r.points,
                "max_score": r.max_points,
                "status": "passed" if r.status == PASSED else "failed",
                "output": result_output(r, transcripts=r.status != PASSED),
                "visibility": "after_published" if r.hidden else "visible",
                "tags": [f"part{r.part}", r.target, r.status],
            }
        )
    return {
        "score": report.score,
        "execution_time": round(report.duration, 3),
        "output": f"Итого {fmt_points(report.score)} из {fmt_points(report.max_score)}.",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def to_junit(report: GradeReport) -> str:
    counts = {s: sum(r.status == s for r in report.results) for s in STATUS_TEXT["en"]}
    suite = ET.Element(
        "testsuite",
        name="chat-lab",
        tests=str(len(report.results)),
        failures=str(counts[FAILED] + counts[TIMED_OUT] + counts[FLAKY]),
        errors=str(counts[ERROR]),
        skipped=str(counts[SKIPPED]),
        time=f"{report.duration:.3f}",
    )
    for r in report.results:
        case = ET.SubElement(
            suite, "testcase", classname=f"chat.part{r.part}", name=r.id, time=f"{r.duration:.3f}"
        )
        message = (
            (r.expected or r.reason or r.status).splitlines()[0]
            if (r.expected or r.reason)
            else r.status
        )
        if r.status == SKIPPED:
            ET.SubElement(case, "skipped", message=r.reason)
        elif r.status == ERROR:
            ET.SubElement(case, "error", message=message).text = r.reason
        elif r.status != PASSED:
            ET.SubElement(case, "failure", message=message, type=r.status).text = result_output(r)
        if r.transcripts and r.status != PASSED:
            ET.SubElement(case, "system-out").text = "\n\n".join(
                f"--- {n} ---\n{t}" for n, t in r.transcripts.items()
            )
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


HTML_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left}
.passed{color:#176c1a}.failed,.timed_out,.flaky{color:#b00020}.skipped{color:#8a6d00}.error{color:#7b1fa2}
pre{background:#f6f6f6;padding:.6em;overflow:auto;white-space:pre-wrap;font-size:85%}
details{margin:.4em 0}summary{cursor:pointer}dt{font-weight:bold}
dd{margin:0 0 .5em 1em;white-space:pre-wrap}
"""


def to_html(report: GradeReport, lang: str = "ru") -> str:
    w = WORDS[lang]
    e = html.escape
    rows = []
    for r in report.results:
        rows.append(
            f'<tr class="{r.status}"><td>{STATUS_MARK[r.status]}</td><td><a href="#{e(r.id)}">'
            f"{e(r.title)}</a></td><td>{r.part}</td><td>{fmt_points(r.points)}/"
            f"{fmt_points(r.max_points)}</td><td>{e(STATUS_TEXT[lang][r.status])}</td>"
            f"<td>{r.duration:.1f}s</td></tr>"
        )
    sections = []
    for r in report.results:
        items = "".join(
            f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in failure_lines(r, lang)
        )
        if r.status == ERROR:
            items += f"<dt>traceback</dt><dd><pre>{e(r.reason)}</pre></dd>"
        logs = "".join(
            f"<details><summary>{e(name)}</summary><pre>{e(text)}</pre></details>"
            for name, text in r.transcripts.items()
        )
        sections.append(
            f'<section id="{e(r.id)}"><h3 class="{r.status}">{STATUS_MARK[r.status]} '
            f"{e(r.title)}</h3><p>{e(r.description)}</p><dl>{items}</dl>"
            + (f"<h4>{w['transcripts']}</h4>{logs}" if logs else "")
            + "</section>"
        )
    env = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in report.environment.items())
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{e(w['title'])}: {e(report.submission)}</title><style>{HTML_STYLE}</style>"
        f"</head><body><h1>{e(w['title'])}</h1><p>{e(report.submission)} — "
        f"{e(report.started_at)}</p><table><tr><th></th><th>{w['scenario']}</th>"
        f"<th>{w['part']}</th><th>{w['points']}</th><th>{w['status']}</th><th>{w['time']}</th>"
        f"</tr>{''.join(rows)}<tr><th></th><th>{w['total']}</th><th></th><th>"
        f"{fmt_points(report.score)}/{fmt_points(report.max_score)}</th><th></th><th>"
        f"{report.duration:.1f}s</th></tr></table><h2>{w['details']}</h2>{''.join(sections)}"
        f"<ul>{env}</ul></body></html>\n"
    )


def write_reports(report: GradeReport, args: argparse.Namespace) -> None:
    """Write every report file asked for on the command line."""
    lang = getattr(args, "lang", "ru")
    outputs: list[tuple[Path | None, Any]] = [
        (getattr(args, "json", None), lambda: to_json(report)),
        (getattr(args, "junit", None), lambda: to_junit(report)),
        (
            getattr(args, "gradescope", None),
            lambda: json.dumps(to_gradescope(report), ensure_ascii=False, indent=2),
        ),
        (getattr(args, "html", None), lambda: to_html(report, lang)),
    ]
    for path, render in outputs:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(), encoding="utf-8")
