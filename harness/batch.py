"""``python -m harness batch DIR... --jobs N --out DIR``: grade a class.

Every folder under a DIR is one student and one gradebook row under that folder's name,
whatever it holds (:mod:`harness.roster` finds the programs at its top, one or more levels
down, or in a zip; a student without programs gets 0 and the reason).  A DIR that is itself
one student (programs at its top, or in its only folder) is one row under its own name.

Each student with programs is graded by its own ``python -m harness grade`` process (its own
session), ``--jobs`` at a time, into ``OUT/NAME/`` (``report.json``, ``report.html``,
``results.json`` for Gradescope, ``junit.xml``, ``grade.log``).  A student whose files, rubric,
options and harness version are the same as at the last grading keeps the result (resumable;
``--force`` regrades).  Then, beside the gradebook (``OUT/grades.csv`` or ``--csv FILE``):
``grades-moodle.csv`` (Moodle's grade import: identifier + grade), ``grades.html`` (the class
page); in ``OUT``: ``summary.md``; with ``--similarity``: ``similarity.html``.

Ctrl+C (SIGINT) or SIGTERM stops queueing at once, kills the gradings in flight with every
process they started (the batch is a child subreaper, so even processes that left their
session come back to it and are killed), writes all of the above for what was graded so far,
marked incomplete, and exits 130 (143 for SIGTERM).  The next run resumes.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import ctypes
import hashlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from harness import __version__, classpage, similarity
from harness.cliargs import EXIT_OK, add_run_options, load_entries, usage_error
from harness.gradebook import (
    ERROR,
    GRADED,
    NO_PROGRAM,
    NOT_GRADED,
    STATUS_TEXT,
    Row,
    counts,
)
from harness.kit import RUBRIC_FILE
from harness.roster import CACHE_NAMES, Roster, Student, read_class
from harness.verdict import PASSED, SKIPPED, GradeReport

SUBMISSION_TIMEOUT = 300  # seconds for one student's grading process
KILL_TIMEOUT = 5.0  # seconds to wait for killed processes to be gone
PR_SET_CHILD_SUBREAPER = 36


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "batch", help="проверить группу (каждая папка внутри DIR — один студент)"
    )
    parser.add_argument(
        "dirs", nargs="+", type=Path, metavar="DIR", help="папка группы (или одного студента)"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="сколько студентов проверять одновременно"
    )
    parser.add_argument("--out", type=Path, default=Path("grades"), help="папка для результатов")
    parser.add_argument("--force", action="store_true", help="перепроверить даже неизменённые")
    parser.add_argument(
        "--csv", type=Path, default=None, help="куда записать журнал оценок (OUT/grades.csv)"
    )
    parser.add_argument(
        "--similarity",
        action="store_true",
        help="ещё и проверить сходство решений (OUT/similarity.html)",
    )
    parser.add_argument(
        "--similarity-threshold",
        type=float,
        default=None,
        metavar="P",
        help="доля совпадающего кода, с которой пара попадает в список (0..1)",
    )
    add_run_options(parser)
    parser.set_defaults(func=cmd_batch)


def fingerprint(folder: Path, rubric: Path, argv: list[str]) -> str:
    """Changes when the student's files, the rubric, the options or the harness change."""
    h = hashlib.sha256()
    h.update(__version__.encode())
    h.update(json.dumps(argv).encode())
    h.update(rubric.read_bytes())
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part in CACHE_NAMES for part in path.parts):
            h.update(str(path.relative_to(folder)).encode())
            with contextlib.suppress(OSError):  # unreadable: its name still counts
                h.update(path.read_bytes())
    return h.hexdigest()


def grade_argv(args: argparse.Namespace) -> list[str]:
    """Options passed on to every ``grade`` process."""
    argv: list[str] = []
    if args.rubric:
        argv += ["--rubric", str(args.rubric.resolve())]
    for sid in args.scenario:
        argv += ["--scenario", sid]
    for part in args.part:
        argv += ["--part", str(part)]
    argv += ["--repeat", str(args.repeat), "--official"]
    if args.allow_uncontained:
        argv.append("--allow-uncontained")
    if args.scenario_jobs:
        argv += ["--jobs-per-submission", str(args.scenario_jobs)]
    return argv


