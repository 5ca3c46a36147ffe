"""``python -m harness``: grade one submission, a class, or list the scenarios.

Other verbs live in their own modules (``COMMAND_MODULES``); each exposes
``register(subparsers) -> None``, which adds its subparser and sets
``func=callable(args) -> int``.  A module that does not exist yet is skipped.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path

from harness import __version__
from harness.rubric import RubricEntry
from harness.sandbox import let_children_see_ctrl_c

COMMAND_MODULES = (
    "harness.batch",
    "harness.load",
    "harness.bench",
    "harness.flake",
    "harness.package",
    "harness.skeleton",
)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_HARNESS_ERROR = 3


def add_rubric_options(parser: argparse.ArgumentParser) -> None:
    """``--rubric``, ``--scenario``, ``--part``: which scenarios to grade."""
    parser.add_argument(
        "--rubric", type=Path, default=None, help="файл рубрики (по умолчанию lab/rubric.toml)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="ID",
        help="только этот сценарий (можно несколько)",
    )
    parser.add_argument(
        "--part",
        action="append",
        type=int,
        default=[],
        metavar="N",
        help="только часть N (можно несколько)",
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by everything that grades (grade, batch, flake)."""
    add_rubric_options(parser)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="прогнать K раз; нестабильный результат — flaky",
    )
    parser.add_argument(
        "--jobs-per-submission",
        dest="scenario_jobs",
        type=int,
        default=None,
        metavar="N",
        help="сколько сценариев одного решения идут параллельно",
    )
    parser.add_argument(
        "--network",
        choices=("auto", "isolated", "host"),
        default="auto",
        help="изоляция сети: auto — если машина позволяет",
    )


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
    grade.set_defaults(func=cmd_grade)

    lst = sub.add_parser("list", help="сценарии с баллами, частями и зависимостями")
    add_rubric_options(lst)
    lst.add_argument("--lang", choices=("ru", "en"), default="ru")
    lst.set_defaults(func=cmd_list)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def setup_network(mode: str) -> str | None:
    """Isolate the network as asked; an error text when ``isolated`` is impossible."""
    from harness.sandbox import isolate_network

    if mode == "host":
        return None
    status = isolate_network()
    if mode == "isolated" and not status.startswith("сеть изолирована:"):
        return status
    return None


def load_entries(args: argparse.Namespace) -> list[RubricEntry]:
    """Rubric entries chosen by the command line; raises SystemExit on bad input."""
    from harness.rubric import RubricError, load_rubric
    from harness.runner import select

    try:
        rubric = load_rubric(args.rubric)
        return select(rubric, args.scenario, args.part)
    except RubricError as exc:
        raise SystemExit(usage_error(str(exc))) from exc
    except KeyError as exc:
        raise SystemExit(usage_error(f"нет такого сценария в рубрике: {exc.args[0]}")) from exc


def usage_error(text: str) -> int:
    print(f"ошибка: {text}", file=sys.stderr)
    return EXIT_USAGE


def cmd_grade(args: argparse.Namespace) -> int:
    from harness import report
    from harness.runner import DEFAULT_JOBS, grade

    if not args.submission.is_dir():
        return usage_error(f"нет папки {args.submission}")
    problem = setup_network(args.network)
    if problem:
        return usage_error(problem)
    entries = load_entries(args)
    result = grade(
        args.submission,
        entries,
        repeat=args.repeat,
        jobs=args.scenario_jobs or DEFAULT_JOBS,
    )
    report.write_reports(result, args)
    if not args.quiet:
        report.print_scorecard(result, lang=args.lang)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from harness import report

    entries = load_entries(args)
    report.print_list(entries, lang=args.lang)
    return EXIT_OK


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
