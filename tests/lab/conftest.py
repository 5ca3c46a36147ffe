"""Fixtures for the lab tests: the handout parsed, the protocol, the rubric."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import pytest
from lab_markdown import (
    CODE_SPAN,
    HANDOUT,
    PROTOCOL,
    RUBRIC,
    JsonLine,
    Table,
    parse_json_lines,
    parse_tables,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib


@pytest.fixture(scope="session")
def handout() -> str:
    return HANDOUT.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def protocol() -> dict[str, Any]:
    return json.loads(PROTOCOL.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def rubric() -> list[dict[str, Any]]:
    with open(RUBRIC, "rb") as f:
        return tomllib.load(f)["scenario"]


@pytest.fixture(scope="session")
def code_spans(handout: str) -> set[str]:
    """Everything written as `inline code` in the handout."""
    return set(CODE_SPAN.findall(handout))


@pytest.fixture(scope="session")
def tables(handout: str) -> list[Table]:
    return parse_tables(handout)


@pytest.fixture(scope="session")
def table_headed(tables: list[Table]) -> Callable[..., list[Table]]:
    """Tables whose header starts with the given cells."""

    def find(*first_cells: str) -> list[Table]:
        n = len(first_cells)
        return [t for t in tables if tuple(t.header[:n]) == first_cells]

    return find


@pytest.fixture(scope="session")
def json_lines(handout: str) -> list[JsonLine]:
    return parse_json_lines(handout)
