"""Bytes on the wire: the proxy's cuts, the tolerant NDJSON reader, transcripts, probe waits.

Absence proofs (markers) have their own file, ``test_markers.py``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from harness.probe import Probe, users_marker
from harness.proxy import pieces
from harness.transcript import Transcript
from harness.verdict import Fail
from harness.wire import MULTILINE, NO_NEWLINE, Item, LineReader


def test_split_utf8_cuts_inside_every_multibyte_character() -> None:
    data = "aё😀b".encode()
    parts = pieces(data, chunk=None, split_utf8=True)
    assert b"".join(parts) == data
    assert len(parts) == 3
    for part in parts:
        with pytest.raises(UnicodeDecodeError):
            part.decode("utf-8")


def test_chunking_keeps_every_byte_in_order() -> None:
    data = bytes(range(100))
    parts = pieces(data, chunk=7, split_utf8=False)
    assert b"".join(parts) == data
    assert {len(p) for p in parts[:-1]} == {7}


def test_transcript_keeps_start_and_end_and_counts_the_middle() -> None:
    t = Transcript("x", head=200, tail=200)
    for i in range(1000):
        t.add("stdout", f"line {i}")
    text = t.text()
    assert "line 0" in text and "line 999" in text
    assert "line 500" not in text
    assert "пропущено" in text


class TinyServer:
    """Answers each line with the lines scripted for it (a stand-in for a chat server)."""

    def __init__(self, script: dict[bytes, list[bytes]]):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", self.listener.getsockname()[1]
        self.script = script
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        with self.listener:
            conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                for answer in self.script.get(line.strip(), []):
                    conn.sendall(answer + b"\n")


@pytest.fixture
def probe_for() -> Iterator[object]:
    made: list[Probe] = []

    def make(script: dict[bytes, list[bytes]]) -> Probe:
        server = TinyServer(script)
        probe = Probe(socket.socket(), server.host, server.port, transcript=Transcript("p"))
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.close()


USERS = b'{"type": "users"}'
LIST = b'{"type": "users_list", "users": [], "timestamp": "2024-01-01T00:00:00"}'
ECHO = b'{"type": "message", "from_username": "A", "message": "hi"}'


def test_a_scripted_echo_before_the_users_marker_fails_the_proof(probe_for) -> None:  # type: ignore[no-untyped-def]
    clean = probe_for({USERS: [LIST]})
    clean.expect_none_before(users_marker(clean), {"type": "message"}, what="no echo")
    echoing = probe_for({USERS: [ECHO, LIST]})
    with pytest.raises(Fail) as failure:
        echoing.expect_none_before(users_marker(echoing), {"type": "message"}, what="no echo")
    assert failure.value.expected == "no echo"
    assert "hi" in failure.value.got


def test_a_message_breaking_the_schema_fails_with_the_reason(probe_for) -> None:  # type: ignore[no-untyped-def]
    probe = probe_for({USERS: [b'{"type": "users_list", "users": "Alice"}']})
    probe.send({"type": "users"})
    with pytest.raises(Fail) as failure:
        probe.expect("users_list")
    assert "users" in failure.value.hint


def test_waiting_in_vain_fails_with_what_did_arrive(probe_for) -> None:  # type: ignore[no-untyped-def]
    probe = probe_for({USERS: [LIST]})
    probe.send({"type": "users"})
    with pytest.raises(Fail) as failure:
        probe.expect("message", timeout=0.3)
    assert "users_list" in failure.value.got


# -- harness.wire.LineReader: what students send instead of NDJSON ------------------------------


def fed(reader: LineReader, *chunks: bytes) -> list[Item]:
    """Everything ``reader`` delivers for ``chunks``, fed one by one (as recv() gives them)."""
    items: list[Item] = []
    for chunk in chunks:
        items += reader.feed(chunk)
    return items


def test_objects_glued_without_newlines_are_split_and_the_missing_newline_noted() -> None:
    items = fed(LineReader(), b'{"a": 1}{"b": 2}{"c": 3}\n')
    assert [i.message for i in items] == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert [i.unframed for i in items] == [NO_NEWLINE, NO_NEWLINE, ""]


def test_an_object_without_its_newline_is_delivered_at_once() -> None:
    reader = LineReader()
    (item,) = reader.feed(b'{"type": "users"}')
    assert item.message == {"type": "users"}
    assert item.unframed == NO_NEWLINE
    assert reader.end() == []  # nothing is delivered twice


def test_a_late_newline_takes_the_deviation_back() -> None:
    reader = LineReader()
    (item,) = reader.feed(b'{"a": 1}')
    assert item.unframed == NO_NEWLINE
    assert fed(reader, b"\n", b'{"b": 2}\n')[0].message == {"b": 2}
    assert item.unframed == ""


def test_a_late_crlf_takes_the_deviation_back_too() -> None:
    reader = LineReader()
    (item,) = reader.feed(b'{"a": 1}')
    assert reader.feed(b"\r\n") == []
    assert item.unframed == ""


def test_an_object_followed_by_another_object_keeps_its_deviation() -> None:
    reader = LineReader()
    (first,) = reader.feed(b'{"a": 1}')
    (second,) = reader.feed(b'{"b": 2}\n')
    assert (first.unframed, second.unframed) == (NO_NEWLINE, "")
    assert second.message == {"b": 2}


def test_an_object_spread_over_several_lines_is_joined_and_noted() -> None:
    reader = LineReader()
    text = b'{\n  "type": "message",\n  "message": "\xd0\xbf\xd1\x80\xd0\xb8"\n}\n'
    items = fed(reader, *(text[i : i + 5] for i in range(0, len(text), 5)))
    assert [i.message for i in items] == [{"type": "message", "message": "при"}]
    assert items[0].unframed == MULTILINE


def test_a_character_split_between_reads_is_decoded_whole() -> None:
    line = '{"message": "Ёжик 🦔"}\n'.encode()
    cuts = [i + 1 for i, byte in enumerate(line) if byte >= 0xC0]  # inside every character
    chunks = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)])]
    reader = LineReader()
    items = fed(reader, *chunks)
    assert [i.message for i in items] == [{"message": "Ёжик 🦔"}]
    assert items[0].unframed == ""
    assert "\ufffd" not in items[0].raw


def test_a_split_character_in_an_object_without_newline_waits_for_its_end() -> None:
    data = '{"message": "я"}'.encode()
    cut = data.index(0xD1) + 1
    reader = LineReader()
    assert reader.feed(data[:cut]) == []
    (item,) = reader.feed(data[cut:])
    assert item.message == {"message": "я"}
    assert item.unframed == NO_NEWLINE


def test_raw_text_is_a_line_with_a_problem_not_a_message() -> None:
    (item,) = LineReader().feed("привет всем\n".encode())
    assert item.message is None
    assert item.problem and "JSON" in item.problem
    assert item.raw == "привет всем"


def test_json_that_is_not_an_object_is_not_a_message() -> None:
    (item,) = LineReader().feed(b'["users"]\n')
    assert item.message is None
    assert item.problem == "сообщение не является JSON-объектом"


def test_eof_after_text_without_newline_delivers_it_as_an_unfinished_line() -> None:
    reader = LineReader()
    assert reader.feed(b"bye") == []
    assert reader.pending() == "bye"
    (item,) = reader.end()
    assert (item.raw, item.message, item.unframed) == ("bye", None, NO_NEWLINE)
    assert item.problem and "\\n" in item.problem


def test_eof_inside_an_object_delivers_the_broken_rest() -> None:
    reader = LineReader()
    assert reader.feed(b'{"type": "mess') == []
    (item,) = reader.end()
    assert item.message is None
    assert item.raw == '{"type": "mess'


def test_control_characters_from_the_wire_are_shown_as_symbols() -> None:
    (item,) = LineReader().feed(b"\x1b[31mred\x07\n")
    assert "\x1b" not in item.raw and "\x07" not in item.raw
    assert item.raw.startswith("\u241b[31mred")
