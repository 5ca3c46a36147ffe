"""The model answer in reference/ and the skeletons in exercises/ generated from it.

The reference reads as a model answer (no task text, a contract docstring on every task
function, only real handout sections cited). A skeleton teaches only if it never drifts
from the reference, starts as it is (the harness then fails scenarios instead of
crashing), and its grade rises as the parts are filled in, up to full marks.
"""

from __future__ import annotations

import ast
import io
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tokenize
from collections.abc import Iterable
from pathlib import Path

import pytest

import harness.scenarios  # noqa: F401 - registers every scenario
from harness.protocol import ready_line_regex
from harness.pythons import find_python
from harness.rubric import load_rubric
from harness.runner import grade
from harness.skeleton import (
    FILES,
    ROOT,
    functions,
    generate,
    load_tasks,
    make_exercise,
    parts,
    untouched,
)
from harness.verdict import ERROR, PASSED, GradeReport

REFERENCE = ROOT / "reference"
EXERCISES = ROOT / "exercises"
ALL_PARTS = (1, 2, 3, 4, 5)
WAIT = 15.0  # seconds for a program to print its ready line or to exit
CYRILLIC = re.compile("[\u0400-\u04ff]")


def reference_text(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


def comments(text: str) -> list[str]:
    return [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
    ]


# -- fast: the model answer reads clean ---------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_reference_holds_no_task_text_and_no_markers(name: str) -> None:
    text = reference_text(name)
    assert "TODO" not in text
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    russian = [c for c in comments(text) if CYRILLIC.search(c)]
    assert not russian, f"Russian comments (task text?) in reference/{name}: {russian}"


@pytest.mark.parametrize("name", FILES)
def test_every_task_function_has_a_contract_docstring(name: str) -> None:
    found = functions(reference_text(name), name)
    tasks = load_tasks()[name]
    assert not set(tasks) - set(found), "lab/tasks.toml names functions the reference lacks"
    bare = [q for q in tasks if not (ast.get_docstring(found[q]) or "").strip()]
    assert not bare, f"no contract docstring: {bare}"


@pytest.mark.parametrize("folder", [REFERENCE, EXERCISES], ids=["reference", "exercises"])
@pytest.mark.parametrize("name", FILES)
def test_programs_cite_only_sections_the_handout_has(folder: Path, name: str) -> None:
    text = (folder / name).read_text(encoding="utf-8")
    assert "PROTOCOL.md" not in text
    handout = (ROOT / "lab" / "README.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", handout, re.M))
    cited = set(re.findall(r"§(\d+(?:\.\d+)?)", text))
    assert cited, "no section of lab/README.md cited"
    assert cited <= sections, f"§ not in lab/README.md: {sorted(cited - sections)}"


@pytest.mark.parametrize("name", FILES)
def test_task_functions_are_outside_the_given_code(name: str) -> None:
    text = reference_text(name)
    given_at = text.index("# GIVEN CODE:")
    line = text[:given_at].count("\n") + 1
    found = functions(text, name)
    late = [q for q in load_tasks()[name] if found[q].lineno > line]
    assert not late, f"task functions inside the given code: {late}"


# -- fast: the generated files ----------------------------------------------------------------


def test_committed_skeletons_are_what_the_generator_writes() -> None:
    for path, text in generate().items():
        assert path.is_file(), f"{path} is missing: run `python -m harness skeleton`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(ROOT)} drifted from reference/: run `python -m harness skeleton`"
        )
        assert untouched(text)


@pytest.mark.parametrize("name", FILES)
def test_every_part_has_tasks(name: str) -> None:
    assert set(parts(name)) == set(ALL_PARTS)


@pytest.mark.parametrize("name", FILES)
def test_every_todo_names_its_part_and_each_task_has_one(name: str) -> None:
    skeleton = (EXERCISES / name).read_text(encoding="utf-8")
    todos = [line for line in skeleton.splitlines() if re.match(r"\s*# TODO", line)]
    labelled = [line for line in todos if re.search(r"# TODO \(часть [1-5]\): \S", line)]
    assert todos == labelled, "a TODO without its part"
    assert len(labelled) == sum(parts(name).values())


@pytest.mark.parametrize("name", FILES)
def test_skeleton_keeps_every_function_and_its_docstring(name: str) -> None:
    def docs(text: str) -> list[tuple[str, str | None]]:
        return [
            (node.name, ast.get_docstring(node))
            for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))
        ]

    assert docs((EXERCISES / name).read_text(encoding="utf-8")) == docs(reference_text(name))


@pytest.mark.parametrize("name", FILES)
def test_skeleton_starts_with_the_shebang_and_says_what_it_is(name: str) -> None:
    skeleton = (EXERCISES / name).read_text(encoding="utf-8")
    shebang = "#!/usr/bin/env python3"
    assert skeleton.splitlines()[0] == reference_text(name).splitlines()[0] == shebang
    assert "TODO (часть N)" in skeleton[:1000]
    assert "копии" in skeleton[:1000]  # where to work, so kit updates never touch it
    docstring = ast.get_docstring(ast.parse(skeleton)) or ""
    assert not re.search(r"reference (answer|solution)|model answer", docstring, re.I)


@pytest.mark.parametrize("name", FILES)
def test_filling_every_part_gives_back_the_reference_code(name: str) -> None:
    text = reference_text(name)
    filled = make_exercise(text, name, keep_parts=ALL_PARTS)
    assert filled.endswith(text.partition("\n")[2])
    assert "# TODO (часть" not in filled


