"""Hostile or crashing clients end in a verdict (failed or timed out, never a harness error
or a pass), with nothing left running.

That a grading ends is the scenario timeouts' job (the suite's timeout only guards against
a hang); how long it took is measured by the report, not asserted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from client_grading import REFERENCE, grade_clients

from harness.sandbox import UID_BASE, _pids_of_uid

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (REFERENCE / "server.py").is_file(), reason="reference/server.py is not written yet"
    ),
]
SCENARIOS = ("client_register", "client_display", "client_typing", "client_quit")

CLIENTS = {
    "flood": "import sys\nwhile True:\n    sys.stdout.write('Введите имя: ' * 50 + '\\n')\n",
    "silent": "while True:\n    pass\n",
    "crash": "raise RuntimeError('boom')\n",
    "ignores_signals": (
        "import signal\n"
        "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "input('Введите имя: ')\n"
        "while True:\n"
        "    pass\n"
    ),
}


def leftovers() -> list[int]:
    if os.geteuid() != 0:
        return []
    first = UID_BASE + (os.getpid() % 100_000) * 64
    return [pid for uid in range(first, first + 64) for pid in _pids_of_uid(uid)]


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_hostile_client_ends_in_a_verdict_with_nothing_left_running(
    kind: str, tmp_path: Path
) -> None:
    (tmp_path / "client.py").write_text(CLIENTS[kind], encoding="utf-8")
    report = grade_clients(tmp_path, SCENARIOS)
    verdicts = {r.id: r.status for r in report.results}
    assert set(verdicts.values()) <= {"failed", "timed_out"}, verdicts
    assert leftovers() == []
    for result in report.results:
        if result.status == "failed":
            assert result.screen is not None, result.id


def test_crash_is_reported_with_the_traceback_hint(tmp_path: Path) -> None:
    (tmp_path / "client.py").write_text(CLIENTS["crash"], encoding="utf-8")
    (result,) = grade_clients(tmp_path, ["client_display"]).results
    assert "Traceback" in (result.screen or "")
    assert "Traceback" in result.hint
    assert "завершился" in result.got
