"""Who is in a class and where their programs are; ``grade`` on a folder without programs;
what the class tools import."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

from harness_helpers import KIT

from harness.roster import is_one_student, locate, read_class


def touch(path: Path, text: str = "print('hi')\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_programs_at_the_top_one_level_down_or_ambiguous(tmp_path: Path) -> None:
    touch(tmp_path / "top" / "server.py")
    assert locate(tmp_path / "top") == (tmp_path / "top", "")
    touch(tmp_path / "nested" / "chat-main" / "client.py")
    folder, note = locate(tmp_path / "nested")
    assert folder == tmp_path / "nested" / "chat-main" and "chat-main" in note
    touch(tmp_path / "deep" / "a" / "b" / "server.py")
    assert locate(tmp_path / "deep")[0] == tmp_path / "deep" / "a" / "b"
    touch(tmp_path / "two" / "old" / "server.py")
    touch(tmp_path / "two" / "new" / "server.py")
    folder, note = locate(tmp_path / "two")
    assert folder is None and "«new»" in note and "«old»" in note
    touch(tmp_path / "mac" / "__MACOSX" / "server.py")  # a zip tool's leftovers: not a solution
    assert locate(tmp_path / "mac")[0] is None


def test_a_zip_is_unpacked_safely(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    with zipfile.ZipFile(good / "lab.zip", "w") as zf:
        zf.writestr("chat/server.py", "print('server')\n")
    folder, note = locate(good, tmp_path / "unpacked-good")
    assert folder == tmp_path / "unpacked-good" / "chat"
    assert (folder / "server.py").read_text() == "print('server')\n"
    assert "lab.zip" in note and good.joinpath("lab.zip").is_file()  # the input is untouched

    evil = tmp_path / "evil"
    evil.mkdir()
    with zipfile.ZipFile(evil / "lab.zip", "w") as zf:
        zf.writestr("../../escaped.py", "x")
        zf.writestr("server.py", "x")
    folder, note = locate(evil, tmp_path / "unpacked-evil")
    assert folder is None and "недопустимый путь" in note
    assert not (tmp_path / "escaped.py").exists()

    junk = tmp_path / "junk"
    touch(junk / "lab.zip", "not a zip")
    folder, note = locate(junk, tmp_path / "unpacked-junk")
    assert folder is None and "не читается" in note


def test_every_folder_is_a_student_and_loose_files_are_named(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    touch(klass / "anna" / "server.py")
    (klass / "boris").mkdir()
    touch(klass / "vera" / "notes.txt")
    touch(klass / "readme.txt")
    (klass / ".git").mkdir()
    (klass / "grades").mkdir()
    roster = read_class([klass], exclude=[klass / "grades"])
    assert [s.name for s in roster.students] == ["anna", "boris", "vera"]
    assert [s.programs is not None for s in roster.students] == [True, False, False]
    assert any("readme.txt" in line for line in roster.ignored)
    assert any(".git" in line for line in roster.ignored)


def test_a_student_given_directly_keeps_their_name(tmp_path: Path) -> None:
    touch(tmp_path / "anna" / "chat-main" / "server.py")
    assert is_one_student(tmp_path / "anna")
    roster = read_class([tmp_path / "anna"])
    assert [s.name for s in roster.students] == ["anna"]
    assert roster.students[0].programs == tmp_path / "anna" / "chat-main"


def grade(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "grade", str(path)],
        capture_output=True, text=True, timeout=60, cwd=KIT,
    )  # fmt: skip


def test_grade_on_an_empty_folder_or_a_file_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = grade(tmp_path / "empty")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "нет ни server.py, ни client.py" in proc.stderr and "пуста" in proc.stderr
    assert proc.stdout == ""

    touch(tmp_path / "anna" / "chat-main" / "server.py")
    proc = grade(tmp_path / "anna")
    assert proc.returncode == 2
    assert f"python -m harness grade {tmp_path / 'anna' / 'chat-main'}" in proc.stderr

    proc = grade(touch(tmp_path / "server.py"))
    assert proc.returncode == 2
    assert "файл, а нужна папка" in proc.stderr and "нет папки" not in proc.stderr


# -- what the class tools import (the whole graph: test_structure.py) ---------------------
CLASS_TOOLS = ("roster", "gradebook", "classpage", "similarity", "batch")
HEAVY = ("copydetect", "numpy", "matplotlib")  # the similarity extra


def harness_imports_inside_functions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    names = [a.name for a in inner.names]
                elif isinstance(inner, ast.ImportFrom):
                    names = [inner.module or ""]
                else:
                    continue
                if any(n.split(".")[0] == "harness" for n in names):
                    found.append(f"{path.name}:{inner.lineno}: {ast.unparse(inner)}")
    return found


def test_class_tools_import_at_the_top_only_and_load_no_copydetect() -> None:
    """No harness import inside a function (none hides a cycle); copydetect, the optional
    extra with numpy and matplotlib, is loaded only when a similarity check runs."""
    for tool in CLASS_TOOLS:
        assert harness_imports_inside_functions(KIT / "harness" / f"{tool}.py") == []
    code = "import sys, " + ", ".join(f"harness.{t}" for t in CLASS_TOOLS)
    code += f"; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=KIT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
