"""Building blocks: the proxy's cuts, capped transcripts, probes proving absence."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from harness.probe import Probe
from harness.process import Transcript
from harness.proxy import pieces
from harness.verdict import Fail


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
        probe = Probe(server.host, server.port, transcript=Transcript("p"))
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.close()


USERS = b'{"type": "users"}'
LIST = b'{"type": "users_list", "users": [], "timestamp": "2024-01-01T00:00:00"}'
ECHO = b'{"type": "message", "from_username": "A", "message": "hi"}'


def test_absence_is_proven_by_the_marker_round_trip(probe_for) -> None:  # type: ignore[no-untyped-def]
    clean = probe_for({USERS: [LIST]})
    clean.round_trip({"type": "message"})
    echoing = probe_for({USERS: [ECHO, LIST]})
    with pytest.raises(Fail) as failure:
        echoing.round_trip({"type": "message"}, what="no echo")
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
