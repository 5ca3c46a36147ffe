"""The VPL evaluation itself: what ``vpl_execution`` runs in the jail (via ``boot.py``).

``vpl_evaluate.sh`` unpacked the bundle into ``.chatgrade/`` of the task's home and wrote
``vpl_execution``, which sources ``vpl_environment.sh`` and execs
``python3 -I -S .chatgrade/boot.py run harness.vpl.runtime``.  Then :func:`main`:

1. **Seals VPL's output.**  The process stops being dumpable (no other process of the
   prisoner's uid may open ``/proc/PID/fd/1`` or attach to it), keeps the jail's terminal
   on a private close-on-exec descriptor and points 0/1/2 at ``/dev/null`` and a log, so
   nothing started from here inherits a way to VPL's output.  Student programs run in
   sessions of their own (no controlling terminal, so no ``/dev/tty``); the jail's pty
   belongs to root.  Only the final report is ever written there.
2. **Loads everything first**: the harness, the vendored libraries, the protocol's schemas
   and the rubric are in memory before any student code runs, so a program that rewrites
   the bundle's files on disk (possible where the jail allows no sandbox) changes nothing.
3. **Grades** a copy of the submitted files (``VPL_SUBFILE0``…) with the harness, under the
   containment the jail allows.  Where it allows none and the bundle was not built with
   ``--allow-uncontained``, it refuses: comments say why, no grade line.  With it, the
   comments say what is not contained.  A grading that would outlast ``VPL_MAXTIME`` is
   cut short: the scenarios not run by then score 0 and say so.
4. **Reports** through :mod:`harness.vpl.feedback`, scaled to ``VPL_GRADEMIN``..
   ``VPL_GRADEMAX``, and exits 0 (a non-zero exit makes the jail append a note).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import BinaryIO

from harness.offline import feedback as fb
from harness.offline import runtime as rt
from harness.sandbox import Containment
from harness.vpl import feedback as vf

PR_SET_DUMPABLE = 4
DEFAULT_GRADE_RANGE = (0.0, 10.0)  # what VPL's own evaluate script assumes without one
TIME_MARGIN = 15.0  # seconds kept for the report before VPL_MAXTIME
NOT_SUBMISSION = ("vpl_", ".vpl", ".chatgrade")
PROGRAMS = ("server.py", "client.py")


# -- 1. the output ---------------------------------------------------------------------------
def not_dumpable() -> bool:
    """PR_SET_DUMPABLE 0: this process's /proc/PID/fd and ptrace become root's only."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def seal_output(log_dir: Path) -> tuple[BinaryIO, bool]:
    """VPL's output as a private stream; 0/1/2 now /dev/null and ``log_dir/harness.log``."""
    sealed = not_dumpable()
    sys.stdout.flush()
    sys.stderr.flush()
    private = os.dup(1)  # close-on-exec (Python's default): no child inherits it
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(log_dir / "harness.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    return os.fdopen(private, "wb", buffering=0), sealed


# -- 3. grading ------------------------------------------------------------------------------
def grade_range(env: dict[str, str]) -> tuple[float, float, bool]:
    """(low, high, defaulted) from VPL_GRADEMIN/VPL_GRADEMAX."""
    try:
        low, high = float(env["VPL_GRADEMIN"]), float(env["VPL_GRADEMAX"])
    except (KeyError, ValueError):
        return (*DEFAULT_GRADE_RANGE, True)
    return (low, high, False) if high > low else (*DEFAULT_GRADE_RANGE, True)


def submitted_names(env: dict[str, str]) -> list[str]:
    """The student's file names from VPL_SUBFILE0, VPL_SUBFILE1… (or VPL_SUBFILES)."""
    names = []
    index = 0
    while f"VPL_SUBFILE{index}" in env:
        names.append(env[f"VPL_SUBFILE{index}"])
        index += 1
    if not names:
        names = [n for n in env.get("VPL_SUBFILES", "").splitlines() if n.strip()]
    return names


def copy_submission(home: Path, names: list[str], dest: Path) -> list[str]:
    """The submitted files from the task's home into ``dest``; what was copied."""
    dest.mkdir(parents=True, exist_ok=True)
    if not names:  # not a VPL task (a local try-out): the programs where they are
        names = [p for p in PROGRAMS if (home / p).is_file()]
    copied: list[str] = []
    for name in names:
        relative = Path(name)
        if (
            not relative.parts
            or relative.is_absolute()
            or ".." in relative.parts
            or relative.parts[0].startswith(NOT_SUBMISSION)
        ):
            continue
        source = home / relative
        if source.is_file() and not source.is_symlink():
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(relative.as_posix())
    return copied


def refusal(prot: Containment, limit: int) -> str:
    lines = [
        vf.text(
            "Здесь программы студента нельзя изолировать, а пакет проверки собран без "
            "--allow-uncontained, поэтому решение не запускалось. Это не оценка решения: "
            "сообщите преподавателю."
        ),
        *(vf.text(f"Нет защиты: {problem}") for problem in prot.missing()),
        vf.text(
            "Преподавателю: соберите пакет с --allow-uncontained, если проверка без "
            "изоляции допустима (см. README пакета)."
        ),
    ]
    return vf.render_message("Проверка не выполнена: нет изоляции", lines, limit)


def evaluate(home: Path, env: dict[str, str], sealed: bool) -> str:
    """The whole evaluation output for the submission in ``home``."""
    from harness.rubric import load_rubric

    settings = rt.bundle_settings()
    limit = int(settings.get("result_limit", vf.DEFAULT_LIMIT))
    entries = load_rubric(rt.BUNDLE / "lab" / "rubric.toml")
    rt.preload()
    prot = rt.protections(env)
    if not prot.contained and not settings.get("allow_uncontained"):
        return refusal(prot, limit)
    low, high, defaulted = grade_range(env)
    notes: list[str] = []
    if defaulted:
        notes.append(vf.text("VPL не передал границы оценки: оценка от 0 до 10."))
    if not prot.contained:
        notes.append(vf.text(rt.UNCONTAINED))
        notes.append(
            vf.text(
                "Оценку это не меняет: отзыв и оценку печатает только проверяющая программа, "
                "а вывод решения показан лишь в строках с «>»."
            )
        )
    if not sealed:
        notes.append(vf.text("Не удалось закрыть процесс проверки от других процессов (prctl)."))
    work = Path(tempfile.mkdtemp(prefix="chatgrade-submission-"))
    try:
        submission = work / "submission"
        copied = copy_submission(home, submitted_names(env), submission)
        if not any(name in copied for name in PROGRAMS):
            notes.append(vf.text("В решении нет ни server.py, ни client.py. Получены файлы:"))
            names = copied or submitted_names(env) or ["(ничего)"]
            notes += [vf.pre(line) for name in names[:20] for line in fb.untrusted_lines(name)]
        deadline = None
        if env.get("VPL_MAXTIME", "").strip().isdigit():
            deadline = time.monotonic() + int(env["VPL_MAXTIME"]) - TIME_MARGIN
        limits = rt.fit_limits()
        report = rt.grade_in_time(submission, entries, prot, limits, deadline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return vf.render(report, low=low, high=high, limit=limit, notes=notes)


def crash_output(trace: str) -> str:
    lines = [
        vf.text("Проверяющая программа завершилась с ошибкой. Это не оценка вашего решения:"),
        vf.text("сообщите преподавателю. Конец сообщения об ошибке:"),
        *(vf.pre(line) for line in fb.untrusted_lines(trace)[-15:]),
    ]
    return vf.render_message("Проверка не выполнена: сбой проверки", lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="boot.py run harness.vpl.runtime",
        description="Проверка решения в VPL: отзыв и строка Grade :=>> в вывод задания.",
    )
    parser.add_argument("--home", type=Path, default=Path.cwd(), help="папка задания VPL")
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="chatgrade-log-"))
    out, sealed = seal_output(log_dir)
    try:
        text = evaluate(args.home.resolve(), dict(os.environ), sealed)
    except BaseException:  # the harness failed: say so, never a grade
        trace = traceback.format_exc()
        print(trace, file=sys.stderr, flush=True)
        text = crash_output(trace)
    out.write(text.encode("utf-8", errors="replace"))
    out.close()
    sys.stdout.flush()
    os._exit(0)  # threads of a cut-short grading must not hold the exit
