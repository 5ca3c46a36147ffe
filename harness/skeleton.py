"""Generate the student skeletons in exercises/ from the model answer and the task texts.

``reference/*.py`` is the model answer, plain code with an English contract docstring on
every function a student fills in.  ``lab/tasks.toml`` holds the Russian task texts, keyed
by file and qualified function name, each with its part and a placeholder::

    ["server.py"."LineReader._next_buffered_line"]
    part = 1
    placeholder = "return None"
    todo = '''
    Отрежьте от начала self._buffer ...
    '''

In ``exercises/`` each listed function keeps its signature and docstring, and its body
becomes the part-labelled task text and the placeholder, which keeps the program running
(MIT 6.5840 style)::

    def _next_buffered_line(self):
        \"\"\"Cut the next complete line off the front of self._buffer; ...\"\"\"
        # TODO (часть 1): Отрежьте от начала self._buffer ...
        #   ...
        return None

Functions are found with :mod:`ast`; everything else is copied as it is.
``make_exercise(text, name, keep_parts={1, 2})`` keeps the bodies of those parts: the
program as a student has it after filling them in.

Each generated file carries, in its header, the sha256 of its own text.  ``python -m
harness skeleton`` writes a file that is missing or still exactly as generated (the
hash matches, so an instructor who edited the reference can regenerate), and leaves a
file edited since then alone (a student's work) unless ``--force``.  ``--check`` only
reports.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
FILES = ("server.py", "client.py")
TASKS_FILE = ROOT / "lab" / "tasks.toml"
WIDTH = 100  # the kit's line length (ruff)
QUOTED = re.compile(r"«[^»]*»")
NBSP = "\u00a0"  # textwrap breaks lines at ASCII whitespace only

HEADER = (
    "# Заготовка лабораторной работы «Многопользовательский чат» (условие: lab/README.md).\n"
    "# Работайте в своей копии папки exercises/ (см. exercises/README.md): тогда обновления\n"
    "# набора не тронут вашу работу. Ищите «TODO (часть N)» и дописывайте по частям;\n"
    "# программа запускается и без них. Всё, что не помечено TODO, уже готово, а раздел\n"
    "# GIVEN CODE в конце файла для работы читать не обязательно.\n"
    "# Для преподавателя: создан из reference/{name} и lab/tasks.toml командой\n"
    "# `python -m harness skeleton`, которая не перезапишет файл, если его правили.\n"
)
FINGERPRINT = "# sha256 без этой строки: {}\n"
FINGERPRINT_RE = re.compile(r"^# sha256 без этой строки: (?P<digest>[0-9a-f]*)\n", re.M)


class TaskError(ValueError):
    """lab/tasks.toml and the reference disagree, or a task entry is malformed."""


@dataclass(frozen=True)
class Task:
    part: int
    todo: str
    placeholder: str


def load_tasks(path: Path = TASKS_FILE) -> dict[str, dict[str, Task]]:
    """Read the task texts: file name -> qualified function name -> Task."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TaskError(f"{path}: {exc}") from None
    tasks: dict[str, dict[str, Task]] = {}
    for name, functions in data.items():
        if not isinstance(functions, dict):
            raise TaskError(f"{path}: «{name}» must be a table of functions")
        tasks[name] = {}
        for qualname, entry in functions.items():
            where = f"{path}: {name} {qualname}"
            if not isinstance(entry, dict) or set(entry) != {"part", "todo", "placeholder"}:
                raise TaskError(f"{where}: needs exactly part, todo and placeholder")
            part, todo, placeholder = entry["part"], entry["todo"], entry["placeholder"]
            if not isinstance(part, int) or isinstance(part, bool) or part < 1:
                raise TaskError(f"{where}: part must be a positive integer")
            if not isinstance(todo, str) or not todo.strip():
                raise TaskError(f"{where}: todo must be a non-empty text")
            if not isinstance(placeholder, str) or not placeholder.strip():
                raise TaskError(f"{where}: placeholder must be code (e.g. pass)")
            tasks[name][qualname] = Task(part, todo.strip(), placeholder.strip("\n"))
    return tasks


def _tasks_of(name: str, tasks: Mapping[str, Task] | None) -> Mapping[str, Task]:
    return load_tasks().get(name, {}) if tasks is None else tasks


Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]


def functions(text: str, name: str = "file.py") -> dict[str, Function]:
    """Every function of a module by qualified name: ``f``, ``Class.method``."""
    found: dict[str, Function] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    found[qualname] = child
                visit(child, qualname + ".")

    try:
        visit(ast.parse(text, name), "")
    except SyntaxError as exc:
        raise TaskError(f"{name}: {exc}") from None
    return found


def _body_span(func: Function, lines: list[str], where: str) -> tuple[int, int, str]:
    """(first, end, indent): lines[first:end] are the body after the docstring."""
    body = func.body
    if ast.get_docstring(func, clean=False) is None or len(body) < 2:
        raise TaskError(f"{where}: a task function needs a contract docstring and a body")
    doc, first_statement = body[0], body[1]
    assert doc.end_lineno is not None and func.end_lineno is not None
    if first_statement.lineno <= doc.end_lineno or doc.lineno == func.lineno:
        raise TaskError(f"{where}: the docstring and the body must be on lines of their own")
    indent = lines[first_statement.lineno - 1][: first_statement.col_offset]
    end = func.end_lineno
    # Comments right after the last statement, at body depth, belong to the body too.
    while end < len(lines) and lines[end].startswith(indent + "#"):
        end += 1
    return doc.end_lineno, end, indent


