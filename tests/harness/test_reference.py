"""The reference server gets full marks on every server scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness_helpers import HERE, REFERENCE, grade_dir

pytestmark = pytest.mark.slow


def test_reference_server_passes_every_server_scenario(reference_server: None) -> None:
    report = grade_dir(REFERENCE)
    failed = {
        r.id: (r.status, r.step, r.expected, r.got) for r in report.results if r.status != "passed"
    }
    assert failed == {}
    assert report.score == report.max_score


def test_a_differently_built_correct_server_gets_full_marks_too() -> None:
    """Fidelity: the scenarios check the protocol, not the reference's design."""
    report = grade_dir(HERE / "alt_server")
    failed = {r.id: (r.status, r.step, r.got) for r in report.results if r.status != "passed"}
    assert failed == {}


def test_a_server_with_only_the_general_chat_keeps_every_point_it_earned(tmp_path: Path) -> None:
    """A part-2-only server (no private messages, users list or sessions) loses exactly
    the scenarios of those parts: no other scenario leans on them."""
    code = (HERE / "alt_server" / "server.py").read_text(encoding="utf-8")
    for feature in ("private", "users", "session_request", "session_response", "session_end"):
        code = code.replace(f"def do_{feature}(", f"def unfinished_{feature}(")
    (tmp_path / "server.py").write_text(code, encoding="utf-8")
    report = grade_dir(tmp_path)
    lost = {r.id for r in report.results if r.status != "passed"}
    assert lost == {
        "server_private",
        "server_users_list",
        "server_session_accept",
        "server_session_reject",
        "server_session_end",
    }


UNFINISHED = [
    # (what is missing, exact text of alt_server/server.py, replacement, scenarios lost)
    (
        "no send-queue limit",
        "if self.queued > self.server.sendq:",
        "if False:",
        {"server_slow_reader"},
    ),
    ("no ping", 'self.send("ping")', "pass", {"server_ping_timeout"}),
    (
        "no registration timeout",
        "deadline = connected + server.register_timeout",
        "deadline = connected + 3600",
        {"server_register_timeout"},
    ),
    (
        "no Ctrl+C handling",
        "    except KeyboardInterrupt:\n        listener.close()\n        server.shutdown()\n",
        "    finally:\n        pass\n",
        {"server_shutdown"},
    ),
]


@pytest.mark.parametrize(
    ("missing", "old", "new", "lost"), UNFINISHED, ids=[u[0] for u in UNFINISHED]
)
def test_an_unfinished_part_costs_only_its_own_scenario(
    missing: str, old: str, new: str, lost: set[str], tmp_path: Path
) -> None:
    code = (HERE / "alt_server" / "server.py").read_text(encoding="utf-8")
    assert code.count(old) == 1, missing
    (tmp_path / "server.py").write_text(code.replace(old, new), encoding="utf-8")
    report = grade_dir(tmp_path)
    assert {r.id for r in report.results if r.status != "passed"} == lost
