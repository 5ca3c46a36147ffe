"""Sequence diagrams of protocol flows, recorded from the reference server at build time.

```{wire-flow} registration
:server-args: --register-timeout 1
Alice -> {"username": "Alice"}
Alice <- system event=welcome
```

The content is a flow script (see ``wirerec``). At build time the directive
starts ``reference/server.py --port 0``, drives raw-socket clients through the
script, and renders what really crossed the wire: an inline SVG sequence
diagram (no scripts, no network) and the numbered lines as they were sent and
received. If the server exists and the flow breaks, the build fails with the
lines seen so far. Until the server exists, the page shows the script and says
that the recording is pending.
"""

from __future__ import annotations

import html
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wirerec
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from wirerec import SERVER, Event, FlowError

logger = logging.getLogger(__name__)

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
SILENT_CAPTION = 16  # room under an actor's box for "не читает"
LINE_SHOWN = 240  # longer lines are cut in the listing, and say so
TEXT_MAX = 18  # characters of chat text kept in an arrow label
NBSP = "\u00a0"  # keeps "→ Bob" on one line when a label wraps


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(event: Event) -> str:
    """The short arrow label of one line: type and the fields that tell it apart."""
    if event.kind in ("close", "eof"):
        return "закрывает сокет" if event.kind == "close" else "EOF: сервер закрыл соединение"
    msg = event.message
    if event.raw or msg is None:
        return clip(repr(event.data), 44)  # a raw chunk, e.g. half a character
    kind = msg.get("type")
    if kind is None:
        return clip(json.dumps(msg, ensure_ascii=False), 40)
    head = str(kind)
    if kind == "system" and "event" in msg:
        head = str(msg["event"])  # welcome, join, leave, shutdown: only system has these
    elif "code" in msg:
        head += f" {msg['code']}"
    parts = [head]
    if msg.get("fatal"):
        parts.append("fatal")
    if "username" in msg:
        parts.append(str(msg["username"]))
    if "from_username" in msg and "to_username" in msg:
        parts.append(f"{msg['from_username']}→{msg['to_username']}")
    elif "from_username" in msg:
        parts.append(f"от{NBSP}{msg['from_username']}")
    if "target_username" in msg:
        parts.append(f"→{NBSP}{msg['target_username']}")
    if "accepted" in msg:
        parts.append(f"accepted={json.dumps(msg['accepted'])}")
    if "reason" in msg:
        parts.append(f"reason={msg['reason']}")
    if "users" in msg and isinstance(msg["users"], list):
        parts.append("[" + ", ".join(map(str, msg["users"])) + "]")
    if "online_users" in msg:
        parts.append(f"онлайн={msg['online_users']}")
    if kind in ("message", "private") and isinstance(msg.get("message"), str):
        parts.append("«" + clip(msg["message"], TEXT_MAX) + "»")
    return " ".join(parts)


@dataclass
class Row:
    """One drawn row: an arrow (maybe standing for several identical lines) or a note."""

    events: list[Event]
    label: str

    @property
    def first(self) -> Event:
        return self.events[0]

    @property
    def count(self) -> int:
        return sum(e.count for e in self.events)


def rows_of(events: list[Event]) -> list[Row]:
    """Group runs of identical-looking lines to one client (a flood) into one row."""
    rows: list[Row] = []
    for event in events:
        label = summary(event) if event.kind not in ("signal", "exit") else ""
        last = rows[-1] if rows else None
        if (
            last is not None
            and event.kind == "recv"
            and last.first.kind == "recv"
            and last.first.who == event.who
            and last.label == label
        ):
            last.events.append(event)
        else:
            rows.append(Row([event], label))
    return rows


def note_text(event: Event) -> str:
    if event.kind == "signal":
        sig = event.data.decode()
        return f"{sig} (Ctrl+C)" if sig == "SIGINT" else sig
    return f"процесс завершился, код {event.data.decode()}"


def box_width(name: str) -> float:
    return max(len(display(name)) * CHAR_W + 24, 84)


