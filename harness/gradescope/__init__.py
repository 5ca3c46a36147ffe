"""The Gradescope side of the autograder bundle (``python -m harness package gradescope``).

The zip that ``harness.package`` builds holds, at its root::

    setup.sh           apt installs python3, venv and bubblewrap, then runs setup_python.sh
    setup_python.sh    venv/ + offline ``pip install`` of requirements.txt from wheels/
    run_autograder     runs ``python -m harness.gradescope`` (this module) in that venv
    requirements.txt   the grading dependencies (from pyproject.toml)
    wheels/            every dependency as a wheel, for each bundled Python version
    kit/               harness/, lab/protocol.json, lab/rubric.toml (the chosen one); no
                       reference/: grading never runs the model answer
    bundle.json        what was bundled: kit version, git commit, rubric, Python versions,
                       whether grading may run uncontained (``allow_uncontained``)

Gradescope unpacks it into ``/autograder/source``, puts the student's files in
``/autograder/submission`` and uploads ``/autograder/results/results.json``.
``AUTOGRADER_ROOT`` (or ``--root``) replaces ``/autograder`` to run the same steps anywhere.

:func:`run` closes ``source/`` to other users (the student's programs run as other uids and
cannot read the kit even without bubblewrap), finds the student's programs (at the top of
the submission or one folder down), grades them with ``python -m harness grade --official``
and the bundled rubric into a private folder, and always leaves a ``results.json`` of its
own making (never written through a symlink):

- every rubric scenario is one test; a hidden one is ``after_published`` and named
  «Скрытый тест N» with a one-line verdict: neither its title nor its feedback is in the
  file (the instructor sees them in the autograder output, which students never see);
- nothing of the kit is in it: hidden titles in visible feedback become the neutral names,
  the bundle's own path is cut out;
- a submission without programs scores 0 with an explanation; a machine that cannot
  contain student code scores 0 with a message to contact the instructor, unless the
  bundle was built with ``--allow-uncontained`` (then the output lists what was missing);
  a harness crash scores 0 with a message to contact the instructor (and exits non-zero so
  the instructor sees it in Gradescope's stdout).
"""

from __future__ import annotations

import argparse
import contextlib
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

from harness.report import findings_text
from harness.rubric import TARGET_FILES, RubricEntry, RubricError, load_rubric
from harness.runner import DEFAULT_JOBS
from harness.verdict import GradeReport

DEFAULT_ROOT = Path("/autograder")
ROOT_ENV = "AUTOGRADER_ROOT"
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")
PROGRAMS = TARGET_FILES["both"]
# Folders a zip tool or an editor adds next to the student's own: never the solution.
NOT_SOLUTION = ("__MACOSX", "__pycache__")
LISTED_FILES = 20
EXIT_USAGE = 2  # `harness grade` refused (e.g. official grading on an uncontained machine)
CONTACT = "Сообщите преподавателю: дело в настройке автопроверки, а не в вашем решении."


@dataclass(frozen=True)
class Found:
    """Where the student's programs are (``folder``), or why they were not found."""

    folder: Path | None
    note: str


def _programs_in(folder: Path) -> list[str]:
    return [name for name in PROGRAMS if (folder / name).is_file()]


def _listing(submission: Path) -> str:
    files = []
    for top, dirs, names in os.walk(submission):  # never into a linked folder
        dirs.sort()
        files += [str((Path(top) / n).relative_to(submission)) for n in sorted(names)]
        if len(files) > 10 * LISTED_FILES:
            break
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
        and not sub.is_symlink()
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


