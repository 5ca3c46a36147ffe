"""Hostile submissions end in a verdict, with nothing left running.

That a grading ends is the harness's own scenario timeouts' job; the suite's timeout is
only the guard against a hang.  How long it took is measured by the report, not asserted.
"""

from __future__ import annotations

import os

import pytest
from harness_helpers import HOSTILE, grade_dir, leftover_sandbox_processes, statuses

from harness.sandbox import containment
from harness.verdict import PASSED, GradeReport

pytestmark = pytest.mark.slow
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="per-uid limits need root")


def grade_hostile(name: str, **options: object) -> tuple[dict[str, str], GradeReport]:
    report = grade_dir(HOSTILE / name, **options)
    return statuses(report), report


def assert_contained(result: dict[str, str]) -> None:
    assert result["server_register"] != PASSED, result
    assert leftover_sandbox_processes() == []


def test_server_spinning_before_ready_line_fails_startup_and_skips_the_rest() -> None:
    result, report = grade_hostile("spin")
    assert_contained(result)
    assert result["server_starts"] == "failed"
    assert {s for i, s in result.items() if i != "server_starts"} == {"skipped"}
    starts = report.results[0]
    # It never listened: the harness waited for the socket, and the hint names the ready line.
    assert "не начал слушать порт" in starts.got
    assert "Сервер запущен на" in starts.hint


@ROOT_ONLY
def test_fork_bomb_is_limited_and_killed() -> None:
    result, _ = grade_hostile("forkbomb")
    assert_contained(result)
    assert result["server_starts"] == "failed"


def test_memory_hog_dies_at_the_address_space_limit() -> None:
    result, _ = grade_hostile("memhog")
    assert_contained(result)


def test_hundred_megabytes_of_output_are_cut_and_the_server_killed() -> None:
    result, report = grade_hostile("flood")
    assert_contained(result)
    logs = "\n".join(t for r in report.results for t in r.transcripts.values())
    assert "байт вывода — процесс остановлен" in logs or "пропущено" in logs


def test_server_that_never_answers_fails_registration_not_startup() -> None:
    result, report = grade_hostile("mute")
    assert_contained(result)
    assert result["server_starts"] == "passed"
    assert result["server_register"] == "failed"
    register = next(r for r in report.results if r.id == "server_register")
    assert register.step and register.expected and register.hint


@ROOT_ONLY
def test_child_escaping_its_process_group_is_killed_too() -> None:
    result, _ = grade_hostile("escape")
    assert result["server_starts"] == "passed"
    assert leftover_sandbox_processes() == []


def test_without_root_limits_and_process_groups_still_contain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a normal user there is no per-scenario uid; rlimits and group kills remain."""
    monkeypatch.setattr("harness.sandbox.running_as_root", lambda: False)
    as_user = containment.__wrapped__()  # probed afresh, not the cached root probe
    assert not as_user.separate_uid and not as_user.network
    for name in ("spin", "memhog", "flood"):
        result, _ = grade_hostile(name, protections=as_user)
        assert result["server_register"] != PASSED, name
