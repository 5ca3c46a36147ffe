"""Just enough Markdown for the lab tests: pipe tables, ```json blocks, inline code.

The handout (``lab/README.md``) is prose for students, but it restates parts of
``lab/protocol.json`` and ``lab/rubric.toml``; the tests parse it with these helpers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "lab"
HANDOUT = LAB / "README.md"
PROTOCOL = LAB / "protocol.json"
RUBRIC = LAB / "rubric.toml"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
CODE_SPAN = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class Table:
    """A Markdown pipe table: header cells and body rows, cells stripped."""

    header: list[str]
    rows: list[list[str]]
    line: int  # 1-based line of the header, for failure messages

    def column(self, name: str) -> int:
        return self.header.index(name)


@dataclass(frozen=True)
class JsonLine:
    """One line of a ```json block: the raw text, where it is, and what it parses to."""

    text: str
    line: int
    value: Any  # None when the line does not parse


def split_row(line: str) -> list[str]:
    """Cells of a pipe-table row (no pipes inside cells in the handout)."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_tables(text: str) -> list[Table]:
    """Every pipe table outside fenced code blocks."""
    lines = text.splitlines()
    fenced = outside_fences(lines)
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        is_table = (
            fenced[i]
            and lines[i].startswith("|")
            and i + 1 < len(lines)
            and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip())
        )
        if not is_table:
            i += 1
            continue
        header, start = split_row(lines[i]), i + 1
        i += 2
        rows = []
        while i < len(lines) and lines[i].startswith("|"):
            rows.append(split_row(lines[i]))
            i += 1
        tables.append(Table(header, rows, start))
    return tables


def outside_fences(lines: list[str]) -> list[bool]:
    """For each line, whether it is prose (True) rather than inside a ``` block."""
    result, inside = [], False
    for line in lines:
        if line.startswith("```"):
            inside = not inside
            result.append(False)
        else:
            result.append(not inside)
    return result


def parse_json_lines(text: str) -> list[JsonLine]:
    """Every non-empty line of every ```json block, parsed on its own (NDJSON)."""
    found = []
    for match in FENCE.finditer(text):
        if match.group(1) != "json":
            continue
        first = text.count("\n", 0, match.start(2)) + 1
        for offset, raw in enumerate(match.group(2).splitlines()):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = None
            found.append(JsonLine(raw, first + offset, value))
    return found


def unquote(cell: str) -> str:
    """`x` -> x; other cells unchanged."""
    match = re.fullmatch(r"`([^`]+)`", cell)
    return match.group(1) if match else cell
