"""The skeleton generator turns marked solution regions into part-labelled TODOs."""

from __future__ import annotations

import ast

import pytest

from harness.skeleton import MarkerError, make_exercise, parts, strip_markers

MARKED = '''\
def split_lines(buffer):
    """Return complete lines and the rest."""
    # BEGIN SOLUTION (part 1)
    # TODO: разрежьте буфер по b"\\n";
    #   верните готовые строки и остаток.
    *lines, rest = buffer.split(b"\\n")
    return lines, rest
    # END SOLUTION: return [], buffer


def greet(name):
    # BEGIN SOLUTION (part 2)
    print("hi", name)
    # END SOLUTION
'''


def test_region_becomes_part_labelled_todo_with_placeholder():
    out = make_exercise(MARKED, "server.py")
    assert '# TODO (часть 1): разрежьте буфер по b"\\n";' in out
    assert "#   верните готовые строки и остаток." in out
    assert "    return [], buffer\n" in out
    assert "buffer.split" not in out
    assert '"""Return complete lines and the rest."""' in out


def test_region_without_placeholder_gets_pass_and_default_todo():
    out = make_exercise(MARKED)
    assert "    # TODO (часть 2): допишите решение.\n    pass\n" in out


def test_skeleton_and_stripped_solution_are_valid_python():
    ns: dict = {}
    exec(compile(make_exercise(MARKED), "exercise", "exec"), ns)
    assert ns["split_lines"](b"a\nb") == ([], b"a\nb")
    solved: dict = {}
    exec(compile(strip_markers(MARKED), "solution", "exec"), solved)
    assert solved["split_lines"](b"a\nb") == ([b"a"], b"b")
    assert "SOLUTION" not in strip_markers(MARKED)
    ast.parse(make_exercise(MARKED))


def test_parts_are_counted():
    assert parts(MARKED) == {1: 1, 2: 1}


@pytest.mark.parametrize(
    "bad",
    [
        "# BEGIN SOLUTION (part 1)\nx = 1\n",
        "x = 1\n# END SOLUTION\n",
        "# BEGIN SOLUTION (part 1)\n# BEGIN SOLUTION (part 2)\n# END SOLUTION\n",
        "# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n",
    ],
    ids=["unclosed", "end-without-begin", "nested", "no-part-label"],
)
def test_malformed_markers_are_rejected(bad):
    with pytest.raises(MarkerError):
        make_exercise(bad)