def label_px(text: str) -> float:
    return len(text) * CHAR_W


def label_gap(names: list[str], who: str) -> int:
    """The gap (between lifelines ``k`` and ``k + 1``) that holds the label of an arrow
    between ``who`` and the server: the one next to the client, which no lifeline crosses."""
    client, server = names.index(who), names.index(SERVER)
    return client if client < server else client - 1


def note_half(row: Row, number: int) -> float:
    """Half the width of the note box drawn centred on the server's lifeline."""
    return (label_px(f"{number}. {note_text(row.first)}") + 16) / 2


def wrap(text: str, limit: int) -> list[str]:
    """Break a label into lines of at most ``limit`` characters, at spaces where it can."""
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
    return [*lines, line] if line else lines


@dataclass
class Layout:
    """Where the lifelines go and how many characters a label line may take in each gap."""

    names: list[str]
    x: dict[str, float]
    limits: list[int]  # per gap
    width: float

    def label_x(self, who: str) -> float:
        return self.x[self.names[label_gap(self.names, who)]] + LABEL_PAD

    def label_lines(self, number: int, row: Row) -> list[str]:
        limit = self.limits[label_gap(self.names, row.first.who)]
        return wrap(arrow_label(number, row), limit)


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


def layout(clients: list[str], rows: list[Row]) -> Layout:
    """First client, server, other clients, each gap wide enough for the labels it holds.

    An arrow's label sits in the gap next to its client (``label_gap``), so no label text
    runs through a lifeline, whichever lifelines the arrow itself passes; a note over the
    server's lifeline stays clear of its neighbours.  When the labels on one line would
    make the diagram wider than the page column, the widest gaps are narrowed and their
    labels wrap onto more lines.
    """
    names = [*clients[:1], SERVER, *clients[1:]]
    server = names.index(SERVER)
    note = max(
        (note_half(r, n) for n, r in enumerate(rows, 1) if r.first.kind in ("signal", "exit")),
        default=0.0,
    )
    base = [
        max(MIN_GAP, box_width(left) / 2 + box_width(right) / 2 + 24)
        for left, right in zip(names, names[1:])
    ]
    for k in (server - 1, server):  # the gaps on either side of the server's lifeline
        if 0 <= k < len(base):
            base[k] = max(base[k], note + LABEL_PAD)
    natural = list(base)
    for number, row in enumerate(rows, 1):
        if row.first.kind not in ("signal", "exit"):
            k = label_gap(names, row.first.who)
            natural[k] = max(natural[k], label_px(arrow_label(number, row)) + 2 * LABEL_PAD)
    left = max(box_width(names[0]) / 2, note if server == 0 else 0.0) + 8
    right = max(box_width(names[-1]) / 2, note if names[-1] == SERVER else 0.0) + 8
    least = [max(b, MIN_LABEL * CHAR_W + 2 * LABEL_PAD) for b in base]
    gaps = share(least, natural, FITS_PX - left - right)
    x = {names[0]: left}
    for k, name in enumerate(names[1:]):
        x[name] = x[names[k]] + gaps[k]
    limits = [int((gap - 2 * LABEL_PAD) / CHAR_W) for gap in gaps]
    return Layout(names, x, limits, x[names[-1]] + right)


def display(name: str) -> str:
    return "сервер" if name == SERVER else name


def arrow_label(number: int, row: Row) -> str:
    times = f" × {row.count}" if row.count > 1 else ""
    return f"{number}. {row.label}{times}"


