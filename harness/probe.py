"""Raw-socket NDJSON client used to check a server at the protocol level.

A :class:`Probe` connects, sends objects or raw bytes, and reads in a background thread:
it buffers bytes, splits on ``\\n``, decodes and parses each line, checks it against the
message schemas of ``lab/protocol.json`` and answers ``ping`` with ``pong`` (unless told not
to).  Waits never sleep: they block on a condition with a timeout and turn every outcome
(timeout, closed connection, malformed message) into a :class:`~harness.scenario.Fail`.

Absence is proven as PROTOCOL.md §7 says: after the message under test, the same sender
causes a *marker* to be delivered to this probe; once the marker arrives, whatever was going
to arrive before it has arrived (:meth:`Probe.expect_nothing_before_marker`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.process import Transcript
from harness.protocol import server_message_problem
from harness.verdict import Fail

DEFAULT_TIMEOUT = 2.0
Matcher = dict[str, Any] | Callable[[dict[str, Any]], bool] | None


@dataclass
class Received:
    """One line from the server, parsed (``message``) or not (``problem`` says why)."""

    raw: str
    at: float
    message: dict[str, Any] | None = None
    problem: str | None = None
    strict_problem: str | None = None

    def show(self) -> str:
        return self.raw if len(self.raw) <= 300 else self.raw[:300] + "…"


@dataclass
class _State:
    inbox: list[Received] = field(default_factory=list)
    closed: str | None = None  # why reading stopped


def describe(fields: dict[str, Any]) -> str:
    """``{"type": "system", "event": "join"}`` as a short readable text."""
    parts = []
    for key, value in fields.items():
        shown = "<условие>" if callable(value) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    return "{" + ", ".join(parts) + "}"


def matches(message: dict[str, Any], fields: dict[str, Any]) -> bool:
    """True when every field equals (or satisfies, for a callable) the wanted value."""
    for key, want in fields.items():
        if key not in message:
            return False
        got = message[key]
        if callable(want):
            if not want(got):
                return False
        elif got != want:
            return False
    return True


class Probe:
    """A protocol-level client of the chat server (see the module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transcript: Transcript,
        auto_pong: bool = True,
        recv_buffer: int | None = None,
        connect_timeout: float = 3.0,
    ):
        self.transcript = transcript
        self.auto_pong = auto_pong
        self.username: str | None = None
        self.received: list[Received] = []
        self._state = _State()
        self._cond = threading.Condition()
        self._reading = threading.Event()
        self._reading.set()
        self._send_lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if recv_buffer is not None:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
        self._sock.settimeout(connect_timeout)
        try:
            self._sock.connect((host, port))
        except OSError as exc:
            self._sock.close()
            raise Fail(
                f"подключение к серверу {host}:{port}",
                got=f"не удалось подключиться: {exc}",
                hint="Сервер должен принимать подключения, пока он работает.",
            ) from exc
        self._sock.settimeout(None)
        transcript.add("harness", f"подключён к {host}:{port}")
        self._thread = threading.Thread(target=self._read_loop, daemon=True)
        self._thread.start()

    # -- reading ---------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buffer = b""
        reason = "сервер закрыл соединение"
        while True:
            self._reading.wait()
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                reason = f"ошибка соединения: {exc}"
                break
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                self._on_line(line)
        if buffer:
            self._on_line(buffer, partial=True)
        self.transcript.add("harness", reason)
        with self._cond:
            self._state.closed = reason
            self._cond.notify_all()

    def _on_line(self, line: bytes, partial: bool = False) -> None:
        line = line.rstrip(b"\r")
        if not line.strip() and not partial:
            return
        item = Received(raw=line.decode("utf-8", "replace"), at=time.monotonic())
        try:
            parsed = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            item.problem = f"строка не разбирается как JSON в UTF-8: {exc}"
        else:
            if partial:
                item.problem = "строка не завершена символом \\n"
            elif isinstance(parsed, dict):
                item.message = parsed
                item.problem = server_message_problem(parsed, check_timestamp=False)
                item.strict_problem = server_message_problem(parsed)
            else:
                item.problem = "сообщение не является JSON-объектом"
        self.transcript.add("recv", item.raw + (f"   ⚠ {item.problem}" if item.problem else ""))
        if item.message is not None and item.message.get("type") == "ping" and self.auto_pong:
            self.send({"type": "pong"}, note="(авто)")
        with self._cond:
            self.received.append(item)
            self._state.inbox.append(item)
            self._cond.notify_all()

    def pause_reading(self) -> None:
        """Stop reading the socket (a slow reader): data piles up in the kernel buffers."""
        self._reading.clear()
        self.transcript.add("harness", "перестаю читать сокет")

    def resume_reading(self) -> None:
        self._reading.set()

    @property
    def closed(self) -> str | None:
        """Why the connection ended, or None while it is open."""
        with self._cond:
            return self._state.closed

    # -- sending ---------------------------------------------------------------------------
    def send(self, obj: Any, note: str = "") -> None:
        """Send one object as a JSON line (UTF-8, non-ASCII as is)."""
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"
        self.send_raw(data, note=note)

    def send_raw(self, data: bytes, note: str = "") -> None:
        """Send bytes exactly as given."""
        shown = data.decode("utf-8", "replace").rstrip("\n")
        if len(shown) > 300:
            shown = shown[:300] + f"… ({len(data)} байт)"
        self.transcript.add("send", shown + (f"   {note}" if note else ""))
        try:
            with self._send_lock:
                self._sock.sendall(data)
        except OSError as exc:
            raise Fail(
                "отправка сообщения серверу",
                got=f"соединение разорвано: {exc}",
                hint="Сервер не должен закрывать соединение клиента без причины.",
            ) from exc

    # -- waiting ---------------------------------------------------------------------------
    def _take(self, predicate: Callable[[Received], bool]) -> Received | None:
        for i, item in enumerate(self._state.inbox):
            if predicate(item):
                del self._state.inbox[i]
                return item
        return None

    def _pending_text(self) -> str:
        shown = [item.show() for item in self._state.inbox[-8:]]
        if not shown:
            return "ничего не пришло"
        return "пришло только:\n" + "\n".join(shown)

    def _who(self) -> str:
        return f"клиент {self.username}" if self.username else "клиент"

    def expect(
        self, type: str | None = None, *, timeout: float = DEFAULT_TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """Wait for (and consume) the first message with these field values.

        Messages that do not match stay in the inbox for later waits.  A value may be a
        callable predicate.  A matching message that breaks the schema fails the scenario.
        """
        wanted = dict(fields)
        if type is not None:
            wanted = {"type": type, **wanted}

        def pick(item: Received) -> bool:
            return item.message is not None and matches(item.message, wanted)

        expected = f"{self._who()} получает сообщение {describe(wanted)}"
        item = self._wait(pick, timeout, expected)
        assert item.message is not None
        if item.problem:
            raise Fail(
                expected,
                got=item.show(),
                hint=f"Сообщение не соответствует протоколу: {item.problem}.",
            )
        return item.message

    def peek(self, type: str | None = None, **fields: Any) -> dict[str, Any] | None:
        """A matching message already received and not yet consumed (not removed), or None."""
        wanted = dict(fields)
        if type is not None:
            wanted = {"type": type, **wanted}
        with self._cond:
            for item in self._state.inbox:
                if item.message is not None and matches(item.message, wanted):
                    return item.message
        return None

    def _wait(self, pick: Callable[[Received], bool], timeout: float, expected: str) -> Received:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                item = self._take(pick)
                if item is not None:
                    return item
                if self._state.closed:
                    raise Fail(
                        expected,
                        got=f"{self._state.closed}; {self._pending_text()}",
                        hint="Сервер закрыл соединение раньше времени — посмотрите его stderr.",
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Fail(
                        expected,
                        got=f"за {timeout:g} с {self._pending_text()}",
                        hint="Сервер не отправил нужное сообщение или отправил не тому клиенту.",
                    )
                self._cond.wait(remaining)

    def expect_nothing_before_marker(
        self,
        marker: dict[str, Any],
        forbid: Matcher = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        what: str = "",
        hint: str = "",
    ) -> list[dict[str, Any]]:
        """Prove absence (PROTOCOL.md §7): wait for the marker; fail on what came before it.

        ``marker`` are field values of the marker message (which the same sender caused
        after the message under test).  ``forbid`` selects the messages that must not have
        arrived before it (fields or a predicate); None means any message except ``ping``.
        Everything up to and including the marker is consumed; the messages before the
        marker are returned.
        """
        expected = f"{self._who()} получает маркер {describe(marker)}"
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                index = next(
                    (
                        i
                        for i, item in enumerate(self._state.inbox)
                        if item.message is not None and matches(item.message, marker)
                    ),
                    None,
                )
                if index is not None:
                    before = self._state.inbox[:index]
                    del self._state.inbox[: index + 1]
                    break
                if self._state.closed:
                    raise Fail(expected, got=f"{self._state.closed}; {self._pending_text()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Fail(expected, got=f"за {timeout:g} с {self._pending_text()}")
                self._cond.wait(remaining)
        earlier = []
        for item in before:
            msg = item.message
            is_ping = msg is not None and msg.get("type") == "ping"
            if forbid is None:
                if is_ping:
                    continue
                bad = True
            elif callable(forbid):
                bad = msg is not None and forbid(msg)
            else:
                bad = msg is not None and matches(msg, forbid)
            if bad:
                raise Fail(
                    what or f"{self._who()} не получает ничего лишнего",
                    got=item.show(),
                    hint=hint or "Сервер отправил сообщение клиенту, которому оно не адресовано.",
                )
            if msg is not None and not is_ping:
                earlier.append(msg)
        return earlier

    def expect_closed(self, timeout: float = DEFAULT_TIMEOUT, expected: str = "") -> None:
        """Wait until the server closes this connection."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._state.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Fail(
                        expected or "сервер закрывает соединение",
                        got=f"соединение всё ещё открыто через {timeout:g} с",
                        hint="После фатальной ошибки сервер должен закрыть соединение.",
                    )
                self._cond.wait(remaining)

    # -- conveniences ----------------------------------------------------------------------
    def register(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Send ``{"username": name}`` and wait for the welcome; returns it."""
        self.send({"username": name})
        welcome = self.expect("system", event="welcome", timeout=timeout)
        self.username = name
        return welcome

    def marker(self, timeout: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
        """Round trip ``users`` → ``users_list``: everything caused before it has arrived.

        Returns the messages that arrived before the users list (pings excluded), consumed.
        """
        self.send({"type": "users"})
        return self.expect_nothing_before_marker(
            {"type": "users_list"}, forbid=lambda m: False, timeout=timeout
        )

    def round_trip(
        self,
        forbid: Matcher,
        *,
        what: str = "",
        hint: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Prove this client got nothing ``forbid`` selects: ask ``users``, wait for the list.

        The server handles one client's messages in order, so whatever its earlier messages
        caused for this same client arrives before the ``users_list`` (PROTOCOL.md §7).
        """
        self.send({"type": "users"})
        return self.expect_nothing_before_marker(
            {"type": "users_list"}, forbid, timeout=timeout, what=what, hint=hint
        )

    def close(self) -> None:
        """Close the connection (politely: FIN, then the socket)."""
        self._reading.set()
        with contextlib.suppress(OSError):  # already disconnected
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(2)

    def abort(self) -> None:
        """Drop the connection with a reset (RST), as a crashed client would."""
        with contextlib.suppress(OSError):  # already closed
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()
