"""PROTOCOL.md §1: newline-delimited JSON over TCP, framing and encoding both ways."""

from __future__ import annotations

import json

from server_wire import TIMESTAMP_RE, ServerProcess, marker_round_trip


def chat_line(text: str) -> bytes:
    return json.dumps({"type": "message", "message": text}, ensure_ascii=False).encode() + b"\n"


def test_message_split_across_segments_is_reassembled(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    line = chat_line("разрезано на части")
    alice.send_raw(line[:5])
    bob.sync()  # a round trip elsewhere, so that the halves go as separate segments
    alice.send_raw(line[5:])
    bob.expect("message", from_username="Alice", message="разрезано на части")


def test_coalesced_messages_in_one_segment_are_all_handled(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send_raw(chat_line("один") + chat_line("два") + chat_line("три"))
    for text in ("один", "два", "три"):
        bob.expect("message", from_username="Alice", message=text)


def test_message_sent_one_byte_at_a_time_is_handled(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    for byte in chat_line("по байту"):
        alice.send_raw(bytes([byte]))
    bob.expect("message", from_username="Alice", message="по байту")


def test_utf8_character_split_between_segments_is_decoded(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    line = chat_line("Ж")
    cut = line.index("Ж".encode()) + 1  # inside the two-byte character
    alice.send_raw(line[:cut])
    bob.sync()  # a round trip elsewhere, so that the halves go as separate segments
    alice.send_raw(line[cut:])
    bob.expect("message", from_username="Alice", message="Ж")


def test_crlf_line_ending_is_tolerated(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send_raw(chat_line("crlf")[:-1] + b"\r\n")
    bob.expect("message", from_username="Alice", message="crlf")


def test_unicode_escapes_are_accepted(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    escaped = b"\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442"
    alice.send_raw(b'{"type": "message", "message": "' + escaped + b'"}\n')
    bob.expect("message", from_username="Alice", message="Привет")


def test_empty_lines_are_ignored(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send_raw(b"\n\r\n\n" + chat_line("после пустых") + b"\n")
    bob.expect("message", from_username="Alice", message="после пустых")
    alice.sync()  # and no error came back for the empty lines


def test_unknown_extra_fields_are_ignored(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": "message", "message": "лишнее", "color": "red", "n": [1, 2]})
    bob.expect("message", from_username="Alice", message="лишнее")


def test_server_writes_one_utf8_json_object_per_line_with_timestamp(
    server: ServerProcess,
) -> None:
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": "message", "message": "Привет всем!"})
    bob.expect("message", from_username="Alice", message="Привет всем!")
    raw = bob.raw_lines[-1]
    assert "Привет всем!".encode() in raw, "non-ASCII text must be sent as is"
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    for line in bob.raw_lines:
        message = json.loads(line)
        assert TIMESTAMP_RE.match(message["timestamp"]), message


def test_line_at_the_length_limit_is_accepted(start_server) -> None:
    server = start_server("--max-line-bytes", "1000")
    alice, bob = server.users("Alice", "Bob")
    prefix = b'{"type": "message", "message": "'
    line = prefix + b"x" * (1000 - len(prefix) - 2) + b'"}'
    assert len(line) == 1000
    alice.send_raw(line + b"\r\n")
    bob.expect("message", from_username="Alice")


def test_line_over_the_length_limit_is_fatal_line_too_long(start_server) -> None:
    server = start_server("--max-line-bytes", "1000")
    alice, bob = server.users("Alice", "Bob")
    alice.send_raw(b'{"type": "message", "message": "' + b"x" * 2000)
    alice.expect_error("line_too_long", fatal=True)
    alice.expect_closed()
    bob.expect("system", event="leave", username="Alice", reason="error")


def test_default_line_limit_is_64_kib(server: ServerProcess) -> None:
    (alice,) = server.users("Alice")
    alice.send_raw(b" " * (64 * 1024 + 10))
    alice.expect_error("line_too_long", fatal=True)
    alice.expect_closed()


def test_invalid_json_is_not_fatal(server: ServerProcess) -> None:
    alice, bob = server.users("Alice", "Bob")
    for bad in (b"{not json}", b'{"type": "message", "message": "x"', b"\xff\xfe{}"):
        alice.send_raw(bad + b"\n")
        alice.expect_error("invalid_json")
    marker_round_trip(alice, bob)


def test_json_that_is_not_an_object_gets_invalid_json(server: ServerProcess) -> None:
    (alice,) = server.users("Alice")
    for bad in (b"[1, 2]", b'"text"', b"42", b"null", b"[" * 5000 + b"]" * 5000):
        alice.send_raw(bad + b"\n")
        alice.expect_error("invalid_json")
