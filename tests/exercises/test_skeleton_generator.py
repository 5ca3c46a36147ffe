"""The skeleton generator: task functions become part-labelled TODOs, and work is never lost."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from harness import skeleton
from harness.skeleton import Task, TaskError, load_tasks, make_exercise, parts, untouched, write

SOURCE = '''\
#!/usr/bin/env python3
"""A module."""


def split_lines(buffer):
    """Return complete lines and the rest."""
    *lines, rest = buffer.split(b"\\n")
    return lines, rest
    # why: split() keeps the tail


class Greeter(object):
    def greet(self, name):
        """Say hello."""
        print("hi", name)

    def given(self):
        return 1
'''

TASKS = {
    "split_lines": Task(
        1, 'Разрежьте буфер по b"\\n";\nверните готовые строки и остаток.', "return [], buffer"
    ),
    "Greeter.greet": Task(2, "Поздоровайтесь.", "pass"),
}


def exercise(
    source: str = SOURCE, tasks: dict[str, Task] = TASKS, keep_parts: set[int] = frozenset()
) -> str:
    return make_exercise(source, "demo.py", keep_parts=keep_parts, tasks=tasks)


def test_task_body_becomes_part_labelled_todo_and_placeholder() -> None:
    out = exercise()
    assert (
        '    """Return complete lines and the rest."""\n'
        '    # TODO (часть 1): Разрежьте буфер по b"\\n"; верните готовые строки и остаток.\n'
        "    return [], buffer\n"
    ) in out
    assert "buffer.split" not in out and "why:" not in out
    assert (
        '        """Say hello."""\n        # TODO (часть 2): Поздоровайтесь.\n        pass\n' in out
    )
    assert "    def given(self):\n        return 1\n" in out  # not a task: copied as is


def test_skeleton_runs_and_kept_parts_keep_their_code() -> None:
    ns: dict = {}
    exec(compile(exercise(), "exercise", "exec"), ns)
    assert ns["split_lines"](b"a\nb") == ([], b"a\nb")
    filled = exercise(keep_parts={1})
    assert "*lines, rest = buffer.split" in filled
    assert "# TODO (часть 1)" not in filled and "# TODO (часть 2)" in filled
    assert exercise(keep_parts={1, 2}).endswith(SOURCE.partition("\n")[2])


def test_long_task_text_is_wrapped_and_quotes_stay_whole() -> None:
    words = "слово " * 40 + "«[сессия с ИМЯ]> » " + "ещё " * 20
    out = exercise(tasks={"split_lines": Task(3, words + "\n\nВторой абзац.", "return [], b''")})
    body = out.split('"""Return complete lines and the rest."""\n')[1].split("    return [], b''")[
        0
    ]
    lines = body.splitlines()
    assert lines[0].startswith("    # TODO (часть 3): слово")
    assert all(len(line) <= 100 for line in lines), lines
    assert all(line.startswith("    #   ") or line == "    #" for line in lines[1:])
    assert "    #\n    #   Второй абзац.\n" in body
    assert "«[сессия с ИМЯ]> »" in body


def test_multi_line_placeholder_is_indented_as_the_body() -> None:
    placeholder = "if not buffer:\n    return [], buffer\nreturn [], b''"
    out = exercise(tasks={"split_lines": Task(1, "Текст.", placeholder)})
    assert "    if not buffer:\n        return [], buffer\n    return [], b''\n" in out
    ast.parse(out)


def test_header_follows_the_shebang_and_carries_a_fingerprint() -> None:
    out = exercise()
    first, second = out.splitlines()[:2]
    assert first == "#!/usr/bin/env python3"
    assert second.startswith("# ") and "TODO (часть N)" in out.split('"""')[0]
    assert untouched(out)
    assert not untouched(out.replace("return [], buffer", "return [b'x'], buffer"))
    assert not untouched(SOURCE)  # no fingerprint at all: somebody's own file


