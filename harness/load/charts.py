"""Charts of load runs as plain SVG (no dependency), or PNG when matplotlib is installed.

A chart is a column of panels 260 px high (:func:`svg_document`): line panels
(:func:`svg_panel`, e.g. throughput and latency over time) and grouped bars
(:func:`svg_bars`).  Every axis runs from 0 to its last tick, so no tick lies past the end of
an axis and no line leaves it; panels of one chart that show the same time are drawn with
the same ``x_ticks`` (:func:`write_plot` does), so one second is as wide in each of them.
Elements carry classes (``panel``, ``axis-x``, ``tick-x``, ``series`` …) for the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
PANEL_HEIGHT = 260
LEFT, WIDTH, HEIGHT = 70, 560, 190  # the plot area of a panel, px
X_STEPS, Y_STEPS = 12, 6  # at most this many intervals between ticks

Series = dict[str, list[tuple[float, float]]]


def nice_ticks(top: float, most: int = Y_STEPS) -> list[float]:
    """Ticks 0, s, 2s … up to the first one >= ``top``, at the smallest step of 1, 2 or
    5 × 10ⁿ that needs at most ``most`` intervals; the last tick is where the axis ends."""
    if not top > 0:
        return [0.0, 1.0]
    base = 10 ** (math.floor(math.log10(top)) - 1)
    step = next(
        base * f for f in (1, 2, 5, 10, 20, 50, 100) if math.ceil(top / (base * f) - 1e-9) <= most
    )
    count = max(1, math.ceil(top / step - 1e-9))
    return [round(i * step, 10) for i in range(count + 1)]


def fmt(value: float, spec: str = "g") -> str:
    """``value`` with a k or M suffix: 1500 → 1.5k (``spec`` formats the mantissa)."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:{spec}}{suffix}"
    return f"{value:{spec}}"


def _frame(title: str, x_label: str, y_label: str, top: int, y_ticks: list[float]) -> list[str]:
    """Title, both axes, their labels, and the y ticks with grid lines."""
    y0 = top + 30 + HEIGHT
    mid = top + 30 + HEIGHT / 2
    out = [
        f'<text x="{LEFT}" y="{top + 18}" font-weight="bold">{title}</text>',
        f'<line class="axis-x" x1="{LEFT}" y1="{y0}" x2="{LEFT + WIDTH}" y2="{y0}" stroke="#333"/>',
        f'<line class="axis-y" x1="{LEFT}" y1="{top + 30}" x2="{LEFT}" y2="{y0}" stroke="#333"/>',
        f'<text x="{LEFT + WIDTH / 2}" y="{y0 + 34}" text-anchor="middle">{x_label}</text>',
        f'<text x="14" y="{mid}" text-anchor="middle" transform="rotate(-90 14 {mid})">'
        f"{y_label}</text>",
    ]
    for tick in y_ticks:
        y = y0 - HEIGHT * tick / y_ticks[-1]
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + WIDTH}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text class="tick-y" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{fmt(tick)}</text>"
        )
    return out


def _legend(names: list[str], top: int) -> list[str]:
    x, y = LEFT + WIDTH + 8, top + 44
    return [
        f'<text x="{x}" y="{y + 16 * n}" fill="{PALETTE[n % len(PALETTE)]}">{name}</text>'
        for n, name in enumerate(names)
    ]


def _panel(elements: list[str]) -> list[str]:
    return ['<g class="panel">', *elements, "</g>"]


def x_ticks_for(*series: Series, also: Sequence[float] = ()) -> list[float]:
    """The x ticks that hold every point of all ``series`` and every x in ``also``
    (for the panels that share an axis)."""
    xs = [x for s in series for v in s.values() for x, _ in v] + list(also)
    return nice_ticks(max(xs, default=0.0), X_STEPS)


