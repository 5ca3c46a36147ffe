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


def test_kept_parts_keep_their_solution_and_the_rest_become_todos():
    out = make_exercise(MARKED, keep_parts={1})
    assert "*lines, rest = buffer.split" in out
    assert "# TODO (часть 1)" not in out
    assert "    # TODO (часть 2): допишите решение.\n    pass\n" in out
    assert "SOLUTION" not in out


def test_header_goes_after_the_shebang():
    out = make_exercise("#!/usr/bin/env python3\n" + MARKED, "client.py")
    first, second = out.splitlines()[:2]
    assert first == "#!/usr/bin/env python3"
    assert second.startswith("# ") and "TODO" in out.split("def ")[0]


def test_a_comment_of_the_solution_right_after_the_todo_stays_in_the_solution():
    marked = (
        "def f():\n"
        "    # BEGIN SOLUTION (part 3)\n"
        "    # TODO: верните 1.\n"
        "    #   Ровно 1.\n"
        "    # why: the answer\n"
        "    return 1\n"
        "    # END SOLUTION: return 0\n"
    )
    assert "    # why: the answer\n    return 1\n" in strip_markers(marked)
    out = make_exercise(marked)
    assert "# TODO (часть 3): верните 1.\n    #   Ровно 1.\n    return 0\n" in out
    assert "why" not in out
