"""The class page: one self-contained HTML file beside the gradebook (standard library only).

Score distribution and per-scenario pass rates as inline SVG charts, every student with a
link to their own report, skipped scenarios shown as skipped, and the similar pairs when the
similarity check ran.  No scripts, no external assets.  Everything that comes from a
submission (folder names, reasons, log tails, scenario feedback) is escaped: it is hostile.
"""

from __future__ import annotations

import html
import os
import urllib.parse
from pathlib import Path
from typing import Any

from harness.gradebook import ERROR, GRADED, NO_PROGRAM, NOT_GRADED, STATUS_TEXT, Row, counts

BINS = 10
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
.banner { background: #fff3cd; border: 1px solid #e0c36b; padding: .6rem 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
.graded { color: #1a7f37; } .no_program { color: #9a6700; } .error { color: #cf222e; }
.not_graded { color: #6e7781; }
.legend span { display: inline-block; margin-right: 1rem; }
.sw { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem;
      vertical-align: middle; }
svg text { font-family: system-ui, sans-serif; font-size: 11px; fill: #222; }
.reason { color: #555; max-width: 30rem; overflow-wrap: anywhere; }
"""
GREEN, RED, GREY, AMBER = "#2da44e", "#cf222e", "#8c959f", "#d4a72c"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def link(page: Path, target: Path) -> str:
    """A relative, URL-quoted, HTML-escaped href from ``page`` to ``target``."""
    rel = os.path.relpath(target.resolve(), page.parent.resolve())
    return esc(urllib.parse.quote(Path(rel).as_posix()))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def distribution_svg(rows: list[Row]) -> str:
    """Bars: how many graded students scored in each tenth of the maximum; no program apart."""
    counts = [0] * BINS
    for row in rows:
        if row.status == GRADED and row.score is not None:
            share = row.score / row.max_points if row.max_points else 0.0
            counts[min(BINS - 1, int(share * BINS))] += 1
    labels = [f"{i * 10}–{i * 10 + 9}%" for i in range(BINS - 1)] + ["90–100%"]
    no_program = sum(row.status == NO_PROGRAM for row in rows)
    bars = [*zip(labels, counts, [GREEN] * BINS), ("нет программы", no_program, AMBER)]
    step, bar_w, height, top, bottom = 64, 44, 220, 20, 44
    width = step * len(bars) + 40
    peak = max([c for _, c, _ in bars] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="Распределение баллов">'
    ]
    for i, (label, count, colour) in enumerate(bars):
        x = 10 + i * step + (20 if i == BINS else 0)  # "no program" stands apart
        h = (height - top - bottom) * count / peak
        y = height - bottom - h
        parts.append(
            f'<rect x="{x}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" fill="{colour}">'
            f"<title>{esc(label)}: {count}</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar_w / 2}" y="{y - 4:.1f}" text-anchor="middle">{count}</text>'
        )
        words = label.split(" ", 1)  # "нет программы" on two lines
        lines = "".join(
            f'<tspan x="{x + bar_w / 2}" dy="{12 if n else 0}">{esc(w)}</tspan>'
            for n, w in enumerate(words)
        )
        parts.append(
            f'<text x="{x + bar_w / 2}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="10">{lines}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def scenarios_svg(summary: list[dict[str, Any]]) -> str:
    """A stacked bar per scenario: passed, not passed, skipped (most failing on top)."""
    label_w, bar_w, row_h = 360, 400, 24
    height = row_h * len(summary) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 150}" '
        f'height="{height}" role="img" aria-label="Доля прошедших по сценариям">'
    ]
    for i, s in enumerate(summary):
        y = 5 + i * row_h
        title = s["title"] if len(s["title"]) <= 50 else s["title"][:49] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{esc(title)}'
            f"<title>{esc(s['title'])} ({esc(s['id'])})</title></text>"
        )
        x = float(label_w)
        for key, colour, word in (
            ("passed", GREEN, "прошли"),
            ("not_passed", RED, "не прошли"),
            ("skipped", GREY, "пропущен"),
        ):
            w = bar_w * s[key] / s["graded"] if s["graded"] else 0.0
            if w:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                    f'fill="{colour}"><title>{word}: {s[key]}</title></rect>'
                )
            x += w
        parts.append(
            f'<text x="{label_w + bar_w + 8}" y="{y + 15}">{s["passed"]} / {s["not_passed"]} / '
            f"{s['skipped']}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def write_class_page(
    page: Path,
    rows: list[Row],
    summary: list[dict[str, Any]],
    *,
    out: Path,
    incomplete: bool,
    pairs: list[Any] | None = None,
    similarity_page: Path | None = None,
) -> None:
    c = counts(rows)
    titles = {s["id"]: s["title"] for s in summary}
    body = ["<h1>Сводка по группе</h1>"]
    if incomplete:
        body.append(
            '<p class="banner"><strong>Проверка прервана: страница неполная.</strong> '
            "Запустите batch снова — проверенные работы не перепроверяются.</p>"
        )
    body.append(
        f"<p>Студентов: {len(rows)}; проверено: {c[GRADED]}; "
        f"без программы: {c[NO_PROGRAM]}; ошибок проверки: {c[ERROR]}; "
        f"не проверено: {c[NOT_GRADED]}.</p>"
    )
    body += ["<h2>Распределение баллов</h2>", distribution_svg(rows)]
    body += [
        "<h2>Что не проходит чаще всего</h2>",
        '<p class="legend">'
        f'<span><i class="sw" style="background:{GREEN}"></i>прошли</span>'
        f'<span><i class="sw" style="background:{RED}"></i>не прошли</span>'
        f'<span><i class="sw" style="background:{GREY}"></i>пропущен (не провал: '
        "нет файла или не пройден нужный сценарий)</span>"
        "<span>числа справа: прошли / не прошли / пропущен</span></p>",
        scenarios_svg(summary) if summary else "<p>Ни одна работа не проверена.</p>",
    ]
    if summary:
        body.append(
            "<table><tr><th>Сценарий</th><th class=num>Прошли</th><th class=num>Не прошли</th>"
            "<th class=num>Пропущены</th><th>Чаще всего ломается на шаге</th></tr>"
        )
        for s in summary:
            step = s["steps"].most_common(1)[0][0] if s["steps"] else ""
            body.append(
                f"<tr><td>{esc(s['title'])} <code>{esc(s['id'])}</code></td>"
                f"<td class=num>{s['passed']}</td><td class=num>{s['not_passed']}</td>"
                f"<td class=num>{s['skipped']}</td><td>{esc(step)}</td></tr>"
            )
        body.append("</table>")
    if pairs is not None:
        body.append("<h2>Похожие решения</h2>")
        if similarity_page is not None:
            body.append(
                f'<p><a href="{link(page, similarity_page)}">Отчёт о сходстве: '
                "код пар рядом</a></p>"
            )
        if pairs:
            body.append(
                "<table><tr><th>Студент</th><th>Студент</th><th class=num>Доля совпадений</th></tr>"
            )
            for p in pairs:
                body.append(
                    f"<tr><td>{esc(p.a)}</td><td>{esc(p.b)}</td>"
                    f"<td class=num>{p.sim_a:.0%} / {p.sim_b:.0%}</td></tr>"
                )
            body.append("</table>")
        else:
            body.append("<p>Пар выше порога нет.</p>")
    body += [
        "<h2>Студенты</h2>",
        "<table><tr><th>Студент</th><th class=num>Баллы</th><th>Состояние</th>"
        "<th>Не пройдены</th><th>Пропущены</th><th>Примечание</th></tr>",
    ]
    for row in rows:
        report = out / row.name / "report.html"
        name = esc(row.name)
        if row.status == GRADED and report.is_file():
            name = f'<a href="{link(page, report)}">{name}</a>'
        failed = ", ".join(titles.get(i, i) for i in row.not_passed())
        skipped = ", ".join(titles.get(i, i) for i in row.skipped())
        body.append(
            f"<tr><td>{name}</td><td class=num>{_fmt(row.score)} / {_fmt(row.max_points)}</td>"
            f'<td class="{esc(row.status)}">{esc(STATUS_TEXT[row.status])}</td>'
            f"<td>{esc(failed)}</td><td>{esc(skipped)}</td>"
            f'<td class="reason">{esc(row.reason)}</td></tr>'
        )
    body.append("</table>")
    page.write_text(
        '<!DOCTYPE html>\n<html lang="ru"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<title>Сводка по группе</title><style>"
        + CSS
        + "</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n",
        encoding="utf-8",
    )
