"""Every helper that claims to prove absence fails when the forbidden message arrives.

Absence is proven by a marker (handout §5.10): the sender of the message under test causes
one more message for the observer; everything the sender caused before it arrives first.
Each proof here runs twice against a tiny chat server (or, for ``Link``, a tiny client) on
real loopback sockets: once where the forbidden message is sent before the marker — the
proof must fail and show it — and once where it is not — the proof must pass.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.peer import Link, ScriptedServer
from harness.probe import (
    Marker,
    Probe,
    broadcast_marker,
    private_marker,
    unique,
    users_marker,
)
from harness.protocol import server_message_problem
from harness.transcript import Transcript
from harness.verdict import Fail

WAIT = 5.0  # seconds any single expected message may take (never reached when all is well)
STAMP = "2024-01-15T14:30:00"


class TinyChat:
    """A chat server of a few lines, one thread per connection; the faults are switches.

    ``echo``: a general message goes back to its sender too; ``private_to_all``: a private
    message goes to every other user; ``push_users``: a newcomer gets the users list
    unasked, just before its welcome.
    """

    def __init__(
        self, *, echo: bool = False, private_to_all: bool = False, push_users: bool = False
    ) -> None:
        self.echo, self.private_to_all, self.push_users = echo, private_to_all, push_users
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", self.listener.getsockname()[1]
        self.users: dict[str, socket.socket] = {}
        self.locks: dict[socket.socket, threading.Lock] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed at the end of the test
                return
            with self.lock:
                self.locks[conn] = threading.Lock()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def send(self, conn: socket.socket, message: dict[str, Any]) -> None:
        message = {**message, "timestamp": STAMP}
        assert server_message_problem(message) is None, message  # the fake speaks the protocol
        with self.locks[conn]:
            conn.sendall(json.dumps(message, ensure_ascii=False).encode() + b"\n")

    def everyone(self, but: str | None = None) -> list[socket.socket]:
        with self.lock:
            return [conn for name, conn in self.users.items() if name != but]

    def serve(self, conn: socket.socket) -> None:
        name = ""
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                msg = json.loads(line)
                kind = msg.get("type")
                if kind is None:
                    name = msg["username"]
                    with self.lock:
                        self.users[name] = conn
                        count = len(self.users)
                    if self.push_users:
                        self.send(conn, {"type": "users_list", "users": list(self.users)})
                    welcome = {"type": "system", "event": "welcome", "username": name}
                    self.send(conn, {**welcome, "message": "привет", "online_users": count})
                elif kind == "message":
                    out = {"type": "message", "from_username": name, "message": msg["message"]}
                    for other in self.everyone(but=None if self.echo else name):
                        self.send(other, out)
                elif kind == "private":
                    out = {"type": "private", "from_username": name, "message": msg["message"]}
                    with self.lock:
                        target = self.users[msg["target_username"]]
                    for other in self.everyone(but=name) if self.private_to_all else [target]:
                        self.send(other, out)
                elif kind == "users":
                    with self.lock:
                        users = list(self.users)
                    self.send(conn, {"type": "users_list", "users": users})

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def chat() -> Iterator[Callable[..., Callable[[str], Probe]]]:
    """``chat(**faults)`` starts a TinyChat and returns ``join(name)`` → a registered Probe."""
    servers: list[TinyChat] = []
    probes: list[Probe] = []

    def start(**faults: bool) -> Callable[[str], Probe]:
        server = TinyChat(**faults)
        servers.append(server)

        def join(name: str) -> Probe:
            probe = Probe(socket.socket(), server.host, server.port, transcript=Transcript(name))
            probes.append(probe)
            probe.register(name)
            return probe

        return join

    yield start
    for probe in probes:
        probe.close()
    for server in servers:
        server.close()


# -- Probe.expect_none_before with each kind of marker ------------------------------------------


def echo_check(alice: Probe) -> list[dict[str, Any]]:
    alice.send({"type": "message", "message": "привет 1"})
    return alice.expect_none_before(
        users_marker(alice),
        {"type": "message", "from_username": "Alice"},
        what="отправитель не получает своё сообщение",
        timeout=WAIT,
    )


def test_users_marker_proof_fails_when_the_sender_gets_its_own_message_back(chat) -> None:  # type: ignore[no-untyped-def]
    join = chat(echo=True)
    alice, _bob = join("Alice"), join("Bob")
    with pytest.raises(Fail) as failure:
        echo_check(alice)
    assert failure.value.expected == "отправитель не получает своё сообщение"
    assert "привет 1" in failure.value.got


def test_users_marker_proof_passes_when_nothing_comes_back(chat) -> None:  # type: ignore[no-untyped-def]
    join = chat()
    alice, bob = join("Alice"), join("Bob")
    echo_check(alice)
    bob.expect("message", from_username="Alice", message="привет 1", timeout=WAIT)


MARKERS_OF_ALICE_FOR_CAROL: dict[str, Callable[[Probe, Probe], Marker]] = {
    "broadcast_marker": lambda alice, carol: broadcast_marker(alice),
    "private_marker": lambda alice, carol: private_marker(alice, carol),
}


@pytest.mark.parametrize("kind", sorted(MARKERS_OF_ALICE_FOR_CAROL))
@pytest.mark.parametrize("leaky", [True, False], ids=["leaked", "kept"])
def test_a_marker_proof_fails_exactly_when_a_private_message_leaks_to_a_third_user(
    chat,  # type: ignore[no-untyped-def]
    kind: str,
    leaky: bool,
) -> None:
    join = chat(private_to_all=leaky)
    alice, bob, carol = join("Alice"), join("Bob"), join("Carol")
    secret = unique("секрет")
    alice.send({"type": "private", "target_username": "Bob", "message": secret})

    def proof() -> None:
        carol.expect_none_before(
            MARKERS_OF_ALICE_FOR_CAROL[kind](alice, carol),
            lambda m: m.get("type") == "private" and m.get("message") == secret,  # a predicate
            what="личное сообщение не доходит до Carol",
            hint="Личное сообщение — только адресату.",
            timeout=WAIT,
        )

    if leaky:
        with pytest.raises(Fail) as failure:
            proof()
        assert failure.value.expected == "личное сообщение не доходит до Carol"
        assert secret in failure.value.got
        assert failure.value.hint == "Личное сообщение — только адресату."
    else:
        proof()
    bob.expect("private", message=secret, timeout=WAIT)


def test_a_forbidden_message_after_the_marker_is_not_charged_to_the_proof(chat) -> None:  # type: ignore[no-untyped-def]
    """The proof covers what the sender caused before the marker, nothing later."""
    join = chat(private_to_all=True)
    alice, _bob, carol = join("Alice"), join("Bob"), join("Carol")
    marker = broadcast_marker(alice)
    secret = unique("секрет")
    earlier = carol.expect_none_before(marker, {"type": "private"}, what="нет", timeout=WAIT)
    assert all(m.get("type") != "private" for m in earlier)
    alice.send({"type": "private", "target_username": "Bob", "message": secret})
    carol.expect("private", message=secret, timeout=WAIT)


def test_the_proof_returns_the_other_messages_that_came_before_the_marker(chat) -> None:  # type: ignore[no-untyped-def]
    join = chat()
    alice, bob = join("Alice"), join("Bob")
    text = unique("общее")
    alice.send({"type": "message", "message": text})
    earlier = bob.expect_none_before(broadcast_marker(alice), {"type": "private"}, what="нет")
    assert {"type": "message", "from_username": "Alice", "message": text} in [
        {k: m[k] for k in ("type", "from_username", "message") if k in m} for m in earlier
    ]


def test_take_until_only_synchronises_it_never_fails_on_what_came_before(chat) -> None:  # type: ignore[no-untyped-def]
    join = chat(echo=True)
    alice, _bob = join("Alice"), join("Bob")
    alice.send({"type": "message", "message": "эхо 2"})
    before = alice.take_until(users_marker(alice), timeout=WAIT)
    assert [i.message["message"] for i in before if i.message] == ["эхо 2"]


def test_users_marker_proof_fails_on_an_echo_even_after_an_unrequested_users_list(chat) -> None:  # type: ignore[no-untyped-def]
    """A server that greets a newcomer with the users list must not make the marker blind."""
    join = chat(echo=True, push_users=True)
    alice, _bob = join("Alice"), join("Bob")
    # The list came before the welcome that register() waited for: it is in the inbox.
    assert alice.peek("users_list", users=["Alice"]) is not None
    with pytest.raises(Fail):
        echo_check(alice)


# -- Link.expect_none_before: what the student's client sends -----------------------------------


class TinyClient:
    """A chat client of a few lines: raw lines to the scripted server, nothing read back."""

    def __init__(self, server: ScriptedServer) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=WAIT)

    def send(self, obj: dict[str, Any]) -> None:
        self.send_raw(json.dumps(obj, ensure_ascii=False).encode() + b"\n")

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def vera() -> Iterator[tuple[TinyClient, Link]]:
    """A tiny client registered as Вера on a ScriptedServer, and its Link."""
    server = ScriptedServer(
        lambda family: socket.socket(family, socket.SOCK_STREAM),
        [0],
        transcript=Transcript("сервер проверки"),
        online=("Анна",),
    )
    client = TinyClient(server)
    link = server.connection(WAIT)
    assert link is not None
    client.send({"username": "Вера"})
    link.expect(WAIT, username="Вера")
    yield client, link
    client.close()
    server.close()


MARKER = {"type": "message", "message": "маркер 77"}


def sent_nothing_but_the_marker(link: Link, since: int) -> list[dict[str, Any]]:
    return link.expect_none_before(
        since,
        {"message": MARKER["message"]},
        lambda m: m.get("type") != "private",  # only a private message may come before
        what="клиент отправляет только личное сообщение",
        hint="Команды обрабатывайте в клиенте.",
        timeout=WAIT,
    )


def test_link_proof_fails_when_the_client_sends_something_forbidden_before_the_marker(
    vera: tuple[TinyClient, Link],
) -> None:
    client, link = vera
    since = link.mark()
    client.send({"type": "message", "message": "/private Анна тайна"})
    client.send(MARKER)
    with pytest.raises(Fail) as failure:
        sent_nothing_but_the_marker(link, since)
    assert failure.value.expected == "клиент отправляет только личное сообщение"
    assert "/private Анна тайна" in failure.value.got
    assert failure.value.hint == "Команды обрабатывайте в клиенте."


def test_link_proof_passes_and_returns_what_was_allowed(vera: tuple[TinyClient, Link]) -> None:
    client, link = vera
    since = link.mark()
    private = {"type": "private", "target_username": "Анна", "message": "тайна"}
    client.send(private)
    client.send({"type": "pong"})  # pongs are never charged
    client.send(MARKER)
    assert sent_nothing_but_the_marker(link, since) == [private]


def test_link_proof_fails_on_a_line_that_is_not_json(vera: tuple[TinyClient, Link]) -> None:
    client, link = vera
    since = link.mark()
    client.send_raw("тайна без JSON\n".encode())
    client.send(MARKER)
    with pytest.raises(Fail) as failure:
        sent_nothing_but_the_marker(link, since)
    assert "тайна без JSON" in failure.value.got


def test_link_proof_looks_only_after_its_mark(vera: tuple[TinyClient, Link]) -> None:
    client, link = vera
    client.send({"type": "message", "message": "до отметки"})
    link.expect(WAIT, message="до отметки")
    since = link.mark()
    client.send(MARKER)
    assert sent_nothing_but_the_marker(link, since) == []


def test_link_proof_fails_when_the_marker_never_comes(vera: tuple[TinyClient, Link]) -> None:
    client, link = vera
    since = link.mark()
    client.close()  # the client is gone: the wait ends at once, not at its timeout
    with pytest.raises(Fail) as failure:
        sent_nothing_but_the_marker(link, since)
    assert "маркер 77" in failure.value.expected