# -- the grading processes and everything they start -----------------------------------------
class Stopped(Exception):
    """The batch is stopping: no new grading starts."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM reached the batch (raised in the main thread)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def become_subreaper() -> bool:
    """Make orphaned descendants (student programs in their own sessions) our children."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, process group, state letter) for every process in /proc."""
    table: dict[int, tuple[int, int, str]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                text = f.read()
            fields = text[text.rindex(")") + 2 :].split()
            table[int(entry)] = (int(fields[1]), int(fields[2]), fields[0])
        except (OSError, ValueError, IndexError):  # ended while we looked
            continue
    return table


def descendants(root: int, table: dict[int, tuple[int, int, str]]) -> list[int]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for pid, (ppid, _, _) in table.items():
        children[ppid].append(pid)
    found: list[int] = []
    todo = list(children[root])
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children[pid]
    return found


def _wait_reaped(pid: int, deadline: float) -> None:
    """Reap our child ``pid`` once it is dead, waiting at most until ``deadline``."""
    try:
        fd = os.pidfd_open(pid)  # Linux 5.3+, Python 3.9+
    except (AttributeError, OSError):
        fd = -1
    try:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return  # not ours, or reaped already
            if done or time.monotonic() >= deadline:
                return
            if fd >= 0:
                select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            else:
                time.sleep(0.02)  # no pidfd: poll the exit (cleanup, bounded by deadline)
    finally:
        if fd >= 0:
            os.close(fd)


def _kill(pids: list[int], table: dict[int, tuple[int, int, str]]) -> None:
    own_group = os.getpgrp()
    for pid in pids:
        entry = table.get(pid)
        if entry and entry[1] not in (own_group, 0, 1):
            with contextlib.suppress(OSError):
                os.killpg(entry[1], signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class Children:
    """The batch's grading processes; ends them, and whatever they left, on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping = False
        self.subreaper = become_subreaper()
        self._mine = os.getpid()
        self._before = set(descendants(self._mine, process_table()))  # not ours to kill

    def run(self, cmd: list[str], log: IO[bytes], timeout: float) -> int:
        """Run ``cmd`` in its own session; its exit code.  Raises Stopped, TimeoutExpired."""
        with self._lock:  # a child is registered as it is born: never taken for a stray
            if self.stopping:
                raise Stopped
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self._procs[proc.pid] = proc
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._end([proc])
            raise
        finally:
            with self._lock:
                self._procs.pop(proc.pid, None)
            self.reap_strays()

    def stop(self) -> None:
        """Start nothing more; kill every grading in flight and all it started."""
        with self._lock:
            self.stopping = True
            procs = list(self._procs.values())
        self._end(procs)

    def _end(self, procs: list[subprocess.Popen[bytes]]) -> None:
        table = process_table()
        for proc in procs:  # the whole tree at once, before orphans can wander off
            _kill([proc.pid, *descendants(proc.pid, table)], table)
        deadline = time.monotonic() + KILL_TIMEOUT
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
        self.reap_strays()

    def reap_strays(self) -> None:
        """Kill and reap our children that are no grading of ours (orphans given to us)."""
        deadline = time.monotonic() + KILL_TIMEOUT
        while time.monotonic() < deadline:
            with self._lock:
                table = process_table()
                strays = [
                    pid
                    for pid, (ppid, _, _) in table.items()
                    if ppid == self._mine and pid not in self._procs and pid not in self._before
                ]
            if not strays:
                return
            for pid in strays:
                if table[pid][2] != "Z":
                    _kill([pid, *descendants(pid, table)], table)
            for pid in strays:
                _wait_reaped(pid, deadline)


# -- grading one student ----------------------------------------------------------------------
def grade_one(
    student: Student,
    out: Path,
    argv: list[str],
    stamp: str,
    force: bool,
    children: Children,
    max_score: float,
) -> Row:
    """Grade one student into ``out`` (or reuse the up-to-date result)."""
    assert student.programs is not None
    report = out / "report.json"
    stamp_file = out / "fingerprint"
    if not force and report.is_file() and stamp_file.is_file() and stamp_file.read_text() == stamp:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(report.read_text(encoding="utf-8"))
            return Row(student, GRADED, max_score, GradeReport.from_dict(data), cached=True)
    out.mkdir(parents=True, exist_ok=True)
    stamp_file.unlink(missing_ok=True)
    report.unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "harness", "grade", str(student.programs), *argv, "--quiet",
        "--json", str(report), "--html", str(out / "report.html"),
        "--gradescope", str(out / "results.json"), "--junit", str(out / "junit.xml"),
    ]  # fmt: skip
    log_path = out / "grade.log"
    try:
        with log_path.open("wb") as log:
            code = children.run(cmd, log, SUBMISSION_TIMEOUT)
    except Stopped:
        return Row(student, NOT_GRADED, max_score)
    except subprocess.TimeoutExpired:
        return Row(
            student, ERROR, max_score,
            error=f"проверка не уложилась в {SUBMISSION_TIMEOUT} с и остановлена",
        )  # fmt: skip
    if code != 0 and children.stopping:
        return Row(student, NOT_GRADED, max_score)  # killed by the interrupt
    if code != 0 or not report.is_file():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-500:].strip()
        return Row(student, ERROR, max_score, error=f"grade завершился с кодом {code}: {tail}")
    try:
        result = GradeReport.from_dict(json.loads(report.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Row(student, ERROR, max_score, error=f"отчёт не читается: {exc}")
    stamp_file.write_text(stamp)
    return Row(student, GRADED, max_score, result)


def _log_line(row: Row) -> str:
    if row.status == GRADED:
        assert row.score is not None
        cached = " (без изменений)" if row.cached else ""
        note = f" — {row.student.note}" if row.student.note else ""
        return f"{row.name}: {row.score:g}/{row.max_points:g}{cached}{note}"
    return f"{row.name}: {STATUS_TEXT[row.status]} — {row.reason}"


# -- what is written --------------------------------------------------------------------------
def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (names come from students)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def scenario_ids(rows: list[Row]) -> list[str]:
    ids: list[str] = []
    for row in rows:
        for r in row.report.results if row.report else []:
            if r.id not in ids:
                ids.append(r.id)
    return ids


def write_gradebook(path: Path, rows: list[Row]) -> None:
    """``grades.csv``: one row per student, a points column per scenario."""
    ids = scenario_ids(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        header = ["submission", "score", "max_score", "status", "reason", "not_passed"]
        writer.writerow([*header, "skipped", *ids])
        for row in rows:
            results = {r.id: r for r in row.report.results} if row.report else {}
            writer.writerow(
                [
                    _cell(row.name),
                    _points(row.score),
                    _points(row.max_points),
                    STATUS_TEXT[row.status],
                    _cell(row.reason),
                    " ".join(row.not_passed()),
                    " ".join(row.skipped()),
                    *(_points(results[i].points) if i in results else "" for i in ids),
                ]
            )


def write_moodle(path: Path, rows: list[Row]) -> None:
    """Moodle's grade import CSV: the folder name as the identifier, and the grade.

    Students without a grade (harness error, interrupted) are left out, so an import never
    overwrites a grade in Moodle with a blank or a zero that is not theirs.
    """
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["identifier", "grade"])
        for row in rows:
            if row.score is not None:
                writer.writerow([_cell(row.name), _points(row.score)])


def class_summary(rows: list[Row]) -> list[dict[str, Any]]:
    """Per scenario: passed / not passed / skipped counts and the most common failing step."""
    stats: dict[str, dict[str, Any]] = {}
    for row in rows:
        for r in row.report.results if row.report else []:
            s = stats.setdefault(
                r.id, {"id": r.id, "title": r.title, "graded": 0, "passed": 0, "not_passed": 0,
                       "skipped": 0, "steps": collections.Counter(),
                       "skip_reasons": collections.Counter()},
            )  # fmt: skip
            s["graded"] += 1
            if r.status == PASSED:
                s["passed"] += 1
            elif r.status == SKIPPED:
                s["skipped"] += 1
                if r.reason:
                    s["skip_reasons"][r.reason] += 1
            else:
                s["not_passed"] += 1
                if r.step:
                    s["steps"][r.step] += 1
    return sorted(stats.values(), key=lambda s: (-s["not_passed"], -s["skipped"], s["id"]))


def _md(text: str) -> str:
    """Text from a submission inside a Markdown table cell or list item."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def write_summary(
    path: Path,
    summary: list[dict[str, Any]],
    rows: list[Row],
    *,
    incomplete: bool,
    pairs: list[Any] | None = None,
    similarity_note: str = "",
) -> None:
    c = counts(rows)
    graded = [row.score for row in rows if row.status == GRADED and row.score is not None]
    lines = ["# Сводка по группе", ""]
    if incomplete:
        lines += [
            f"**Проверка прервана: неполная сводка.** Проверено {c[GRADED]} из "
            f"{len(rows) - c[NO_PROGRAM]} работ; запустите batch снова, чтобы закончить.",
            "",
        ]
    lines.append(
        f"Студентов: {len(rows)}; проверено: {c[GRADED]}; без программы: {c[NO_PROGRAM]}; "
        f"ошибок проверки: {c[ERROR]}; не проверено: {c[NOT_GRADED]}"
    )
    if graded:
        lines.append(f"Средний балл проверенных: {sum(graded) / len(graded):.1f}")
    lines += [
        "",
        "| Сценарий | Прошли | Не прошли | Пропущены | Из | Чаще всего ломается на шаге |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in summary:
        step = s["steps"].most_common(1)[0][0] if s["steps"] else ""
        lines.append(
            f"| {s['title']} (`{s['id']}`) | {s['passed']} | {s['not_passed']} | "
            f"{s['skipped']} | {s['graded']} | {_md(step)} |"
        )
    others = [row for row in rows if row.status != GRADED]
    if others:
        lines += ["", "## Без оценки по сценариям", ""]
        lines += [f"- {_md(r.name)}: {STATUS_TEXT[r.status]} — {_md(r.reason)}" for r in others]
    if pairs is not None or similarity_note:
        lines += ["", "## Похожие решения", ""]
        if similarity_note:
            lines.append(similarity_note)
        for pair in pairs or []:
            lines.append(f"- {_md(pair.line())}")
        if pairs is not None and not pairs:
            lines.append("Пар выше порога нет.")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _print_table(summary: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Какие сценарии не проходят чаще всего")
    for col in ("Сценарий", "Не прошли", "Пропущены", "Из"):
        table.add_column(col)
    for s in summary:
        if s["not_passed"] or s["skipped"]:
            table.add_row(
                escape(s["title"]), str(s["not_passed"]), str(s["skipped"]), str(s["graded"])
            )
    if table.row_count:
        Console().print(table)
    elif summary:
        print("Все проверенные работы прошли все сценарии.")


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread while inside."""
    old = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def grade_class(
    roster: Roster,
    args: argparse.Namespace,
    argv: list[str],
    rubric: Path,
    max_score: float,
) -> tuple[list[Row], int | None]:
    """Grade every student; the rows in roster order, and the signal that stopped it (or None)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    students = roster.students
    rows: dict[str, Row] = {}
    todo: queue.SimpleQueue[Student] = queue.SimpleQueue()
    done: queue.Queue[Row] = queue.Queue()  # its get() is interruptible by Ctrl+C
    children = Children()
    to_grade = [s for s in students if s.programs is not None]
    stamps = {s.name: fingerprint(s.folder, rubric, argv) for s in to_grade}
    for s in to_grade:
        todo.put(s)

    def worker() -> None:
        while not children.stopping:
            try:
                student = todo.get_nowait()
            except queue.Empty:
                return
            try:
                row = grade_one(
                    student, args.out / student.name, argv, stamps[student.name],
                    args.force, children, max_score,
                )  # fmt: skip
            except Exception as exc:  # a bug here must not lose the student
                row = Row(student, ERROR, max_score, error=f"сбой batch: {exc!r}")
            done.put(row)

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[last]}"), console=console,
    )  # fmt: skip
    stopped_by: int | None = None
    threads: list[threading.Thread] = []
    try:
        with progress:
            task = progress.add_task("Студенты", total=len(students), last="")

            def show(row: Row) -> None:
                rows[row.name] = row
                last = _log_line(row)
                progress.console.print(escape(last))  # a log line per student, above the bar
                progress.update(task, advance=1, last=escape(last[:60]))

            for s in students:
                if s.programs is None:
                    show(Row(s, NO_PROGRAM, max_score))
            for _ in range(min(max(1, args.jobs), len(to_grade))):
                thread = threading.Thread(target=worker, name="batch-worker", daemon=True)
                thread.start()
                threads.append(thread)
            for _ in to_grade:
                try:  # every grading ends within its own timeout, so this is a bug guard
                    show(done.get(timeout=SUBMISSION_TIMEOUT + 4 * KILL_TIMEOUT))
                except queue.Empty:
                    break
    except Interrupted as exc:
        stopped_by = exc.signum
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not cut cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        t0 = time.monotonic()
        children.stop()
        for thread in threads:
            thread.join(max(0.1, KILL_TIMEOUT - (time.monotonic() - t0)))
        while True:
            try:
                row = done.get_nowait()
            except queue.Empty:
                break
            rows[row.name] = row
        console.print(
            f"Прервано: проверки остановлены за {time.monotonic() - t0:.1f} с; "
            "записываю то, что успело провериться."
        )
    lost = "batch не дождался конца проверки" if stopped_by is None else ""
    ordered = [
        rows.get(s.name) or Row(s, ERROR if lost else NOT_GRADED, max_score, error=lost)
        for s in students
    ]
    return ordered, stopped_by


def cmd_batch(args: argparse.Namespace) -> int:
    files = [d for d in args.dirs if d.exists() and not d.is_dir()]
    if files:
        return usage_error(
            "это файл, а нужна папка группы (по папке на студента): " + ", ".join(map(str, files))
        )
    missing = [d for d in args.dirs if not d.is_dir()]
    if missing:
        return usage_error("нет папки " + ", ".join(map(str, missing)))
    if args.jobs < 1:
        return usage_error("--jobs должен быть не меньше 1")
    threshold = args.similarity_threshold
    if threshold is not None and not 0 < threshold <= 1:
        return usage_error("--similarity-threshold — доля от 0 до 1, например 0.6")
    entries = load_entries(args)  # a bad rubric or scenario id: an error before any grading
    max_score = sum(e.points for e in entries)
    gradebook = args.csv or args.out / "grades.csv"
    roster = read_class(args.dirs, exclude=[args.out], unpack_root=args.out / ".unpacked")
    if not roster.students:
        return usage_error("в " + ", ".join(map(str, args.dirs)) + " нет ни одной папки студента")
    args.out.mkdir(parents=True, exist_ok=True)
    gradebook.parent.mkdir(parents=True, exist_ok=True)
    for line in roster.ignored:
        print(f"пропущено: {line}", file=sys.stderr)
    argv = grade_argv(args)
    with interrupts_raise():
        try:
            rows, stopped_by = grade_class(
                roster, args, argv, args.rubric or RUBRIC_FILE, max_score
            )
        except Interrupted as exc:  # before the grading loop began: nothing graded
            rows = [Row(s, NOT_GRADED, max_score) for s in roster.students]
            stopped_by = exc.signum
    with interrupts_deferred() as deferred:  # the gradebook is always written whole
        code = finish(args, rows, gradebook, stopped_by, threshold)
    if code == EXIT_OK and deferred:
        return 128 + deferred[0]
    return code


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[list[int]]:
    """SIGINT and SIGTERM are remembered (in the yielded list), not acted on, while inside."""
    seen: list[int] = []
    old = {
        sig: signal.signal(sig, lambda signum, _frame: seen.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield seen
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


class Outputs:
    """Where :func:`finish` writes, and how it writes the class files (again after similarity)."""

    def __init__(self, args: argparse.Namespace, gradebook: Path):
        self.out: Path = args.out
        self.gradebook = gradebook
        self.moodle = gradebook.with_name(gradebook.stem + "-moodle.csv")
        self.summary_md = args.out / "summary.md"
        self.page = gradebook.with_suffix(".html")

    def write(
        self,
        rows: list[Row],
        summary: list[dict[str, Any]],
        incomplete: bool,
        pairs: list[Any] | None = None,
        note: str = "",
        similarity_page: Path | None = None,
    ) -> None:
        write_gradebook(self.gradebook, rows)
        write_moodle(self.moodle, rows)
        write_summary(
            self.summary_md, summary, rows, incomplete=incomplete, pairs=pairs,
            similarity_note=note,
        )  # fmt: skip
        classpage.write_class_page(
            self.page, rows, summary, out=self.out, incomplete=incomplete, pairs=pairs,
            similarity_page=similarity_page,
        )  # fmt: skip


def check_similarity(
    args: argparse.Namespace, rows: list[Row], threshold: float | None
) -> tuple[list[Any] | None, str, Path | None, int | None]:
    """Pairs, a note, the report and the signal that cut it short (Ctrl+C stops it too)."""
    page = args.out / "similarity.html"
    students = [(row.name, row.student.programs) for row in rows if row.student.programs]
    with interrupts_raise():
        try:
            return similarity.check_class(students, page, threshold=threshold), "", page, None
        except similarity.SimilarityUnavailable as exc:
            return None, str(exc), None, None
        except Interrupted as exc:
            return None, "Сходство не проверено: прервано.", None, exc.signum


def finish(
    args: argparse.Namespace,
    rows: list[Row],
    gradebook: Path,
    stopped_by: int | None,
    threshold: float | None,
) -> int:
    """Write the gradebook, the Moodle CSV, the summary and the class page; say where.

    They are written before the similarity check (which may take a while on a big class and
    may be interrupted) and once more with its pairs.
    """
    incomplete = stopped_by is not None
    outputs = Outputs(args, gradebook)
    summary = class_summary(rows)
    pairs = None
    note = "Сходство не проверялось: проверка прервана." if args.similarity and incomplete else ""
    similarity_page: Path | None = None
    outputs.write(rows, summary, incomplete, note=note)
    if args.similarity and not incomplete:
        pairs, note, similarity_page, stopped_by = check_similarity(args, rows, threshold)
        outputs.write(rows, summary, incomplete, pairs, note, similarity_page)
    if not incomplete:
        _print_table(summary)
    if pairs:
        print("Похожие решения (выше порога):")
        for pair in pairs:
            print(f"  {pair.line()}")
    elif note:
        print(note)
    c = counts(rows)
    head = "Проверка прервана, сводка неполная. " if incomplete else ""
    print(
        f"{head}Студентов: {len(rows)}; проверено: {c[GRADED]}; "
        f"без программы: {c[NO_PROGRAM]}; ошибок проверки: {c[ERROR]}"
        + (f"; не проверено: {c[NOT_GRADED]}" if c[NOT_GRADED] else "")
        + "."
    )
    print(
        f"Журнал оценок: {outputs.gradebook}; для Moodle: {outputs.moodle}; "
        f"сводка: {outputs.summary_md}; страница группы: {outputs.page}; "
        f"отчёт каждого студента: {args.out / 'ИМЯ' / 'report.html'}"
        + (f"; сходство: {similarity_page}" if similarity_page else "")
    )
    if stopped_by is not None:
        return 128 + stopped_by
    return 0
