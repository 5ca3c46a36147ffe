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

from harness import diagram
from harness.diagram import NBSP

logger = logging.getLogger(__name__)

FITS_PX = 720  # furo's content column: wider diagrams wrap their labels to stay inside it
LINE_SHOWN = 240  # longer lines are cut in the listing, and say so
TEXT_MAX = 18  # characters of chat text kept in an arrow label


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


def display(name: str) -> str:
    return "сервер" if name == SERVER else name


def arrow_label(number: int, row: Row) -> str:
    times = f" × {row.count}" if row.count > 1 else ""
    return f"{number}. {row.label}{times}"


def render_svg(title: str, clients: list[str], silent: set[str], events: list[Event]) -> str:
    """The flow drawn by :mod:`harness.diagram` (the same drawing as the HTML report's):
    first client, server, other clients; signals and exits as notes over the server."""
    rows: list[diagram.Row] = []
    for number, row in enumerate(rows_of(events), 1):
        event = row.first
        if event.kind in ("signal", "exit"):
            rows.append(diagram.Note(display(SERVER), f"{number}. {note_text(event)}"))
            continue
        ends = (display(event.who), display(SERVER))
        sender, receiver = ends if event.kind in ("send", "close") else ends[::-1]
        dashed = event.kind in ("close", "eof")
        rows.append(diagram.Arrow(sender, receiver, arrow_label(number, row), dashed=dashed))
    actors = [display(name) for name in (*clients[:1], SERVER, *clients[1:])]
    return diagram.render(
        title,
        actors,
        rows,
        hub=display(SERVER),
        silent={display(name) for name in silent},
        caption="не читает",
        fits_px=FITS_PX,
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