def render_svg(title: str, clients: list[str], silent: set[str], events: list[Event]) -> str:
    rows = rows_of(events)
    plan = layout(clients, rows)
    names, x, width = plan.names, plan.x, plan.width
    ys, y = [], float(TOP)
    for number, row in enumerate(rows, 1):
        extra = (
            0 if row.first.kind in ("signal", "exit") else len(plan.label_lines(number, row)) - 1
        )
        y += ROW_H + extra * LINE_H
        ys.append(y)
    height = round(y) + 24
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
        f'viewBox="0 0 {width:.0f} {height}" role="img" aria-label="{html.escape(title)}" '
        f'font-size="{FONT_PX}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">',
        f"<title>{html.escape(title)}</title>",
    ]
    for name in names:
        w = box_width(name)
        top = 8 + BOX_H + (SILENT_CAPTION if name in silent else 0)  # the caption, then the line
        out.append(
            f'<g class="actor"><line class="lifeline" x1="{x[name]:.0f}" y1="{top}" '
            f'x2="{x[name]:.0f}" y2="{height - 8}" stroke="#999" stroke-dasharray="4 4"/>'
            f'<rect x="{x[name] - w / 2:.0f}" y="8" width="{w:.0f}" height="{BOX_H}" rx="4" '
            f'fill="none" stroke="#888"/>'
            f'<text x="{x[name]:.0f}" y="{8 + BOX_H / 2 + 5}" text-anchor="middle">'
            f"{html.escape(display(name))}</text>"
            + (
                f'<text x="{x[name]:.0f}" y="{8 + BOX_H + 12}" text-anchor="middle" '
                'font-size="11" font-style="italic">не читает</text>'
                if name in silent
                else ""
            )
            + "</g>"
        )
    for number, (row, y) in enumerate(zip(rows, ys), 1):
        event = row.first
        if event.kind in ("signal", "exit"):
            text = f"{number}. {note_text(event)}"
            w = len(text) * CHAR_W + 16
            out.append(
                f'<g class="note"><rect x="{x[SERVER] - w / 2:.0f}" y="{y - 17:.0f}" '
                f'width="{w:.0f}" height="22" rx="3" fill="none" stroke="#888"/>'
                f'<text x="{x[SERVER]:.0f}" y="{y - 2:.0f}" text-anchor="middle">'
                f"{html.escape(text)}</text></g>"
            )
            continue
        out.append(arrow(plan, number, row, y))
    out.append("</svg>")
    return "\n".join(out)


def arrow(plan: Layout, number: int, row: Row, y: float) -> str:
    """One arrow and its label, the label's last line just above the arrow."""
    event, x = row.first, plan.x
    to_server = event.kind in ("send", "close")
    start, end = (x[event.who], x[SERVER]) if to_server else (x[SERVER], x[event.who])
    tip = -9 if end > start else 9
    dash = ' stroke-dasharray="6 4"' if event.kind in ("close", "eof") else ""
    side = "to-server" if to_server else "from-server"
    lines = plan.label_lines(number, row)
    left = plan.label_x(event.who)
    first = y - 8 - (len(lines) - 1) * LINE_H
    label = "".join(
        f'<tspan x="{left:.0f}" y="{first + i * LINE_H:.0f}">{html.escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="arrow {side}"><line x1="{start:.0f}" y1="{y:.0f}" x2="{end + tip:.0f}" '
        f'y2="{y:.0f}" stroke="currentColor" stroke-width="1.4"{dash}/>'
        f'<path d="M{end:.0f},{y:.0f} l{tip},-5 l0,10 z" stroke="none" fill="currentColor"/>'
        f"<text>{label}</text></g>"
    )


def wire_text(event: Event) -> str:
    if event.kind in ("close", "eof"):
        return "(соединение закрыто)"
    if event.kind in ("signal", "exit"):
        return f"({note_text(event)})"
    if event.raw:
        return repr(event.data) + "   (байты как есть)"
    text = event.data.decode("utf-8", "replace").rstrip("\n")
    if len(text) > LINE_SHOWN:
        cut = len(text) - LINE_SHOWN
        return f"{text[:LINE_SHOWN]}… [для показа обрезано {cut} символов из {len(text)}]"
    return text


