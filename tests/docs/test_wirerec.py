"""The wire recorder behind the docs' sequence diagrams fails loudly when a flow breaks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import wirerec  # noqa: E402  (a docs extension module, not a package)

SERVER = ROOT / "reference" / "server.py"
READY = json.loads((ROOT / "lab" / "protocol.json").read_text(encoding="utf-8"))["transport"][
    "ready_line_regex"
]

TWO_USERS = """
Alice -> {"username": "Alice"}
Alice <- system event=welcome
Bob -> {"username": "Bob"}
Bob <- system event=welcome
Alice <- system event=join username=Bob
"""


def record(script: str, *args: str) -> wirerec.Recording:
    return wirerec.record(SERVER, list(args), script, READY)


def test_recording_holds_every_line_with_its_direction() -> None:
    rec = record(
        TWO_USERS + 'Alice -> {"type": "message", "message": "привет"}\n'
        "Bob <- message from_username=Alice"
    )
    kinds = [(e.kind, e.who) for e in rec.events]
    assert kinds.count(("send", "Alice")) == 2
    assert ("recv", "Bob") in kinds
    last = rec.events[-1]
    assert last.message == {**last.message, "type": "message", "message": "привет"}


def test_recording_is_in_the_order_lines_crossed_the_wire() -> None:
    rec = record(TWO_USERS)
    times = [e.at for e in rec.events]
    assert times == sorted(times)
    first_send = next(i for i, e in enumerate(rec.events) if e.kind == "send" and e.who == "Bob")
    welcome = next(i for i, e in enumerate(rec.events) if e.kind == "recv" and e.who == "Bob")
    assert first_send < welcome


def test_unexpected_line_fails_the_flow_with_what_arrived() -> None:
    with pytest.raises(wirerec.FlowError, match="username_taken"):
        record(TWO_USERS + 'Carol -> {"username": "alice"}\nCarol <- system event=welcome')


def test_line_left_unread_after_the_last_step_fails_the_flow() -> None:
    script = TWO_USERS + 'Alice -> {"type": "message", "message": "никто не ждёт"}'
    with pytest.raises(wirerec.FlowError, match="лишняя строка"):
        record(script)


def test_missing_line_fails_within_the_wait_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wirerec, "WAIT", 0.5)
    with pytest.raises(wirerec.FlowError, match="не пришло"):
        record(TWO_USERS + "Alice <- ping")


def test_script_with_a_typo_is_refused_before_anything_runs() -> None:
    with pytest.raises(wirerec.FlowError, match="не JSON"):
        wirerec.parse_flow('Alice -> {"username": Alice}')
    with pytest.raises(wirerec.FlowError, match="не разобрана"):
        wirerec.parse_flow("Alice sends hello")
