"""Renderings of a :class:`~harness.verdict.GradeReport`, and writing them to files.

- ``print_scorecard`` — rich table for the terminal (Russian, or English with ``lang="en"``);
- ``to_json`` — everything, transcripts included (per-scenario status, points, duration...);
- ``to_junit`` — JUnit XML for CI systems;
- ``to_gradescope`` — ``results.json`` as the Gradescope autograder specification describes
  (``score``, ``execution_time``, ``output``, ``tests[]`` with ``name``, ``number``, ``score``,
  ``max_score``, ``status`` passed/failed, ``output``, ``visibility``; hidden rubric scenarios
  are ``after_published``);
- ``to_html`` — one self-contained file (inline CSS and SVG, no scripts, no external assets):
  a failed scenario shows its wire exchange as a sequence diagram (:mod:`harness.diagram`)
  and the student's terminal screen as it was;
- ``write_reports`` — every file asked for, to :class:`Targets`, each written atomically
  and never through a symlink (see ``open_folder``).

Every report starts with what the start-up check found (``GradeReport.findings``) and says
how the grading was contained (``GradeReport.environment``), what was missing marked.

Whatever a submission printed, every rendering is well-formed: each text passes through
:func:`shown` (control characters as symbols, bidirectional overrides and XML-invalid
characters replaced, length capped) at rendering, even though the runner already made
transcripts printable; the terminal gets only :class:`rich.text.Text`, never markup.

This module imports nothing of the runner, the sandbox or the scenarios.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
import secrets
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness import diagram
from harness.verdict import (
    ERROR,
    FAILED,
    FLAKY,
    PASSED,
    SKIPPED,
    TIMED_OUT,
    GradeReport,
    ScenarioResult,
    printable,
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
STATUS_MARK = {PASSED: "✓", FAILED: "✗", SKIPPED: "–", TIMED_OUT: "◷", ERROR: "!", FLAKY: "~"}
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
        "environment": "Среда проверки",
        "unprotected": "Проверка шла не со всеми защитами — см. «Среда проверки»",
        "screen_title": "Экран программы студента в момент неудачи (▸ — строка с курсором)",
        "wire_title": "Обмен по сети (последнее — внизу)",
        "wire_all": "Все строки по порядку",
        "wire_earlier": "… ещё {n} раньше — в таблице",
        "traceback": "Трассировка",
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
        "environment": "Grading environment",
        "unprotected": "Graded without some protections — see «Grading environment»",
        "screen_title": "The student's program screen when it failed (▸ marks the cursor line)",
        "wire_title": "Network exchange (latest at the bottom)",
        "wire_all": "Every line in order",
        "wire_earlier": "… {n} more before — in the table",
        "traceback": "Traceback",
    },
}
ENV_LABELS = {
    "ru": {
        "python": "Python",
        "files": "Файлы",
        "processes": "Процессы",
        "network": "Сеть",
        "time_zone": "Часовой пояс",
        "missing": "Нет защиты",
    },
    "en": {
        "python": "Python",
        "files": "Files",
        "processes": "Processes",
        "network": "Network",
        "time_zone": "Time zone",
        "missing": "Missing protection",
    },
}
WIRE_HEAD = {"ru": ("№", "с", "кто → кому", "строка"), "en": ("#", "s", "from → to", "line")}
MISSING_MARK = "⚠"


# -- what a report may show of a submission's text ----------------------------------------
FIELD_CHARS = 100_000  # one text in the HTML, JUnit and Gradescope reports
JSON_CHARS = 200_000  # one string in report.json
LINE_CHARS = 400  # one line of the terminal scorecard
SCREEN_LINES = 25  # lines of one text on the scorecard
MESSAGE_CHARS = 500  # JUnit's one-line message attribute
BIDI = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
    "\ufffd",
)  # bidirectional controls reorder what a reader sees ("Trojan source")
UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]"
)  # printable() maps
XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
CONTROL_NAMES = [  # the names of U+0000..U+001F and U+007F, as in the Unicode charts
    *("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT"),
    *("FF", "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB"),
    *("CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US", "DEL"),
]
CONTROL_PICTURE = re.compile("[\u2400-\u2421]")  # what printable() made of control characters


def cut(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters: its start and its end, and how much is left out.

    Cutting what is already cut changes nothing (a report read back renders the same).
    """
    if len(text) <= limit:
        return text
    note = f"\n… [обрезано {len(text)} символов из {len(text)}] …\n"  # as long as it can be
    room = max(limit - len(note), 0)
    note = f"\n… [обрезано {len(text) - room} символов из {len(text)}] …\n"
    head = room * 2 // 3
    return text[:head] + note + text[len(text) - (room - head) :]


