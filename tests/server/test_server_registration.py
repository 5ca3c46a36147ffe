"""PROTOCOL.md §2: registration, names, uniqueness, timeouts, --max-clients."""

from __future__ import annotations

import threading

import pytest
from server_wire import ChatClient, ServerProcess, marker_round_trip


def test_welcome_goes_to_the_new_user_and_join_to_the_others(server: ServerProcess) -> None:
    alice = server.client()
    welcome = alice.register("Alice")
    assert welcome["online_users"] == 1
    assert "Alice" in welcome["message"]
    bob = server.client()
    assert bob.register("Bob")["online_users"] == 2
    join = alice.expect("system", event="join", username="Bob", online_users=2)
    assert "Bob" in join["message"]


@pytest.mark.parametrize(
    "name", ["Алиса", "user_1", "a.b-c", "x" * 32, "Ёлка", "名前", "7"], ids=repr
)
def test_valid_names_are_accepted(server: ServerProcess, name: str) -> None:
    client = server.client()
    assert client.register(name)["username"] == name


@pytest.mark.parametrize(
    "name", ["", "a b", " Alice", "x" * 33, "a!", "tab\tname", "new\nline", "smile🙂"], ids=repr
)
def test_invalid_name_gets_username_invalid_and_may_retry(server: ServerProcess, name: str) -> None:
    client = server.client()
    client.send({"username": name})
    client.expect_error("username_invalid")
    client.register("Fixed")  # the same connection registers after the error


def test_registration_ignores_unknown_extra_fields(server: ServerProcess) -> None:
    client = server.client()
    client.send({"username": "Alice", "version": 2, "client": "test"})
    client.expect("system", event="welcome", username="Alice")


def test_username_that_is_not_a_string_gets_invalid_message(server: ServerProcess) -> None:
    client = server.client()
    for bad in (None, 42, ["Alice"], {"n": "Alice"}):
        client.send({"username": bad})
        client.expect_error("invalid_message")
    client.register("Alice")


def test_taken_name_gets_username_taken_ignoring_case_and_may_retry(
    server: ServerProcess,
) -> None:
    (alice,) = server.users("Alice")
    other = server.client()
    for taken in ("Alice", "alice", "ALICE"):
        other.send({"username": taken})
        other.expect_error("username_taken")
    other.register("Bob")
    alice.expect("system", event="join", username="Bob")


def test_names_equal_after_nfc_and_casefold_are_the_same_user(server: ServerProcess) -> None:
    server.users("José", "Straße")
    other = server.client()
    for same in ("Jose\u0301", "JOSÉ", "STRASSE"):
        other.send({"username": same})
        other.expect_error("username_taken")


def test_name_is_free_again_after_its_user_left(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.close()
    bob.expect("system", event="leave", username="Alice")
    server.client("alice")


def test_message_before_registration_gets_not_registered(server: ServerProcess) -> None:
    client = server.client()
    for message in (
        {"type": "message", "message": "hi"},
        {"type": "users"},
        {"type": "pong"},
        {"type": "no_such_type"},
    ):
        client.send(message)
        client.expect_error("not_registered")
    client.register("Alice")


def test_object_without_username_before_registration_gets_invalid_message(
    server: ServerProcess,
) -> None:
    client = server.client()
    client.send({"name": "Alice"})
    client.expect_error("invalid_message")
    client.register("Alice")


def test_second_registration_gets_already_registered(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"username": "Alice2"})
    alice.expect_error("already_registered")
    assert alice.sync() == ["Alice", "Bob"]
    marker_round_trip(alice, bob)  # and nobody heard of an "Alice2"


def test_registration_timeout_is_fatal_and_closes(start_server) -> None:
    server = start_server("--register-timeout", "0.5")
    (watcher,) = server.users("Watcher")
    silent = server.client()
    silent.expect_error("registration_timeout", fatal=True)
    silent.expect_closed()
    other = server.client("Other")
    watcher.expect("system", event="join", username="Other")  # and no leave before it
    marker_round_trip(other, watcher)


def test_registration_timeout_is_not_reset_by_bad_attempts(start_server) -> None:
    server = start_server("--register-timeout", "1")
    client = server.client()
    client.send({"username": "bad name"})
    client.expect_error("username_invalid")
    client.expect_error("registration_timeout", fatal=True)
    client.expect_closed()


def test_registered_user_is_not_subject_to_registration_timeout(start_server) -> None:
    server = start_server("--register-timeout", "0.5")
    alice, bob = server.users("Alice", "Bob")
    late = server.client()  # its timeout firing proves the other deadline has passed
    late.expect_error("registration_timeout", fatal=True)
    alice.send({"type": "message", "message": "still here"})
    bob.expect("message", from_username="Alice", message="still here")


@pytest.mark.slow
def test_fifty_simultaneous_registrations_of_one_name_have_exactly_one_winner(
    server: ServerProcess,
) -> None:
    clients = [server.client() for _ in range(50)]
    start = threading.Barrier(len(clients))
    results: list[str] = []
    lock = threading.Lock()

    def register(client: ChatClient) -> None:
        start.wait(30)
        client.send({"username": "Same"})
        message = client.next_message()
        outcome = message.get("event") or message.get("code")
        with lock:
            results.append(str(outcome))

    threads = [threading.Thread(target=register, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["username_taken"] * 49 + ["welcome"], results
    assert server.client("Checker").sync() == ["Same", "Checker"]


def test_max_clients_refuses_an_extra_connection_with_server_full(start_server) -> None:
    server = start_server("--max-clients", "2")
    alice, bob = server.users("Alice", "Bob")
    extra = server.client()
    extra.expect_error("server_full", fatal=True)
    extra.expect_closed()
    bob.close()
    alice.expect("system", event="leave", username="Bob")
    server.client("Carol")  # a place is free again


def test_max_clients_counts_unregistered_connections_too(start_server) -> None:
    server = start_server("--max-clients", "1")
    first = server.client()
    extra = server.client()
    extra.expect_error("server_full", fatal=True)
    first.register("Alice")
