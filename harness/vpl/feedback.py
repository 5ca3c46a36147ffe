"""A report as VPL's evaluation output: one comment block, then the grade line.

VPL reads the output of ``vpl_execution`` like this (mod_vpl's ``proposedgrade``,
``proposedcomment`` and ``result_to_html``):

- lines are split at ``\\r\\n`` if the text holds one anywhere, else at ``\\n``;
- the grade is the rest of the **last** line that starts with ``Grade :=>>``;
- comments are the rest of lines that start with ``Comment :=>>``, and every line between
  a line that trims to ``<|--`` and one that trims to ``--|>``;
- in comments a line starting with ``-`` is a title (a title ending in ``(N)`` with N < 0
  is read as a grade reduction), a line whose first non-blank character is ``>`` is
  preformatted, anything else is plain text.

So this module writes ``\\r\\n`` line ends (the split is the same whether or not the jail
adds a ``\\r\\n``-terminated note of its own), one ``<|--``…``--|>`` block and one grade line
after it.  Text that may come from a student's program is only ever written as ``>`` lines
(:func:`pre`): such a line can be neither a tag, nor the end of the block, nor a title.
Plain lines (:func:`text`) and titles (:func:`title`) come from the rubric and the harness,
and are still guarded: a line VPL would read as anything else starts with a no-break space.

The whole output stays under the jail's result limit (``RESULT_MAX_SIZE``, 32 KiB by
default; beyond it the jail cuts out the middle, grade line included): whole lines are left
out from the end of the details, and a note says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.offline import feedback as fb
from harness.verdict import PASSED, GradeReport

NL = "\r\n"
BEGIN, END = "<|--", "--|>"
GRADE_TAG = "Grade :=>>"
COMMENT_TAG = "Comment :=>>"
DEFAULT_LIMIT = 32 * 1024
MARGIN = 1024  # bytes left for what the jail itself may add
NOTE_RESERVE = 300
GUARD = "\u00a0"  # PHP's trim() keeps it: a guarded line is plain text to VPL


def _one_line(line: str) -> str:
    return fb.shown(line).replace("\n", " ").replace("\t", " ")


def text(line: str) -> str:
    """A plain comment line (rubric or harness text)."""
    line = _one_line(line)
    stripped = line.strip()
    special = (
        line.startswith(("-", " ", GRADE_TAG, COMMENT_TAG))
        or stripped.startswith(">")
        or stripped in (BEGIN, END)
    )
    return GUARD + line.lstrip() if special else line


def title(line: str) -> str:
    """A title line; never one that VPL reads as a grade reduction."""
    line = _one_line(line).strip()
    return "-" + line + (GUARD if line.endswith(")") else "")


def pre(line: str) -> str:
    """A preformatted line: the only way untrusted text reaches the comments."""
    return ">" + _one_line(line)


def fields(pairs: Sequence[tuple[str, list[str]]]) -> list[str]:
    out = []
    for label, lines in pairs:
        out.append(text(f"{label}:"))
        out += [pre(line) for line in lines]
    return out


def grade_line(value: float) -> str:
    return f"{GRADE_TAG} {fb.number(value)}"


def assemble(lines: Sequence[str], grade: str | None, limit: int = DEFAULT_LIMIT) -> str:
    """The block, cut at a whole line to fit ``limit`` bytes with a note, then the grade."""
    tail = [END] + ([grade] if grade else [])
    budget = limit - MARGIN - sum(len((line + NL).encode()) for line in [BEGIN, *tail])
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        size = len((line + NL).encode())
        if used + size > budget - NOTE_RESERVE:
            left = len(lines) - index
            kept.append(
                text(
                    f"… отзыв сокращён: VPL показывает не больше {limit // 1024} КиБ, "
                    f"не поместилось строк: {left}."
                )
            )
            break
        kept.append(line)
        used += size
    return NL.join([BEGIN, *kept, *tail]) + NL


def render(
    report: GradeReport,
    *,
    low: float,
    high: float,
    limit: int = DEFAULT_LIMIT,
    notes: Sequence[str] = (),
) -> str:
    """The evaluation output for ``report`` on VPL's grade scale ``low..high``.

    ``notes`` are ready comment lines (:func:`text`, :func:`pre`) shown after the summary.
    First the summary, the start-up check, the list of scenarios and how the programs ran
    (these survive any cut), then the details of every visible scenario that lost points.
    """
    hidden = fb.hidden_titles(report)
    grade = fb.scaled(report.score, report.max_score, low, high)
    head = [
        title(
            f"Итог: {fb.out_of(report.score, report.max_score)} — "
            f"оценка {fb.number(grade)} из {fb.number(high)}"
        ),
        text(fb.summary(report)),
        *notes,
    ]
    if report.findings:
        head.append(title("Сначала исправьте: проверка запуска нашла"))
        for finding in report.findings:
            head.append(text(f"{finding.program}:"))
            head += fields(fb.finding_fields(finding, hidden))
    head.append(title("Сценарии"))
    visible = [r for r in report.results if not r.hidden]
    for r in visible:
        head.append(
            text(
                f"{fb.MARK[r.status]} {r.title} — {fb.out_of(r.points, r.max_points)}, "
                f"{fb.STATUS[r.status]}"
            )
        )
    secret = [r for r in report.results if r.hidden]
    if secret:
        passed = sum(r.status == PASSED for r in secret)
        head.append(
            text(
                f"Скрытые сценарии (подробности — после срока сдачи): пройдено {passed} "
                f"из {len(secret)}, "
                f"{fb.out_of(sum(r.points for r in secret), sum(r.max_points for r in secret))}."
            )
        )
    head.append(title("Как проверялось"))
    head += [text(line) for line in fb.environment_lines(report)]
    details: list[str] = []
    for r in visible:
        if r.status == PASSED:
            continue
        details.append(
            title(f"{fb.MARK[r.status]} {r.title} — {fb.out_of(r.points, r.max_points)}")
        )
        details += [text(line) for line in r.description.splitlines() if line.strip()]
        details += fields(fb.result_fields(r, hidden))
    return assemble(head + details, grade_line(grade), limit)


def render_message(heading: str, lines: Sequence[str], limit: int = DEFAULT_LIMIT) -> str:
    """Comments only, no grade line: VPL then proposes no grade (a refusal, a crash)."""
    return assemble([title(heading), *lines], None, limit)
