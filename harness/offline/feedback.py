"""What the VPL and PrairieLearn bundles show of a report: fields, limits, words, grades.

Standard library and :mod:`harness.verdict` only (the bundles never load rich).

Everything here treats a result's fields (reason, step, expected, got, hint, screen) and a
finding's problem, detail and hint as *untrusted*: they may quote what the student's
programs printed or sent.  :func:`untrusted_lines` makes them printable (control
characters as symbols, no carriage return survives), caps them, and takes hidden
scenarios' titles out.  Titles and descriptions come from the rubric and the harness.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from harness.verdict import (
    ERROR,
    FAILED,
    FLAKY,
    PASSED,
    SKIPPED,
    TIMED_OUT,
    Finding,
    GradeReport,
    ScenarioResult,
    printable,
)

# What printable() changes; a line without any is already printable (the common case, fast).
NOT_PRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]|\r\n")
MAX_FIELD_LINES = 25
MAX_LINE_CHARS = 240
HIDDEN_TITLE = "скрытый сценарий"
STATUS = {
    PASSED: "пройден",
    FAILED: "не пройден",
    SKIPPED: "пропущен",
    TIMED_OUT: "превышено время",
    ERROR: "сбой проверки",
    FLAKY: "проходит не всегда",
}
MARK = {PASSED: "✓", FAILED: "✗", SKIPPED: "–", TIMED_OUT: "⏱", ERROR: "!", FLAKY: "~"}
FIELDS = (
    ("reason", "Причина"),
    ("step", "Шаг"),
    ("expected", "Ожидалось"),
    ("got", "Получено"),
    ("hint", "Подсказка"),
    ("screen", "Экран клиента"),
)
ENVIRONMENT = (
    ("python", "Python"),
    ("files", "Файлы"),
    ("processes", "Процессы"),
    ("network", "Сеть"),
    ("time_zone", "Часовой пояс"),
)


def number(value: float) -> str:
    """``7.0`` -> ``"7"``, ``7.25`` -> ``"7.25"``, ``1/3`` -> ``"0.33"`` (a dot, as VPL reads)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def points_word(value: float) -> str:
    """The genitive after «из N»: из 1 балла, из 21 балла, из 2,5 балла, из 6 баллов."""
    if value != math.floor(value):
        return "балла"
    whole = int(value)
    return "балла" if whole % 10 == 1 and whole % 100 != 11 else "баллов"


def out_of(points: float, max_points: float) -> str:
    """«2 из 6 баллов»."""
    return f"{number(points)} из {number(max_points)} {points_word(max_points)}"


def scaled(score: float, max_score: float, low: float, high: float) -> float:
    """The report's score on the platform's scale ``low..high`` (``low`` when nothing counts)."""
    if max_score <= 0:
        return low
    share = min(1.0, max(0.0, score / max_score))
    return low + (high - low) * share


def shown(text: str) -> str:
    """:func:`harness.verdict.printable`, skipped when there is nothing to change."""
    return printable(text) if NOT_PRINTABLE.search(text) else text


def clip(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """One line of at most ``limit`` characters; a longer one says how much is left out."""
    if len(line) <= limit:
        return line
    return f"{line[:limit]}… (ещё {len(line) - limit} симв.)"


def hidden_titles(report: GradeReport) -> list[str]:
    return [r.title for r in report.results if r.hidden and r.title]


def scrub(text: str, hidden: Iterable[str]) -> str:
    """``text`` without the titles of hidden scenarios (a dependency's title in a reason)."""
    for title in sorted(set(hidden), key=len, reverse=True):
        text = text.replace(title, HIDDEN_TITLE)
    return text


def untrusted_lines(
    text: str, hidden: Iterable[str] = (), max_lines: int = MAX_FIELD_LINES
) -> list[str]:
    """``text`` as printable, capped lines: no control character, no carriage return."""
    lines = text.replace("\r\n", "\n").rstrip().split("\n")
    # Capped before anything else: a field may hold megabytes of what a program printed.
    out = [scrub(shown(clip(line)), hidden) for line in lines[:max_lines]]
    if len(lines) > max_lines:
        out.append(f"… (ещё строк: {len(lines) - max_lines})")
    return out if text.strip() else []


def result_fields(
    result: ScenarioResult, hidden: Iterable[str] = ()
) -> list[tuple[str, list[str]]]:
    """(label, lines) of what went wrong, in reading order; empty fields left out.

    A harness error shows only the last line of its traceback, as the scorecard does.
    """
    out = []
    for key, label in FIELDS:
        value = getattr(result, key) or ""
        if key == "reason" and result.status == ERROR and value.strip():
            value = value.strip().splitlines()[-1]
        lines = untrusted_lines(value, hidden)
        if lines:
            out.append((label, lines))
    return out


def finding_fields(finding: Finding, hidden: Iterable[str] = ()) -> list[tuple[str, list[str]]]:
    """(label, lines) of a start-up check finding."""
    out = []
    for label, value, cap in (
        ("Что не так", finding.problem, 5),
        ("Подробности", finding.detail, 15),
        ("Подсказка", finding.hint, 5),
    ):
        lines = untrusted_lines(value, hidden, cap)
        if lines:
            out.append((label, lines))
    return out


def environment_lines(report: GradeReport) -> list[str]:
    """How the programs ran (interpreter, containment) and every protection that was missing."""
    env = report.environment
    lines = [f"{label}: {env[key]}" for key, label in ENVIRONMENT if env.get(key)]
    missing = [value for key, value in sorted(env.items()) if key.startswith("missing_")]
    lines += [f"Нет защиты: {value}" for value in missing]
    return [clip(shown(line), 400) for line in lines]


def summary(report: GradeReport) -> str:
    """«Пройдено сценариев: 20 из 27.»"""
    passed = sum(r.status == PASSED for r in report.results)
    return f"Пройдено сценариев: {passed} из {len(report.results)}."
