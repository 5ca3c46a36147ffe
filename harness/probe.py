"""Raw-socket client used to check a server at the protocol level.

A :class:`Probe` connects, sends objects or raw bytes, and reads in a background thread:
:class:`~harness.wire.LineReader` turns bytes into messages (accepting, and noting, the
framing deviations students make), each message is checked against the schemas of
``lab/protocol.json``, and ``ping`` is answered with ``pong`` (unless told not to).  Waits
never sleep: they block on a condition with a timeout and turn every outcome (timeout,
closed connection, malformed message) into a :class:`~harness.verdict.Fail`.

**Markers** (handout §5.10).  Absence is never proven by waiting: after the message under
test, the same sender causes a *marker* to reach the observer; once the marker has arrived,
everything the sender caused before it has arrived too.  :class:`Marker` names such a
message and how to cause it (:func:`users_marker`, :func:`broadcast_marker`,
:func:`private_marker`); :meth:`Probe.expect_none_before` proves that nothing ``forbid``
selects came before the marker and fails the scenario when something did;
:meth:`Probe.take_until` only collects what came before it (no claim about absence).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

from harness.protocol import server_message_problem
from harness.transcript import Transcript, WireLog
from harness.verdict import Fail
from harness.wire import Item, LineReader

DEFAULT_TIMEOUT = 2.0
Forbid = Union[dict[str, Any], Callable[[dict[str, Any]], bool]]
_counter = itertools.count(1)


def unique(text: str) -> str:
    """``text`` made unique, so a marker or a message cannot be confused with another."""
    return f"{text} #{next(_counter)}"


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


def selects(forbid: Forbid, message: dict[str, Any]) -> bool:
    """Whether ``forbid`` (fields or a predicate) selects ``message``."""
    return bool(forbid(message)) if callable(forbid) else matches(message, forbid)


@dataclass
class Marker:
    """A message the sender causes after the message under test (handout §5.10).

    ``send()`` causes it, and only what arrives after that counts as the marker;
    ``fields`` is how it looks when it arrives at the observer.  ``send=None``: the
    scenario has caused it already (a welcome to a registration sent earlier).
    """

    fields: dict[str, Any]
    send: Callable[[], None] | None = None
    label: str = "маркер"
    #: messages caused earlier that end the wait as well, whichever comes first
    or_fields: tuple[dict[str, Any], ...] = ()

    def seen(self, message: dict[str, Any], caused: bool) -> bool:
        """Whether ``message`` ends the wait (``caused``: it came after ``send()``)."""
        if caused and matches(message, self.fields):
            return True
        return any(matches(message, fields) for fields in self.or_fields)


def users_marker(probe: Probe) -> Marker:
    """``probe`` asks for the users list: what its own earlier messages caused comes first."""
    return Marker({"type": "users_list"}, lambda: probe.send({"type": "users"}), "список users")


def broadcast_marker(sender: Probe) -> Marker:
    """``sender`` writes to the general chat; any other user may observe it."""
    text = unique("маркер")
    return Marker(
        {"type": "message", "from_username": sender.username, "message": text},
        lambda: sender.send({"type": "message", "message": text}),
        f"общее сообщение-маркер {sender.username}",
    )


def private_marker(sender: Probe, receiver: Probe) -> Marker:
    """``sender`` writes to ``receiver`` privately; observed by ``receiver``."""
    text = unique("маркер")
    assert receiver.username is not None
    return Marker(
        {"type": "private", "from_username": sender.username, "message": text},
        lambda: sender.send(
            {"type": "private", "target_username": receiver.username, "message": text}
        ),
        f"личное сообщение-маркер {sender.username} → {receiver.username}",
    )


@dataclass
class _State:
    inbox: list[Item] = field(default_factory=list)
    closed: str | None = None  # why reading stopped


class Probe:
    """A protocol-level client of the chat server (see the module docstring)."""

    def __init__(
        self,
        sock: socket.socket,
        host: str,
        port: int,
        *,
        transcript: Transcript,
        auto_pong: bool = True,
        recv_buffer: int | None = None,
        connect_timeout: float = 3.0,
        wire: WireLog | None = None,
        label: str = "зонд",
        ping_reply: dict[str, Any] | None = None,
    ):
        self.transcript = transcript
        self.wire = wire
        self.label = label
        self.auto_pong = auto_pong
        self.ping_reply = ping_reply or {"type": "pong"}
        self.username: str | None = None
        self.received: list[Item] = []
        self._state = _State()
        self._reader = LineReader()
        self._cond = threading.Condition()
        self._reading = threading.Event()
        self._reading.set()
        self._send_lock = threading.Lock()
        self._sock = sock
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
            for item in self._reader.feed(chunk):
                self._on_item(item)
        for item in self._reader.end():
            self._on_item(item)
        self.transcript.add("harness", reason)
        with self._cond:
            self._state.closed = reason
            self._cond.notify_all()

    def _on_item(self, item: Item) -> None:
        if item.message is not None:
            item.problem = server_message_problem(item.message, check_timestamp=False)
        note = f"   ⚠ {item.problem}" if item.problem else ""
        if item.unframed:
            note += f"   ⚠ {item.unframed}"
        self.transcript.add("recv", item.raw + note)
        if self.wire is not None:
            self.wire.add("сервер", self.label, item.raw)
        if item.message is not None and item.message.get("type") == "ping" and self.auto_pong:
            self.send(self.ping_reply, note="(авто)")
        with self._cond:
            item.seq = len(self.received)
            self.received.append(item)
            self._state.inbox.append(item)
            self._cond.notify_all()

    def pause_reading(self) -> None:
        """Stop reading the socket (a slow reader): data piles up in the kernel buffers."""
        self._reading.clear()
        self.transcript.add("harness", "перестаю читать сокет")

    @property
    def closed(self) -> str | None:
        """Why the connection ended, or None while it is open."""
        with self._cond:
            return self._state.closed

    def pending(self) -> str:
        """Bytes received that do not make a message yet (no ``\\n``, not a whole object)."""
        return self._reader.pending()

    def unframed(self) -> list[Item]:
        """Messages that arrived breaking the framing rule (still so after late newlines)."""
        with self._cond:
            return [item for item in self.received if item.unframed]

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
        if self.wire is not None:
            self.wire.add(self.label, "сервер", shown)
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
    def _pending_text(self) -> str:
        shown = [item.show() for item in self._state.inbox[-8:]]
        partial = self._reader.pending()
        if partial:
            shown.append(f"{partial}   (байты без \\n в конце — не целое сообщение)")
        if not shown:
            return "ничего не пришло"
        return "пришло только:\n" + "\n".join(shown)

    def _who(self) -> str:
        return f"клиент {self.username}" if self.username else "клиент"

    def expect(
        self,
        type: str | Callable[[Any], bool] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        **fields: Any,
    ) -> dict[str, Any]:
        """Wait for (and consume) the first message with these field values.

        Messages that do not match stay in the inbox for later waits.  A value may be a
        callable predicate.  A matching message that breaks the schema fails the scenario.
        """
        wanted = dict(fields)
        if type is not None:
            wanted = {"type": type, **wanted}

        def pick(item: Item) -> bool:
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

    def _wait(self, pick: Callable[[Item], bool], timeout: float, expected: str) -> Item:
        """The first matching item, removed from the inbox."""
        with self._cond:
            index = self._wait_index(pick, timeout, expected)
            return self._state.inbox.pop(index)

    def _wait_index(self, pick: Callable[[Item], bool], timeout: float, expected: str) -> int:
        """Where the first matching item is in the inbox (call with the condition held)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, item in enumerate(self._state.inbox):
                if pick(item):
                    return i
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

    def take_until(self, marker: Marker, *, timeout: float = DEFAULT_TIMEOUT) -> list[Item]:
        """Cause ``marker`` and wait for it; return (and consume) what came before it.

        This only synchronises: it claims nothing about what must not have arrived (for
        that, :meth:`expect_none_before`).  Pings are left out.
        """
        sent_at = 0
        if marker.send is not None:
            with self._cond:
                sent_at = len(self.received)  # the marker can only come after it is caused
            marker.send()
        expected = f"{self._who()} получает {marker.label} {describe(marker.fields)}"
        with self._cond:
            index = self._wait_index(
                lambda item: (
                    item.message is not None and marker.seen(item.message, item.seq >= sent_at)
                ),
                timeout,
                expected,
            )
            before = self._state.inbox[:index]
            del self._state.inbox[: index + 1]
        return [i for i in before if not (i.message and i.message.get("type") == "ping")]

    def expect_none_before(
        self,
        marker: Marker,
        forbid: Forbid,
        *,
        what: str,
        hint: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Prove that nothing ``forbid`` selects reached this probe before ``marker``.

        ``forbid`` is field values or a predicate over a message.  Fails the scenario with
        the offending message (``what`` is the rule in the student's terms).  Returns the
        other messages that came before the marker, consumed.
        """
        earlier = []
        for item in self.take_until(marker, timeout=timeout):
            if item.message is not None and selects(forbid, item.message):
                raise Fail(
                    what,
                    got=item.show(),
                    hint=hint or "Сервер отправил сообщение клиенту, которому оно не адресовано.",
                )
            if item.message is not None:
                earlier.append(item.message)
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
        if self.wire is not None and self.label != name:
            self.wire.rename(self.label, name)
            self.label = name
        return welcome

    def close(self) -> None:
        """Close the connection (politely: FIN, then the socket)."""
        self._reading.set()
        with contextlib.suppress(OSError):  # already disconnected
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(2)

    def abort(self) -> None:
        """Drop the connection with a reset (RST) and no FIN, as a crashed client would.

        ``shutdown(SHUT_RD)`` only wakes our own reader (it sends nothing); closing with a
        zero linger then sends the RST.
        """
        self._reading.set()
        with contextlib.suppress(OSError):  # already closed
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._sock.shutdown(socket.SHUT_RD)
        self._thread.join(2)
        self._sock.close()
