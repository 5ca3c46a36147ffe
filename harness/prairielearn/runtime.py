"""PrairieLearn external grading: what the question's entrypoint runs in the grading container.

PrairieLearn mounts the job at ``/grade``: ``serverFilesCourse/chatlab/`` (this bundle,
the entrypoint ``run.sh`` among it), ``student/`` (the uploaded ``server.py`` and
``client.py``), ``data/data.json``; it sends back ``results/results.json``, which
:func:`main` always writes (``--root`` stands in for ``/grade``, as the tests do).

The entrypoint runs as root.  Before any student code, :func:`lock_down` makes the bundle
and ``data/`` readable by root only, so a student program running as a scenario's own uid
cannot read the harness, the rubric or the job's data even where bubblewrap cannot run
(PrairieLearn's containers usually allow no namespaces); the results folder is root's.
Containment policy, deadline and limits are those of :mod:`harness.offline.runtime`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from harness.offline import runtime as rt
from harness.prairielearn import results as pl

TIME_MARGIN = 20.0  # seconds kept for the report before the job's timeout
PROGRAMS = ("server.py", "client.py")


def lock_down(root: Path) -> None:
    """Bundle and job data: root only (a scenario's uid cannot even list them)."""
    if os.geteuid() != 0:
        return
    for path in (rt.BUNDLE, root / "serverFilesCourse", root / "data", root / "tests"):
        if path.is_dir():
            path.chmod(0o700)


def copy_student(student: Path, dest: Path) -> list[str]:
    """The uploaded files (regular files, no links) into ``dest``; their names."""
    dest.mkdir(parents=True, exist_ok=True)
    copied: list[str] = []
    if not student.is_dir():
        return copied
    for source in sorted(student.rglob("*")):
        relative = source.relative_to(student)
        if source.is_symlink() or not source.is_file() or relative.parts[0].startswith("."):
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(relative.as_posix())
    return copied


def evaluate(root: Path, env: dict[str, str]) -> dict[str, Any]:
    from harness.rubric import load_rubric

    settings = rt.bundle_settings()
    entries = load_rubric(rt.BUNDLE / "lab" / "rubric.toml")
    rt.preload()
    prot = rt.protections(env)
    if not prot.contained and not settings.get("allow_uncontained"):
        return pl.not_gradable(
            "Решение не проверялось: здесь программы студента нельзя изолировать, а пакет "
            "собран без --allow-uncontained. Это не оценка решения: сообщите преподавателю.",
            [f"Нет защиты: {problem}" for problem in prot.missing()],
        )
    notes = []
    if not prot.contained:
        notes.append(rt.UNCONTAINED)
        if os.geteuid() == 0:
            notes.append(
                "Файлы проверки и данные задания закрыты от программ решения правами доступа: "
                "каждый сценарий запускает их от своего пользователя."
            )
    work = Path(tempfile.mkdtemp(prefix="chatgrade-submission-"))
    try:
        submission = work / "submission"
        copied = copy_student(root / "student", submission)
        if not any(name in copied for name in PROGRAMS):
            notes.append("В решении нет ни server.py, ни client.py.")
        timeout = float(settings.get("timeout", 0)) or None
        deadline = None if timeout is None else time.monotonic() + timeout - TIME_MARGIN
        report = rt.grade_in_time(submission, entries, prot, rt.fit_limits(), deadline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return pl.to_results(report, notes)


def write_results(results_dir: Path, results: dict[str, Any]) -> Path:
    """``results.json``, written whole (a temporary file renamed into place)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / "results.json"
    partial = results_dir / ".results.json.partial"
    partial.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(partial, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="boot.py run harness.prairielearn.runtime",
        description="Внешняя проверка PrairieLearn: results/results.json для решения.",
    )
    parser.add_argument(
        "--root", type=Path, default=rt.BUNDLE.parent.parent, help="папка задания (/grade)"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    lock_down(root)
    try:
        results = evaluate(root, dict(os.environ))
    except BaseException:  # the harness failed: not the student's attempt
        trace = traceback.format_exc()
        print(trace, file=sys.stderr, flush=True)
        results = pl.not_gradable(
            "Проверка не выполнена из-за сбоя проверяющей программы, а не вашего решения. "
            "Сообщите преподавателю.",
            trace.strip().splitlines()[-5:],
        )
    target = write_results(results_dir, results)
    print(f"results.json: score {results.get('score')}, gradable {results['gradable']}: {target}")
    sys.stdout.flush()
    os._exit(0)  # threads of a cut-short grading must not hold the exit
