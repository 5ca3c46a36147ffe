"""The designs kept in bench/ for comparison still speak the protocol (slow, not wrong)."""

from __future__ import annotations

import json
import socket

import pytest

from harness.bench import BENCH_DIR
from harness.load.procs import serve

TIMEOUT = 5.0


class Line:
    """A raw NDJSON client: send dicts, read decoded lines."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.file = self.sock.makefile("rb")

    def send(self, message: dict) -> None:
        self.sock.sendall(json.dumps(message, ensure_ascii=False).encode() + b"\n")

    def read(self) -> dict:
        line = self.file.readline()
        assert line, "the server closed the connection"
        return json.loads(line)

    def read_until(self, kind: str) -> dict:
        for _ in range(20):
            message = self.read()
            if message.get("type") == kind or message.get("event") == kind:
                return message
        raise AssertionError(f"no {kind} in 20 messages")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture(params=["naive_server.py", "writer_thread_server.py"])
def bench_server_port(request):
    with serve(BENCH_DIR / request.param) as server:
        yield server.port


def test_bench_server_registers_users_and_refuses_a_taken_name(bench_server_port):
    alice, other = Line(bench_server_port), Line(bench_server_port)
    try:
        alice.send({"username": "Алиса"})
        welcome = alice.read()
        assert welcome["event"] == "welcome" and welcome["online_users"] == 1
        other.send({"username": "алиса"})
        assert other.read()["code"] == "username_taken"
    finally:
        alice.close()
        other.close()


def test_bench_server_broadcast_reaches_the_others_but_not_the_sender(bench_server_port):
    users = [Line(bench_server_port) for _ in range(3)]
    try:
        for n, user in enumerate(users):
            user.send({"username": f"user{n}"})
            user.read_until("welcome")
        users[0].send({"type": "message", "message": "привет"})
        for user in users[1:]:
            got = user.read_until("message")
            assert got["from_username"] == "user0" and got["message"] == "привет"
        users[0].send({"type": "users"})
        listing = users[0].read_until("users_list")  # the sender got no echo before this
        assert listing["users"] == ["user0", "user1", "user2"]
    finally:
        for user in users:
            user.close()


def test_bench_server_delivers_a_private_message(bench_server_port):
    alice, bob = Line(bench_server_port), Line(bench_server_port)
    try:
        alice.send({"username": "alice"})
        alice.read_until("welcome")
        bob.send({"username": "bob"})
        bob.read_until("welcome")
        alice.send({"type": "private", "target_username": "bob", "message": "тсс"})
        got = bob.read_until("private")
        assert got["from_username"] == "alice" and got["message"] == "тсс"
    finally:
        alice.close()
        bob.close()
