"""Generate the student skeletons in exercises/ from the marked reference solution.

Solution regions in ``reference/*.py`` are marked the way nbgrader and otter mark them,
with a part label and, optionally, the TODO text and a placeholder::

    def split_lines(self):
        \"\"\"Contract docstring: kept in the skeleton.\"\"\"
        # BEGIN SOLUTION (part 1)
        # TODO: разрежьте буфер по b"\\n" и верните готовые строки.
        lines = ...
        return lines
        # END SOLUTION: return []

In ``exercises/`` the region becomes::

        # TODO (часть 1): разрежьте буфер по b"\\n" и верните готовые строки.
        return []

``# TODO:`` comment lines right after ``BEGIN`` are the task text (several lines allowed;
continuation lines start with ``#`` and at least two spaces, so a comment of the solution
itself, ``# like this``, right after the TODO stays in the solution).  The statement after
``END SOLUTION:`` is the placeholder that keeps the skeleton running; without one, ``pass``
is inserted.  Markers never nest.  ``make_exercise(text, keep_parts={1, 2})`` keeps the
solutions of those parts: the program as a student has it after filling them in.

``python -m harness skeleton`` rewrites exercises/; ``--check`` only reports drift.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("server.py", "client.py")

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION \(part (?P<part>\d+)\)\s*$")
END = re.compile(r"^\s*# END SOLUTION(?::\s*(?P<placeholder>.+?))?\s*$")
TODO = re.compile(r"^\s*# TODO:\s?(?P<text>.*)$")
CONTINUATION = re.compile(r"^\s*#(?:$|\s{2,}(?P<text>.*)$)")

HEADER = (
    "# Заготовка лабораторной работы «Многопользовательский чат»: ваш рабочий файл.\n"
    "# Ищите «TODO (часть N)» и дописывайте по частям (см. exercises/README.md);\n"
    "# программа запускается и без них. Всё, что не помечено TODO, уже готово.\n"
    "# Для преподавателя: файл создан из reference/{name} командой `python -m harness skeleton`.\n"
)


class MarkerError(ValueError):
    """A solution marker is malformed (unclosed, nested, or without a part)."""


@dataclass
class Region:
    part: int
    indent: str
    todo: list[str]
    placeholder: str | None
    body: list[str]


def _parse(text: str, name: str) -> list[str | Region]:
    """Split a marked file into plain lines and solution regions."""
    out: list[str | Region] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        begin = BEGIN.match(line)
        if not begin:
            if "SOLUTION" in line and (END.match(line) or "# BEGIN SOLUTION" in line):
                raise MarkerError(f"{name}:{i + 1}: marker without a matching BEGIN/part label")
            out.append(line)
            i += 1
            continue
        start = i
        i += 1
        todo: list[str] = []
        if i < len(lines) and TODO.match(lines[i]):
            todo.append(TODO.match(lines[i]).group("text"))  # type: ignore[union-attr]
            i += 1
            while i < len(lines):
                cont = CONTINUATION.match(lines[i])
                if not cont or END.match(lines[i]) or BEGIN.match(lines[i]):
                    break
                todo.append((cont.group("text") or "").strip())
                i += 1
        body: list[str] = []
        while i < len(lines) and not END.match(lines[i]):
            if BEGIN.match(lines[i]):
                raise MarkerError(f"{name}:{i + 1}: nested BEGIN SOLUTION")
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise MarkerError(f"{name}:{start + 1}: BEGIN SOLUTION without END SOLUTION")
        end = END.match(lines[i])
        assert end is not None
        out.append(
            Region(
                part=int(begin.group("part")),
                indent=begin.group("indent"),
                todo=todo,
                placeholder=end.group("placeholder"),
                body=body,
            )
        )
        i += 1
    return out


def make_exercise(text: str, name: str = "file.py", keep_parts: Iterable[int] = ()) -> str:
    """Return the student skeleton: each region replaced by its TODO and placeholder.

    Regions of the parts in ``keep_parts`` keep their solution (without markers): the
    program as a student has it after filling in those parts.
    """
    keep = set(keep_parts)
    chunks: list[str] = []
    for item in _parse(text, name):
        if isinstance(item, str):
            chunks.append(item)
        elif item.part in keep:
            chunks.extend(item.body)
        else:
            chunks.extend(_todo(item))
    return _with_header("".join(chunks), HEADER.format(name=name))


def _todo(region: Region) -> list[str]:
    """The lines a region becomes: its part-labelled TODO text, then the placeholder."""
    first, *rest = region.todo or ["допишите решение."]
    out = [f"{region.indent}# TODO (часть {region.part}): {first}\n"]
    out += [f"{region.indent}#   {line}\n" if line else f"{region.indent}#\n" for line in rest]
    out.append(f"{region.indent}{region.placeholder or 'pass'}\n")
    return out


def _with_header(text: str, header: str) -> str:
    """Put the header after a shebang line (which must stay first), else at the top."""
    if text.startswith("#!"):
        first, _, rest = text.partition("\n")
        return f"{first}\n{header}{rest}"
    return header + text


def strip_markers(text: str, name: str = "file.py") -> str:
    """Return the reference with every marker removed: the solution as a student would write it."""
    chunks: list[str] = []
    for item in _parse(text, name):
        if isinstance(item, str):
            chunks.append(item)
        else:
            chunks.extend(item.body)
    return "".join(chunks)


def parts(text: str, name: str = "file.py") -> dict[int, int]:
    """Count the solution regions per part."""
    counts: dict[int, int] = {}
    for item in _parse(text, name):
        if isinstance(item, Region):
            counts[item.part] = counts.get(item.part, 0) + 1
    return dict(sorted(counts.items()))


def generate(reference: Path = ROOT / "reference", exercises: Path = ROOT / "exercises") -> dict:
    """Map each exercises/ path to the text the generator produces for it."""
    return {
        exercises / name: make_exercise((reference / name).read_text(encoding="utf-8"), name)
        for name in FILES
        if (reference / name).exists()
    }


def _run(args: argparse.Namespace) -> int:
    stale = []
    for path, text in generate().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    verb = "устарели" if args.check else "обновлены"
    for path in stale:
        print(f"{path.relative_to(ROOT)}: {verb}")
    if args.check and stale:
        hint = "Запустите `python -m harness skeleton`, чтобы пересоздать заготовки."
        print(hint, file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `skeleton` subcommand."""
    parser = subparsers.add_parser(
        "skeleton", help="пересоздать exercises/ из reference/ (снять решения с маркерами)"
    )
    parser.add_argument(
        "--check", action="store_true", help="только проверить, что exercises/ свежие"
    )
    parser.set_defaults(func=_run)
