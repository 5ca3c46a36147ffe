"""A capped, timestamped log of one process or connection, for the report.

A transcript keeps its start and its end when the output is long; the middle is replaced by
a note of how much was left out.  Control characters a program prints are shown as visible
symbols (␛, ␇, ␀ …), so no byte from a submission reaches a report or a terminal raw.
"""

from __future__ import annotations

import collections
import threading
import time

from harness.verdict import printable

HEAD_BYTES = 24 * 1024
TAIL_BYTES = 24 * 1024


class Transcript:
    """A thread-safe log of one process or probe: ``[+1.234s] stream| text`` lines."""

    def __init__(
        self, name: str, t0: float | None = None, head: int = HEAD_BYTES, tail: int = TAIL_BYTES
    ):
        self.name = name
        self.t0 = time.monotonic() if t0 is None else t0
        self._head: list[str] = []
        self._head_bytes = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_bytes = 0
        self._omitted_lines = 0
        self._omitted_bytes = 0
        self._limits = (head, tail)
        self._lock = threading.Lock()

    def add(self, stream: str, text: str) -> None:
        """Record ``text`` (one line or several) as coming from ``stream`` now."""
        stamp = time.monotonic() - self.t0
        lines = printable(text).split("\n") if text else [""]
        with self._lock:
            for line in lines:
                entry = f"[+{stamp:7.3f}s] {stream}| {line}"
                size = len(entry.encode("utf-8", "replace")) + 1
                if self._head_bytes + size <= self._limits[0] and not self._tail:
                    self._head.append(entry)
                    self._head_bytes += size
                    continue
                self._tail.append(entry)
                self._tail_bytes += size
                while self._tail_bytes > self._limits[1] and len(self._tail) > 1:
                    dropped = self._tail.popleft()
                    self._tail_bytes -= len(dropped.encode("utf-8", "replace")) + 1
                    self._omitted_lines += 1
                    self._omitted_bytes += len(dropped.encode("utf-8", "replace")) + 1

    def text(self) -> str:
        """The transcript as text (start, a note of what was omitted, end)."""
        with self._lock:
            parts = list(self._head)
            if self._omitted_lines:
                parts.append(
                    f"… пропущено {self._omitted_lines} строк ({self._omitted_bytes} байт) …"
                )
            parts.extend(self._tail)
        return "\n".join(parts)

    def tail(self, lines: int = 15) -> str:
        """The last ``lines`` entries (for a short "got" in a failure)."""
        with self._lock:
            entries = list(self._head) + list(self._tail)
        return "\n".join(entries[-lines:])


class WireLog:
    """The messages of one scenario in order: who sent what to whom (for sequence diagrams).

    Thread-safe; keeps the last ``limit`` messages.  Texts are printable and cut at
    ``width`` characters.
    """

    def __init__(self, t0: float | None = None, limit: int = 200, width: int = 160) -> None:
        self.t0 = time.monotonic() if t0 is None else t0
        self._events: collections.deque[dict[str, object]] = collections.deque(maxlen=limit)
        self._width = width
        self._lock = threading.Lock()

    def add(self, sender: str, receiver: str, text: str) -> None:
        shown = printable(text.rstrip("\n"))
        if len(shown) > self._width:
            shown = shown[: self._width] + "…"
        event = {"t": round(time.monotonic() - self.t0, 3), "from": sender, "to": receiver}
        event["text"] = shown
        with self._lock:
            self._events.append(event)

    def rename(self, old: str, new: str) -> None:
        """``old`` turned out to be ``new`` (a connection registered): one actor, not two."""
        with self._lock:
            for event in self._events:
                for key in ("from", "to"):
                    if event[key] == old:
                        event[key] = new

    def events(self) -> list[dict[str, object]]:
        with self._lock:
            return list(self._events)
