"""Test doubles for reference/client.py: a scripted server and a screen in a real pty.

``FakeServer`` listens on a real socket (127.0.0.1, port 0).  A test accepts the
client's connection as a ``Peer``, waits for what the client sends and sends
crafted server messages with chosen timestamps.

``Screen`` runs the client in a pseudo-terminal (pexpect) and renders its output
with a terminal emulator (pyte), so that tests assert on what a person sees:
which rows hold which text, where the cursor is.  Every wait polls until a
predicate holds or a timeout passes, and then fails showing the screen.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pexpect
import pyte
from wcwidth import wcswidth  # pyte's own measure of terminal columns

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "reference" / "client.py"
SERVER = ROOT / "reference" / "server.py"
PROTOCOL = json.loads((ROOT / "lab" / "protocol.json").read_text(encoding="utf-8"))
DISPLAY = PROTOCOL["client"]["display"]

TIMEOUT = 10.0  # seconds any single wait may take
ROWS, COLUMNS = 40, 160
ME = "Алиса"  # the name the client under test registers
TS = "2024-01-15T14:30:00"  # a server timestamp far from the local clock
POLL = 0.05  # longest single read of the pty; predicates are re-checked this often


def client_env(**extra: str) -> dict[str, str]:
    """Environment for the client: a UTF-8 xterm, no user inputrc, no colours unless asked."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update(TERM="xterm", LANG="C.UTF-8", LC_ALL="C.UTF-8", INPUTRC="/dev/null")
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1")
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


# ------------------------------------------------------------------ fake server


class Peer:
    """The server's end of one client connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received: list[dict[str, Any]] = []
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self.sock.makefile("rb") as lines, contextlib.suppress(OSError):  # closed by us
            for line in lines:
                if line.strip():
                    self._inbox.put(json.loads(line.decode("utf-8")))
        self._inbox.put(None)

    def send(self, **message: Any) -> None:
        """Send one server message; timestamp TS unless given."""
        message.setdefault("timestamp", TS)
        self.send_raw(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _next(self, deadline: float, what: str) -> dict[str, Any] | None:
        """The next message from the client (None: it closed), or fail at deadline."""
        try:
            message = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"timed out waiting for the client: {what}") from None
        if message is not None:
            self.received.append(message)
        return message

    def expect(self, timeout: float = TIMEOUT, **fields: Any) -> dict[str, Any]:
        """The next message from the client; it must contain fields (pongs are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline, f"a message like {fields}")
            if message is None:
                raise AssertionError(f"client closed the connection, expected {fields}")
            if message.get("type") == "pong" and fields.get("type") != "pong":
                continue
            for key, value in fields.items():
                assert message.get(key) == value, f"expected {fields}, client sent {message}"
            return message

    def expect_closed(self, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Wait until the client closes; return what it sent meanwhile."""
        deadline = time.monotonic() + timeout
        sent = []
        while True:
            message = self._next(deadline, "the connection to close")
            if message is None:
                return sent
            sent.append(message)

    def welcome(self, name: str, online: int = 1) -> None:
        """Accept the client's registration as name."""
        self.expect(username=name)
        self.send(
            type="system",
            event="welcome",
            username=name,
            message=f"Добро пожаловать в чат, {name}!",
            online_users=online,
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):  # already closed
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class FakeServer:
    """A listening socket whose connections the test scripts by hand."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.peers: list[Peer] = []

    def accept(self, timeout: float = TIMEOUT) -> Peer:
        self.listener.settimeout(timeout)
        try:
            sock, _ = self.listener.accept()
        except socket.timeout:
            raise AssertionError(f"the client did not connect in {timeout} s") from None
        sock.settimeout(None)
        peer = Peer(sock)
        self.peers.append(peer)
        return peer

    def close(self) -> None:
        for peer in self.peers:
            peer.close()
        self.listener.close()


# ----------------------------------------------------------------------- screen


class Screen:
    """The client in a real pty, rendered by pyte."""

    def __init__(self, port: int, env: dict[str, str] | None = None, python: str = "") -> None:
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.raw = ""
        self.child = pexpect.spawn(
            python or sys.executable,
            ["-u", str(CLIENT), "--host", "127.0.0.1", "--port", str(port)],
            encoding="utf-8",
            codec_errors="replace",
            echo=True,  # a real terminal echoes; readline draws nothing when echo is off
            dimensions=(ROWS, COLUMNS),
            env=env or client_env(),
            timeout=TIMEOUT,
        )

    # -- reading

    def pump(self, timeout: float = POLL) -> bool:
        """Feed what the client wrote within timeout to the emulator; False at EOF."""
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(line for line in self.lines() if line)

    def cursor_line(self) -> str:
        return self.screen.display[self.screen.cursor.y].rstrip()

    def row_of(self, needle: str) -> int | None:
        """The last row containing needle."""
        rows = [i for i, line in enumerate(self.lines()) if needle in line]
        return rows[-1] if rows else None

    def wait(
        self, predicate: Callable[[Screen], bool], what: str, timeout: float = TIMEOUT
    ) -> None:
        """Poll until predicate(self) holds; fail with the screen after timeout."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.text()}")
            if not self.pump() and not predicate(self):
                raise AssertionError(f"client exited waiting for {what}; screen:\n{self.text()}")

    def wait_text(self, needle: str, timeout: float = TIMEOUT) -> int:
        """Wait until some row holds needle; return that row."""
        self.wait(lambda s: s.row_of(needle) is not None, repr(needle), timeout)
        row = self.row_of(needle)
        assert row is not None
        return row

    def wait_prompt(self, prompt: str, typed: str = "", timeout: float = TIMEOUT) -> None:
        """Wait until the cursor's row is prompt + typed, the cursor after it."""
        want = (prompt + typed).rstrip()

        def ready(s: Screen) -> bool:
            return s.cursor_line() == want and s.screen.cursor.x == _width(prompt + typed)

        self.wait(ready, f"prompt {want!r} on the cursor line", timeout)

    def wait_exit(self, timeout: float = TIMEOUT) -> int:
        """Wait for the client to end; return its exit status."""
        self.wait(lambda s: not s.child.isalive(), "the client to exit", timeout)
        while self.pump():
            pass
        self.child.close()
        status = self.child.exitstatus
        return status if status is not None else 128 + (self.child.signalstatus or 0)

    # -- typing

    def type(self, text: str) -> None:
        self.child.send(text)

    def line(self, text: str) -> None:
        self.child.send(text + "\r")

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()


def _width(text: str) -> int:
    return max(0, wcswidth(text))


def piped_client(port: int, lines: list[str], timeout: float = TIMEOUT) -> subprocess.Popen[str]:
    """The client with stdin and stdout as pipes, lines fed and stdin closed."""
    proc = subprocess.Popen(
        [sys.executable, "-u", str(CLIENT), "--port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=client_env(),
    )
    assert proc.stdin is not None
    proc.stdin.write("".join(line + "\n" for line in lines))
    proc.stdin.close()
    return proc
