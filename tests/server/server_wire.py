"""Test helpers for reference/server.py: a real server process and a line-framed test client.

Everything waits on something observable (the ready line, a message, end of input) and
every wait has a timeout with a message that says what was awaited. Absence is proven
with a marker round trip (PROTOCOL.md §7): after the message under test the same sender
sends a marker, and the receiver's very next message must be that marker.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "reference" / "server.py"
PROTOCOL = json.loads((ROOT / "lab" / "protocol.json").read_text(encoding="utf-8"))
READY_RE = re.compile(PROTOCOL["transport"]["ready_line_regex"])
TIMESTAMP_RE = re.compile(PROTOCOL["definitions"]["timestamp"]["pattern"])

# Generous: the tests must not flake on a loaded 2-core machine. They are upper bounds on
# waits for things that normally take milliseconds, never expected durations.
WAIT = 15.0
START_WAIT = 30.0


class ServerProcess:
    """reference/server.py (or another server script) running as a real subprocess."""

    def __init__(self, *options: str, python: str = sys.executable, script: Path = SERVER):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.command = [python, "-u", str(script), "--port", "0", *options]
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(ROOT),
        )
        self.pid = self.proc.pid
        self.clients: list[ChatClient] = []
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._collect, args=(self.proc.stdout, self.stdout)),
            threading.Thread(target=self._collect, args=(self.proc.stderr, self.stderr)),
        ]
        for reader in self._readers:
            reader.daemon = True
            reader.start()
        self.ready_line = self.wait_for_line(self.stdout, READY_RE, START_WAIT, "ready line")
        match = READY_RE.search(self.ready_line)
        assert match is not None
        self.host = match.group("host")
        self.port = int(match.group("port"))

    def _collect(self, stream: Any, lines: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._changed:
                lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(
        self, lines: list[str], pattern: re.Pattern[str], timeout: float, what: str
    ) -> str:
        """Wait for a line of stdout/stderr matching `pattern`; return it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in lines:
                    if pattern.search(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._alive()):
                    raise AssertionError(
                        f"server: no {what} within {timeout} s; exit={self.proc.poll()}\n"
                        f"stdout: {self.stdout}\nstderr: {self.stderr[-20:]}"
                    )
                self._changed.wait(min(remaining, 0.5))

    def _alive(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def wait_log(self, pattern: str, timeout: float = WAIT) -> str:
        return self.wait_for_line(self.stderr, re.compile(pattern), timeout, repr(pattern))

    def client(self, name: str | None = None, rcvbuf: int | None = None) -> ChatClient:
        """A connected client; registered (welcome consumed) if `name` is given."""
        client = ChatClient(self.port, rcvbuf=rcvbuf)
        self.clients.append(client)
        if name is not None:
            client.register(name)
        return client

    def users(self, *names: str) -> list[ChatClient]:
        """Register users in order; each earlier user consumes the join of each later one."""
        clients: list[ChatClient] = []
        for name in names:
            client = self.client(name)
            for earlier in clients:
                earlier.expect("system", event="join", username=name)
            clients.append(client)
        return clients

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait_exit(self, timeout: float = WAIT) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"server did not exit within {timeout} s; stderr: {self.stderr[-20:]}"
            ) from None

    def stop(self) -> None:
        """Close our clients, end the process (SIGTERM, then SIGKILL), release its pipes."""
        close_all(self.clients)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for reader in self._readers:
            reader.join(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    # -- evidence from /proc (Linux) -----------------------------------------------------

    def thread_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


class NothingArrived(AssertionError):
    """A wait for a server message timed out."""


class ChatClient:
    """A raw protocol client: sends JSON lines, reads and checks server messages."""

    def __init__(self, port: int, host: str = "127.0.0.1", rcvbuf: int | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect(), so that the window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(WAIT)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one write, one segment
        self.name: str | None = None
        self.buffer = b""
        self.raw_lines: list[bytes] = []
        self.closed_by_server = False

    # -- sending ------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def register(self, name: str) -> dict[str, Any]:
        self.send({"username": name})
        welcome = self.expect("system", event="welcome")
        self.name = welcome["username"]
        return welcome

    # -- receiving ----------------------------------------------------------------------

    def next_message(self, timeout: float = WAIT) -> dict[str, Any]:
        """The next message from the server; AssertionError on timeout or end of input."""
        line = self._next_line(timeout)
        if line is None:
            raise AssertionError(f"{self.name}: server closed the connection ({self.buffer!r})")
        message = json.loads(line.decode("utf-8"))
        assert isinstance(message, dict), line
        return message

    def _next_line(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NothingArrived(
                    f"{self.name}: nothing within {timeout} s; partial {self.buffer[:200]!r}"
                )
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                self.closed_by_server = True
                return None
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        self.raw_lines.append(line + b"\n")
        return line

    def poll_message(self, timeout: float) -> dict[str, Any] | None:
        """The next message if one arrives within `timeout`, else None."""
        try:
            return self.next_message(timeout)
        except NothingArrived:
            return None

    def expect(self, message_type: str, timeout: float = WAIT, **fields: Any) -> dict[str, Any]:
        """The NEXT message must have this type and these field values."""
        message = self.next_message(timeout)
        wanted = dict(fields, type=message_type)
        mismatched = {k: v for k, v in wanted.items() if message.get(k) != v}
        assert not mismatched, f"{self.name}: expected {wanted}, got {message}"
        return message

    def expect_error(self, code: str, fatal: bool = False) -> dict[str, Any]:
        message = self.expect("error", code=code)
        assert bool(message.get("fatal", False)) is fatal, message
        assert message["message"].strip(), message
        return message

    def wait_for(
        self, message_type: str, timeout: float = WAIT, answer_pings: bool = False, **fields: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Skip messages until one matches; return it and the skipped ones."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            message = self.next_message(max(0.0, deadline - time.monotonic()))
            if answer_pings and message.get("type") == "ping":
                self.send({"type": "pong"})
            if message.get("type") == message_type and all(
                message.get(k) == v for k, v in fields.items()
            ):
                return message, skipped
            skipped.append(message)

    def expect_closed(self, timeout: float = WAIT) -> None:
        """The server closes the connection next, with no further message."""
        try:
            line = self._next_line(timeout)
        except ConnectionResetError:
            return
        assert line is None, f"{self.name}: expected end of input, got {line!r}"

    def sync(self) -> list[str]:
        """Round trip to self: everything the server sent us before it has arrived."""
        self.send({"type": "users"})
        return self.expect("users_list")["users"]

    def close(self) -> None:
        self.sock.close()

    def reset(self) -> None:
        """Close abortively (RST), as a crashed client or a broken network would."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll state that sends no message (e.g. /proc) until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        pause.wait(0.05)


def marker_round_trip(sender: ChatClient, receiver: ChatClient) -> None:
    """Prove `receiver` got nothing more from `sender`'s earlier actions (PROTOCOL.md §7)."""
    marker = "marker-" + uuid.uuid4().hex
    sender.send({"type": "private", "target_username": receiver.name, "message": marker})
    receiver.expect("private", from_username=sender.name, message=marker)


def request(requester: ChatClient, target: ChatClient) -> None:
    requester.send({"type": "session_request", "target_username": target.name})
    asked = target.expect("session_request", from_username=requester.name)
    assert requester.name in asked["message"]


def answer(responder: ChatClient, requester: ChatClient, accepted: bool) -> None:
    responder.send(
        {"type": "session_response", "target_username": requester.name, "accepted": accepted}
    )


def open_session(requester: ChatClient, target: ChatClient) -> None:
    request(requester, target)
    answer(target, requester, True)
    for both in (requester, target):
        both.expect("session_accepted", from_username=requester.name, to_username=target.name)


def close_all(clients: Iterable[ChatClient]) -> None:
    for client in clients:
        client.close()