def _todo_lines(task: Task, indent: str) -> list[str]:
    """The part-labelled task text, wrapped to the kit's line length, then the placeholder."""
    out: list[str] = []
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", task.todo)]
    # A «quoted» text (a prompt, a screen line) is never broken across lines.
    paragraphs = [QUOTED.sub(lambda m: m.group(0).replace(" ", NBSP), p) for p in paragraphs]
    for number, paragraph in enumerate(paragraphs):
        first = f"{indent}# TODO (часть {task.part}): " if number == 0 else f"{indent}#   "
        if number:
            out.append(f"{indent}#\n")
        wrapped = textwrap.wrap(
            paragraph,
            width=WIDTH,
            initial_indent=first,
            subsequent_indent=f"{indent}#   ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        out += [line.replace(NBSP, " ") + "\n" for line in wrapped]
    out += [f"{indent}{line}\n" if line else "\n" for line in task.placeholder.splitlines()]
    return out


def make_exercise(
    text: str,
    name: str = "file.py",
    keep_parts: Iterable[int] = (),
    tasks: Mapping[str, Task] | None = None,
) -> str:
    """Return the student skeleton of one reference file.

    Every function in ``tasks`` (default: this file's entries in lab/tasks.toml) keeps its
    signature and docstring; its body becomes the TODO text and the placeholder, unless its
    part is in ``keep_parts``.  The header (with the fingerprint) goes after the shebang.
    """
    tasks = _tasks_of(name, tasks)
    found = functions(text, name)
    missing = sorted(set(tasks) - set(found))
    if missing:
        raise TaskError(f"lab/tasks.toml names functions reference/{name} lacks: {missing}")
    lines = text.splitlines(keepends=True)
    keep = set(keep_parts)
    spans = []
    for qualname, task in tasks.items():
        first, end, indent = _body_span(found[qualname], lines, f"{name}: {qualname}")
        if task.part not in keep:
            spans.append((first, end, _todo_lines(task, indent)))
    for first, end, replacement in sorted(spans, reverse=True):
        lines[first:end] = replacement
    return _with_header("".join(lines), HEADER.format(name=name))


def _with_header(text: str, header: str) -> str:
    """Put the header and the fingerprint after a shebang line (which must stay first)."""
    shebang = ""
    if text.startswith("#!"):
        first, _, text = text.partition("\n")
        shebang = first + "\n"
    unsigned = shebang + header + FINGERPRINT.format("") + text
    return unsigned.replace(FINGERPRINT.format(""), FINGERPRINT.format(_digest(unsigned)), 1)


def _digest(text: str) -> str:
    """sha256 of a skeleton's text with its fingerprint line left out."""
    return hashlib.sha256(FINGERPRINT_RE.sub("", text, count=1).encode("utf-8")).hexdigest()


def untouched(text: str) -> bool:
    """True if a skeleton is exactly as the generator wrote it (its fingerprint matches)."""
    found = FINGERPRINT_RE.search(text)
    return found is not None and found.group("digest") == _digest(text)


def parts(name: str, tasks: Mapping[str, Task] | None = None) -> dict[int, int]:
    """Count the task functions of one file per part."""
    counts: dict[int, int] = {}
    for task in _tasks_of(name, tasks).values():
        counts[task.part] = counts.get(task.part, 0) + 1
    return dict(sorted(counts.items()))


def generate(
    reference: Path = ROOT / "reference",
    exercises: Path = ROOT / "exercises",
    tasks_file: Path = TASKS_FILE,
) -> dict[Path, str]:
    """Map each exercises/ path to the text the generator produces for it."""
    tasks = load_tasks(tasks_file)
    unknown = sorted(set(tasks) - set(FILES))
    if unknown:
        raise TaskError(f"{tasks_file}: unknown files {unknown}; known: {list(FILES)}")
    return {
        exercises / name: make_exercise(
            (reference / name).read_text(encoding="utf-8"), name, tasks=tasks.get(name, {})
        )
        for name in FILES
        if (reference / name).exists()
    }


def write(generated: Mapping[Path, str], check: bool = False, force: bool = False) -> int:
    """Write (or with ``check`` only compare) the skeletons; the exit status.

    A file a person edited since it was generated is never overwritten without ``force``.
    """
    stale, edited = [], []
    for path, text in generated.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if current is not None and not force and not untouched(current):
            edited.append(path)
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{_shown(path)}: {'устарел' if check else 'обновлён'}")
    for path in edited:
        print(f"{_shown(path)}: изменён после создания, не перезаписан", file=sys.stderr)
    if edited:
        print(
            "Если это ваша работа, скопируйте папку к себе и работайте в копии.\n"
            "Вернуть заготовки к исходным (правки пропадут): `python -m harness skeleton --force`.",
            file=sys.stderr,
        )
    if check and stale:
        hint = "Запустите `python -m harness skeleton`, чтобы пересоздать заготовки."
        print(hint, file=sys.stderr)
    return 1 if edited or (check and stale) else 0


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:  # outside the kit (tests)
        return str(path)


def _run(args: argparse.Namespace) -> int:
    try:
        generated = generate(exercises=args.exercises)
    except TaskError as exc:
        print(f"Ошибка: {exc}", file=sys.stderr)
        return 2
    return write(generated, check=args.check, force=args.force)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `skeleton` subcommand."""
    parser = subparsers.add_parser(
        "skeleton",
        help="пересоздать exercises/ из reference/ и lab/tasks.toml (правленые файлы не трогает)",
    )
    parser.add_argument(
        "--check", action="store_true", help="только проверить, что exercises/ свежие"
    )
    parser.add_argument(
        "--exercises",
        type=Path,
        default=ROOT / "exercises",
        metavar="DIR",
        help="куда писать заготовки (по умолчанию exercises/ набора)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="перезаписать и те файлы exercises/, которые правили после создания",
    )
    parser.set_defaults(func=_run)
