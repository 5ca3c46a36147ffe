"""Who is in a class and where each student's programs are (standard library only).

``batch`` and ``similarity`` read a class the same way: every folder under a class folder is
one student, named after that folder, whatever it holds.  :func:`locate` then finds the
student's ``server.py``/``client.py``:

- at the top of the folder;
- otherwise in the shallowest folder below that has them (``chat-main/server.py``), up to
  :data:`MAX_DEPTH` levels down; several such folders at that depth are ambiguous;
- otherwise inside the one ``.zip`` archive of the folder, unpacked (safely: no absolute or
  ``..`` paths, no links, a size and a file-count budget) into a folder of the caller's;
- otherwise the student has no program, and the reason says what the folder holds.

Nothing here runs or imports student code.
"""

from __future__ import annotations

import collections
import shutil
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PROGRAMS = ("server.py", "client.py")
# Folders that are never a student nor a solution: tools, caches, zip leftovers.
NOT_STUDENTS = ("__MACOSX", "__pycache__", "node_modules", "venv")
CACHE_NAMES = ("__pycache__", ".git", ".venv", "venv", ".mypy_cache", ".pytest_cache")
MAX_DEPTH = 3
UNZIP_BYTES = 20 * 1024 * 1024
UNZIP_FILES = 2000
LISTED = 8


@dataclass(frozen=True)
class Student:
    """One student of a class: a folder, and where its programs are (or why there are none)."""

    name: str  # the gradebook row: the folder's name (made unique across DIRs)
    folder: Path  # the student's folder as given
    programs: Path | None  # the folder to grade; None: nothing to grade
    note: str  # where the programs were found, or why there are none ("" at the top)


@dataclass(frozen=True)
class Roster:
    """A class: its students and what was left out and why (loose files, tool folders)."""

    students: list[Student]
    ignored: list[str]  # human-readable: "папка X: служебная", "файл Y: не в папке студента"


def has_programs(folder: Path) -> bool:
    return any((folder / p).is_file() for p in PROGRAMS)


def _listing(folder: Path) -> str:
    try:
        files = sorted(
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file() and not any(part in CACHE_NAMES for part in p.parts)
        )
    except OSError as exc:
        return f"не удалось прочитать папку: {exc.strerror}"
    if not files:
        return "папка пуста"
    shown = ", ".join(files[:LISTED])
    more = f" и ещё {len(files) - LISTED}" if len(files) > LISTED else ""
    return f"в папке: {shown}{more}"


def _candidates(folder: Path) -> list[Path]:
    """The shallowest folders below ``folder`` that hold a program (all of that depth)."""
    level = [folder]
    for _ in range(MAX_DEPTH):
        below: list[Path] = []
        for parent in level:
            try:
                children = sorted(parent.iterdir())
            except OSError:
                continue
            below += [
                c
                for c in children
                if c.is_dir()
                and not c.is_symlink()
                and not c.name.startswith(".")
                and c.name not in NOT_STUDENTS
            ]
        found = [c for c in below if has_programs(c)]
        if found:
            return found
        level = below
    return []


def _archives(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".zip")
    except OSError:
        return []


