"""Real terminal screens of the reference client, taken when the site is built.

    ```{terminal-screens}
    :columns: 72
    Alice ? Введите имя:
    Alice > Alice
    Alice ? общий
    show Alice
    ```

At build time the directive starts ``reference/server.py --port 0``, and for each
name a ``reference/client.py`` in a real pseudo-terminal (``harness.terminal``:
pexpect + pyte, the same terminal the grader uses). Steps, one per line:

``NAME > TEXT``   type TEXT and press Enter in NAME's terminal (``NAME >`` alone: Enter);
``NAME ? TEXT``   wait until a line of NAME's screen contains TEXT (case-insensitive);
``NAME ~ TEXT``   wait until NAME's cursor line ends with TEXT (what is being typed);
``NAME type TEXT`` type TEXT without Enter;
``show NAME``     render NAME's screen here, as a person sees it.

Every wait has a timeout; a wait that fails fails the build with the screen as it was.
Server timestamps change from build to build; the rest is what the client prints.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

WAIT = 10.0
STEP = re.compile(r"^(?P<who>\S+)\s+(?P<verb>>|\?|~|type)(?:\s(?P<text>.*))?$")


class ScreenError(Exception):
    """The reference client did not show what the page says it shows."""


def render(term: Any, name: str) -> str:
    """The screen down to the cursor line, trailing blank lines dropped."""
    lines = term.all_lines()
    cursor = len(term.screen.scrolled) + term.cursor[0]
    shown = lines[: cursor + 1]
    while shown and not shown[-1].strip() and len(shown) > 1:
        shown.pop()
    return "\n".join(line.rstrip() for line in shown)


def run_screens(root: Path, script: str, columns: int) -> list[tuple[str, str]]:
    """Run the script against the reference programs; the screens asked for by ``show``."""
    sys.path.insert(0, str(root))
    from harness.process import ServerProcess
    from harness.sandbox import Launch
    from harness.terminal import Terminal, TerminalTimeout
    from harness.transcript import Transcript

    proto = json.loads((root / "lab" / "protocol.json").read_text(encoding="utf-8"))
    ready = re.compile(proto["transport"]["ready_line_regex"])
    argv = [sys.executable, "-u", str(root / "reference" / "server.py"), "--port", "0"]
    server = ServerProcess(
        Launch(
            argv=argv,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            cwd=str(root / "reference"),
            preexec_fn=lambda: None,
            shown="python3 -u server.py --port 0",
        ),
        transcript=Transcript("сервер"),
        output_cap=1 << 20,
    )
    terms: dict[str, Any] = {}
    shown: list[tuple[str, str]] = []
    try:
        match = server.wait_for_line(ready, WAIT)
        if match is None:
            raise ScreenError("эталонный сервер не напечатал строку готовности")
        port = match.group("port")
        for number, raw in enumerate(script.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("show "):
                name = line.split(None, 1)[1]
                shown.append((name, render(terms[name], name)))
                continue
            m = STEP.match(line)
            if not m:
                raise ScreenError(f"строка {number} не разобрана: {line}")
            name, verb, text = m["who"], m["verb"], m["text"] or ""
            if name not in terms:
                terms[name] = Terminal.spawn(
                    [sys.executable, "-u", str(root / "reference" / "client.py"), "--port", port],
                    cwd=str(root / "reference"),
                    name=name,
                    rows=24,
                    columns=columns,
                )
            term = terms[name]
            try:
                if verb == ">":
                    term.send_line(text)
                elif verb == "type":
                    term.type(text)
                elif verb == "?":
                    term.wait_until(lambda t, s=text: t.contains(s), WAIT, text)
                else:
                    term.wait_until(
                        lambda t, s=text: t.cursor_line().rstrip().endswith(s.rstrip()), WAIT, text
                    )
            except TerminalTimeout:
                raise ScreenError(
                    f"строка {number} ({line}): за {WAIT:g} с не дождались; экран {name}:\n"
                    + term.screen_text()
                ) from None
    finally:
        for term in terms.values():
            term.close()
        server.close()
    return shown


class TerminalScreens(SphinxDirective):
    """Drive reference clients in real terminals at build time and show their screens."""

    has_content = True
    option_spec = {"columns": directives.positive_int}  # noqa: RUF012 (docutils API)

    def run(self) -> list[nodes.Node]:
        root = Path(self.env.app.confdir).parent
        for name in ("server.py", "client.py"):
            self.env.note_dependency(str(root / "reference" / name))
        try:
            screens = run_screens(root, "\n".join(self.content), self.options.get("columns", 72))
        except ScreenError as error:
            raise self.error(f"экран эталонного клиента не совпал со страницей:\n{error}") from None
        out: list[nodes.Node] = []
        for name, text in screens:
            box = nodes.container(classes=["terminal-screen"])
            box += nodes.paragraph(text=f"Терминал {name}")
            box += nodes.literal_block(text, text, language="text")
            out.append(box)
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("terminal-screens", TerminalScreens)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
