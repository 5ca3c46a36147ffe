"""PROTOCOL.md §5: private sessions."""

from __future__ import annotations

from server_wire import ServerProcess, answer, marker_round_trip, open_session, request


def test_session_request_reaches_only_the_target(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    request(alice, bob)
    marker_round_trip(alice, carol)
    alice.sync()  # nothing back to the requester yet


def test_accepted_session_is_announced_to_both(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    open_session(alice, bob)
    marker_round_trip(bob, carol)


def test_rejected_session_is_announced_to_both(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    request(alice, bob)
    answer(bob, alice, False)
    for both in (alice, bob):
        both.expect("session_rejected", from_username="Alice", to_username="Bob")
    answer(bob, alice, True)  # the request was used up
    bob.expect_error("no_pending_request")


def test_answer_without_a_request_gets_no_pending_request(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    answer(bob, alice, True)
    bob.expect_error("no_pending_request")
    request(alice, bob)
    answer(alice, bob, True)  # the requester cannot answer its own request
    alice.expect_error("no_pending_request")
    answer(bob, bob, True)
    bob.expect_error("no_pending_request")


def test_session_request_to_an_unknown_user_gets_unknown_user(server: ServerProcess) -> None:
    (alice,) = server.users("Alice")
    alice.send({"type": "session_request", "target_username": "Nobody"})
    alice.expect_error("unknown_user")


def test_session_request_to_oneself_gets_self_target(server: ServerProcess) -> None:
    (alice,) = server.users("Alice")
    alice.send({"type": "session_request", "target_username": "alice"})
    alice.expect_error("self_target")


def test_repeated_request_while_waiting_gets_busy(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    request(alice, bob)
    alice.send({"type": "session_request", "target_username": "Bob"})
    alice.expect_error("busy")
    marker_round_trip(alice, bob)


def test_request_to_a_user_in_a_session_gets_busy(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    open_session(alice, bob)
    carol.send({"type": "session_request", "target_username": "Bob"})
    carol.expect_error("busy")
    marker_round_trip(carol, bob)


def test_request_from_a_user_in_a_session_gets_busy(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    open_session(alice, bob)
    alice.send({"type": "session_request", "target_username": "Carol"})
    alice.expect_error("busy")
    marker_round_trip(alice, carol)


def test_accepting_while_in_another_session_gets_busy(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    request(carol, bob)
    open_session(alice, bob)
    answer(bob, carol, True)
    bob.expect_error("busy")
    marker_round_trip(bob, carol)


def test_session_end_is_announced_to_both_with_reason_exit(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    open_session(alice, bob)
    bob.send({"type": "session_end"})
    for both in (alice, bob):
        ended = both.expect(
            "session_ended", from_username="Bob", to_username="Alice", reason="exit"
        )
        assert "Bob" in ended["message"]
    open_session(bob, alice)  # both are free again


def test_session_end_outside_a_session_gets_not_in_session(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": "session_end"})
    alice.expect_error("not_in_session")
    request(alice, bob)  # a pending request is not a session
    alice.send({"type": "session_end"})
    alice.expect_error("not_in_session")


def test_partner_leaving_ends_the_session_with_reason_disconnect(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    open_session(alice, bob)
    alice.close()
    bob.expect("session_ended", from_username="Alice", to_username="Bob", reason="disconnect")
    bob.expect("system", event="leave", username="Alice")
    carol.expect("system", event="leave", username="Alice")
    open_session(carol, bob)  # Bob is free again


def test_private_messages_flow_both_ways_in_a_session(server: ServerProcess) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    open_session(alice, bob)
    alice.send({"type": "private", "target_username": "Bob", "message": "в сессии"})
    bob.expect("private", from_username="Alice", message="в сессии")
    bob.send({"type": "private", "target_username": "Alice", "message": "ответ"})
    alice.expect("private", from_username="Bob", message="ответ")
    marker_round_trip(bob, carol)


def test_leaving_requester_withdraws_its_pending_request(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    request(alice, bob)
    alice.close()
    bob.expect("system", event="leave", username="Alice")
    server.users("Alice")  # a new user with the same name did not ask anything
    bob.expect("system", event="join", username="Alice")
    answer(bob, alice, True)
    bob.expect_error("no_pending_request")
