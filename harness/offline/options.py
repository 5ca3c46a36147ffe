"""Command-line options shared by ``package vpl`` and ``package prairielearn``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.kit import RUBRIC_FILE
from harness.rubric import RubricError


def add_options(parser: argparse.ArgumentParser, out: str, where: str) -> None:
    """``--out`` (default ``out``), ``--rubric``, ``--python-version``, ``--wheelhouse``,
    ``--allow-uncontained``; ``where`` names the platform's machine (genitive)."""
    parser.add_argument(
        "--out", type=Path, default=Path(out), help=f"новая папка для пакета (по умолчанию {out})"
    )
    parser.add_argument(
        "--rubric", type=Path, default=RUBRIC_FILE, help="рубрика в пакете (lab/rubric.toml)"
    )
    parser.add_argument(
        "--python-version",
        action="append",
        default=[],
        metavar="X.Y",
        help=f"версия python3 {where}, для которой положить колёса (можно несколько; "
        "по умолчанию 3.9–3.13 и текущая)",
    )
    parser.add_argument(
        "--wheelhouse", type=Path, metavar="DIR", help="взять колёса из DIR, ничего не скачивая"
    )
    parser.add_argument(
        "--allow-uncontained",
        action="store_true",
        help=f"проверять и там, где у {where} не запускается bubblewrap "
        "(отзыв тогда говорит, что не изолировано)",
    )


def built(build: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """``build()``'s manifest, or None after printing why the bundle could not be built."""
    from harness.bundle import PackageError

    try:
        return build()
    except (RubricError, PackageError, OSError) as exc:
        print(f"ошибка: {exc}", file=sys.stderr)
        return None


def summary(manifest: dict[str, Any]) -> str:
    """What the build chose: rubric, Python versions, the containment policy."""
    rubric = manifest["rubric"]
    allowed = manifest["settings"].get("allow_uncontained")
    return (
        f"рубрика {rubric['source']}: {rubric['scenarios']} сценариев, {rubric['points']:g} "
        f"баллов, скрытых {len(rubric['hidden'])}; "
        f"Python {', '.join(manifest['python_versions'])}; "
        + ("без изоляции — проверять." if allowed else "без изоляции — отказ.")
    )
