"""The Gradescope side of the autograder bundle (``python -m harness package gradescope``).

The zip that ``harness.package`` builds holds, at its root::

    setup.sh           apt installs python3 + venv, then runs setup_python.sh
    setup_python.sh    venv/ + offline ``pip install`` of requirements.txt from wheels/
    run_autograder     runs ``python -m harness.gradescope`` (this module) in that venv
    requirements.txt   the kit's dependencies (from pyproject.toml)
    wheels/            every dependency as a wheel, for each bundled Python version
    kit/               harness/, reference/, lab/protocol.json, lab/rubric.toml (the chosen one)
    bundle.json        what was bundled: kit version, git commit, rubric, Python versions

Gradescope unpacks it into ``/autograder/source``, puts the student's files in
``/autograder/submission`` and uploads ``/autograder/results/results.json``.
``AUTOGRADER_ROOT`` (or ``--root``) replaces ``/autograder`` to run the same steps anywhere.

:func:`run` finds the student's programs (at the top of the submission or one folder down),
grades them with ``python -m harness grade --gradescope`` and the bundled rubric, and always
leaves a ``results.json``: a submission without programs scores 0 with an explanation, a
harness crash scores 0 with a message to contact the instructor (and exits non-zero so the
instructor sees it in Gradescope's stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from harness.rubric import TARGET_FILES
from harness.runner import DEFAULT_JOBS

DEFAULT_ROOT = Path("/autograder")
ROOT_ENV = "AUTOGRADER_ROOT"
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")
PROGRAMS = TARGET_FILES["both"]
# Folders a zip tool or an editor adds next to the student's own: never the solution.
NOT_SOLUTION = ("__MACOSX", "__pycache__")
LISTED_FILES = 20


@dataclass(frozen=True)
class Found:
    """Where the student's programs are (``folder``), or why they were not found."""

    folder: Path | None
    note: str


def _programs_in(folder: Path) -> list[str]:
    return [name for name in PROGRAMS if (folder / name).is_file()]


def _listing(submission: Path) -> str:
    files = sorted(str(p.relative_to(submission)) for p in submission.rglob("*") if p.is_file())
    shown = files[:LISTED_FILES]
    more = f"\n  … и ещё {len(files) - LISTED_FILES}" if len(files) > LISTED_FILES else ""
    return "\n".join(f"  {name}" for name in shown) + more if files else "  (пусто)"


def find_submission(submission: Path) -> Found:
    """The folder holding ``server.py``/``client.py``: the submission or one folder down."""
    wanted = " и/или ".join(PROGRAMS)
    if not submission.is_dir():
        return Found(None, f"Папка решения {submission} не найдена.")
    if _programs_in(submission):
        return Found(submission, "")
    candidates = [
        sub
        for sub in sorted(submission.iterdir())
        if sub.is_dir()
        and not sub.name.startswith(".")
        and sub.name not in NOT_SOLUTION
        and _programs_in(sub)
    ]
    if len(candidates) == 1:
        where = candidates[0].name
        return Found(candidates[0], f"Программы найдены в папке «{where}» и проверены оттуда.")
    if candidates:
        names = ", ".join(f"«{c.name}»" for c in candidates)
        return Found(
            None,
            f"Не понятно, какое решение проверять: {wanted} есть в нескольких папках "
            f"({names}). Загрузите одно решение: файлы в корне или в одной папке.",
        )
    return Found(
        None,
        f"В загруженном решении нет {wanted} ни в корне, ни в папке первого уровня. "
        f"Загрузите эти файлы (можно в одной папке). Загружено:\n{_listing(submission)}",
    )


def _failed_results(message: str, started: float) -> dict[str, Any]:
    return {
        "score": 0.0,
        "execution_time": round(time.monotonic() - started, 3),
        "output": message,
        "stdout_visibility": "hidden",
        "tests": [],
    }


def available_cpus(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this container may use: its cgroup quota when set (Gradescope sets one), else
    the CPUs it may run on; ``os.cpu_count()`` alone reports the host's."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = cpu_max.read_text().split()
        if quota != "max":
            return max(1, min(cpus or 1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass  # cgroup v1 or no limit: the affinity mask is the answer
    return cpus or 1


def grade_into(folder: Path, rubric: Path, results_file: Path, kit: Path) -> int:
    """``python -m harness grade FOLDER --rubric RUBRIC --gradescope RESULTS`` from ``kit``.

    Scenarios mostly wait on sockets and terminals: two per CPU keep a small container
    busy without starving the timing-sensitive ones.
    """
    jobs = min(DEFAULT_JOBS, 2 * available_cpus())
    command = [
        *(sys.executable, "-m", "harness", "grade", str(folder)),
        *("--rubric", str(rubric), "--gradescope", str(results_file)),
        *("--jobs-per-submission", str(jobs)),
    ]
    print("$", " ".join(command), flush=True)
    try:
        return subprocess.run(command, cwd=kit, check=False).returncode
    except OSError as exc:  # no kit where setup put it: a broken bundle, not the student
        print(f"harness.gradescope: cannot run the harness: {exc}", flush=True)
        return 1


def schema_problem(results: dict[str, Any]) -> str | None:
    """Why ``results`` is not a results.json Gradescope accepts, or None."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    errors = jsonschema.Draft7Validator(schema).iter_errors(results)
    error = jsonschema.exceptions.best_match(errors)
    return None if error is None else f"{'/'.join(map(str, error.path))}: {error.message}"


def run(root: Path) -> int:
    """Grade ``ROOT/submission`` with the bundle in ``ROOT/source``; write ``ROOT/results``."""
    started = time.monotonic()
    source, results_dir = root / "source", root / "results"
    kit, rubric = source / "kit", source / "kit" / "lab" / "rubric.toml"
    results_dir.mkdir(parents=True, exist_ok=True)
    results_file = results_dir / "results.json"
    results_file.unlink(missing_ok=True)

    found = find_submission(root / "submission")
    print(found.note or f"Программы найдены в {found.folder}", flush=True)
    with tempfile.TemporaryDirectory(prefix="no-programs-") as empty:
        # Without programs every scenario is still listed (skipped, 0 points) so the total
        # Gradescope shows stays the rubric's; the note above explains why.
        code = grade_into(found.folder or Path(empty), rubric, results_file, kit)
    try:
        results: dict[str, Any] = json.loads(results_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"harness.gradescope: no usable results.json ({exc}), exit code {code}")
        results = _failed_results(
            "Проверка не завершилась из-за ошибки проверяющей программы, а не вашего решения. "
            "Сообщите преподавателю.",
            started,
        )
        code = code or 1
    if found.folder is None:
        results["score"] = 0.0
    if found.note:
        results["output"] = "\n\n".join(filter(None, [found.note, results.get("output", "")]))
    problem = schema_problem(results)
    if problem:  # only the instructor sees stdout: say it there, still hand in the score
        print(f"harness.gradescope: results.json does not follow Gradescope's format: {problem}")
    results_file.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"results.json: {results.get('score')} баллов, {results_file}", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.gradescope",
        description="Шаг run_autograder пакета Gradescope: проверить решение и записать "
        "results/results.json.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT),
        help=f"корень автопроверки (по умолчанию ${ROOT_ENV} или {DEFAULT_ROOT})",
    )
    args = parser.parse_args(argv)
    return run(args.root)