def listing(events: list[Event]) -> list[tuple[str, str, str, str]]:
    """Rows (number, milliseconds since the first line, direction, the line as sent)."""
    rows = rows_of(events)
    t0 = events[0].at if events else 0.0
    lines = []
    for number, row in enumerate(rows, 1):
        event = row.first
        if event.kind in ("signal", "exit"):
            direction = "сервер"
        elif event.kind in ("send", "close"):
            direction = f"{display(event.who)} → сервер"
        else:
            direction = f"сервер → {display(event.who)}"
        when = f"{(event.at - t0) * 1000:.1f}"
        lines.append((str(number), when, direction, wire_text(event)))
        if row.count > 1 and len(row.events) == 1:
            lines.append(("", "", "", f"… эта строка отправлена {row.count} раз подряд"))
        elif len(row.events) > 1:
            last = row.events[-1]
            lines.append(("", "", "", f"… ещё {len(row.events) - 2} таких же строк …"))
            lines.append(("", f"{(last.at - t0) * 1000:.1f}", direction, wire_text(last)))
    return lines


def listing_html(rows: list[tuple[str, str, str, str]]) -> str:
    """The listing as a table: the wire line wraps inside its own column."""
    out = [
        '<table class="wire-lines"><thead><tr><th>№</th><th>мс</th><th>направление</th>'
        "<th>строка на проводе</th></tr></thead><tbody>"
    ]
    for number, when, direction, text in rows:
        out.append(
            f'<tr><td class="n">{number}</td><td class="ms">{when}</td>'
            f'<td class="dir">{html.escape(direction)}</td>'
            f"<td><code>{html.escape(text)}</code></td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def listing_text(rows: list[tuple[str, str, str, str]]) -> str:
    """The same listing as plain text (other builders than HTML)."""
    return "\n".join(f"{n:>2} {w:>8}  {d:<16}  {t}".rstrip() for n, w, d, t in rows)


class WireFlow(SphinxDirective):
    """Record a flow on the reference server and show its diagram and real lines."""

    required_arguments = 1
    has_content = True
    option_spec = {  # noqa: RUF012 (docutils API)
        "server-args": directives.unchanged,
        "caption": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        root = Path(self.env.app.confdir).parent
        server_py = root / "reference" / "server.py"
        script = "\n".join(self.content)
        name = self.arguments[0]
        try:
            wirerec.parse_flow(script)
        except FlowError as error:
            raise self.error(f"сценарий {name}: {error}") from None
        if not server_py.exists():
            logger.info("wire-flow %s: reference/server.py does not exist yet", name)
            return self.pending(script)
        self.env.note_dependency(str(server_py))
        self.env.note_dependency(str(root / "lab" / "protocol.json"))
        proto = json.loads((root / "lab" / "protocol.json").read_text(encoding="utf-8"))
        args = shlex.split(self.options.get("server-args", ""))
        try:
            rec = wirerec.record(server_py, args, script, proto["transport"]["ready_line_regex"])
        except FlowError as error:
            raise self.error(f"сценарий {name} сломался на эталонном сервере:\n{error}") from None
        title = self.options.get("caption", name)
        svg = render_svg(title, rec.clients, rec.silent, rec.events)
        figure = nodes.container(classes=["wire-diagram"])
        figure += nodes.raw("", svg, format="html")
        rows = listing(rec.events)
        lines = nodes.container(classes=["wire-listing"])
        lines += nodes.raw("", listing_html(rows), format="html")
        text = listing_text(rows)
        plain = addnodes.only(expr="not html")
        plain += nodes.literal_block(text, text, language="text")
        lines += plain
        server_line = " ".join(["python server.py --port 0", *args])
        caption = nodes.paragraph()
        caption += nodes.Text("Записано при сборке страницы: ")
        caption += nodes.literal(server_line, server_line)
        caption += nodes.Text(
            ", клиенты — сырые сокеты; строки ниже — ровно то, что прошло по сети."
        )
        return [figure, caption, lines]

    def pending(self, script: str) -> list[nodes.Node]:
        note = nodes.admonition(classes=["attention"])
        note += nodes.title(text="Запись ещё не сделана")
        note += nodes.paragraph(
            text="Диаграмма и настоящие строки появятся, когда в наборе будет reference/server.py. "
            "Пока — сценарий, по которому они будут записаны:"
        )
        note += nodes.literal_block(script, script, language="text")
        return [note]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("wire-flow", WireFlow)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