@pytest.mark.parametrize(
    ("source", "tasks", "message"),
    [
        (SOURCE, {"nowhere": Task(1, "Текст.", "pass")}, "lacks"),
        ("def f():\n    return 1\n", {"f": Task(1, "Текст.", "pass")}, "docstring"),
        ('def f():\n    """Doc."""\n', {"f": Task(1, "Текст.", "pass")}, "docstring"),
        ('def f():\n    """Doc."""; return 1\n', {"f": Task(1, "Текст.", "pass")}, "own"),
    ],
    ids=["missing-function", "no-docstring", "no-body", "body-on-docstring-line"],
)
def test_tasks_that_do_not_fit_the_reference_are_refused(
    source: str, tasks: dict[str, Task], message: str
) -> None:
    with pytest.raises(TaskError, match=message):
        make_exercise(source, "demo.py", tasks=tasks)


@pytest.mark.parametrize(
    "entry",
    [
        'part = 1\ntodo = "Текст."\n',
        'part = 0\ntodo = "Текст."\nplaceholder = "pass"\n',
        'part = 1\ntodo = " "\nplaceholder = "pass"\n',
        'part = 1\ntodo = "Текст."\nplaceholder = "pass"\nhint = "лишнее"\n',
    ],
    ids=["no-placeholder", "part-zero", "empty-text", "unknown-key"],
)
def test_malformed_task_entries_are_refused(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "tasks.toml"
    path.write_text('["server.py".f]\n' + entry, encoding="utf-8")
    with pytest.raises(TaskError):
        load_tasks(path)


def test_parts_are_counted() -> None:
    assert parts("demo.py", TASKS) == {1: 1, 2: 1}


# -- regeneration never destroys work ------------------------------------------------------


def test_edited_skeleton_survives_regeneration_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "server.py"
    assert write({path: exercise()}) == 0
    assert untouched(path.read_text(encoding="utf-8"))
    edited = path.read_text(encoding="utf-8").replace(
        "return [], buffer", "return [b'my work'], b''"
    )
    path.write_text(edited, encoding="utf-8")
    newer = exercise().replace("Поздоровайтесь.", "Поздоровайтесь вежливо.")
    assert write({path: newer}) == 1
    assert write({path: newer}, check=True) == 1
    assert path.read_text(encoding="utf-8") == edited
    assert write({path: newer}, force=True) == 0
    assert path.read_text(encoding="utf-8") == newer


def test_untouched_skeleton_follows_the_reference(tmp_path: Path) -> None:
    path = tmp_path / "server.py"
    write({path: exercise()})
    newer = exercise().replace("Поздоровайтесь.", "Поздоровайтесь вежливо.")
    assert write({path: newer}, check=True) == 1  # stale: reported, not written
    assert "вежливо" not in path.read_text(encoding="utf-8")
    assert write({path: newer}) == 0
    assert path.read_text(encoding="utf-8") == newer
    assert write({path: newer}, check=True) == 0


def run_skeleton_verb(*argv: str) -> int:
    """``python -m harness skeleton ARGV`` as its subcommand parser defines it."""
    parser = argparse.ArgumentParser()
    skeleton.register(parser.add_subparsers())
    args = parser.parse_args(["skeleton", *argv])
    return int(args.func(args))


def test_edited_exercises_server_survives_the_skeleton_verb(tmp_path: Path) -> None:
    exercises = tmp_path / "exercises"
    assert run_skeleton_verb("--exercises", str(exercises)) == 0
    server = exercises / "server.py"
    work = server.read_text(encoding="utf-8").replace(
        "        return None\n", "        return bytes(self._buffer) or None  # my part 1\n", 1
    )
    server.write_text(work, encoding="utf-8")
    assert run_skeleton_verb("--exercises", str(exercises)) == 1
    assert server.read_text(encoding="utf-8") == work
    assert run_skeleton_verb("--exercises", str(exercises), "--check") == 1
    assert run_skeleton_verb("--exercises", str(exercises), "--force") == 0
    assert untouched(server.read_text(encoding="utf-8"))
