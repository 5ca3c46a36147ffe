"""Command-line plumbing shared by every verb: rubric and run options, exit codes, errors.

``cli`` builds the parser; each verb's module (``batch``, ``flake``, ...) adds its own
subparser with these helpers, so no verb module imports ``cli``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.rubric import RubricEntry, RubricError, load_rubric, select

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
        "--allow-uncontained",
        action="store_true",
        help="проверять, даже если машина не может изолировать программы студентов "
        "(без bubblewrap они видят файлы машины)",
    )


def load_entries(args: argparse.Namespace) -> list[RubricEntry]:
    """Rubric entries chosen by the command line; raises SystemExit on bad input."""
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
