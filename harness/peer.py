"""The harness as the chat server: a scripted peer for grading a student's client.

A client scenario needs no reference server.  :class:`ScriptedServer` listens where the
client was told to connect (``--host``/``--port``, in the scenario's private network) and
also on the handout's default port, so a client that ignores ``--port`` is still graded
(and the scenario that checks the options says so).  Each connection is a :class:`Link`:

- it reads what the client sends with :class:`~harness.wire.LineReader` (so a client that
  forgets ``\\n`` is understood, and the deviation noted);
- it answers registration by itself (a welcome, or ``username_taken`` / ``username_invalid``
  by the handout's rule §5.2), ``users`` with the users it knows, and ignores ``pong``;
- everything else the scenario answers: :meth:`Link.send` sends any server message, with a
  timestamp from a scripted clock, so what the client must show is known in advance and the
  same on every run; ``chop=True`` delivers it cut inside UTF-8 characters;
- :meth:`Link.expect` waits for what the client sends; :meth:`Link.expect_none_before`
  proves the client sent nothing forbidden before a marker line the user typed.

Waits block on a condition with a timeout; nothing sleeps except the pauses between chopped
pieces, which are the fault being injected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import socket
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from harness.probe import Forbid, describe, matches, selects
from harness.protocol import protocol
from harness.proxy import SocketFactory, pieces
from harness.transcript import Transcript, WireLog
from harness.verdict import Fail
from harness.wire import Item, LineReader

CHOP_DELAY = 0.005  # seconds between the pieces of a chopped line
START_TIME = dt.datetime(2024, 1, 15, 14, 30, 0)  # the scripted clock (not today, on purpose)
TICK = dt.timedelta(seconds=7)


def name_key(name: str) -> str:
    """Names are compared as the handout says: NFC, then casefold (§5.2)."""
    return unicodedata.normalize("NFC", name).casefold()


class Clock:
    """Timestamps for scripted messages: 14:30:00, 14:30:07, ... (the same on every run)."""

    def __init__(self, start: dt.datetime = START_TIME, tick: dt.timedelta = TICK) -> None:
        self._now = start
        self._tick = tick
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            stamp = self._now
            self._now += self._tick
        return stamp.isoformat(timespec="seconds")


class Link:
    """One client connection to the scripted server (see the module docstring)."""

    def __init__(
        self,
        sock: socket.socket,
        port: int,
        server: ScriptedServer,
        transcript: Transcript,
        label: str = "клиент",
    ) -> None:
        self.port = port  # which of the server's ports the client connected to
        self.username: str | None = None
        self.label = label  # the actor in the wire log: the username once registered
        self.sent: list[Item] = []  # everything the client sent, in order
        self.received: list[dict[str, Any]] = []  # everything sent to the client
        self.closed = False
        self._sock = sock
        self._server = server
        self._transcript = transcript
        self._reader = LineReader()
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._seen = 0  # cursor of expect()
        self._thread = threading.Thread(target=self._read_loop, daemon=True)
        self._thread.start()

    # -- reading ---------------------------------------------------------------------------
    def _read_loop(self) -> None:
        with contextlib.suppress(OSError):  # reset by the client, or closed at cleanup
            while True:
                data = self._sock.recv(65536)
                if not data:
                    break
                for item in self._reader.feed(data):
                    self._on_item(item)
        for item in self._reader.end():
            self._on_item(item)
        self._transcript.add("harness", "клиент закрыл соединение")
        if self.username is not None:
            self._server.leave(self.username)
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def _on_item(self, item: Item) -> None:
        note = f"   ⚠ {item.problem}" if item.problem else ""
        if item.unframed:
            note += f"   ⚠ {item.unframed}"
        self._transcript.add("клиент →", item.raw + note)
        if self._server.wire is not None:
            self._server.wire.add(self.label, "сервер проверки", item.raw)
        message = item.message
        # Answer first, record second: once a scenario sees the request, the answer is out.
        if message is not None and "type" not in message and "username" in message:
            self._server.register(self, message.get("username"))
        elif message is not None and message.get("type") == "users" and self.username:
            self.send("users_list", users=self._server.online())
        with self._cond:
            self.sent.append(item)
            self._cond.notify_all()

    # -- sending ---------------------------------------------------------------------------
    def send(self, kind: str, *, chop: bool = False, **fields: Any) -> dict[str, Any]:
        """Send the client a server message of type ``kind``; returns it (with its timestamp)."""
        message = {"type": kind, **fields, "timestamp": self._server.clock.next()}
        self.send_message(message, chop=chop)
        return message

    def send_message(self, message: dict[str, Any], *, chop: bool = False) -> None:
        """Send ``message`` exactly as given."""
        line = json.dumps(message, ensure_ascii=False)
        self._transcript.add("→ клиенту" + (" (кусками)" if chop else ""), line)
        if self._server.wire is not None:
            self._server.wire.add("сервер проверки", self.label, line)
        data = line.encode("utf-8") + b"\n"
        parts = pieces(data, None, split_utf8=True) if chop else [data]
        with self._send_lock, contextlib.suppress(OSError):  # the client is gone: waits say so
            for i, part in enumerate(parts):
                if i:
                    time.sleep(CHOP_DELAY)  # the injected fault: a pause inside a character
                self._sock.sendall(part)
        with self._cond:
            self.received.append(message)

    # -- waiting ---------------------------------------------------------------------------
    def mark(self) -> int:
        """A position in what the client sent; :meth:`sent_since` gives what came after."""
        with self._cond:
            return len(self.sent)

    def sent_since(self, mark: int) -> list[Item]:
        with self._cond:
            return list(self.sent[mark:])

    def expect(self, timeout: float, **fields: Any) -> dict[str, Any]:
        """Wait for the next message from the client with these fields (earlier ones skipped)."""
        expected = f"клиент отправляет серверу {describe(fields)}"
        return self._wait(lambda m: matches(m, fields), timeout, expected)

    def _wait(
        self, pick: Callable[[dict[str, Any]], bool], timeout: float, expected: str
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._seen, len(self.sent)):
                    message = self.sent[i].message
                    if message is not None and pick(message):
                        self._seen = i + 1
                        return message
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    raise Fail(expected, got=self._got())
                self._cond.wait(remaining)

    def _got(self) -> str:
        shown = [item.show() for item in self.sent[-6:]]
        partial = self._reader.pending()
        if partial:
            shown.append(f"{partial}   (байты без \\n в конце)")
        tail = "\n".join(shown) if shown else "ничего"
        return ("клиент закрыл соединение; " if self.closed else "") + "клиент отправил: " + tail

    def expect_none_before(
        self,
        since: int,
        marker: dict[str, Any],
        forbid: Forbid,
        *,
        what: str,
        hint: str = "",
        timeout: float,
    ) -> list[dict[str, Any]]:
        """Prove the client sent nothing ``forbid`` selects between ``since`` and ``marker``.

        The scenario types the marker line after the input under test; the client sends in
        the order the user typed, so once the marker has arrived everything the earlier
        input made the client send has arrived too.  Pongs are left out.
        """
        expected = f"клиент отправляет серверу маркер {describe(marker)}"
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next(
                    (
                        i
                        for i in range(since, len(self.sent))
                        if self.sent[i].message is not None
                        and matches(self.sent[i].message or {}, marker)
                    ),
                    None,
                )
                if found is not None:
                    before = self.sent[since:found]
                    self._seen = max(self._seen, found + 1)
                    break
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    raise Fail(expected, got=self._got())
                self._cond.wait(remaining)
        earlier = []
        for item in before:
            message = item.message
            if message is not None and message.get("type") == "pong":
                continue
            if message is None or selects(forbid, message):
                raise Fail(what, got=item.show(), hint=hint)
            earlier.append(message)
        return earlier

    def wait_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(2)


class ScriptedServer:
    """Listens for the student's client and hands each connection to a scenario as a Link.

    ``online`` are the users already in the chat (in join order); a client registering
    with one of those names (any case) gets ``username_taken``.
    """

    def __init__(
        self,
        make_socket: SocketFactory,
        ports: Iterable[int],
        *,
        transcript: Transcript,
        online: Iterable[str] = (),
        wire: WireLog | None = None,
    ) -> None:
        self.transcript = transcript
        self.wire = wire
        self.clock = Clock()
        self.host = "127.0.0.1"
        self.links: list[Link] = []
        self._users = list(online)
        self._cond = threading.Condition()
        self._listeners: list[socket.socket] = []
        self._rule = re.compile(protocol()["limits"]["username_regex"])
        for port in ports:
            sock = make_socket(socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, port))
            except OSError as exc:  # only the first port is a must (the others are decoys)
                sock.close()
                if not self._listeners:
                    raise
                transcript.add("harness", f"порт {port} занят: {exc}")
                continue
            sock.listen(8)
            self._listeners.append(sock)
            threading.Thread(target=self._accept, args=(sock,), daemon=True).start()
        self.port = self._listeners[0].getsockname()[1]
        shown = ", ".join(str(s.getsockname()[1]) for s in self._listeners)
        transcript.add("harness", f"сервер проверки слушает {self.host}: {shown}")

    def _accept(self, listener: socket.socket) -> None:
        port = listener.getsockname()[1]
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:  # closed at cleanup
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # chopped pieces go apart
            self.transcript.add("harness", f"клиент подключился к порту {port}")
            with self._cond:
                label = "клиент" + (f" #{len(self.links) + 1}" if self.links else "")
            link = Link(sock, port, self, self.transcript, label)
            with self._cond:
                self.links.append(link)
                self._cond.notify_all()

    def connection(self, timeout: float, index: int = 0) -> Link | None:
        """The ``index``-th client connection, waiting up to ``timeout``; None if none came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.links) <= index:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self.links[index]

    # -- the chat the scenario plays ---------------------------------------------------------
    def online(self) -> list[str]:
        with self._cond:
            return list(self._users)

    def join(self, name: str) -> None:
        """Someone else enters the chat (the scenario also tells the client, if it wants)."""
        with self._cond:
            self._users.append(name)

    def leave(self, name: str) -> None:
        with self._cond:
            self._users = [u for u in self._users if u != name]

    def register(self, link: Link, name: Any) -> None:
        """Answer ``{"username": name}`` as the handout's server does (§5.2)."""
        if link.username is not None:
            link.send("error", code="already_registered", message="Вы уже зарегистрированы")
            return
        text = name if isinstance(name, str) else ""
        with self._cond:
            taken = any(name_key(u) == name_key(text) for u in self._users)
            valid = bool(self._rule.match(text))
            if valid and not taken:
                self._users.append(text)
                link.username = text
                count = len(self._users)
        if valid and not taken and self.wire is not None:
            self.wire.rename(link.label, text)
            link.label = text
        if not valid:
            link.send("error", code="username_invalid", message=f"Недопустимое имя: {text!r}")
        elif taken:
            link.send("error", code="username_taken", message=f"Имя {text} уже занято")
        else:
            link.send(
                "system",
                event="welcome",
                username=text,
                message=f"Добро пожаловать в чат, {text}!",
                online_users=count,
            )

    def close(self) -> None:
        for sock in self._listeners:
            with contextlib.suppress(OSError):
                sock.close()
        for link in list(self.links):
            link.close()
