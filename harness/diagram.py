"""Sequence diagrams as inline SVG: one drawing for the HTML report and the docs site.

Standard library only, and nothing else of the harness: the docs extension
(``docs/_ext/wire_flows.py``) imports it without the harness's dependencies.

- :func:`render` draws actors (boxes with dashed lifelines) and rows: an :class:`Arrow`
  from one actor to another with a label above it, or a :class:`Note` over one actor.
  The caller chooses the order of the actors and writes the labels (numbers included).
- :func:`wire_diagram` draws a scenario's wire log (``ScenarioResult.wire``: events
  ``{"t", "from", "to", "text"}``) for the HTML report: numbered rows, runs of the same
  line grouped, long lines wrapped, only the last rows when there are many.

Layout: the hub (the server, which every arrow touches) goes second, after the first
other actor, the rest follow it.  An arrow's label sits in the gap between two lifelines
next to its non-hub end, so no label text runs through a lifeline, whichever lifelines the
arrow itself passes; a note over an actor keeps clear of its neighbours.  When labels on
one line would make the picture wider than ``fits_px``, the widest gaps are narrowed and
their labels wrap onto more lines (at spaces where they can).

Every text is escaped; the output holds no script, no link and no external reference, so
it can go inline into any HTML page.  Texts are drawn as given: callers pass text that is
already printable (:func:`harness.verdict.printable` for anything a submission sent).
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Union

FONT_PX = 12
CHAR_W = 7.4  # px per character of 12px monospace text (0.6 em), a little over
ROW_H = 28
TOP = 56
BOX_H = 30
MIN_GAP = 150
LABEL_PAD = 12  # clear space between a label and the lifelines on either side
LINE_H = 14  # a label wrapped onto more lines takes this much more height per line
FITS_PX = 720  # furo's content column: wider diagrams wrap their labels to stay inside it
MIN_LABEL = 18  # characters a label line keeps, however narrow the gaps get
SILENT_CAPTION = 16  # room under an actor's box for its caption ("не читает")
NBSP = "\u00a0"  # a space a label never wraps at


@dataclass
class Arrow:
    """A line sent from ``sender`` to ``receiver``; ``label`` is drawn above the arrow."""

    sender: str
    receiver: str
    label: str
    dashed: bool = False  # e.g. a closed connection


@dataclass
class Note:
    """A box over one actor's lifeline (a signal, an exit, a gap in the log)."""

    over: str
    text: str


Row = Union[Arrow, Note]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_px(text: str) -> float:
    return len(text) * CHAR_W


def box_width(name: str) -> float:
    return max(text_px(name) + 24, 84)


def note_width(note: Note) -> float:
    return text_px(note.text) + 16


def wrap(text: str, limit: int, max_lines: int = 0) -> list[str]:
    """``text`` in lines of at most ``limit`` characters, broken at spaces where it can.

    A word longer than a line is cut.  With ``max_lines``, the lines after that many are
    left out and the last line kept ends with «…».
    """
    limit = max(limit, 2)
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        while len(word) > limit:  # nowhere to break: cut the word itself
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:limit])
            word = word[limit:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= limit:
            line += " " + word
        else:
            lines.append(line)
            line = word
    lines = [*lines, line] if line else lines
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: limit - 1] + "…"
    return lines or [""]


def share(base: list[float], natural: list[float], room: float) -> list[float]:
    """Gap widths: natural where they all fit in ``room``, else the widest capped evenly."""
    if sum(natural) <= room:
        return natural
    low, high = 0.0, max(natural)
    for _ in range(40):  # bisect the cap: sum(max(base, min(natural, cap))) == room
        cap = (low + high) / 2
        if sum(max(b, min(n, cap)) for b, n in zip(base, natural)) > room:
            high = cap
        else:
            low = cap
    return [max(b, min(n, low)) for b, n in zip(base, natural)]


@dataclass
class Layout:
    """Where the lifelines go and how many characters a label line may take in each gap."""

    names: list[str]
    hub: str
    x: dict[str, float]
    limits: list[int]  # per gap
    width: float
    max_lines: int = 0

    def label_gap(self, arrow: Arrow) -> int:
        """The gap (between lifelines ``k`` and ``k + 1``) that holds ``arrow``'s label:
        the one next to its non-hub end, on the side of its other end."""
        return label_gap(self.names, self.hub, arrow)

    def label_x(self, arrow: Arrow) -> float:
        return self.x[self.names[self.label_gap(arrow)]] + LABEL_PAD

    def label_lines(self, arrow: Arrow) -> list[str]:
        return wrap(arrow.label, self.limits[self.label_gap(arrow)], self.max_lines)


def label_gap(names: list[str], hub: str, arrow: Arrow) -> int:
    far, near = arrow.sender, arrow.receiver  # neither end is the hub: next to the sender
    if far == hub:
        far, near = near, far
    f, n = names.index(far), names.index(near)
    return f if f < n else f - 1


