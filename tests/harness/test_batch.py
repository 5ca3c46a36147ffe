"""batch: every folder is a student, gradebook + Moodle CSV + class page, resumable, Ctrl+C.

Real ``batch`` processes grading real copies of the reference; Ctrl+C is a real SIGINT (and
a real Ctrl+C typed into a real pseudo-terminal).  ``--part 1`` keeps each grading short.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pexpect
import pytest
from harness_helpers import HOSTILE, KIT, REFERENCE

pytestmark = pytest.mark.slow

INTERRUPT_BUDGET = 10.0  # seconds from Ctrl+C to the batch's exit (the promise)
COPYDETECT = importlib.util.find_spec("copydetect") is not None  # the optional extra


def batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "batch", *args],
        capture_output=True, text=True, timeout=timeout, cwd=KIT,
    )  # fmt: skip


def gradebook(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def reference_copy(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for program in ("server.py", "client.py"):
        shutil.copy(REFERENCE / program, folder / program)
    return folder


def class_of_five(root: Path) -> Path:
    """The issue's class: correct, empty, nested files, only notes.txt, a syntax error."""
    klass = root / "class"
    reference_copy(klass / "correct")
    (klass / "empty").mkdir()
    reference_copy(klass / "nested" / "chat-main")
    (klass / "notes").mkdir()
    (klass / "notes" / "notes.txt").write_text("сделаю потом\n", encoding="utf-8")
    reference_copy(klass / "syntax")
    with (klass / "syntax" / "server.py").open("a", encoding="utf-8") as f:
        f.write("\ndef broken(:\n")
    return klass


def test_class_of_five_gives_five_rows_under_five_names(
    tmp_path: Path, reference_server: None
) -> None:
    klass = class_of_five(tmp_path)
    out = tmp_path / "out"
    proc = batch(str(klass), "--jobs", "2", "--out", str(out), "--part", "1", "--similarity")
    assert proc.returncode == 0, proc.stderr

    rows = gradebook(out / "grades.csv")
    assert list(rows) == ["correct", "empty", "nested", "notes", "syntax"]
    full = rows["correct"]["max_score"]
    for name in ("correct", "nested"):
        log = out / name / "grade.log"
        assert rows[name]["score"] == full, (rows[name], log.is_file() and log.read_text())
    assert "chat-main" in rows["nested"]["reason"]
    for name in ("empty", "notes"):
        assert rows[name]["score"] == "0" and rows[name]["status"] == "нет программы"
    assert "notes.txt" in rows["notes"]["reason"] and "пуста" in rows["empty"]["reason"]
    assert float(rows["syntax"]["score"]) < float(full)
    assert "server_starts" in rows["syntax"]["not_passed"]
    assert "server_register" in rows["syntax"]["skipped"]  # skipped, not failed
    assert "server_register" not in rows["syntax"]["not_passed"]
    assert "5/5" in proc.stderr  # the bar counts students

    assert "Студентов: 5; проверено: 3; без программы: 2" in proc.stdout
    for written in ("grades.csv", "grades-moodle.csv", "summary.md", "grades.html"):
        assert str(out / written) in proc.stdout
    with (out / "grades-moodle.csv").open(encoding="utf-8") as f:
        moodle = list(csv.reader(f))
    assert moodle[0] == ["identifier", "grade"]
    assert {r[0]: r[1] for r in moodle[1:]} == {n: rows[n]["score"] for n in rows}

    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| Пропущены |" in summary and "прервана" not in summary
    if COPYDETECT:
        assert "correct — nested" in summary  # two copies of one program: flagged
        assert (out / "similarity.html").is_file()
    else:  # graded all the same; the summary says how to install the similarity check
        assert "pip install 'copydetect>=0.5'" in summary
    page = (out / "grades.html").read_text(encoding="utf-8")
    assert '<a href="correct/report.html">correct</a>' in page
    assert '<a href="nested/report.html">nested</a>' in page
    assert "<script" not in page and "<svg" in page


def test_batch_grades_each_folder_writes_gradebook_and_resumes(
    tmp_path: Path, reference_server: None
) -> None:
    klass = tmp_path / "class"
    for name in ("anna", "boris"):
        reference_copy(klass / name)
    shutil.copytree(HOSTILE / "mute", klass / "vera")
    (klass / "notes").mkdir()  # no program: a row with 0 and the reason
    out = tmp_path / "out"
    chosen = ("server_starts", "server_register", "server_broadcast", "client_register")
    args = [str(klass), "--jobs", "2", "--out", str(out)]
    for scenario_id in chosen:
        args += ["--scenario", scenario_id]

    proc = batch(*args)
    assert proc.returncode == 0, proc.stderr
    rows = gradebook(out / "grades.csv")
    assert set(rows) == {"anna", "boris", "vera", "notes"}
    assert rows["anna"]["score"] == rows["anna"]["max_score"]
    assert float(rows["vera"]["score"]) < float(rows["vera"]["max_score"])
    assert "server_register" in rows["vera"]["not_passed"] + rows["vera"]["skipped"]
    for name in ("anna", "boris", "vera"):
        for report in ("report.json", "report.html", "results.json", "junit.xml"):
            assert (out / name / report).is_file(), (name, report)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "server_register" in summary

    before = json.loads((out / "anna" / "report.json").read_text())["started_at"]
    (klass / "boris" / "server.py").write_text(
        (klass / "boris" / "server.py").read_text() + "\n# edited\n"
    )
    proc = batch(*args)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "anna" / "report.json").read_text())["started_at"] == before
    assert "anna: " in proc.stderr and "(без изменений)" in proc.stderr


