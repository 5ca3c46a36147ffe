"""``python -m harness batch DIR... --jobs N --out DIR``: grade a class.

Each submission (a folder with ``server.py`` and/or ``client.py``; a DIR without them is a
folder of submissions) is graded by its own ``python -m harness grade`` process, ``--jobs``
at a time, into ``OUT/NAME/`` (``report.json``, ``report.html``, ``results.json`` for
Gradescope, ``junit.xml``).  A submission whose files, rubric and harness version are the
same as at its last grading keeps its result (resumable; ``--force`` regrades).  At the end
``OUT/grades.csv`` (the gradebook; ``--csv FILE`` puts it elsewhere) and ``OUT/summary.md``
(which scenarios fail most) are written and the summary is printed.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness import __version__
from harness.kit import RUBRIC_FILE
from harness.sandbox import IGNORED_NAMES

PROGRAMS = ("server.py", "client.py")
SUBMISSION_TIMEOUT = 300  # seconds for one submission's grading process


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from harness.cliargs import add_run_options

    parser = subparsers.add_parser("batch", help="проверить много решений (по папке на каждое)")
    parser.add_argument(
        "dirs", nargs="+", type=Path, metavar="DIR", help="решение или папка решений"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="сколько решений проверять одновременно"
    )
    parser.add_argument("--out", type=Path, default=Path("grades"), help="папка для результатов")
    parser.add_argument("--force", action="store_true", help="перепроверить даже неизменённые")
    parser.add_argument(
        "--csv", type=Path, default=None, help="куда записать журнал оценок (OUT/grades.csv)"
    )
    add_run_options(parser)
    parser.set_defaults(func=cmd_batch)


def find_submissions(dirs: list[Path]) -> list[Path]:
    """Submissions in ``dirs``: a folder with a program, or each such subfolder."""
    found: list[Path] = []
    for d in dirs:
        if any((d / p).is_file() for p in PROGRAMS):
            found.append(d)
        elif d.is_dir():
            found += sorted(
                sub
                for sub in d.iterdir()
                if sub.is_dir() and any((sub / p).is_file() for p in PROGRAMS)
            )
    return found


def fingerprint(submission: Path, rubric: Path, argv: list[str]) -> str:
    """Changes when the submission's files, the rubric, the options or the harness change."""
    h = hashlib.sha256()
    h.update(__version__.encode())
    h.update(json.dumps(argv).encode())
    h.update(rubric.read_bytes())
    for path in sorted(submission.rglob("*")):
        if path.is_file() and not any(part in IGNORED_NAMES for part in path.parts):
            h.update(str(path.relative_to(submission)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def unique_names(subs: list[Path]) -> dict[Path, str]:
    names: dict[Path, str] = {}
    used: collections.Counter[str] = collections.Counter()
    for sub in subs:
        base = sub.resolve().name or "submission"
        used[base] += 1
        names[sub] = base if used[base] == 1 else f"{base}-{used[base]}"
    return names


def grade_argv(args: argparse.Namespace) -> list[str]:
    """Options passed on to every ``grade`` process."""
    argv: list[str] = []
    if args.rubric:
        argv += ["--rubric", str(args.rubric.resolve())]
    for sid in args.scenario:
        argv += ["--scenario", sid]
    for part in args.part:
        argv += ["--part", str(part)]
    argv += ["--repeat", str(args.repeat), "--network", args.network]
    if args.scenario_jobs:
        argv += ["--jobs-per-submission", str(args.scenario_jobs)]
    return argv


def grade_one(
    submission: Path, out: Path, argv: list[str], stamp: str, force: bool
) -> dict[str, Any]:
    """Grade one submission into ``out`` (or reuse its up-to-date result)."""
    report = out / "report.json"
    stamp_file = out / "fingerprint"
    if not force and report.is_file() and stamp_file.is_file() and stamp_file.read_text() == stamp:
        data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
        data["_cached"] = True
        return data
    out.mkdir(parents=True, exist_ok=True)
    stamp_file.unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "harness", "grade", str(submission), *argv, "--quiet",
        "--json", str(report), "--html", str(out / "report.html"),
        "--gradescope", str(out / "results.json"), "--junit", str(out / "junit.xml"),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=SUBMISSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"submission": str(submission), "_error": "проверка не уложилась в отведённое время"}
    (out / "grade.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0 or not report.is_file():
        return {
            "submission": str(submission),
            "_error": f"код {proc.returncode}: {proc.stderr[-500:]}",
        }
    stamp_file.write_text(stamp)
    data = json.loads(report.read_text(encoding="utf-8"))
    data["_cached"] = False
    return data


def write_gradebook(path: Path, rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """``grades.csv``: one row per submission, a points column per scenario."""
    ids: list[str] = []
    for _, data in rows:
        for r in data.get("results", []):
            if r["id"] not in ids:
                ids.append(r["id"])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "score", "max_score", "not_passed", "error", *ids])
        for name, data in rows:
            results = {r["id"]: r for r in data.get("results", [])}
            writer.writerow(
                [
                    name,
                    f"{data.get('score', 0):g}",
                    f"{data.get('max_score', 0):g}",
                    " ".join(i for i, r in results.items() if r["status"] != "passed"),
                    data.get("_error", ""),
                    *(f"{results[i]['points']:g}" if i in results else "" for i in ids),
                ]
            )
    return ids


def class_summary(rows: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per scenario: how many submissions did not pass it, and the most common failing step."""
    stats: dict[str, dict[str, Any]] = {}
    for _, data in rows:
        for r in data.get("results", []):
            s = stats.setdefault(
                r["id"], {"id": r["id"], "title": r["title"], "graded": 0, "not_passed": 0,
                          "statuses": collections.Counter(), "steps": collections.Counter()},
            )  # fmt: skip
            s["graded"] += 1
            s["statuses"][r["status"]] += 1
            if r["status"] != "passed":
                s["not_passed"] += 1
                if r.get("step"):
                    s["steps"][r["step"]] += 1
    return sorted(stats.values(), key=lambda s: (-s["not_passed"], s["id"]))


def write_summary(
    path: Path, summary: list[dict[str, Any]], rows: list[tuple[str, dict[str, Any]]]
) -> None:
    scores = [d.get("score", 0) for _, d in rows if "_error" not in d]
    lines = [
        "# Сводка по группе",
        "",
        f"Решений: {len(rows)}; средний балл: {sum(scores) / len(scores):.1f}" if scores else "",
        "",
        "| Сценарий | Не прошли | Из | Чаще всего ломается на шаге |",
        "| --- | ---: | ---: | --- |",
    ]
    for s in summary:
        step = s["steps"].most_common(1)[0][0] if s["steps"] else ""
        lines.append(f"| {s['title']} (`{s['id']}`) | {s['not_passed']} | {s['graded']} | {step} |")
    errors = [(n, d["_error"]) for n, d in rows if "_error" in d]
    if errors:
        lines += ["", "## Ошибки проверки", ""] + [f"- {n}: {e}" for n, e in errors]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def cmd_batch(args: argparse.Namespace) -> int:
    from harness.cliargs import EXIT_OK, usage_error

    missing = [d for d in args.dirs if not d.is_dir()]
    if missing:
        return usage_error("нет папки " + ", ".join(map(str, missing)))
    subs = find_submissions(args.dirs)
    if not subs:
        return usage_error("не найдено ни одного решения (папки с server.py или client.py)")
    args.out.mkdir(parents=True, exist_ok=True)
    argv = grade_argv(args)
    rubric = args.rubric or RUBRIC_FILE
    names = unique_names(subs)
    console = Console(stderr=True)
    rows: dict[Path, dict[str, Any]] = {}
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[last]}"), console=console,
    )  # fmt: skip
    with progress, concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        task = progress.add_task("Проверка", total=len(subs), last="")
        futures = {
            pool.submit(
                grade_one, sub, args.out / names[sub], argv,
                fingerprint(sub, rubric, argv), args.force,
            ): sub
            for sub in subs
        }  # fmt: skip
        for future in concurrent.futures.as_completed(futures):
            sub = futures[future]
            data = future.result()
            rows[sub] = data
            if "_error" in data:
                last = f"{names[sub]}: ошибка"
            else:
                cached = " (без изменений)" if data.get("_cached") else ""
                last = f"{names[sub]}: {data['score']:g}/{data['max_score']:g}{cached}"
            progress.console.print(last)  # a log line per submission, above the bar
            progress.update(task, advance=1, last=last)
    ordered = [(names[s], rows[s]) for s in subs]
    gradebook = args.csv or args.out / "grades.csv"
    gradebook.parent.mkdir(parents=True, exist_ok=True)
    write_gradebook(gradebook, ordered)
    summary = class_summary(ordered)
    write_summary(args.out / "summary.md", summary, ordered)
    table = Table(title="Какие сценарии не проходят чаще всего")
    for col in ("Сценарий", "Не прошли", "Из"):
        table.add_column(col)
    for s in summary:
        if s["not_passed"]:
            table.add_row(s["title"], str(s["not_passed"]), str(s["graded"]))
    Console().print(table)
    print(f"Журнал оценок: {gradebook}; сводка: {args.out / 'summary.md'}")
    return EXIT_OK
