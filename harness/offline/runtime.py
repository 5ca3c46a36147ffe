"""Run side shared by the VPL and PrairieLearn bundles (after ``boot.py`` set sys.path).

- :func:`preload` — every vendored module, the grading modules and the protocol's schemas
  in memory before any student code runs (where no sandbox hides the bundle's files, a
  student program could rewrite them on disk; what is already loaded stays as it was);
- :func:`fit_limits` — the harness's per-program limits lowered to what the platform's
  own hard limits allow (VPL sets RLIMIT_NPROC, RLIMIT_CPU, RLIMIT_FSIZE for the task: a
  child asking for more would fail to start at all);
- :func:`grade_in_time` — the grading, cut short at the platform's deadline with a
  report of what finished (the rest scores 0 and says why) instead of no report;
- :func:`bundle_settings`, :func:`protections` — the build-time settings and the
  containment this machine allows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import pkgutil
import resource
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from harness.rubric import RubricEntry
from harness.sandbox import Containment, Limits, containment, count_tasks, descendants
from harness.verdict import ERROR, GradeReport, ScenarioResult

BUNDLE = Path(__file__).resolve().parents[2]  # the payload's root (harness/offline/…)
SANDBOX_ENV = "CHATGRADE_SANDBOX"  # "off": grade without bubblewrap (tests, diagnosis)
SKIPPED_PARTS = ("tests", "test", "testing", "benchmarks")
NPROC_SPARE = 64  # the harness's own threads and helpers under the same hard limit
OUT_OF_TIME = "не проверен: проверке не хватило времени, отведённого платформой"


def bundle_settings(root: Path = BUNDLE) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads((root / "bundle.json").read_text("utf-8"))["settings"]
    return settings


def protections(env: dict[str, str]) -> Containment:
    """What this machine allows; ``CHATGRADE_SANDBOX=off`` leaves bubblewrap out."""
    return containment(use_bwrap=env.get(SANDBOX_ENV) != "off")


def preload() -> None:
    """Import the vendored libraries and the grading modules; read the protocol's schemas."""
    lib = BUNDLE / "lib" / f"{sys.version_info[0]}.{sys.version_info[1]}"  # boot.py's
    for info in pkgutil.walk_packages([str(lib)] if lib.is_dir() else []):
        parts = info.name.split(".")
        if parts[-1] == "__main__" or any(part in SKIPPED_PARTS for part in parts):
            continue
        try:
            with warnings.catch_warnings():  # deprecated parts (pexpect.ANSI) say so on import
                warnings.simplefilter("ignore")
                importlib.import_module(info.name)
        except Exception:  # an optional part that needs what is not bundled
            continue
    import harness.runner  # noqa: F401 - the scenarios, the sandbox, the peers
    from harness import protocol

    protocol.ready_line_regex()
    for check_timestamp in (True, False):
        protocol._validators(check_timestamp)


def _hard(which: int) -> int | None:
    hard = resource.getrlimit(which)[1]
    return None if hard == resource.RLIM_INFINITY else hard


def fit_limits(limits: Limits | None = None, uid: int | None = None) -> Limits:
    """``limits`` (the harness's defaults) within this process's hard resource limits."""
    limits = limits or Limits()
    changes: dict[str, int] = {}
    for name, which in (
        ("cpu_seconds", resource.RLIMIT_CPU),
        ("address_space", resource.RLIMIT_AS),
        ("file_size", resource.RLIMIT_FSIZE),
        ("open_files", resource.RLIMIT_NOFILE),
    ):
        hard = _hard(which)
        if hard is not None and getattr(limits, name) > hard:
            changes[name] = hard
    nproc = _hard(resource.RLIMIT_NPROC)
    if nproc is not None and os.geteuid() != 0:  # the sandbox adds the uid's current tasks
        used = count_tasks(os.getuid() if uid is None else uid)
        changes["processes"] = max(8, min(limits.processes, nproc - used - NPROC_SPARE))
    return dataclasses.replace(limits, **changes) if changes else limits


def _out_of_time(entry: RubricEntry) -> ScenarioResult:
    from harness.scenario import SCENARIOS

    scenario = SCENARIOS.get(entry.id)
    return ScenarioResult(
        id=entry.id,
        title=entry.title,
        description=scenario.description if scenario else entry.title,
        points=0.0,
        max_points=entry.points,
        part=entry.part,
        target=entry.target,
        hidden=entry.hidden,
        status=ERROR,
        reason=OUT_OF_TIME,
    )


def stop_everything_started() -> None:
    """SIGKILL every process below this one: a grading cut short never cleans up itself."""
    for pid in reversed(descendants(os.getpid())):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def grade_in_time(
    submission: Path,
    entries: list[RubricEntry],
    prot: Containment,
    limits: Limits,
    deadline: float | None,
) -> GradeReport:
    """``runner.grade`` in a thread; at ``deadline`` (monotonic) a report of what finished."""
    from harness import runner

    done: dict[str, ScenarioResult] = {}
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["report"] = runner.grade(
                submission,
                entries,
                jobs=runner.DEFAULT_JOBS,
                limits=limits,
                protections=prot,
                on_result=lambda r: done.__setitem__(r.id, r),
            )
        except BaseException as exc:  # raised again below, in the caller's thread
            box["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=work, name="grade", daemon=True)
    thread.start()
    thread.join(None if deadline is None else max(1.0, deadline - time.monotonic()))
    if "error" in box:
        raise box["error"]
    if "report" in box:
        report: GradeReport = box["report"]
        return report
    stop_everything_started()
    results = [done.get(e.id) or _out_of_time(e) for e in entries]
    environment = prot.describe()
    for i, problem in enumerate(prot.missing(), start=1):
        environment[f"missing_{i}"] = problem
    return GradeReport(
        submission=submission.name,
        results=results,
        duration=time.monotonic() - started,
        started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        environment=environment,
    )


UNCONTAINED = (
    "Внимание: программы решения работали без изоляции (здесь нельзя запустить bubblewrap): "
    "они могли читать файлы, доступные проверяющему, и видеть его процессы."
)