# -- the bundle ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Bundle:
    """The unpacked bundle in ``ROOT/source``."""

    source: Path

    @property
    def kit(self) -> Path:
        return self.source / "kit"

    @property
    def rubric(self) -> Path:
        return self.kit / "lab" / "rubric.toml"

    def manifest(self) -> dict[str, Any]:
        try:
            data = json.loads((self.source / "bundle.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def allow_uncontained(self) -> bool:
        return self.manifest().get("allow_uncontained") is True


def close_to_others(folder: Path) -> str:
    """Make ``folder`` (the unpacked bundle) unreadable to every other user; "" when done,
    else what is wrong.  Student programs run as other uids: they cannot read the kit even
    where bubblewrap cannot hide it."""
    try:
        folder.chmod(0o700)
        if folder.stat().st_mode & 0o077:
            return f"{folder} осталась доступна другим пользователям"
    except OSError as exc:
        return f"не удалось закрыть {folder} от других пользователей: {exc.strerror}"
    return ""


def grade_into(folder: Path, bundle: Bundle, out: Path, allow_uncontained: bool) -> int:
    """``python -m harness grade FOLDER --official`` with the bundled rubric, writing
    ``OUT/report.json`` and ``OUT/results.json``; its exit code.

    Scenarios mostly wait on sockets and terminals: two per CPU keep a small container
    busy without starving the timing-sensitive ones.
    """
    jobs = min(DEFAULT_JOBS, 2 * available_cpus())
    command = [
        *(sys.executable, "-m", "harness", "grade", str(folder), "--official"),
        *("--rubric", str(bundle.rubric)),
        *("--json", str(out / "report.json"), "--gradescope", str(out / "results.json")),
        *("--jobs-per-submission", str(jobs)),
        *(("--allow-uncontained",) if allow_uncontained else ()),
    ]
    print("$", " ".join(command), flush=True)
    try:
        # Its stderr (why it refused, a traceback) to stdout: Gradescope shows that one.
        done = subprocess.run(command, cwd=bundle.kit, stderr=subprocess.STDOUT, check=False)
        return done.returncode
    except OSError as exc:  # no kit where setup put it: a broken bundle, not the student
        print(f"harness.gradescope: cannot run the harness: {exc}", flush=True)
        return 1


# -- results.json --------------------------------------------------------------------------
def hidden_names(entries: list[RubricEntry]) -> dict[str, str]:
    """Hidden scenario id -> the neutral name its test has in results.json."""
    hidden = [e for e in entries if e.hidden]
    return {e.id: f"Скрытый тест {n}" for n, e in enumerate(hidden, start=1)}


def _scrubber(entries: list[RubricEntry], source: Path) -> Any:
    names = hidden_names(entries)
    swaps = [(e.title, names[e.id]) for e in entries if e.hidden]
    swaps += [(e.id, names[e.id]) for e in entries if e.hidden]
    swaps += [(str(source.resolve()), "<автопроверка>"), (str(source), "<автопроверка>")]

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for old, new in swaps:
                value = value.replace(old, new)
            return value
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        return value

    return scrub


def _hidden_test(entry: RubricEntry, name: str, number: int, score: float, passed: bool) -> dict:
    verdict = "пройден" if passed else "не пройден"
    return {
        "name": name,
        "number": str(number),
        "score": score,
        "max_score": entry.points,
        "status": "passed" if passed else "failed",
        "output": f"Скрытый сценарий части {entry.part}: {verdict}. "
        "Что он проверяет, написано в условии; подробности отзыва — у преподавателя.",
        "visibility": "after_published",
        "tags": [f"part{entry.part}", entry.target],
    }


def _summary(entries: list[RubricEntry], scores: list[float], notes: list[str]) -> str:
    visible = [(e, s) for e, s in zip(entries, scores) if not e.hidden]
    hidden = [e for e in entries if e.hidden]
    got, out_of = sum(s for _, s in visible), sum(e.points for e, _ in visible)
    lines = [f"Открытые сценарии: {got:g} из {out_of:g}."]
    if hidden:
        points = sum(e.points for e in hidden)
        lines.append(
            f"Скрытые сценарии ({len(hidden)}, {points:g} баллов) откроются "
            "после публикации оценок."
        )
    return "\n".join([*lines, *filter(None, notes)])


def environment_notes(environment: dict[str, str]) -> list[str]:
    """What the student is told about where the programs ran: the interpreter and what
    protection was missing (only when something was)."""
    notes = []
    if environment.get("python"):
        notes.append(f"Программы запускались так: {environment['python']}.")
    missing = [v for k, v in sorted(environment.items()) if k.startswith("missing_")]
    if missing:
        notes.append("Изоляция программ на этой проверке неполная: " + "; ".join(missing) + ".")
    return notes


def all_zero(entries: list[RubricEntry], note: str, started: float) -> dict[str, Any]:
    """Every rubric scenario listed with 0 points (the total Gradescope shows stays the
    rubric's) and ``note`` as the explanation."""
    names = hidden_names(entries)
    tests = []
    for number, e in enumerate(entries, start=1):
        if e.hidden:
            tests.append(_hidden_test(e, names[e.id], number, 0.0, passed=False))
            continue
        tests.append(
            {
                "name": e.title,
                "number": str(number),
                "score": 0.0,
                "max_score": e.points,
                "status": "failed",
                "output": note,
                "visibility": "visible",
                "tags": [f"part{e.part}", e.target],
            }
        )
    return {
        "score": 0.0,
        "execution_time": round(time.monotonic() - started, 3),
        "output": note,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def student_results(
    report: dict[str, Any],
    results: dict[str, Any],
    entries: list[RubricEntry],
    bundle: Bundle,
    notes: list[str],
) -> dict[str, Any]:
    """``harness grade``'s results.json made fit for students (see the module docstring)."""
    by_id = {e.id: e for e in entries}
    graded = report["results"]
    tests = results.get("tests", [])
    if len(graded) != len(tests) or any(r["title"] != t["name"] for r, t in zip(graded, tests)):
        raise ValueError("report.json and results.json of one grading do not match")
    names = hidden_names(entries)
    scrub = _scrubber(entries, bundle.source)
    out_tests = []
    for number, (r, t) in enumerate(zip(graded, tests), start=1):
        entry = by_id[r["id"]]
        if entry.hidden:
            passed = r["status"] == "passed"
            out_tests.append(_hidden_test(entry, names[entry.id], number, r["points"], passed))
        else:
            out_tests.append({**scrub(t), "number": str(number), "visibility": "visible"})
    scores = [float(r["points"]) for r in graded]
    environment = report.get("environment") or {}
    manifest = bundle.manifest()
    head = findings_text(GradeReport.from_dict(report))  # what the start-up check saw
    summary = _summary(entries, scores, [*notes, *environment_notes(environment)])
    return {
        "score": sum(scores),
        "execution_time": results.get("execution_time", round(report.get("duration", 0), 3)),
        "output": scrub("\n\n".join(filter(None, [head, summary]))),
        "stdout_visibility": "hidden",
        "extra_data": {
            "kit_version": manifest.get("kit_version", ""),
            "kit_commit": manifest.get("kit_commit", ""),
            "rubric_sha256": manifest.get("rubric", {}).get("sha256", ""),
            "environment": scrub(environment),
        },
        "tests": out_tests,
    }


def print_hidden(report: dict[str, Any], entries: list[RubricEntry]) -> None:
    """For the instructor (stdout): which neutral name is which hidden scenario."""
    names = hidden_names(entries)
    statuses = {r["id"]: r["status"] for r in report.get("results", [])}
    for e in entries:
        if e.hidden:
            print(f"{names[e.id]} = {e.id} «{e.title}»: {statuses.get(e.id, '—')}")


def schema_problem(results: dict[str, Any]) -> str | None:
    """Why ``results`` is not a results.json Gradescope accepts, or None."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    errors = jsonschema.Draft7Validator(schema).iter_errors(results)
    error = jsonschema.exceptions.best_match(errors)
    return None if error is None else f"{'/'.join(map(str, error.path))}: {error.message}"


def write_results(results_dir: Path, results: dict[str, Any]) -> Path:
    """``RESULTS_DIR/results.json``, a new regular file: whatever was there before (a file, a
    symlink planted by anyone) is removed, and the folder itself must not be a symlink."""
    results_dir.mkdir(parents=True, exist_ok=True)
    folder = os.open(results_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink("results.json", dir_fd=folder)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open("results.json", flags, 0o644, dir_fd=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(results, f, ensure_ascii=False, indent=2)
    finally:
        os.close(folder)
    return results_dir / "results.json"


def _grade(
    root: Path, bundle: Bundle, entries: list[RubricEntry], started: float
) -> tuple[dict[str, Any], int]:
    protection = close_to_others(bundle.source)
    if protection:
        print(f"harness.gradescope: {protection}", flush=True)
    found = find_submission(root / "submission")
    print(found.note or f"Программы найдены в {found.folder}", flush=True)
    if found.folder is None:
        return all_zero(entries, found.note, started), 0
    allow = bundle.allow_uncontained
    with tempfile.TemporaryDirectory(prefix="chatgrade-report-") as private:
        out = Path(private)  # 0700, the harness's own: no student program can write here
        code = grade_into(found.folder, bundle, out, allow)
        if code == EXIT_USAGE and not (out / "results.json").exists():
            print(
                "harness.gradescope: the harness refused to grade (see above). If this machine "
                "cannot contain student code (bubblewrap), rebuild the bundle with "
                "`python -m harness package gradescope --allow-uncontained`.",
                flush=True,
            )
            return all_zero(entries, f"Проверка не запустилась. {CONTACT}", started), 1
        try:
            report = json.loads((out / "report.json").read_text(encoding="utf-8"))
            graded = json.loads((out / "results.json").read_text(encoding="utf-8"))
            notes = [found.note] if found.note else []
            if protection and allow:
                notes.append(f"Изоляция программ на этой проверке неполная: {protection}.")
            results = student_results(report, graded, entries, bundle, notes)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"harness.gradescope: no usable report ({exc!r}), exit code {code}", flush=True)
            return all_zero(entries, f"Проверка не завершилась из-за ошибки. {CONTACT}", started), 1
        print_hidden(report, entries)
    return results, code


def run(root: Path) -> int:
    """Grade ``ROOT/submission`` with the bundle in ``ROOT/source``; write ``ROOT/results``."""
    started = time.monotonic()
    bundle = Bundle(root / "source")
    try:
        entries = load_rubric(bundle.rubric)
        results, code = _grade(root, bundle, entries, started)
    except RubricError as exc:  # no kit where setup put it: a broken bundle, not the student
        print(f"harness.gradescope: broken bundle: {exc}", flush=True)
        results = all_zero([], f"Проверка не завершилась из-за ошибки. {CONTACT}", started)
        code = 1
    problem = schema_problem(results)
    if problem:  # only the instructor sees stdout: say it there, still hand in the score
        print(f"harness.gradescope: results.json does not follow Gradescope's format: {problem}")
    path = write_results(root / "results", results)
    print(f"results.json: {results.get('score')} баллов, {path}", flush=True)
    return code


def check(root: Path) -> int:
    """``--check`` (setup time): what this machine allows, and what grading will do."""
    from harness.sandbox import containment

    bundle = Bundle(root / "source")
    prot = containment()
    for key, value in prot.describe().items():
        print(f"{key}: {value}")
    for problem in prot.missing():
        print(f"missing: {problem}")
    if not prot.contained and not bundle.allow_uncontained:
        print(
            "WARNING: bubblewrap cannot contain student programs on this machine, and the "
            "bundle was built without --allow-uncontained: every submission will get 0 with a "
            "message to contact the instructor.  Rebuild with "
            "`python -m harness package gradescope --allow-uncontained` to grade anyway "
            "(the unpacked kit is closed to other users, each scenario runs as its own uid)."
        )
    return 0


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
    parser.add_argument(
        "--check",
        action="store_true",
        help="только сказать, какую изоляцию даёт эта машина (setup.sh)",
    )
    args = parser.parse_args(argv)
    return check(args.root) if args.check else run(args.root)
