"""``python -m harness``: grade one submission, a class, or list the scenarios.

Other verbs live in their own modules (``VERBS``); each exposes
``register(subparsers) -> None``, which adds its subparser (with the shared options of
:mod:`harness.cliargs`) and sets ``func=callable(args) -> int``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from rich.table import Table

from harness import (
    __version__,
    batch,
    bench,
    flake,
    load,
    package,
    report,
    roster,
    similarity,
    skeleton,
)
from harness.cliargs import (
    EXIT_HARNESS_ERROR,
    EXIT_OK,
    add_rubric_options,
    add_run_options,
    load_entries,
    usage_error,
)
from harness.rubric import RubricEntry
from harness.runner import DEFAULT_JOBS, Uncontained, grade
from harness.sandbox import let_children_see_ctrl_c

VERBS = (batch, similarity, load, bench, flake, package, skeleton)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness",
        description="Проверка лабораторной работы «Многопользовательский чат».",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="КОМАНДА")
    sub.required = True

    grade = sub.add_parser(
        "grade", help="проверить одно решение (папку с server.py и/или client.py)"
    )
    grade.add_argument("submission", type=Path, help="папка решения")
    add_run_options(grade)
    grade.add_argument("--json", type=Path, metavar="FILE", help="отчёт в JSON")
    grade.add_argument("--junit", type=Path, metavar="FILE", help="отчёт JUnit XML")
    grade.add_argument(
        "--gradescope", type=Path, metavar="FILE", help="results.json для Gradescope"
    )
    grade.add_argument("--html", type=Path, metavar="FILE", help="отчёт одним HTML-файлом")
    grade.add_argument("--lang", choices=("ru", "en"), default="ru", help="язык таблицы оценок")
    grade.add_argument("--quiet", action="store_true", help="не печатать таблицу оценок")
    grade.add_argument(
        "--official",
        action="store_true",
        help="официальная оценка (batch, системы сдачи): без изоляции не проверять",
    )
    grade.set_defaults(func=cmd_grade)

    lst = sub.add_parser("list", help="сценарии с баллами, частями и зависимостями")
    add_rubric_options(lst)
    lst.add_argument("--lang", choices=("ru", "en"), default="ru")
    lst.set_defaults(func=cmd_list)

    for verb in VERBS:
        verb.register(sub)
    return parser


def cmd_grade(args: argparse.Namespace) -> int:
    if args.submission.is_file():
        return usage_error(
            f"{args.submission} — файл, а нужна папка решения (с server.py и/или client.py)"
        )
    if not args.submission.is_dir():
        return usage_error(f"нет папки {args.submission}")
    if not roster.has_programs(args.submission):
        return usage_error(roster.no_programs_message(args.submission))
    targets = report.Targets(
        json=args.json, junit=args.junit, gradescope=args.gradescope, html=args.html,
        lang=args.lang,
    )  # fmt: skip
    try:
        report.check_targets(targets)
    except report.ReportPathError as exc:
        return usage_error(str(exc))
    entries = load_entries(args)
    try:
        result = grade(
            args.submission,
            entries,
            repeat=args.repeat,
            jobs=args.scenario_jobs or DEFAULT_JOBS,
            require_contained=args.official and not args.allow_uncontained,
        )
    except Uncontained as exc:
        return usage_error(f"программы студентов нельзя изолировать на этой машине: {exc}")
    refused = ""
    try:
        report.write_reports(result, targets)
    except report.ReportPathError as exc:  # the folder changed during the grading
        refused = str(exc)
    if not args.quiet:
        report.print_scorecard(result, lang=args.lang)
    return usage_error(refused) if refused else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    entries = load_entries(args)
    print_list(entries, lang=args.lang)
    return EXIT_OK


def print_list(entries: list[RubricEntry], lang: str = "ru") -> None:
    """``list``: scenarios with points, parts and dependencies."""
    import harness.scenarios  # noqa: F401 - registers every scenario module
    from harness.scenario import SCENARIOS

    console = report.make_console()
    w = report.WORDS[lang]
    table = Table()
    for col in ("id", "part", "points", "target", "depends", "scenario"):
        table.add_column(w[col])
    for e in entries:
        sc = SCENARIOS.get(e.id)
        deps = ", ".join(sc.depends) if sc else "—"
        title = e.title + (f" ({w['hidden']})" if e.hidden else "")
        table.add_row(e.id, str(e.part), report.fmt_points(e.points), e.target, deps or "—", title)
    console.print(table)
    console.print(f"{w['total']}: {report.fmt_points(sum(e.points for e in entries))}")


def main(argv: list[str] | None = None) -> int:
    let_children_see_ctrl_c()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print("прервано", file=sys.stderr)
        return 130
    except Exception:  # a bug in the harness itself: say so, distinctly from any grade
        traceback.print_exc()
        print("ошибка в самой проверяющей программе (не в решении)", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    return code


if __name__ == "__main__":
    sys.exit(main())