def unpack_zip(archive: Path, dest: Path) -> str:
    """Unpack ``archive`` into a fresh ``dest``; "" or why it could not be (in Russian)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > UNZIP_FILES:
                return f"в архиве больше {UNZIP_FILES} файлов"
            if sum(m.file_size for m in members) > UNZIP_BYTES:
                return f"архив распаковывается больше чем в {UNZIP_BYTES // 2**20} МиБ"
            for member in members:
                path = PurePosixPath(member.filename.replace("\\", "/"))
                if path.is_absolute() or ".." in path.parts or not path.parts:
                    return f"в архиве недопустимый путь {member.filename!r}"
                mode = member.external_attr >> 16
                if stat.S_ISLNK(mode):
                    continue  # links are never followed nor created
                target = dest.joinpath(*path.parts)
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        return f"архив не читается: {exc}"
    return ""


def locate(folder: Path, unpack_to: Path | None = None) -> tuple[Path | None, str]:
    """Where ``folder``'s programs are and a note: see the module's docstring."""
    if has_programs(folder):
        return folder, ""
    found = _candidates(folder)
    if len(found) == 1:
        where = found[0].relative_to(folder).as_posix()
        return found[0], f"программы найдены в папке «{where}» и проверены оттуда"
    if found:
        names = ", ".join(f"«{c.relative_to(folder).as_posix()}»" for c in found)
        return None, (
            f"не понятно, что проверять: {'/'.join(PROGRAMS)} есть в нескольких папках "
            f"({names}); нужна одна"
        )
    archives = _archives(folder)
    if len(archives) == 1 and unpack_to is not None:
        zip_name = archives[0].relative_to(folder).as_posix()
        problem = unpack_zip(archives[0], unpack_to)
        if problem:
            return None, f"архив «{zip_name}»: {problem}"
        inner, note = locate(unpack_to)
        if inner is None:
            return None, f"в архиве «{zip_name}» нет программ ({note})"
        where = inner.relative_to(unpack_to).as_posix()
        inside = f", папка «{where}»" if where != "." else ""
        return inner, f"программы взяты из архива «{zip_name}»{inside}"
    if len(archives) > 1:
        names = ", ".join(f"«{a.relative_to(folder).as_posix()}»" for a in archives[:LISTED])
        return None, f"нет {' и '.join(PROGRAMS)}, но несколько архивов ({names}): нужен один"
    return None, f"нет {' и '.join(PROGRAMS)}: {_listing(folder)}"


def no_programs_message(folder: Path) -> str:
    """One line for ``grade`` on a folder without programs at its top: what to do instead."""
    head = f"в папке {folder} нет ни server.py, ни client.py"
    found = _candidates(folder)
    if len(found) == 1:
        return f"{head}; они есть в {found[0]} — проверьте её: python -m harness grade {found[0]}"
    if found:
        return f"{head}; они есть в нескольких папках: " + ", ".join(map(str, found))
    archives = _archives(folder)
    if archives:
        return f"{head}; есть архив {archives[0]} — распакуйте его и проверьте папку с программами"
    return f"{head} ({_listing(folder)})"


def _unique(names: list[str]) -> list[str]:
    used: collections.Counter[str] = collections.Counter()
    out = []
    for base in names:
        used[base] += 1
        out.append(base if used[base] == 1 else f"{base}-{used[base]}")
    return out


def _is_tool_folder(path: Path) -> bool:
    return path.name.startswith(".") or path.name in NOT_STUDENTS


def is_one_student(folder: Path) -> bool:
    """A DIR given to ``batch`` that is one student, not a class: it has the programs at its
    top, or its only folder has them (``anna/chat-main/server.py`` given as ``anna``)."""
    if has_programs(folder):
        return True
    subs = [c for c in folder.iterdir() if c.is_dir() and not _is_tool_folder(c)]
    return len(subs) == 1 and has_programs(subs[0])


def read_class(
    dirs: Iterable[Path], *, exclude: Iterable[Path] = (), unpack_root: Path | None = None
) -> Roster:
    """The students of ``dirs``: a DIR that :func:`is_one_student` is one student; any other
    DIR holds one student per folder.  Folders in ``exclude`` (the output) are left out,
    and so are tool folders (``.git``, ``__MACOSX``…) and loose files, which ``ignored``
    names.  Zips are unpacked under ``unpack_root/NAME`` (not at all when it is None).
    """
    skip = {p.resolve() for p in exclude}
    folders: list[Path] = []
    ignored: list[str] = []
    for d in dirs:
        if is_one_student(d):
            folders.append(d)
            continue
        for entry in sorted(d.iterdir()):
            if entry.resolve() in skip:
                continue
            if entry.is_dir():
                if _is_tool_folder(entry):
                    ignored.append(f"папка {entry}: служебная, не студент")
                else:
                    folders.append(entry)
            else:
                ignored.append(f"файл {entry}: не в папке студента, не проверялся")
    names = _unique([f.resolve().name or "submission" for f in folders])
    students = []
    for name, folder in zip(names, folders):
        unpack = unpack_root / name if unpack_root is not None else None
        programs, note = locate(folder, unpack)
        students.append(Student(name=name, folder=folder, programs=programs, note=note))
    return Roster(students=students, ignored=ignored)