def test_hostile_names_are_escaped_in_the_page_and_neutralised_in_the_csv(
    tmp_path: Path,
) -> None:
    klass = tmp_path / "class"
    names = ["<img src=x onerror=alert(1)>", '=HYPERLINK("http:evil")', "a&b"]
    for name in names:
        (klass / name).mkdir(parents=True)
    (klass / names[2] / '<b>"x".txt').write_text("", encoding="utf-8")
    (klass / "stray.zip").write_bytes(b"not a student")  # a loose file: said, not a row
    out = tmp_path / "out"
    proc = batch(str(klass), "--out", str(out), "--part", "1", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "stray.zip" in proc.stderr
    page = (out / "grades.html").read_text(encoding="utf-8")
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>" not in page and "a&amp;b" in page
    rows = gradebook(out / "grades.csv")
    assert '\'=HYPERLINK("http:evil")' in rows  # a spreadsheet will not run it
    assert len(rows) == 3


# -- Ctrl+C ----------------------------------------------------------------------------------
def _stat(pid: int) -> str | None:
    """/proc/PID/stat (pid, state, start time...), or None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None


def descendants(root: int) -> dict[int, str]:
    """Live descendants of ``root`` with their start times (to tell a reused pid apart)."""
    parent: dict[int, int] = {}
    start: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        text = _stat(int(entry)) if entry.isdigit() else None
        if text is None:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            parent[int(entry)], start[int(entry)] = int(fields[1]), fields[19]
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in found:
                found[child] = start[child]
                todo.append(child)
    return found


def still_running(before: dict[int, str]) -> list[int]:
    left = []
    for pid, started in before.items():
        text = _stat(pid)
        if text is not None:
            fields = text[text.rindex(")") + 2 :].split()
            if fields[0] != "Z" and fields[19] == started:
                left.append(pid)
    return left


def class_of(root: Path, count: int) -> Path:
    klass = root / "class"
    for i in range(count):
        reference_copy(klass / f"s{i}")
    return klass


def assert_interrupted_gradebook(out: Path, names: list[str]) -> int:
    rows = gradebook(out / "grades.csv")
    assert list(rows) == names  # every student, graded or not
    graded = [n for n, r in rows.items() if r["status"] == "проверено"]
    waiting = [n for n, r in rows.items() if r["status"] == "не проверено (прервано)"]
    assert graded and waiting and len(graded) + len(waiting) == len(names)
    assert all(rows[n]["score"] == "" for n in waiting)
    assert "Проверка прервана" in (out / "summary.md").read_text(encoding="utf-8")
    assert "прервана" in (out / "grades.html").read_text(encoding="utf-8")
    return len(graded)


def running_grading(batch_pid: int, timeout: float = 60.0) -> dict[int, str]:
    """The batch's descendants once a grading is in flight (the next one may be starting)."""
    deadline = time.monotonic() + timeout
    while not (found := descendants(batch_pid)):
        assert time.monotonic() < deadline, f"no grading was running after {timeout:g} s"
        time.sleep(0.05)  # polling /proc: a process start has no event to wait on
    return found


def test_sigint_stops_the_batch_kills_gradings_writes_gradebook_and_resume_finishes(
    tmp_path: Path, reference_server: None
) -> None:
    names = [f"s{i}" for i in range(5)]
    klass = class_of(tmp_path, len(names))
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "harness", "batch", str(klass), "--out", str(out)]
    argv += ["--jobs", "2", "--part", "1"]
    proc = subprocess.Popen(
        argv, cwd=KIT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr or ()])
    reader.start()
    try:
        while True:  # the first student graded: the next gradings are in flight
            line = lines.get(timeout=120)
            if line.startswith("s") and "/" in line.split(" ", 1)[-1]:
                break
        in_flight = running_grading(proc.pid)
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        stdout, _ = proc.communicate(timeout=INTERRUPT_BUDGET)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe:
                pipe.close()
    assert proc.returncode == 130
    assert elapsed < INTERRUPT_BUDGET, elapsed
    assert still_running(in_flight) == []  # gradings and every student program they ran
    assert "Проверка прервана" in stdout
    graded = assert_interrupted_gradebook(out, names)

    done = batch(str(klass), "--out", str(out), "--jobs", "2", "--part", "1")
    assert done.returncode == 0, done.stderr
    rows = gradebook(out / "grades.csv")
    assert all(r["status"] == "проверено" and r["score"] == r["max_score"] for r in rows.values())
    assert done.stderr.count("(без изменений)") == graded  # resumed, not regraded


def test_ctrl_c_in_the_terminal_ends_the_batch_within_seconds(
    tmp_path: Path, reference_server: None
) -> None:
    names = [f"s{i}" for i in range(4)]
    klass = class_of(tmp_path, len(names))
    out = tmp_path / "out"
    args = ["-m", "harness", "batch", str(klass), "--out", str(out), "--jobs", "2", "--part", "1"]
    child = pexpect.spawn(
        sys.executable, args, cwd=str(KIT), encoding="utf-8", timeout=120,
        dimensions=(40, 160),
    )  # fmt: skip
    try:
        child.expect(r"s\d: \d+/\d+")  # one graded; more in flight
        in_flight = running_grading(child.pid)
        child.sendintr()  # the terminal's Ctrl+C: SIGINT to the foreground process group
        t0 = time.monotonic()
        child.expect(pexpect.EOF, timeout=INTERRUPT_BUDGET)
        elapsed = time.monotonic() - t0
        child.close()
    finally:
        if child.isalive():
            child.terminate(force=True)
    assert child.exitstatus == 130, (child.exitstatus, child.signalstatus)
    assert elapsed < INTERRUPT_BUDGET
    assert still_running(in_flight) == []
    assert_interrupted_gradebook(out, names)
