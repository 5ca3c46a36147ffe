"""What every bundle is made of: kit file lists, grading requirements, wheels, zips.

Shared by ``package`` (Gradescope, the student edition, Classroom) and the offline bundles
(:mod:`harness.offline`: Moodle VPL, PrairieLearn); the names are stable.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness.scenarios  # noqa: F401 - registers every scenario module
from harness.kit import KIT_ROOT, PROTOCOL_FILE
from harness.pythons import find_python
from harness.rubric import RubricEntry, load_rubric
from harness.scenario import SCENARIOS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

GRADESCOPE_PYTHONS = ("3.10", "3.12")
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
NOT_FOR_GRADING = ("copydetect",)
HARNESS_SKIP = ("__pycache__", "_kit")


class PackageError(Exception):
    """The bundle cannot be built as asked."""


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: its path inside the bundle, its bytes, its executable bit."""

    name: str
    data: bytes
    executable: bool = False


def scenario_ids() -> set[str]:
    """Every scenario the harness can grade."""
    return set(SCENARIOS)


def scenario_depends() -> dict[str, tuple[str, ...]]:
    """Scenario id -> the scenarios it depends on."""
    return {sid: sc.depends for sid, sc in SCENARIOS.items()}


def checked_rubric(rubric: Path) -> list[RubricEntry]:
    """The rubric's entries; PackageError when it names a scenario the harness lacks."""
    entries = load_rubric(rubric)
    unknown = [e.id for e in entries if e.id not in scenario_ids()]
    if unknown:
        raise PackageError(f"{rubric}: в проверке нет сценариев {', '.join(unknown)}")
    return entries


def requirements() -> list[str]:
    """The kit's runtime dependencies, as ``pyproject.toml`` lists them."""
    with (KIT_ROOT / "pyproject.toml").open("rb") as f:
        deps: list[str] = tomllib.load(f)["project"]["dependencies"]
    return deps


def grading_requirements() -> list[str]:
    """The dependencies grading needs (the kit's, less the instructor-only ones)."""
    return [r for r in requirements() if _project_name(r) not in NOT_FOR_GRADING]


def _project_name(requirement: str) -> str:
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return found.group(1).lower().replace("_", "-") if found else requirement


def without_marker(requirement: str) -> str:
    """``"tomli>=1.1; python_version < '3.11'"`` -> ``"tomli>=1.1"``.

    ``pip download --python-version`` still evaluates markers for the running Python, so a
    dependency of an older target would be left out; downloading it anyway is harmless.
    """
    return requirement.split(";", 1)[0].strip()


def pip_download_command(version: str, dest: Path, deps: Iterable[str]) -> list[str]:
    """``pip download`` of ``deps`` as binary wheels for CPython ``version`` on x86-64 Linux.

    pip evaluates the environment markers of *transitive* dependencies for the Python that
    runs it, whatever ``--python-version`` says (``referencing`` needs ``typing-extensions``
    on Python < 3.13 only, so a 3.13 pip leaves it out of a 3.10 wheel set).  So the
    download runs on an interpreter of the target version when this machine has one with
    pip, and on the running Python (with a warning) only when it has none.
    """
    python = sys.executable
    if f"{sys.version_info[0]}.{sys.version_info[1]}" != version:
        native = find_python(version, needs="pip")
        if native is None:
            print(
                f"внимание: на этой машине нет Python {version} с pip; колёса для него "
                "подбирает текущий Python, и зависимости с условием на версию Python могут "
                "не попасть в пакет (установите python" + version + ")",
                file=sys.stderr,
                flush=True,
            )
        else:
            python = native
    platforms = [arg for p in WHEEL_PLATFORMS for arg in ("--platform", p)]
    return [
        *(python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
        *("--dest", str(dest), "--only-binary=:all:", "--implementation", "cp"),
        *("--python-version", version, *platforms),
        *(without_marker(r) for r in deps),
    ]


def download_wheels(
    dest: Path, python_versions: Iterable[str], wanted: Iterable[str] | None = None
) -> None:
    """Every dependency (default: :func:`grading_requirements`) as a binary wheel for each
    Python version, for x86-64 Linux."""
    deps = list(grading_requirements() if wanted is None else wanted)
    for version in python_versions:
        print(f"колёса для Python {version}…", flush=True)
        subprocess.run(pip_download_command(version, dest, deps), check=True)


def python_versions_for(asked: Iterable[str]) -> list[str]:
    """The Python versions to vendor wheels for: the asked ones, else Gradescope's + running."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return sorted(set(asked or (*GRADESCOPE_PYTHONS, running)))


def collect_wheels(
    python_versions: Iterable[str], wheelhouse: Path | None, scratch: Path
) -> list[Path]:
    """The wheels to vendor: from ``wheelhouse``, or downloaded into ``scratch``."""
    if wheelhouse is None:
        wheelhouse = scratch
        download_wheels(wheelhouse, python_versions)
    wheels = sorted(wheelhouse.glob("*.whl"))
    if not wheels:
        raise PackageError(f"в {wheelhouse} нет колёс (*.whl)")
    return wheels


def harness_files() -> list[Path]:
    """The harness's own files (sources and package data), without caches."""
    harness_dir = KIT_ROOT / "harness"
    return [
        path
        for path in sorted(harness_dir.rglob("*"))
        if path.is_file()
        and path.suffix != ".pyc"
        and not any(part in HARNESS_SKIP for part in path.relative_to(harness_dir).parts)
    ]


def kit_files(rubric: Path, prefix: str = "kit/") -> list[tuple[Path, str]]:
    """(file on disk, path in the bundle) for the grading kit: the harness, the protocol, the
    chosen rubric (as ``lab/rubric.toml``) and the licence.  No reference programs."""
    files = [(path, f"{prefix}{path.relative_to(KIT_ROOT).as_posix()}") for path in harness_files()]
    files += [
        (PROTOCOL_FILE, f"{prefix}lab/protocol.json"),
        (rubric, f"{prefix}lab/rubric.toml"),
        (KIT_ROOT / "LICENSE", f"{prefix}LICENSE"),
    ]
    return files


def git_commit() -> str:
    """The kit's git commit (``+dirty`` with local changes), or ``unknown`` outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=KIT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "harness", "reference", "lab", "exercises"],
            cwd=KIT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def rubric_summary(rubric: Path, entries: list[RubricEntry]) -> dict[str, Any]:
    """What a manifest says about the rubric a bundle grades with."""
    return {
        "source": str(rubric),
        "sha256": hashlib.sha256(rubric.read_bytes()).hexdigest(),
        "scenarios": len(entries),
        "points": sum(e.points for e in entries),
        "hidden": [e.id for e in entries if e.hidden],
    }


def _add(bundle: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    bundle.writestr(info, data)


def write_zip(out: Path, files: Iterable[BundleFile], prefix: str = "") -> None:
    """A reproducible zip of ``files`` (each under ``prefix``), written whole or not at all."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as bundle:
        for f in sorted(files, key=lambda f: f.name):
            _add(bundle, prefix + f.name, f.data, f.executable)
    os.replace(partial, out)


def write_folder(out: Path, files: Iterable[BundleFile]) -> None:
    """``files`` under ``out``, which must be empty or not exist (nothing is overwritten)."""
    if out.is_symlink() or (out.exists() and (not out.is_dir() or any(out.iterdir()))):
        raise PackageError(f"{out} уже существует и не пуста: укажите новую папку")
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        path = out / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.data)
        path.chmod(0o755 if f.executable else 0o644)
