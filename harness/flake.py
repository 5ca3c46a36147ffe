"""``python -m harness flake``: prove the scenarios are not flaky.

Grades the reference (or ``--submission``) ``--runs`` times while ``--burners`` processes
keep every core busy, and requires that every scenario passed on every run.  Exit status 0
when so, 1 when any run of any scenario did not pass (the table says which and how).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.kit import REFERENCE_DIR

BURNER = "while True:\n    pass\n"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from harness.cliargs import add_run_options

    parser = subparsers.add_parser(
        "flake", help="прогнать эталон много раз под нагрузкой: ни одного сбоя"
    )
    parser.add_argument("--submission", type=Path, default=REFERENCE_DIR, help="что проверять")
    parser.add_argument("--runs", type=int, default=10, help="сколько раз прогнать")
    parser.add_argument(
        "--burners", type=int, default=os.cpu_count() or 2, help="сколько процессов грузят CPU"
    )
    add_run_options(parser)
    parser.set_defaults(func=cmd_flake)


def start_burners(count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen([sys.executable, "-c", BURNER], start_new_session=True)
        for _ in range(max(0, count))
    ]


def stop_burners(burners: list[subprocess.Popen[bytes]]) -> None:
    for proc in burners:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def cmd_flake(args: argparse.Namespace) -> int:
    from harness.cliargs import EXIT_OK, load_entries
    from harness.runner import DEFAULT_JOBS, PASSED, grade

    entries = load_entries(args)
    console = Console()
    burners = start_burners(args.burners)
    start = time.monotonic()
    try:
        report = grade(
            args.submission, entries, repeat=max(1, args.runs),
            jobs=args.scenario_jobs or DEFAULT_JOBS,
        )  # fmt: skip
    finally:
        stop_burners(burners)
    elapsed = time.monotonic() - start
    table = Table(
        title=f"{args.runs} прогонов под нагрузкой ({args.burners} процессов), {elapsed:.0f} с"
    )
    for col in ("Сценарий", "Прогоны", "Итог", "Дольше всего"):
        table.add_column(col)
    bad = []
    for r in report.results:
        ok = all(s == PASSED for s in r.runs)
        if not ok:
            bad.append(r)
        table.add_row(r.id, " ".join("✓" if s == PASSED else s for s in r.runs),
                      "ok" if ok else "СБОЙ", f"{r.duration:.1f}s")  # fmt: skip
    console.print(table)
    for r in bad:
        console.print(f"[red]{r.id}[/red]: {r.reason or r.expected} {r.got}".strip())
    if bad:
        console.print(f"[red]нестабильных или проваленных сценариев: {len(bad)}[/red]")
        return 1
    console.print("[green]все сценарии прошли во всех прогонах[/green]")
    return EXIT_OK