def test_skeletons_need_nothing_newer_than_python_36() -> None:
    pytest.importorskip("vermin")
    run_vermin = "import sys, vermin; sys.exit(vermin.main())"
    options = ["--target=3.6-", "--no-tips", "--violations", "--eval-annotations"]
    found = subprocess.run(
        [sys.executable, "-c", run_vermin, *options, str(EXERCISES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stdout + found.stderr


# -- slow: the skeletons run -------------------------------------------------------------------


def pythons() -> list[object]:
    """The current interpreter and, when installed, the oldest one the kit supports."""
    found = [pytest.param(sys.executable, id="python{}.{}".format(*sys.version_info))]
    py36 = find_python("3.6")
    if py36:
        found.append(pytest.param(py36, id="python3.6"))
    return found


ENV = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"}


class Server:
    """``server.py --port 0`` of one folder, its output collected by a thread."""

    def __init__(self, python: str, folder: Path) -> None:
        self.proc = subprocess.Popen(
            [python, "-u", "server.py", "--port", "0"],
            cwd=folder,
            env=ENV,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def port(self) -> int:
        """The port of the ready line; fails the test if none comes within WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            match = ready_line_regex().search(line or "")
            if match:
                return int(match.group("port"))
            if line is None:
                pytest.fail("no ready line from server.py:\n" + self.text())

    def text(self) -> str:
        return "".join(self.output)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.mark.slow
@pytest.mark.parametrize("python", pythons())
def test_skeleton_server_starts_accepts_and_stops_on_ctrl_c(python: str) -> None:
    server = Server(python, EXERCISES)
    try:
        with socket.create_connection(("127.0.0.1", server.port()), timeout=WAIT) as conn:
            conn.sendall(b'{"username": "Alice"}\n')
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(WAIT) == 0, server.text()
        assert "Traceback" not in server.text()
    finally:
        server.close()


@pytest.mark.slow
@pytest.mark.parametrize("python", pythons())
def test_skeleton_client_reads_piped_input_and_exits_without_a_traceback(python: str) -> None:
    server = Server(sys.executable, REFERENCE)
    try:
        client = subprocess.run(
            [python, "-u", str(EXERCISES / "client.py"), "--port", str(server.port())],
            input="Вера\nпривет всем\n/help\n/quit\n",
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=WAIT,
            env=ENV,
        )
    finally:
        server.close()
    assert "Traceback" not in client.stdout + client.stderr, client.stderr
    assert client.returncode == 0, client.stdout + client.stderr


# -- slow: graded by the harness ---------------------------------------------------------------

_grades: dict[frozenset[int], GradeReport] = {}


def graded(keep: Iterable[int], tmp_factory: pytest.TempPathFactory) -> GradeReport:
    """The harness's report on the skeleton with the parts in ``keep`` filled in."""
    key = frozenset(keep)
    if key not in _grades:
        folder = tmp_factory.mktemp("filled-" + "".join(map(str, sorted(key))))
        for name in FILES:
            text = make_exercise(reference_text(name), name, keep_parts=key)
            (folder / name).write_text(text, encoding="utf-8")
        _grades[key] = grade(folder, load_rubric())
    return _grades[key]


def summary(report: GradeReport) -> str:
    return ", ".join(f"{r.id}={r.status}" for r in report.results)


@pytest.mark.slow
def test_skeleton_scores_under_half_and_never_breaks_the_harness(tmp_path: Path) -> None:
    submission = tmp_path / "exercises"
    shutil.copytree(EXERCISES, submission, ignore=shutil.ignore_patterns("*.md", "__pycache__"))
    report = grade(submission, load_rubric())
    assert report.score < report.max_score / 2, summary(report)
    assert not [r.id for r in report.results if r.status == ERROR], summary(report)


@pytest.mark.slow
def test_reference_scores_full_marks(tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(REFERENCE / name, tmp_path / name)
    report = grade(tmp_path, load_rubric())
    assert report.score == report.max_score == 100, summary(report)


@pytest.mark.slow
def test_grade_rises_as_parts_are_filled_in(tmp_path_factory: pytest.TempPathFactory) -> None:
    scores = []
    for last in range(0, len(ALL_PARTS) + 1):
        report = graded(ALL_PARTS[:last], tmp_path_factory)
        assert not [r.id for r in report.results if r.status == ERROR], summary(report)
        scores.append(report.score)
    assert scores == sorted(scores), f"score fell as a part was filled in: {scores}"
    assert scores[-1] == 100, scores
    assert all(a < b for a, b in zip(scores, scores[1:])), f"a part added no points: {scores}"
    documented = documented_scores()
    assert scores == documented, f"graded {scores}; the table in exercises/README.md: {documented}"


def documented_scores() -> list[int]:
    """The score after each part (0 = the skeleton as it is), from exercises/README.md."""
    readme = (EXERCISES / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| [0-5]\. .*\*\*(\d+)\*\*.*\|$", readme, re.M)
    return [int(score) for score in rows]


@pytest.mark.slow
@pytest.mark.parametrize("last", ALL_PARTS)
def test_filling_parts_1_to_n_passes_every_scenario_of_those_parts(
    last: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The rubric's part labels match the markers: part N's scenarios need nothing later."""
    report = graded(ALL_PARTS[:last], tmp_path_factory)
    failing = [
        f"{r.id} (часть {r.part}): {r.status} {r.step} {r.got[:200]}"
        for r in report.results
        if r.part <= last and (r.status != PASSED or r.points < r.max_points)
    ]
    assert not failing, "\n".join(failing)