def svg_panel(
    title: str,
    series: Series,
    x_label: str,
    y_label: str,
    top: int,
    x_ticks: Sequence[float] | None = None,
    marks: Sequence[tuple[float, str]] = (),
) -> list[str]:
    """One line chart, its plot area starting 30 px below ``top``; ``marks`` are vertical
    dashed lines with a label (e.g. where sending stopped)."""
    ticks = list(x_ticks) if x_ticks else x_ticks_for(series)
    x_end = ticks[-1]
    y_ticks = nice_ticks(max((y for v in series.values() for _, y in v), default=0.0))
    y_end = y_ticks[-1]
    y0 = top + 30 + HEIGHT

    def x_px(x: float) -> float:
        return LEFT + WIDTH * x / x_end

    out = _frame(title, x_label, y_label, top, y_ticks)
    for tick in ticks:
        out.append(
            f'<text class="tick-x" x="{x_px(tick):.1f}" y="{y0 + 16}" text-anchor="middle">'
            f"{fmt(tick)}</text>"
        )
    for x, label in marks:
        out.append(
            f'<line class="mark" x1="{x_px(x):.1f}" y1="{top + 30}" x2="{x_px(x):.1f}" y2="{y0}" '
            f'stroke="#888" stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{x_px(x) - 4:.1f}" y="{top + 42}" text-anchor="end" fill="#666">'
            f"{label}</text>"
        )
    for n, values in enumerate(series.values()):
        coords = " ".join(f"{x_px(x):.1f},{y0 - HEIGHT * y / y_end:.1f}" for x, y in values)
        out.append(
            f'<polyline class="series" fill="none" stroke="{PALETTE[n % len(PALETTE)]}" '
            f'stroke-width="2" points="{coords}"/>'
        )
    return _panel(out + _legend(list(series), top))


def svg_bars(title: str, series: Series, x_label: str, y_label: str, top: int) -> list[str]:
    """Grouped bars: one group per x value (category), one bar per series."""
    categories = sorted({x for values in series.values() for x, _ in values})
    y_ticks = nice_ticks(max((y for v in series.values() for _, y in v), default=0.0))
    y0 = top + 30 + HEIGHT
    out = _frame(title, x_label, y_label, top, y_ticks)
    group = WIDTH / max(1, len(categories))
    bar = group * 0.8 / max(1, len(series))
    for c, category in enumerate(categories):
        x_mid = LEFT + group * (c + 0.5)
        out.append(
            f'<text class="tick-x" x="{x_mid:.1f}" y="{y0 + 16}" text-anchor="middle">'
            f"{category:g}</text>"
        )
        for n, values in enumerate(series.values()):
            value = dict(values).get(category, 0.0)
            h = HEIGHT * value / y_ticks[-1]
            x = LEFT + group * c + group * 0.1 + bar * n
            out.append(
                f'<rect x="{x:.1f}" y="{y0 - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[n % len(PALETTE)]}"/>'
            )
            out.append(
                f'<text x="{x + bar / 2:.1f}" y="{y0 - h - 3:.1f}" text-anchor="middle" '
                f'font-size="10">{fmt(value, ".3g")}</text>'
            )
    return _panel(out + _legend(list(series), top))


def svg_document(panels: list[list[str]], width: int = 780) -> str:
    height = PANEL_HEIGHT * len(panels)
    body = "\n".join(element for panel in panels for element in panel)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
    )


def timeline_series(results: dict[str, Any], key: str) -> list[tuple[float, float]]:
    """``(t, value)`` of one field of a run's timeline, where it has a value."""
    return [(p["t"], p[key]) for p in results["timeline"] if p.get(key) is not None]


def write_plot(path: Path, runs: dict[str, dict[str, Any]]) -> None:
    """Throughput and p99 latency of one or more runs over one shared time axis, as SVG
    (or PNG, with matplotlib); a dashed line marks where a run stopped sending."""
    throughput = {name: timeline_series(r, "deliveries_per_s") for name, r in runs.items()}
    latency = {name: timeline_series(r, "p99_ms") for name, r in runs.items()}
    stops = sorted({r["send_s"] for r in runs.values() if r.get("send_s")})
    marks = [(t, "стоп") for t in stops]
    if path.suffix.lower() == ".png":
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        from matplotlib import pyplot  # type: ignore[import-not-found, unused-ignore]

        fig, axes = pyplot.subplots(2, 1, figsize=(8, 6), sharex=True)
        for ax, data, label in (
            (axes[0], throughput, "доставок/с"),
            (axes[1], latency, "p99, мс"),
        ):
            for name, values in data.items():
                ax.plot([x for x, _ in values], [y for _, y in values], label=name)
            for t in stops:
                ax.axvline(t, color="#888", linestyle="--")
            ax.set_ylabel(label)
            ax.legend()
        axes[1].set_xlabel("время, с")
        fig.savefig(path)
        return
    x_ticks = x_ticks_for(throughput, latency, also=stops)
    panels = [
        svg_panel(
            "Пропускная способность", throughput, "время, с", "доставок/с", 0, x_ticks, marks
        ),
        svg_panel(
            "Задержка (p99 за интервал)",
            latency,
            "время, с",
            "мс",
            PANEL_HEIGHT,
            x_ticks,
            marks,
        ),
    ]
    path.write_text(svg_document(panels), encoding="utf-8")
