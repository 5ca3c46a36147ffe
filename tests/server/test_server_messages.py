"""PROTOCOL.md §3-§4: broadcast, private, users list, leave reasons, request errors."""

from __future__ import annotations

import json

import pytest
from server_wire import ServerProcess, marker_round_trip


def test_broadcast_reaches_every_other_user(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    alice.send({"type": "message", "message": "Привет всем!"})
    for receiver in (bob, carol):
        receiver.expect("message", from_username="Alice", message="Привет всем!")


def test_broadcast_is_not_echoed_to_its_sender(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": "message", "message": "без эха"})
    bob.expect("message", from_username="Alice")
    alice.sync()  # the next thing Alice gets is the answer to her own request


def test_message_text_is_sent_stripped(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": "message", "message": "  по краям пробелы \n"})
    bob.expect("message", from_username="Alice", message="по краям пробелы")


def test_private_message_reaches_only_its_target(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    alice.send({"type": "private", "target_username": "Bob", "message": "секрет"})
    bob.expect("private", from_username="Alice", message="секрет")
    marker_round_trip(alice, carol)  # Carol's next message is the marker, not the secret
    alice.sync()  # and no echo to the sender


def test_private_target_is_matched_ignoring_case(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": "private", "target_username": "bob", "message": "hi"})
    bob.expect("private", from_username="Alice", message="hi")


def test_users_list_is_in_join_order(server: ServerProcess) -> None:
    clients = server.users("Zed", "Алиса", "bob", "Carol")
    assert clients[2].sync() == ["Zed", "Алиса", "bob", "Carol"]
    clients[1].close()
    for other in (clients[0], clients[2], clients[3]):
        other.expect("system", event="leave", username="Алиса")
    server.client("Anna")
    for other in (clients[0], clients[2], clients[3]):
        other.expect("system", event="join", username="Anna")
    assert clients[0].sync() == ["Zed", "bob", "Carol", "Anna"]


def test_clean_close_is_announced_with_reason_quit(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.close()
    leave = bob.expect("system", event="leave", username="Alice", reason="quit", online_users=1)
    assert "Alice" in leave["message"]


def test_lost_connection_is_announced_with_reason_disconnect(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.reset()
    bob.expect("system", event="leave", username="Alice", reason="disconnect", online_users=1)


def test_unregistered_connection_closing_is_not_announced(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    server.client().close()
    marker_round_trip(alice, bob)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "message"},
        {"type": "message", "message": 5},
        {"type": "message", "message": None},
        {"type": "private", "message": "x"},
        {"type": "private", "target_username": "Bob"},
        {"type": "private", "target_username": ["Bob"], "message": "x"},
        {"type": "session_request"},
        {"type": "session_response", "target_username": "Bob"},
        {"type": "session_response", "target_username": "Bob", "accepted": "yes"},
        {"type": "session_response", "target_username": "Bob", "accepted": 1},
        {"type": 7},
        {"message": "no type"},
        {"type": "message", "message": "\ud800"},
    ],
    ids=repr,
)
def test_missing_or_mistyped_field_gets_invalid_message(
    server: ServerProcess, message: dict[str, object]
) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send_raw(json.dumps(message).encode() + b"\n")  # ASCII escapes
    alice.expect_error("invalid_message")
    marker_round_trip(alice, bob)  # not fatal, and nothing reached Bob


def test_unknown_type_gets_unknown_type(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    for kind in ("dance", "", "MESSAGE", "do_message", "__init__"):
        alice.send({"type": kind})
        alice.expect_error("unknown_type")
    marker_round_trip(alice, bob)


def test_private_to_an_unknown_user_gets_unknown_user(server: ServerProcess) -> None:
    (alice,) = server.users("Alice")
    alice.send({"type": "private", "target_username": "Nobody", "message": "hi"})
    alice.expect_error("unknown_user")


def test_private_to_oneself_gets_self_target(server: ServerProcess) -> None:
    (alice,) = server.users("Alice")
    alice.send({"type": "private", "target_username": "ALICE", "message": "hi"})
    alice.expect_error("self_target")


@pytest.mark.parametrize("kind", ["message", "private"])
@pytest.mark.parametrize("text", ["", "   ", "\n\t "], ids=repr)
def test_blank_text_gets_empty_message(server: ServerProcess, kind: str, text: str) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": kind, "target_username": "Bob", "message": text})
    alice.expect_error("empty_message")
    marker_round_trip(alice, bob)


@pytest.mark.parametrize("kind", ["message", "private"])
def test_text_over_4096_characters_gets_message_too_long(server: ServerProcess, kind: str) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": kind, "target_username": "Bob", "message": "я" * 4097})
    alice.expect_error("message_too_long")
    marker_round_trip(alice, bob)


@pytest.mark.parametrize("kind", ["message", "private"])
def test_text_of_4096_characters_after_stripping_is_delivered(
    server: ServerProcess, kind: str
) -> None:
    alice, bob = server.users("Alice", "Bob")
    text = "я" * 4096
    alice.send({"type": kind, "target_username": "Bob", "message": "  " + text + "  "})
    bob.expect(kind, from_username="Alice", message=text)


def test_errors_do_not_disturb_other_users(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    alice.send_raw(b"garbage\n[]\n{}\n")
    bob.send({"type": "message", "message": "всё работает"})
    for _ in range(3):
        alice.next_message()  # Alice's errors and Bob's message, in any interleaving
    carol.expect("message", from_username="Bob", message="всё работает")


def test_server_logs_joins_leaves_and_errors_to_stderr(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": "dance"})
    alice.expect_error("unknown_type")
    alice.close()
    bob.expect("system", event="leave", username="Alice")
    server.wait_log("Alice.*онлайн")
    server.wait_log("unknown_type")
    server.wait_log("Alice.*quit")
    assert not any("Сервер запущен" in line for line in server.stdout[1:])


def test_messages_from_one_sender_arrive_in_the_order_sent(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    for number in range(300):
        kind = "private" if number % 3 else "message"
        alice.send({"type": kind, "target_username": "Bob", "message": str(number)})
    for number in range(300):
        kind = "private" if number % 3 else "message"
        bob.expect(kind, from_username="Alice", message=str(number))


def test_private_target_is_matched_after_nfc_normalisation(server: ServerProcess) -> None:
    jose, bob = server.users("José", "Bob")
    bob.send({"type": "private", "target_username": "Jose\u0301", "message": "hola"})
    jose.expect("private", from_username="Bob", message="hola")