def default_hub(actors: Sequence[str], rows: Sequence[Row]) -> str:
    """The actor most rows touch (the server)."""
    counts = dict.fromkeys(actors, 0)
    for row in rows:
        for name in (row.sender, row.receiver) if isinstance(row, Arrow) else (row.over,):
            counts[name] = counts.get(name, 0) + 1
    return max(actors, key=lambda name: counts.get(name, 0))


def layout(
    actors: Sequence[str],
    rows: Sequence[Row],
    hub: str | None = None,
    fits_px: float = FITS_PX,
    max_lines: int = 0,
) -> Layout:
    """Lifelines in ``actors`` order, each gap wide enough for the labels it holds."""
    names = list(actors)
    hub = hub if hub is not None else default_hub(names, rows)
    base = [
        max(MIN_GAP, box_width(left) / 2 + box_width(right) / 2 + 24)
        for left, right in zip(names, names[1:])
    ]
    halves = dict.fromkeys(names, 0.0)  # half the widest note over each actor
    for row in rows:
        if isinstance(row, Note):
            halves[row.over] = max(halves[row.over], note_width(row) / 2)
    for k, name in enumerate(names):
        for gap in (k - 1, k):  # the gaps on either side of the note's lifeline
            if halves[name] and 0 <= gap < len(base):
                base[gap] = max(base[gap], halves[name] + LABEL_PAD)
    natural = list(base)
    for row in rows:
        if isinstance(row, Arrow):
            k = label_gap(names, hub, row)
            natural[k] = max(natural[k], text_px(row.label) + 2 * LABEL_PAD)
    left = max(box_width(names[0]) / 2, halves[names[0]]) + 8
    right = max(box_width(names[-1]) / 2, halves[names[-1]]) + 8
    least = [max(b, MIN_LABEL * CHAR_W + 2 * LABEL_PAD) for b in base]
    gaps = share(least, natural, fits_px - left - right)
    x = {names[0]: left}
    for k, name in enumerate(names[1:]):
        x[name] = x[names[k]] + gaps[k]
    limits = [int((gap - 2 * LABEL_PAD) / CHAR_W) for gap in gaps]
    width = x[names[-1]] + right
    if len(names) == 1:  # notes only
        width = max(width, 2 * halves[names[0]] + 16)
    return Layout(names, hub, x, limits, width, max_lines)


def render(
    title: str,
    actors: Sequence[str],
    rows: Sequence[Row],
    *,
    hub: str | None = None,
    silent: Collection[str] = (),
    caption: str = "не читает",
    fits_px: float = FITS_PX,
    max_lines: int = 0,
) -> str:
    """The SVG of ``rows`` between ``actors`` (drawn left to right in this order).

    ``silent`` actors get ``caption`` under their box; ``hub`` is the actor every arrow
    touches (by default the one most rows touch); its arrows get the classes ``to-server``
    and ``from-server``.  Rows that name an actor not in ``actors`` add it at the end.
    """
    rows = [
        Note(row.sender, row.label) if isinstance(row, Arrow) and row.sender == row.receiver
        else row
        for row in rows
    ]  # fmt: skip
    names = list(dict.fromkeys(actors))
    for row in rows:
        for name in (row.sender, row.receiver) if isinstance(row, Arrow) else (row.over,):
            if name not in names:
                names.append(name)
    if not names:
        return ""
    plan = layout(names, rows, hub, fits_px, max_lines)
    ys, y = [], float(TOP)
    for row in rows:
        extra = len(plan.label_lines(row)) - 1 if isinstance(row, Arrow) else 0
        y += ROW_H + extra * LINE_H
        ys.append(y)
    height = round(y) + 24
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{plan.width:.0f}" height="{height}" '
        f'viewBox="0 0 {plan.width:.0f} {height}" role="img" aria-label="{esc(title)}" '
        f'font-size="{FONT_PX}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">',
        f"<title>{esc(title)}</title>",
    ]
    x = plan.x
    for name in names:
        w = box_width(name)
        top = 8 + BOX_H + (SILENT_CAPTION if name in silent else 0)  # the caption, then the line
        out.append(
            f'<g class="actor"><line class="lifeline" x1="{x[name]:.0f}" y1="{top}" '
            f'x2="{x[name]:.0f}" y2="{height - 8}" stroke="#999" stroke-dasharray="4 4"/>'
            f'<rect x="{x[name] - w / 2:.0f}" y="8" width="{w:.0f}" height="{BOX_H}" rx="4" '
            f'fill="none" stroke="#888"/>'
            f'<text x="{x[name]:.0f}" y="{8 + BOX_H / 2 + 5}" text-anchor="middle">'
            f"{esc(name)}</text>"
            + (
                f'<text x="{x[name]:.0f}" y="{8 + BOX_H + 12}" text-anchor="middle" '
                f'font-size="11" font-style="italic">{esc(caption)}</text>'
                if name in silent
                else ""
            )
            + "</g>"
        )
    for row, y in zip(rows, ys):
        if isinstance(row, Note):
            note = row
            w = note_width(note)
            cx = x[note.over]
            out.append(
                f'<g class="note"><rect x="{cx - w / 2:.0f}" y="{y - 17:.0f}" '
                f'width="{w:.0f}" height="22" rx="3" fill="none" stroke="#888"/>'
                f'<text x="{cx:.0f}" y="{y - 2:.0f}" text-anchor="middle">'
                f"{esc(note.text)}</text></g>"
            )
            continue
        out.append(arrow_svg(plan, row, y))
    out.append("</svg>")
    return "\n".join(out)


