"""Reading what a program sends: NDJSON lines, and what students send instead.

The protocol is one JSON object per line (handout §5.1).  The harness's readers accept more
than that, so that a deviation costs only the scenario whose rule it breaks and the others
can still grade the rest:

- objects sent back to back without ``\\n`` (``{...}{...}``) are split and delivered;
- an object that ends the data received so far, without its ``\\n``, is delivered at once,
  and if the very next bytes are its ``\\n`` the deviation is taken back;
- an object spread over several lines (``json.dumps(..., indent=2)``) is joined up again.

Each :class:`Item` says how it arrived (``unframed``); the framing scenarios grade that, the
rest only read the messages.  Bytes that never form an object are delivered as a line when
``\\n`` comes (``problem`` says why it is not a message) or are shown as :meth:`LineReader.pending`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from harness.verdict import printable

SHOWN_CHARS = 300
_DECODER = json.JSONDecoder()
NO_NEWLINE = "без \\n в конце"
MULTILINE = "разбито на несколько строк"


@dataclass
class Item:
    """One message (or one line that is not a message) as the harness received it."""

    raw: str  # the text, printable
    at: float  # time.monotonic() when it arrived
    message: dict[str, Any] | None = None
    problem: str | None = None  # why it is not a valid message
    unframed: str = ""  # "" or how the framing broke the rules (NO_NEWLINE, MULTILINE)
    seq: int = 0  # its place among everything one connection received (set by the reader)

    def show(self) -> str:
        return self.raw if len(self.raw) <= SHOWN_CHARS else self.raw[:SHOWN_CHARS] + "…"


def _objects(text: str) -> tuple[list[tuple[Any, str]], str]:
    """Complete JSON values at the start of ``text`` (value, its text) and the rest."""
    found: list[tuple[Any, str]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text) or text[pos] not in "{[":
            return found, text[pos:]
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except ValueError:
            return found, text[pos:]
        found.append((value, text[pos:end]))
        pos = end


def _incomplete(text: str) -> bool:
    """True when ``text`` is the beginning of a JSON object that has not ended yet."""
    if not text.lstrip().startswith("{"):
        return False
    try:
        _DECODER.raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        return exc.pos >= len(text.lstrip()) - 1 or "Unterminated" in exc.msg
    return False


class LineReader:
    """Bytes in (:meth:`feed`), :class:`Item` out (see the module docstring)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._joined: list[str] = []  # lines of an object spread over several lines
        self._last_unframed: Item | None = None  # may still get its "\n"

    def feed(self, data: bytes) -> list[Item]:
        """What ``data`` completes; an empty list while it only extends a line."""
        if self._last_unframed is not None and not self._buffer:
            rest = data.lstrip(b"\r")
            if rest.startswith(b"\n"):  # the newline was only late: no deviation
                self._last_unframed.unframed = ""
                data = rest[1:]
            self._last_unframed = None
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        items: list[Item] = []
        for line in lines:
            items += self._line(line.rstrip(b"\r"))
        items += self._tail()
        return items

    def end(self) -> list[Item]:
        """At end of input: what is left, as a line without ``\\n``."""
        items: list[Item] = []
        rest, self._buffer = self._buffer, b""
        if self._joined:
            rest = ("\n".join(self._joined)).encode() + b"\n" + rest
            self._joined = []
        if rest.strip():
            item = self._make(rest.decode("utf-8", "replace"), None, "строка не завершена \\n")
            item.unframed = NO_NEWLINE
            items.append(item)
        return items

    def pending(self) -> str:
        """Bytes received that are not a message yet (shown when a wait gives up)."""
        text = "\n".join(self._joined) + self._buffer.decode("utf-8", "replace")
        return printable(text[:SHOWN_CHARS])

    # -- inside --------------------------------------------------------------------------------
    def _line(self, line: bytes) -> list[Item]:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [self._make(line.decode("utf-8", "replace"), None, f"не UTF-8: {exc}")]
        if self._joined:
            self._joined.append(text)
            whole = "\n".join(self._joined)
            found, rest = _objects(whole)
            if found and not rest.strip():
                self._joined = []
                return [self._message(value, raw, MULTILINE) for value, raw in found]
            if _incomplete(whole) and len(whole) < 1 << 20:
                return []
            self._joined = []
            return [self._make(whole, None, "строка не разбирается как JSON")]
        if not text.strip():
            return []
        found, rest = _objects(text)
        if rest.strip():
            if not found and _incomplete(text):
                self._joined = [text]
                return []
            items = [self._message(v, raw, NO_NEWLINE) for v, raw in found]
            try:
                json.loads(rest)
            except ValueError as exc:
                return [*items, self._make(rest, None, f"строка не разбирается как JSON: {exc}")]
            return [*items, self._make(rest, None, "сообщение не является JSON-объектом")]
        return [
            self._message(value, raw, NO_NEWLINE if i < len(found) - 1 else "")
            for i, (value, raw) in enumerate(found)
        ]

    def _tail(self) -> list[Item]:
        """Complete objects at the end of the data that have no ``\\n`` (yet)."""
        if not self._buffer or self._joined:
            return []
        try:
            text = self._buffer.decode("utf-8")
        except UnicodeDecodeError:  # a character cut in two: wait for the rest
            return []
        found, rest = _objects(text)
        if not found or rest.strip():
            return []
        self._buffer = b""
        items = [self._message(value, raw, NO_NEWLINE) for value, raw in found]
        self._last_unframed = items[-1]
        return items

    def _message(self, value: Any, raw: str, unframed: str) -> Item:
        if isinstance(value, dict):
            item = self._make(raw, value, None)
        else:
            item = self._make(raw, None, "сообщение не является JSON-объектом")
        item.unframed = unframed
        return item

    @staticmethod
    def _make(raw: str, message: dict[str, Any] | None, problem: str | None) -> Item:
        return Item(raw=printable(raw), at=time.monotonic(), message=message, problem=problem)
