"""Run scenarios against a submission and collect a :class:`GradeReport`.

- A scenario whose program file is missing is skipped with that reason.
- A scenario whose dependency did not pass is skipped, naming the dependency.
- Independent scenarios run concurrently (``jobs`` threads); each has its own sandbox
  (temporary copy, uid, process groups) and its own timeout; everything it started is
  killed when it ends.
- ``repeat=K`` runs everything K times: a scenario that passes on some runs only is
  ``flaky`` and scores nothing.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness.scenarios  # noqa: F401 - registers every scenario module
from harness import __version__
from harness.context import Context
from harness.diagnose import diagnose
from harness.rubric import RubricEntry
from harness.sandbox import Containment, Limits, Sandbox, containment
from harness.scenario import SCENARIOS, Scenario
from harness.screen import NEVER, TRACEBACK_HINT, screens
from harness.verdict import (
    ERROR,
    FAILED,
    FLAKY,
    PASSED,
    SKIPPED,
    TIMED_OUT,
    Fail,
    Finding,
    GradeReport,
    ScenarioResult,
    Skip,
)

DEFAULT_JOBS = 6


def _result(entry: RubricEntry, status: str, **kw: Any) -> ScenarioResult:
    sc = SCENARIOS.get(entry.id)
    return ScenarioResult(
        id=entry.id,
        title=entry.title,
        description=sc.description if sc else entry.title,
        points=entry.points if status == PASSED else 0.0,
        max_points=entry.points,
        part=entry.part,
        target=entry.target,
        hidden=entry.hidden,
        status=status,
        **kw,
    )


def join_hints(step_hint: str, fail_hint: str) -> str:
    """The step's advice first, then the failed check's own (when it adds something)."""
    if step_hint and fail_hint and fail_hint not in step_hint:
        return f"{step_hint}\n{fail_hint}"
    return step_hint or fail_hint


def blocked_by(entry: RubricEntry, result: ScenarioResult) -> str:
    """Why a dependent cannot run: the dependency and how it really failed."""
    reason = result.reason.strip().splitlines()
    detail = result.step or (reason[-1] if reason else "")
    got = " ".join(line.strip() for line in (result.got or "").strip().splitlines()[:2])
    if got:
        detail = f"{detail}: {got}" if detail else got
    if len(detail) > 300:
        detail = detail[:300] + "…"
    return f"не пройден сценарий «{entry.title}»" + (f" — {detail}" if detail else "")


def missing_files(entry: RubricEntry, submission: Path) -> str:
    """Why the submission cannot be graded on ``entry`` ("нет файла …"), or ""."""
    missing = [name for name in entry.needs if not (submission / name).is_file()]
    return "нет файла " + ", ".join(missing) if missing else ""


def annotate(fail: Fail, ctx: Context) -> None:
    """Add what the student's clients showed to a failure that has no screen of its own.

    A check of what a client sent fails without a screen; what the client showed at that
    moment is the most useful feedback.  A Traceback on a screen is named first.
    """
    if not ctx.terminals:
        return
    if fail.screen is None:
        fail.screen = screens(ctx.terminals)
    crashed = any(t.contains(word) for t in ctx.terminals for word in NEVER)
    if crashed and TRACEBACK_HINT not in fail.hint:
        fail.hint = f"{TRACEBACK_HINT} {fail.hint}".strip()


def run_one(
    entry: RubricEntry,
    submission: Path,
    limits: Limits | None = None,
    protections: Containment | None = None,
) -> ScenarioResult:
    """Run one scenario once in a fresh sandbox."""
    sc: Scenario | None = SCENARIOS.get(entry.id)
    if sc is None:
        return _result(entry, ERROR, reason=f"сценарий {entry.id} не найден в harness")
    missing = missing_files(entry, submission)
    if missing:
        return _result(entry, SKIPPED, reason=missing)
    start = time.monotonic()
    outcome: dict[str, Any] = {}
    try:
        sandbox = Sandbox(limits, protections)
    except OSError as exc:
        return _result(entry, ERROR, reason=f"не удалось создать песочницу: {exc}")
    try:
        sandbox.copy_submission(submission)
    except OSError as exc:
        sandbox.cleanup()
        return _result(entry, ERROR, reason=f"не удалось скопировать решение: {exc}")
    ctx = Context(scenario_id=entry.id, sandbox=sandbox)

    def body() -> None:
        try:
            sc.func(ctx)
            outcome["status"] = PASSED
        except Fail as fail:
            annotate(fail, ctx)
            outcome.update(status=FAILED, fail=fail)
        except Skip as skip:
            outcome.update(status=SKIPPED, reason=str(skip))
        except Exception:
            outcome.update(status=ERROR, reason=traceback.format_exc())

    thread = threading.Thread(target=body, name=f"scenario-{entry.id}", daemon=True)
    thread.start()
    thread.join(sc.timeout)
    timed_out = thread.is_alive()
    ctx.cleanup()  # kills the processes, which also unblocks a stuck scenario
    thread.join(3)
    duration = time.monotonic() - start
    transcripts = {t.name: t.text() for t in ctx.transcripts}
    if timed_out:
        return _result(
            entry,
            TIMED_OUT,
            duration=duration,
            step=ctx.current_step,
            reason=f"сценарий не уложился в {sc.timeout:g} с",
            hint="Программа зависла или отвечает слишком медленно.",
            transcripts=transcripts,
        )
    status = outcome.get("status", ERROR)
    fail: Fail | None = outcome.get("fail")
    return _result(
        entry,
        status,
        unblocks=status == PASSED or (status in (FAILED, ERROR) and ctx.unblocked),
        duration=duration,
        reason=outcome.get("reason", ""),
        step=ctx.current_step if status != PASSED else "",
        expected=fail.expected if fail else "",
        got=fail.got if fail else "",
        hint=join_hints(ctx.current_hint, fail.hint) if fail else "",
        screen=fail.screen if fail else None,
        transcripts=transcripts,
        wire=ctx.wire.events() if status != PASSED else [],
    )


def run_all(
    entries: list[RubricEntry],
    submission: Path,
    *,
    jobs: int = DEFAULT_JOBS,
    limits: Limits | None = None,
    protections: Containment | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> list[ScenarioResult]:
    """Run the entries once, honouring dependencies, ``jobs`` at a time; rubric order kept.

    Without a private network per scenario, scenarios run one at a time: two servers that
    bind the same fixed port would otherwise see each other.
    """
    protections = protections or containment()
    if not protections.network:
        jobs = 1
    chosen = {e.id: e for e in entries}
    done: dict[str, ScenarioResult] = {}
    pending = list(entries)
    running: dict[concurrent.futures.Future[ScenarioResult], str] = {}

    def deps_of(entry: RubricEntry) -> tuple[str, ...]:
        sc = SCENARIOS.get(entry.id)
        return tuple(d for d in (sc.depends if sc else ()) if d in chosen)

    def finish(result: ScenarioResult) -> None:
        done[result.id] = result
        if on_result is not None:
            on_result(result)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for entry in list(pending):
                    deps = deps_of(entry)
                    if not all(d in done for d in deps):
                        continue
                    pending.remove(entry)
                    progressed = True
                    failed = [d for d in deps if not done[d].unblocks]
                    missing = missing_files(entry, submission)
                    if missing:  # says more than "a dependency did not pass"
                        finish(_result(entry, SKIPPED, reason=missing))
                    elif failed:
                        why = "; ".join(blocked_by(chosen[d], done[d]) for d in failed)
                        finish(_result(entry, SKIPPED, reason=why))
                    else:
                        future = pool.submit(run_one, entry, submission, limits, protections)
                        running[future] = entry.id
            if not running:
                if pending:  # a dependency cycle: report, do not hang
                    for entry in pending:
                        finish(_result(entry, ERROR, reason="циклическая зависимость сценариев"))
                    pending.clear()
                break
            finished, _ = concurrent.futures.wait(
                running, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                running.pop(future)
                finish(future.result())
    return [done[e.id] for e in entries]


def combine(runs: list[ScenarioResult]) -> ScenarioResult:
    """One verdict from repeated runs: mixed passes are ``flaky`` (no points)."""
    statuses = [r.status for r in runs]
    failing = [r for r in runs if r.status != PASSED]
    base = failing[0] if failing else runs[0]
    if failing and len(failing) < len(runs):
        base.status = FLAKY
        base.points = 0.0
        base.reason = (base.reason + "\n" if base.reason else "") + (
            f"проходит не всегда: {statuses.count(PASSED)} из {len(runs)} запусков"
        )
    base.runs = statuses
    base.duration = max(r.duration for r in runs)
    return base


class Uncontained(RuntimeError):
    """An official grading was asked for on a machine that cannot contain student code."""


def grade(
    submission: Path,
    entries: list[RubricEntry],
    *,
    repeat: int = 1,
    jobs: int = DEFAULT_JOBS,
    limits: Limits | None = None,
    protections: Containment | None = None,
    require_contained: bool = False,
    diagnosis: bool = True,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> GradeReport:
    """Grade ``submission`` on the chosen rubric entries.

    ``require_contained`` (official gradings) refuses to run student code that could read
    the machine's files: raises :class:`Uncontained` saying what is missing.  The start-up
    check (:mod:`harness.diagnose`) runs alongside the scenarios (``diagnosis=False``: not).
    """
    protections = protections or containment()
    if require_contained and not protections.contained:
        raise Uncontained("; ".join(protections.missing()))
    submission = submission.resolve()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    t0 = time.monotonic()
    findings: list[Finding] = []
    checker = threading.Thread(
        target=lambda: findings.extend(diagnose(submission, limits, protections)),
        name="diagnose",
        daemon=True,
    )
    if diagnosis:
        checker.start()
    all_runs: list[list[ScenarioResult]] = []
    for _ in range(max(1, repeat)):
        all_runs.append(
            run_all(
                entries,
                submission,
                jobs=jobs,
                limits=limits,
                protections=protections,
                on_result=on_result if repeat == 1 else None,
            )
        )
    results = [combine(list(runs)) for runs in zip(*all_runs)]
    if diagnosis:
        checker.join(60)
    if repeat > 1 and on_result is not None:
        for result in results:
            on_result(result)
    environment = protections.describe()
    for i, problem in enumerate(protections.missing(), start=1):
        environment[f"missing_{i}"] = problem
    return GradeReport(
        submission=submission.name,
        results=results,
        duration=time.monotonic() - t0,
        started_at=started,
        repeat=repeat,
        harness_version=__version__,
        environment=environment,
        findings=list(findings),
    )