def arrow_svg(plan: Layout, row: Arrow, y: float) -> str:
    """One arrow and its label, the label's last line just above the arrow."""
    start, end = plan.x[row.sender], plan.x[row.receiver]
    tip = -9 if end > start else 9
    dash = ' stroke-dasharray="6 4"' if row.dashed else ""
    side = (
        " to-server"
        if row.receiver == plan.hub
        else " from-server"
        if row.sender == plan.hub
        else ""
    )
    lines = plan.label_lines(row)
    left = plan.label_x(row)
    first = y - 8 - (len(lines) - 1) * LINE_H
    label = "".join(
        f'<tspan x="{left:.0f}" y="{first + i * LINE_H:.0f}">{html.escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="arrow{side}"><line x1="{start:.0f}" y1="{y:.0f}" x2="{end + tip:.0f}" '
        f'y2="{y:.0f}" stroke="currentColor" stroke-width="1.4"{dash}/>'
        f'<path d="M{end:.0f},{y:.0f} l{tip},-5 l0,10 z" stroke="none" fill="currentColor"/>'
        f"<text>{label}</text></g>"
    )


# -- the wire log of a scenario (HTML report) ----------------------------------------------

WIRE_ROWS = 60  # rows drawn; earlier ones are only in the listing
WIRE_LINES = 6  # lines of a wrapped label (a whole 160-character line in a narrow gap)
WIRE_FITS_PX = 1040  # the HTML report's column
SERVER_NAMES = ("сервер",)  # how the harness names the student's server and its own


@dataclass
class WireRow:
    """Consecutive identical events (a flood) as one row of the diagram and the listing."""

    number: int
    first: dict[str, Any]
    count: int = 1
    last_t: float = 0.0

    @property
    def sender(self) -> str:
        return str(self.first.get("from", "?"))

    @property
    def receiver(self) -> str:
        return str(self.first.get("to", "?"))

    @property
    def text(self) -> str:
        return str(self.first.get("text", ""))

    @property
    def label(self) -> str:
        times = f" × {self.count}" if self.count > 1 else ""
        return f"{self.number}. {self.text}{times}"


def wire_rows(events: Sequence[dict[str, Any]]) -> list[WireRow]:
    """Number the events; a run of the same line between the same two ends is one row."""
    rows: list[WireRow] = []
    for event in events:
        last = rows[-1] if rows else None
        key = (event.get("from"), event.get("to"), event.get("text"))
        if last is not None and key == (last.first.get("from"), last.first.get("to"), last.text):
            last.count += 1
            last.last_t = float(event.get("t", 0.0) or 0.0)
            continue
        rows.append(WireRow(len(rows) + 1, event, last_t=float(event.get("t", 0.0) or 0.0)))
    return rows


def wire_actors(rows: Sequence[WireRow]) -> tuple[list[str], str]:
    """First other actor, the hub, then the others as they appear.

    The hub is the actor most rows touch; between equals, a server.
    """
    seen: list[str] = []
    counts: dict[str, int] = {}
    for row in rows:
        for name in (row.sender, row.receiver):
            if name not in seen:
                seen.append(name)
            counts[name] = counts.get(name, 0) + 1
    if not seen:
        return [], ""
    hub = max(seen, key=lambda name: (counts[name], name.startswith(SERVER_NAMES)))
    others = [name for name in seen if name != hub]
    return [*others[:1], hub, *others[1:]], hub


def wire_diagram(
    events: Sequence[dict[str, Any]],
    title: str,
    fits_px: float = WIRE_FITS_PX,
    limit: int = WIRE_ROWS,
    earlier: str = "… ещё {n} раньше — в таблице",
) -> str:
    """The SVG of a scenario's wire log: the last ``limit`` rows, numbered as in the listing."""
    rows = wire_rows(events)
    if not rows:
        return ""
    actors, hub = wire_actors(rows)
    drawn: list[Row] = []
    if len(rows) > limit:
        drawn.append(Note(hub, earlier.format(n=len(rows) - limit)))
        rows = rows[-limit:]
    drawn += [Arrow(r.sender, r.receiver, r.label) for r in rows]
    return render(title, actors, drawn, hub=hub, fits_px=fits_px, max_lines=WIRE_LINES)