def shown(text: object, limit: int = FIELD_CHARS) -> str:
    """``text`` as a report shows it: printable, no bidi overrides, valid XML, capped.

    Idempotent; the runner already applied :func:`printable` to transcripts, this is the
    renderers' own defence for every other field (``got`` quotes a submission too).
    """
    clean = cut(str(text), limit)  # first: printable() is a loop in Python
    if UNPRINTABLE.search(clean):
        clean = printable(clean)
    return XML_INVALID.sub("\ufffd", clean.translate(BIDI))


def clean_data(value: Any, limit: int = JSON_CHARS) -> Any:
    """Every string in ``value`` (dicts, lists) through :func:`shown`; NaN/∞ as null."""
    if isinstance(value, str):
        return shown(value, limit)
    if isinstance(value, dict):
        return {shown(k, limit): clean_data(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_data(v, limit) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def control_name(char: str) -> str:
    return CONTROL_NAMES[min(ord(char) - 0x2400, len(CONTROL_NAMES) - 1)]


def spelled(text: str) -> str:
    """Control pictures as ‹ESC›, ‹NUL›…: readable in any font (for the SVG diagrams)."""
    return CONTROL_PICTURE.sub(lambda m: f"‹{control_name(m.group())}›", text)


def html_text(text: object, limit: int = FIELD_CHARS) -> str:
    """``text`` escaped for HTML, control characters as small boxed names (ESC, NUL…)."""
    escaped = html.escape(shown(text, limit))
    return CONTROL_PICTURE.sub(
        lambda m: f'<span class="ctl" title="{m.group()}">{control_name(m.group())}</span>',
        escaped,
    )


# -- facts every report shows -----------------------------------------------------------------
def environment_rows(report: GradeReport, lang: str = "ru") -> list[tuple[str, str, bool]]:
    """(label, text, missing) for each fact about the grading's containment.

    ``missing_N`` entries (protections the machine did not give) and facts the sandbox
    words with «НЕ» («НЕ изолированы») are marked as missing.
    """
    labels = ENV_LABELS[lang]
    rows = []
    for key, value in report.environment.items():
        missing = key.startswith("missing") or "НЕ " in str(value)
        label = labels["missing"] if key.startswith("missing") else labels.get(key, key)
        rows.append((shown(label, 200), shown(value, 2000), missing))
    return rows


def unprotected(report: GradeReport) -> bool:
    return any(missing for _, _, missing in environment_rows(report))


def findings_text(report: GradeReport, lang: str = "ru") -> str:
    """The start-up check's findings as plain text ("" when there are none)."""
    if not report.findings:
        return ""
    w = WORDS[lang]
    lines = [w["findings"]]
    for f in report.findings:
        lines.append(f"• {shown(f.program, 200)}: {shown(f.problem)}")
        lines += [f"    {line}" for line in shown(f.detail).splitlines()]
        if f.hint:
            lines.append(f"    {w['hint']}: {shown(f.hint)}")
    return "\n".join(lines)


def environment_text(report: GradeReport, lang: str = "ru") -> str:
    rows = environment_rows(report, lang)
    if not rows:
        return ""
    lines = [f"{WORDS[lang]['environment']}:"]
    for label, value, missing in rows:
        lines.append(f"  {MISSING_MARK + ' ' if missing else ''}{label}: {value}")
    return "\n".join(lines)


def fmt_points(value: float) -> str:
    return f"{value:g}"


def failure_lines(result: ScenarioResult, lang: str = "ru") -> list[tuple[str, str]]:
    """(label, text) pairs explaining a non-passed result, in reading order.

    A harness error shows only the last line of its traceback (the JSON and HTML reports
    keep the whole traceback).  The texts are raw: each renderer applies :func:`shown`.
    """
    w = WORDS[lang]
    reason = result.reason
    if result.status == ERROR and reason:
        reason = reason.strip().splitlines()[-1] if reason.strip() else reason
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
def make_console() -> Console:
    """A console for stdout (wide when it is not a terminal: logs, CI, pipes).

    Markup, emoji codes and highlighting are off: the scorecard prints only ``Text``.
    """
    console = Console(markup=False, emoji=False, highlight=False)
    if not console.is_terminal:
        console = Console(width=160, markup=False, emoji=False, highlight=False)
    return console


def term_line(text: str) -> str:
    return text if len(text) <= LINE_CHARS else text[:LINE_CHARS] + f"… (+{len(text) - LINE_CHARS})"


def print_scorecard(report: GradeReport, lang: str = "ru", console: Console | None = None) -> None:
    """Findings, a rich table (one row per scenario), the details of every non-passed one,
    and the grading environment."""
    console = console or make_console()
    w = WORDS[lang]
    print_findings(report, lang, console)
    if unprotected(report):
        console.print(Text(f"{MISSING_MARK} {w['unprotected']}", style="bold yellow"))
    table = Table(title=Text(f"{w['title']}: {shown(report.submission, 200)}"), show_lines=False)
    table.add_column("", width=1)
    table.add_column(w["scenario"])
    table.add_column(w["part"], justify="right")
    table.add_column(w["points"], justify="right")
    table.add_column(w["status"])
    table.add_column(w["time"], justify="right")
    for r in report.results:
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(
            Text(STATUS_MARK.get(r.status, "?"), style=style),
            Text(term_line(shown(r.title if lang == "ru" else r.id, LINE_CHARS * 2))),
            Text(str(r.part)),
            Text(f"{fmt_points(r.points)}/{fmt_points(r.max_points)}"),
            Text(STATUS_TEXT[lang].get(r.status, shown(r.status, 40)), style=style),
            Text(f"{r.duration:.1f}s"),
        )
    table.add_section()
    table.add_row(
        Text(""),
        Text(w["total"], style="bold"),
        Text(""),
        Text(f"{fmt_points(report.score)}/{fmt_points(report.max_score)}", style="bold"),
        Text(""),
        Text(f"{report.duration:.1f}s"),
    )
    console.print(table)
    for r in report.results:
        if r.status == PASSED:
            continue
        style = "bold " + STATUS_STYLE.get(r.status, "")
        console.print(Text(f"{STATUS_MARK.get(r.status, '?')} {shown(r.title, 1000)}", style=style))
        if lang == "ru" and r.description:
            console.print(Text(f"  {term_line(shown(r.description))}", style="dim"))
        for label, value in failure_lines(r, lang):
            print_field(console, label, value)
    rows = environment_rows(report, lang)
    if rows:
        console.print(Text(f"{w['environment']}:", style="dim"))
    for label, value, missing in rows:
        if missing:
            console.print(Text(f"  {MISSING_MARK} {label}: {value}", style="bold yellow"))
        else:
            console.print(Text(f"  {label}: {value}", style="dim"))


def print_field(console: Console, label: str, value: str, indent: str = "  ") -> None:
    """``label: first line`` and up to SCREEN_LINES more lines, each capped."""
    first, *rest = shown(value).splitlines() or [""]
    console.print(Text(f"{indent}{label}: ", style="bold").append(term_line(first)))
    for line in rest[:SCREEN_LINES]:
        console.print(Text(f"{indent}    {term_line(line)}"))
    if len(rest) > SCREEN_LINES:
        console.print(Text(f"{indent}    … (+{len(rest) - SCREEN_LINES})", style="dim"))


def print_findings(report: GradeReport, lang: str, console: Console) -> None:
    """What the start-up check found, before anything else (the likely cause of the rest)."""
    if not report.findings:
        return
    w = WORDS[lang]
    console.print(Text(w["findings"], style="bold red"))
    for finding in report.findings:
        console.print(
            Text(f"• {shown(finding.program, 200)}: ", style="bold").append(
                term_line(shown(finding.problem))
            )
        )
        for line in shown(finding.detail).splitlines()[:15]:
            console.print(Text(f"    {term_line(line)}", style="dim"))
        if finding.hint:
            console.print(
                Text(f"    {w['hint']}: ", style="bold").append(term_line(shown(finding.hint)))
            )
    console.print()


# -- files ---------------------------------------------------------------------------------
def to_json(report: GradeReport) -> str:
    return json.dumps(clean_data(report.to_dict()), ensure_ascii=False, indent=2)


def result_output(r: ScenarioResult, lang: str = "ru", transcripts: bool = False) -> str:
    """Plain-text feedback on one scenario (for Gradescope, JUnit, ...)."""
    parts = [shown(r.description)]
    parts += [f"{label}: {shown(value)}" for label, value in failure_lines(r, lang)]
    if transcripts:
        for name, text in r.transcripts.items():
            parts.append(f"--- {shown(name, 200)} ---\n{shown(text)}")
    return "\n".join(parts)


def to_gradescope(report: GradeReport) -> dict[str, Any]:
    """``results.json``: findings, total and environment head the output; all plain text."""
    tests = []
    for number, r in enumerate(report.results, start=1):
        tests.append(
            {
                "name": shown(r.title, 1000),
                "number": str(number),
                "score": r.points,
                "max_score": r.max_points,
                "status": "passed" if r.status == PASSED else "failed",
                "output": result_output(r, transcripts=r.status != PASSED),
                "output_format": "text",
                "visibility": "after_published" if r.hidden else "visible",
                "tags": [f"part{r.part}", shown(r.target, 100), shown(r.status, 40)],
            }
        )
    total = f"Итого {fmt_points(report.score)} из {fmt_points(report.max_score)}."
    output = "\n\n".join(filter(None, [findings_text(report), total, environment_text(report)]))
    return {
        "score": report.score,
        "execution_time": round(report.duration, 3),
        "output": output,
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def to_junit(report: GradeReport) -> str:
    """JUnit XML: properties (findings, environment) first, a testcase per scenario whose
    failure text starts with the findings, and both again in the suite's system-out."""
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
    properties = ET.SubElement(suite, "properties")
    for number, f in enumerate(report.findings, start=1):
        value = f"{shown(f.program, 200)}: {shown(f.problem, MESSAGE_CHARS)}"
        ET.SubElement(properties, "property", name=f"finding.{number}", value=value)
    for key, value in report.environment.items():
        ET.SubElement(
            properties, "property", name=f"environment.{shown(key, 100)}", value=shown(value, 2000)
        )
    head = findings_text(report)
    for r in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"chat.part{r.part}",
            name=shown(r.id, 200),
            time=f"{r.duration:.3f}",
        )
        first = (r.expected or r.reason).strip().splitlines()
        message = shown(first[0] if first else r.status, MESSAGE_CHARS)
        if r.status == SKIPPED:
            ET.SubElement(case, "skipped", message=shown(r.reason, MESSAGE_CHARS))
        elif r.status == ERROR:
            body = "\n\n".join(filter(None, [head, shown(r.reason)]))
            ET.SubElement(case, "error", message=message).text = body
        elif r.status != PASSED:
            body = "\n\n".join(filter(None, [head, result_output(r)]))
            failure = ET.SubElement(case, "failure", message=message, type=shown(r.status, 40))
            failure.text = body
        if r.transcripts and r.status != PASSED:
            ET.SubElement(case, "system-out").text = "\n\n".join(
                f"--- {shown(n, 200)} ---\n{shown(t)}" for n, t in r.transcripts.items()
            )
    summary = "\n\n".join(filter(None, [head, environment_text(report)]))
    if summary:
        ET.SubElement(suite, "system-out").text = summary
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


HTML_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;padding:0 1em;max-width:72em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.passed{color:#176c1a}.failed,.timed_out,.flaky{color:#b00020}.skipped{color:#8a6d00}
.error{color:#7b1fa2}
pre{background:#f6f6f6;padding:.6em;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;
font-size:85%}
details{margin:.4em 0}summary{cursor:pointer}dt{font-weight:bold}
dd{margin:0 0 .5em 1em;white-space:pre-wrap;overflow-wrap:anywhere}
section{border-top:1px solid #ddd;margin-top:1.5em}
.findings{border:2px solid #b00020;background:#fff5f5;padding:.2em 1em;margin:1em 0}
.findings h2{color:#b00020;font-size:1.1em}.findings li{margin:.6em 0}
.warn{border:1px solid #8a6d00;background:#fffbe6;padding:.5em 1em}
tr.missing td{color:#8a5a00;font-weight:bold}
.ctl{display:inline-block;border:1px solid #b00020;border-radius:2px;color:#b00020;
font:bold 70%/1.1 system-ui,sans-serif;padding:0 .15em;margin:0 .05em;vertical-align:1px}
pre.screen{background:#1e1e1e;color:#e6e6e6;line-height:1.3;font-size:80%;
font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre.screen span{display:block;padding-left:4ch;text-indent:-4ch;min-height:1.3em}
pre.screen span.cursor{background:#3a3d41;color:#fff}
pre.screen span.term{color:#9cdcfe;font-weight:bold}
pre.screen .ctl{display:inline;padding:0 .15em;text-indent:0;border-color:#ff8080;color:#ff8080}
.wire-diagram{overflow-x:auto;margin:.5em 0}
.wire-diagram svg{display:block;max-width:none;color:#222}
.wire-diagram svg .arrow.from-server{color:#1a5fb4}
table.wire-lines{font-size:80%}table.wire-lines td{padding:.15em .5em}
table.wire-lines td.n,table.wire-lines td.t{text-align:right;color:#666;white-space:nowrap}
table.wire-lines td.dir{white-space:nowrap}
table.wire-lines code{white-space:pre-wrap;overflow-wrap:anywhere}
"""


def html_findings(report: GradeReport, lang: str) -> str:
    if not report.findings:
        return ""
    w = WORDS[lang]
    items = []
    for f in report.findings:
        detail = f"<pre>{html_text(f.detail)}</pre>" if f.detail else ""
        hint = f"<p><b>{w['hint']}:</b> {html_text(f.hint)}</p>" if f.hint else ""
        items.append(
            f"<li><b>{html_text(f.program, 200)}</b>: {html_text(f.problem)}{detail}{hint}</li>"
        )
    return f'<div class="findings"><h2>{w["findings"]}</h2><ul>{"".join(items)}</ul></div>'


def html_environment(report: GradeReport, lang: str) -> str:
    rows = environment_rows(report, lang)
    if not rows:
        return ""
    body = "".join(
        f"<tr{' class=missing' if missing else ''}><td>{MISSING_MARK if missing else ''}</td>"
        f"<td>{html_text(label)}</td><td>{html_text(value)}</td></tr>"
        for label, value, missing in rows
    )
    return f'<h2 id="environment">{WORDS[lang]["environment"]}</h2><table>{body}</table>'


def html_screen(screen: str) -> str:
    """The terminal as the student saw it: monospace, the cursor line (▸) highlighted.

    A line wider than the page wraps with a deeper indent than the screen's own lines, so
    a wrap of the page and a wrap of the terminal stay apart (and nothing is cut off).
    """
    lines = []
    for line in shown(screen).split("\n"):
        kind = ""
        if line.startswith("▸"):
            kind = ' class="cursor"'
        elif line.startswith("— ") and line.endswith(" —"):  # several terminals: a title each
            kind = ' class="term"'
        lines.append(f"<span{kind}>{html_text(line)}</span>")
    return f'<pre class="screen">{"".join(lines)}</pre>'


def html_wire(r: ScenarioResult, lang: str) -> str:
    """The wire exchange: a sequence diagram of the last rows, then every row in a table."""
    events = [
        {
            "t": e.get("t", 0.0),
            "from": spelled(shown(e.get("from", "?"), 60)),
            "to": spelled(shown(e.get("to", "?"), 60)),
            "text": spelled(shown(e.get("text", ""), 2000)),
        }
        for e in r.wire
        if isinstance(e, dict)
    ]
    w = WORDS[lang]
    svg = diagram.wire_diagram(events, spelled(shown(r.title, 200)), earlier=w["wire_earlier"])
    if not svg:
        return ""
    rows = []
    for row in diagram.wire_rows(r.wire):
        times = f" × {row.count}" if row.count > 1 else ""
        try:
            t = f"{float(row.first.get('t', 0.0)):.3f}"
        except (TypeError, ValueError):
            t = ""
        rows.append(
            f'<tr><td class="n">{row.number}</td><td class="t">{t}</td>'
            f'<td class="dir">{html_text(row.sender, 60)} → {html_text(row.receiver, 60)}</td>'
            f"<td><code>{html_text(row.text)}</code>{times}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in WIRE_HEAD[lang])
    return (
        f'<h4>{w["wire_title"]}</h4><div class="wire-diagram">{svg}</div>'
        f"<details><summary>{w['wire_all']} ({len(rows)})</summary>"
        f'<table class="wire-lines"><tr>{head}</tr>{"".join(rows)}</table></details>'
    )


def html_section(r: ScenarioResult, lang: str) -> str:
    w = WORDS[lang]
    items = "".join(
        f"<dt>{html_text(label)}</dt><dd>{html_text(value)}</dd>"
        for label, value in failure_lines(r, lang)
        if label != w["screen"]
    )
    if r.status == ERROR and r.reason:
        items += f"<dt>{w['traceback']}</dt><dd><pre>{html_text(r.reason)}</pre></dd>"
    screen = f"<h4>{w['screen_title']}</h4>{html_screen(r.screen)}" if r.screen else ""
    logs = "".join(
        f"<details><summary>{html_text(name, 200)}</summary><pre>{html_text(text)}</pre></details>"
        for name, text in r.transcripts.items()
    )
    status = r.status if r.status in STATUS_MARK else "error"
    return (
        f'<section id="{html.escape(shown(r.id, 200))}"><h3 class="{status}">'
        f"{STATUS_MARK[status]} {html_text(r.title, 1000)}</h3><p>{html_text(r.description)}</p>"
        + (f"<dl>{items}</dl>" if items else "")
        + screen
        + (html_wire(r, lang) if r.wire else "")
        + (f"<h4>{w['transcripts']}</h4>{logs}" if logs else "")
        + "</section>"
    )


def to_html(report: GradeReport, lang: str = "ru") -> str:
    """One page: findings, a warning when protections were missing, the table, the details
    of every scenario (screen and wire diagram for failed ones), the environment."""
    w = WORDS[lang]
    rows = []
    for r in report.results:
        status = r.status if r.status in STATUS_MARK else "error"
        rows.append(
            f'<tr class="{status}"><td>{STATUS_MARK[status]}</td><td>'
            f'<a href="#{html.escape(shown(r.id, 200))}">{html_text(r.title, 1000)}</a></td>'
            f"<td>{r.part}</td><td>{fmt_points(r.points)}/{fmt_points(r.max_points)}</td>"
            f"<td>{html.escape(STATUS_TEXT[lang].get(r.status, shown(r.status, 40)))}</td>"
            f"<td>{r.duration:.1f}s</td></tr>"
        )
    warn = (
        f'<p class="warn">{MISSING_MARK} <a href="#environment">{w["unprotected"]}</a></p>'
        if unprotected(report)
        else ""
    )
    name = html_text(report.submission, 200)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(w['title'])}: {html.escape(shown(report.submission, 200))}</title>"
        f"<style>{HTML_STYLE}</style></head><body><h1>{w['title']}</h1>"
        f"<p>{name} — {html_text(report.started_at, 100)}</p>"
        f"{html_findings(report, lang)}{warn}"
        f"<table><tr><th></th><th>{w['scenario']}</th>"
        f"<th>{w['part']}</th><th>{w['points']}</th><th>{w['status']}</th><th>{w['time']}</th>"
        f"</tr>{''.join(rows)}<tr><th></th><th>{w['total']}</th><th></th><th>"
        f"{fmt_points(report.score)}/{fmt_points(report.max_score)}</th><th></th><th>"
        f"{report.duration:.1f}s</th></tr></table>"
        f"<h2>{w['details']}</h2>{''.join(html_section(r, lang) for r in report.results)}"
        f"{html_environment(report, lang)}</body></html>\n"
    )


# -- writing -------------------------------------------------------------------------------
class ReportPathError(Exception):
    """A report cannot be written where it was asked (the message says why, in Russian)."""


@dataclass(frozen=True)
class Targets:
    """Where each report goes (None: not asked for), and the language of the HTML."""

    json: Path | None = None
    junit: Path | None = None
    gradescope: Path | None = None
    html: Path | None = None
    lang: str = "ru"

    def paths(self) -> list[Path]:
        return [p for p in (self.json, self.junit, self.gradescope, self.html) if p is not None]


MAX_SYMLINKS = 40
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def trusted(st: os.stat_result) -> bool:
    """Owned by root or by the user running the harness (never a sandbox uid)."""
    return st.st_uid in (0, os.geteuid())


def others_can_write(st: os.stat_result) -> bool:
    """Someone else may add, rename or remove entries (a sticky folder like /tmp protects
    the entries of their owners, so it does not count)."""
    if st.st_mode & stat.S_ISVTX:
        return False
    if st.st_mode & stat.S_IWOTH:
        return True
    return bool(st.st_mode & stat.S_IWGRP) and st.st_gid not in (0, os.getegid())


def open_folder(folder: Path, create: bool) -> int | None:
    """A descriptor of ``folder``, reached without following anything a stranger planted.

    The path is walked one component at a time from ``/`` with ``O_NOFOLLOW``.  A symlink
    on the way is followed only if root or this user owns it; every folder on the way must
    belong to root or this user; the last one must also not be writable by others (unless
    it is sticky, like ``/tmp``).  Missing folders are created (``create``), or the walk
    stops and returns None (nothing there to plant in: safe, the write will create it).
    Raises :class:`ReportPathError` with the reason otherwise.
    """
    todo = [part for part in Path(os.path.abspath(folder)).parts[1:]]
    fd = os.open("/", DIR_FLAGS)
    where = Path("/")
    links = 0
    try:
        while todo:
            part = todo.pop(0)
            if part in ("", "."):
                continue
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    return None
                os.mkdir(part, 0o755, dir_fd=fd)
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_SYMLINKS:
                    raise ReportPathError(f"{folder}: слишком много символических ссылок")
                if not trusted(st):
                    raise ReportPathError(
                        f"{where / part} — символическая ссылка другого пользователя "
                        f"(uid {st.st_uid}): отчёт по ней не пишется"
                    )
                target = os.readlink(part, dir_fd=fd)
                todo = [*Path(target).parts, *todo]
                if os.path.isabs(target):
                    os.close(fd)
                    fd, where = os.open("/", DIR_FLAGS), Path("/")
                    todo = todo[1:]
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise ReportPathError(f"{where / part} — не папка")
            if not trusted(st):
                raise ReportPathError(
                    f"папка {where / part} принадлежит другому пользователю (uid {st.st_uid}): "
                    "отчёты туда не пишутся"
                )
            new = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = new
            where = Path(os.path.normpath(where / part))
        st = os.fstat(fd)
        if not trusted(st) or others_can_write(st):
            raise ReportPathError(
                f"в папку {where} могут писать другие пользователи (права "
                f"{stat.filemode(st.st_mode)}): отчёты туда не пишутся — выберите свою папку"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_targets(targets: Targets) -> None:
    """Refuse, before any grading, a target that ``write_reports`` would refuse."""
    for path in targets.paths():
        if path.name in ("", ".", ".."):
            raise ReportPathError(f"{path} — нужен путь к файлу, а не к папке")
        fd = open_folder(path.parent, create=False)
        if fd is None:
            continue
        try:
            st = os.stat(path.name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        finally:
            os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ReportPathError(f"{path} — это папка, а нужен путь к файлу отчёта")


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` into ``path``: a new file (O_EXCL) in the same folder, then renamed over it.

    Whatever was at ``path`` (a file, a planted symlink) is replaced, never written through
    or followed; a reader sees the old file or the whole new one.
    """
    if path.name in ("", ".", ".."):
        raise ReportPathError(f"{path} — нужен путь к файлу, а не к папке")
    fd = open_folder(path.parent, create=True)
    assert fd is not None
    try:
        for _ in range(100):
            temp = f".{path.name[:64]}.{secrets.token_hex(8)}.tmp"
            try:
                out = os.open(
                    temp,
                    os.O_WRONLY
                    | os.O_CREAT
                    | os.O_EXCL
                    | os.O_NOFOLLOW
                    | getattr(os, "O_CLOEXEC", 0),
                    0o644,
                    dir_fd=fd,
                )
                break
            except FileExistsError:
                continue
        else:
            raise ReportPathError(f"не удалось создать временный файл рядом с {path}")
        try:
            with os.fdopen(out, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path.name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=fd)
            if isinstance(exc, IsADirectoryError):
                raise ReportPathError(f"{path} — это папка, а нужен путь к файлу отчёта") from None
            if isinstance(exc, PermissionError):
                raise ReportPathError(f"нельзя заменить {path}: {exc.strerror}") from None
            raise
    finally:
        os.close(fd)


def write_reports(report: GradeReport, targets: Targets) -> None:
    """Write every report file ``targets`` names (atomically, never through a symlink)."""
    outputs: list[tuple[Path | None, Callable[[], str]]] = [
        (targets.json, lambda: to_json(report)),
        (targets.junit, lambda: to_junit(report)),
        (
            targets.gradescope,
            lambda: json.dumps(to_gradescope(report), ensure_ascii=False, indent=2),
        ),
        (targets.html, lambda: to_html(report, targets.lang)),
    ]
    for path, render in outputs:
        if path is not None:
            write_atomic(path, render().encode("utf-8"))
