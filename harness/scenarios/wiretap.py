"""A wiretap between the student's client and the reference server.

The client connects to the tap as if it were the server; the tap relays every byte both
ways, records each complete line as a message (what the client really sent, what it really
got), can inject a message to the client between two server lines, and can deliver the
server's lines chopped inside UTF-8 characters (one recv() is not one message).  So a
client scenario can see exactly what the client put on the wire (``/help`` sends nothing),
send the client a ``ping`` without waiting for the server's timer, and check that a
message arriving in pieces is still shown.

Waits block on a condition with a timeout; nothing sleeps except the pauses between
chopped pieces, which are the fault being injected.  One tap serves one client connection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from typing import Any

from harness.probe import describe, matches
from harness.process import Transcript
from harness.proxy import pieces
from harness.verdict import Fail

CHOP_DELAY = 0.005  # seconds between the pieces of a chopped line
FROM_CLIENT = "client"
TO_CLIENT = "server"


class Wiretap:
    """See the module docstring.  ``host``/``port`` are what the client connects to."""

    def __init__(self, target_host: str, target_port: int, *, transcript: Transcript) -> None:
        self.target = (target_host, target_port)
        self.transcript = transcript
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host = "127.0.0.1"
        self.port = self._listener.getsockname()[1]
        self._cond = threading.Condition()
        self._to_client_lock = threading.Lock()  # server lines and injected lines never mix
        self._client: socket.socket | None = None
        self._sockets: list[socket.socket] = [self._listener]
        self.log: dict[str, list[dict[str, Any]]] = {FROM_CLIENT: [], TO_CLIENT: []}
        self._seen = {FROM_CLIENT: 0, TO_CLIENT: 0}
        self.closed = False
        self.chop_delay: float | None = None
        threading.Thread(target=self._accept, daemon=True).start()
        transcript.add(
            "harness", f"прослушка {self.host}:{self.port} → {target_host}:{target_port}"
        )

    # -- relaying --------------------------------------------------------------------------
    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
            upstream = socket.create_connection(self.target, timeout=3)
        except OSError as exc:  # closed before the client came, or the server is gone
            self.transcript.add("harness", f"прослушка не соединилась: {exc}")
            return
        upstream.settimeout(None)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # chopped pieces go apart
        with self._cond:
            self._client = client
            self._sockets += [client, upstream]
        threading.Thread(
            target=self._relay, args=(client, upstream, FROM_CLIENT), daemon=True
        ).start()
        self._relay(upstream, client, TO_CLIENT)

    def _relay(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        buffer = b""
        with contextlib.suppress(OSError):  # either side closed
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                if direction == FROM_CLIENT:
                    dst.sendall(data)  # unchanged, as the client cut it
                elif lines:
                    with self._to_client_lock:  # whole lines only, so injections fit between
                        self._deliver(dst, b"".join(line + b"\n" for line in lines))
                for line in lines:
                    self._record(direction, line)
        if buffer and direction == TO_CLIENT:
            with contextlib.suppress(OSError):
                dst.sendall(buffer)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def _deliver(self, dst: socket.socket, data: bytes) -> None:
        """Lines from the server to the client: as they came, or chopped (see :meth:`chop`)."""
        if self.chop_delay is None:
            dst.sendall(data)
            return
        parts = pieces(data, None, split_utf8=True)
        for i, part in enumerate(parts):
            if i:
                time.sleep(self.chop_delay)  # the injected fault: a pause mid-message
            dst.sendall(part)

    def chop(self, delay: float | None = CHOP_DELAY) -> None:
        """From now on deliver server lines cut inside every multi-byte UTF-8 character,
        the pieces ``delay`` seconds apart; lines that come together stay glued (the cut
        falls inside characters, not at the newlines).  ``None`` stops cutting."""
        self.chop_delay = delay
        state = "режет строки к клиенту внутри букв UTF-8" if delay else "больше не режет строки"
        self.transcript.add("harness", f"прослушка {state}")

    def _record(self, direction: str, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            message = {"type": None, "raw": text}
        self.transcript.add("→ сервер" if direction == FROM_CLIENT else "→ клиент", text)
        with self._cond:
            self.log[direction].append(message)
            self._cond.notify_all()

    # -- what a scenario uses --------------------------------------------------------------
    def inject(self, message: dict[str, Any]) -> None:
        """Send ``message`` to the client as if the server had sent it."""
        with self._cond:
            client = self._client
        if client is None:
            raise Fail("клиент подключён к серверу", got="клиент не подключился")
        line = json.dumps(message, ensure_ascii=False)
        self.transcript.add("→ клиент (подмешано)", line)
        with self._to_client_lock, contextlib.suppress(OSError):
            client.sendall(line.encode("utf-8") + b"\n")

    def mark(self) -> int:
        """A position in what the client sent; :meth:`sent_since` gives what came after."""
        with self._cond:
            return len(self.log[FROM_CLIENT])

    def sent_since(self, mark: int) -> list[dict[str, Any]]:
        with self._cond:
            return list(self.log[FROM_CLIENT][mark:])

    def expect_sent(self, timeout: float, **fields: Any) -> dict[str, Any]:
        """Wait for the next message from the client with these fields (earlier ones skipped)."""
        return self._expect(FROM_CLIENT, timeout, fields)

    def expect_received(self, timeout: float, **fields: Any) -> dict[str, Any]:
        """Wait for the next message the client got from the server with these fields."""
        return self._expect(TO_CLIENT, timeout, fields)

    def _expect(self, direction: str, timeout: float, fields: dict[str, Any]) -> dict[str, Any]:
        who = "клиент отправляет серверу" if direction == FROM_CLIENT else "клиент получает"
        expected = f"{who} {describe(fields)}"
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                log = self.log[direction]
                for i in range(self._seen[direction], len(log)):
                    if matches(log[i], fields):
                        self._seen[direction] = i + 1
                        return log[i]
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    shown = [json.dumps(m, ensure_ascii=False) for m in log[-6:]]
                    got = "клиент отправил: " if direction == FROM_CLIENT else "клиент получил: "
                    raise Fail(expected, got=got + ("\n".join(shown) if shown else "ничего"))
                self._cond.wait(remaining)

    def close(self) -> None:
        with self._cond:
            socks, self._sockets = self._sockets, []
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
