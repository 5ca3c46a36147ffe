"""PROTOCOL.md §6: ping/pong liveness and slow readers."""

from __future__ import annotations

from server_wire import TIMESTAMP_RE, marker_round_trip


def test_silent_client_gets_ping_and_pong_keeps_it(start_server) -> None:
    server = start_server("--ping-interval", "0.3", "--ping-timeout", "5")
    (alice,) = server.users("Alice")
    ping = alice.expect("ping")
    assert TIMESTAMP_RE.match(ping["timestamp"])
    alice.send({"type": "pong"})
    alice.expect("ping")  # a second ping, not a close: the pong kept the connection
    alice.send({"type": "pong"})
    assert alice.sync() == ["Alice"]


def test_any_message_counts_as_an_answer_to_ping(start_server) -> None:
    server = start_server("--ping-interval", "0.3", "--ping-timeout", "1")
    (alice,) = server.users("Alice")
    alice.expect("ping")
    assert alice.sync() == ["Alice"]  # "users" instead of "pong"
    alice.expect("ping")  # alive: the next ping comes, not the end of the connection


def test_client_silent_after_ping_is_dropped_with_reason_timeout(start_server) -> None:
    server = start_server("--ping-interval", "0.3", "--ping-timeout", "0.3")
    alice, bob = server.users("Alice", "Bob")
    leave, skipped = bob.wait_for(
        "system", event="leave", username="Alice", answer_pings=True, timeout=15
    )
    assert leave["reason"] == "timeout" and leave["online_users"] == 1
    assert {message["type"] for message in skipped} <= {"ping"}
    alice.expect("ping")
    alice.expect_closed()


def test_slow_reader_is_dropped_with_overflow_and_others_get_everything(start_server) -> None:
    server = start_server("--sendq-bytes", "65536")
    sender, fast = server.users("Sender", "Fast")
    server.client("Slow", rcvbuf=4096)  # a small receive window, and it never reads
    for early in (sender, fast):
        early.expect("system", event="join", username="Slow")
    text = "я" * 4000  # ~8 KB per message on the wire
    leave = None
    for number in range(5000):  # ~40 MB: far beyond any kernel buffer on the way
        sender.send({"type": "message", "message": f"{number} {text}"})
        message = fast.next_message()
        if message["type"] == "system":
            leave = message
            message = fast.next_message()
        assert message["type"] == "message" and message["message"].startswith(f"{number} ")
        if leave is not None:
            break
    assert leave is not None, "the slow reader was never dropped"
    assert leave["event"] == "leave" and leave["username"] == "Slow"
    assert leave["reason"] == "overflow"
    sender.expect("system", event="leave", username="Slow", reason="overflow")
    marker_round_trip(sender, fast)
    assert fast.sync() == ["Sender", "Fast"]


def test_client_that_never_reads_does_not_delay_others(start_server) -> None:
    server = start_server("--sendq-bytes", str(64 * 1024 * 1024))
    sender, fast = server.users("Sender", "Fast")
    server.client("Stuck", rcvbuf=4096)  # stays below the limit: never dropped
    for early in (sender, fast):
        early.expect("system", event="join", username="Stuck")
    text = "ж" * 4000
    for number in range(1000):  # ~8 MB queued for Stuck meanwhile
        sender.send({"type": "message", "message": f"{number} {text}"})
        fast.expect("message", from_username="Sender", message=f"{number} {text}")
    newcomer = server.client("Newcomer")  # the registry is not blocked either
    assert newcomer.sync() == ["Sender", "Fast", "Stuck", "Newcomer"]
