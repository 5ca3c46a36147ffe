"""Statuses are distinct; a failed dependency skips; repeats expose flaky scenarios;
an official grading refuses to run where student code cannot be contained."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.context import Context
from harness.rubric import RubricEntry
from harness.runner import Uncontained, combine, grade, run_all
from harness.sandbox import containment
from harness.scenario import SCENARIOS, Scenario
from harness.verdict import ERROR, FAILED, FLAKY, PASSED, SKIPPED, TIMED_OUT, Fail, ScenarioResult

RELEASE = threading.Event()


def passes(ctx: Context) -> None:
    """Всегда проходит."""
    ctx.step("ничего не делать")


def fails(ctx: Context) -> None:
    """Всегда падает."""
    ctx.step("проверка, которая не проходит", hint="совет шага")
    raise Fail("ожидалось одно", got="пришло другое", hint="совет проверки")


def hangs(ctx: Context) -> None:
    """Зависает."""
    ctx.step("ждать вечно")
    RELEASE.wait(10)


def crashes(ctx: Context) -> None:
    """Ошибка самой проверки."""
    raise RuntimeError("bug in the harness")


FAKES = {
    "fake_pass": Scenario("fake_pass", passes),
    "fake_fail": Scenario("fake_fail", fails),
    "fake_hang": Scenario("fake_hang", hangs, timeout=0.5),
    "fake_crash": Scenario("fake_crash", crashes),
    "fake_after_fail": Scenario("fake_after_fail", passes, depends=("fake_fail",)),
    "fake_after_pass": Scenario("fake_after_pass", passes, depends=("fake_pass",)),
    "fake_client": Scenario("fake_client", passes),
}


@pytest.fixture(autouse=True)
def fake_scenarios(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for sid, sc in FAKES.items():
        monkeypatch.setitem(SCENARIOS, sid, sc)
    yield
    RELEASE.set()


def entry(sid: str, target: str = "server") -> RubricEntry:
    return RubricEntry(id=sid, title=f"title {sid}", points=2, part=1, target=target)


def test_statuses_are_distinct_and_dependencies_skip(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("")
    entries = [entry(s) for s in FAKES if s != "fake_client"] + [entry("fake_client", "client")]
    results = {r.id: r for r in run_all(entries, tmp_path)}
    assert results["fake_pass"].status == PASSED
    assert results["fake_pass"].points == 2
    assert results["fake_fail"].status == FAILED
    assert results["fake_fail"].points == 0
    assert results["fake_hang"].status == TIMED_OUT
    assert results["fake_crash"].status == ERROR
    assert "bug in the harness" in results["fake_crash"].reason
    assert results["fake_after_fail"].status == SKIPPED
    assert "title fake_fail" in results["fake_after_fail"].reason
    assert results["fake_after_pass"].status == PASSED
    assert results["fake_client"].status == SKIPPED
    assert results["fake_client"].reason == "нет файла client.py"


def test_a_failure_reports_step_expected_got_and_both_hints(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("")
    (result,) = run_all([entry("fake_fail")], tmp_path)
    assert result.step == "проверка, которая не проходит"
    assert (result.expected, result.got) == ("ожидалось одно", "пришло другое")
    assert result.hint == "совет шага\nсовет проверки"


def make(status: str) -> ScenarioResult:
    return ScenarioResult(
        id="x", title="x", description="x", points=2 if status == PASSED else 0,
        max_points=2, part=1, target="server", hidden=False, status=status,
    )  # fmt: skip


def test_a_result_that_passes_only_sometimes_is_flaky_and_scores_nothing() -> None:
    result = combine([make(PASSED), make(FAILED), make(PASSED)])
    assert result.status == FLAKY
    assert result.points == 0
    assert result.runs == [PASSED, FAILED, PASSED]


def test_repeated_passes_pass_and_repeated_failures_fail() -> None:
    assert combine([make(PASSED), make(PASSED)]).status == PASSED
    assert combine([make(FAILED), make(TIMED_OUT)]).status == FAILED


def fails_after_the_shared_part(ctx: Context) -> None:
    """Общая часть работает, подробность — нет."""
    ctx.dependents_may_run()
    raise Fail("подробность")


def test_a_failure_after_the_shared_part_does_not_skip_dependents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SCENARIOS, "fake_gate", Scenario("fake_gate", fails_after_the_shared_part))
    monkeypatch.setitem(
        SCENARIOS, "fake_behind_gate", Scenario("fake_behind_gate", passes, depends=("fake_gate",))
    )
    (tmp_path / "server.py").write_text("")
    results = {r.id: r for r in run_all([entry("fake_gate"), entry("fake_behind_gate")], tmp_path)}
    assert results["fake_gate"].status == FAILED
    assert results["fake_behind_gate"].status == PASSED


def uncontained() -> object:
    """This machine's protections without bubblewrap (what a machine without it gives)."""
    here = containment()
    problems = [*here.problems, "bubblewrap отключён"]  # as containment(use_bwrap=False) says
    return dataclasses.replace(here, bwrap=None, setpriv=None, problems=problems)


def test_an_official_grading_refuses_to_run_uncontained_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    (tmp_path / "server.py").write_text("")
    with pytest.raises(Uncontained) as refused:
        grade(tmp_path, [entry("fake_pass")], protections=uncontained(), require_contained=True)  # type: ignore[arg-type]
    assert "bubblewrap" in str(refused.value)


def test_an_unofficial_grading_runs_uncontained_and_the_report_says_so(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("")
    report = grade(tmp_path, [entry("fake_pass")], protections=uncontained())  # type: ignore[arg-type]
    assert report.results[0].status == PASSED
    assert report.environment["files"].startswith("НЕ изолированы")
    missing = [v for k, v in report.environment.items() if k.startswith("missing_")]
    assert any("bubblewrap" in m for m in missing)
