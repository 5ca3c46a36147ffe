"""``python -m harness package gradescope|classroom``: the kit, ready for a grading platform.

- ``gradescope`` builds the autograder zip described in :mod:`harness.gradescope`: setup
  scripts at the root, the harness, the reference programs, the protocol and the rubric the
  instructor chose, and every dependency as a wheel for the Python of Gradescope's Ubuntu
  images (3.10 on 22.04, 3.12 on 24.04) and the running one, so that setup installs them
  with ``pip --no-index`` and grading needs no network.
- ``classroom`` writes the GitHub Classroom workflow (``lab/github-classroom/classroom.yml``
  with the kit's repository filled in) as ``.github/workflows/classroom.yml`` of a template
  repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness import __version__
from harness.kit import KIT_ROOT, PROTOCOL_FILE, REFERENCE_DIR, RUBRIC_FILE
from harness.rubric import RubricError, load_rubric

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

GRADESCOPE_DIR = Path(__file__).with_name("gradescope")
CLASSROOM_DIR = KIT_ROOT / "lab" / "github-classroom"
CLASSROOM_WORKFLOW = CLASSROOM_DIR / "classroom.yml"
# Python of Gradescope's Ubuntu base images: 22.04 (the default) and 24.04.
GRADESCOPE_PYTHONS = ("3.10", "3.12")
# Gradescope runs x86-64 Ubuntu (glibc 2.35+): these wheel platforms all install there.
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
SCRIPTS = ("setup.sh", "setup_python.sh", "run_autograder")
# 1980-01-01, the earliest zip date: the same inputs give the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def register(subparsers: Any) -> None:
    """Add ``package gradescope`` and ``package classroom`` to the harness command line."""
    parser = subparsers.add_parser(
        "package", help="собрать проверку для Gradescope или GitHub Classroom"
    )
    targets = parser.add_subparsers(dest="target", metavar="ПЛАТФОРМА")
    targets.required = True

    gs = targets.add_parser("gradescope", help="zip-архив автопроверки Gradescope")
    gs.add_argument(
        "--out",
        type=Path,
        default=Path("out/gradescope-autograder.zip"),
        help="куда записать архив (по умолчанию out/gradescope-autograder.zip)",
    )
    gs.add_argument(
        "--rubric", type=Path, default=RUBRIC_FILE, help="рубрика в архиве (lab/rubric.toml)"
    )
    gs.add_argument(
        "--python-version",
        action="append",
        default=[],
        metavar="X.Y",
        help="версия Python образа, для которой положить колёса (можно несколько; "
        f"по умолчанию {', '.join(GRADESCOPE_PYTHONS)} и текущая)",
    )
    gs.add_argument(
        "--wheelhouse",
        type=Path,
        metavar="DIR",
        help="взять колёса зависимостей из DIR, ничего не скачивая",
    )
    gs.set_defaults(func=cmd_gradescope)

    gh = targets.add_parser("classroom", help="workflow GitHub Classroom для репозитория-шаблона")
    gh.add_argument(
        "--out",
        type=Path,
        default=Path("out/classroom"),
        help="репозиторий-шаблон: workflow ляжет в OUT/.github/workflows/classroom.yml",
    )
    gh.add_argument(
        "--kit-repo",
        required=True,
        metavar="OWNER/NAME",
        help="репозиторий GitHub с этим комплектом (откуда workflow возьмёт проверку)",
    )
    gh.add_argument("--kit-ref", default="main", help="ветка или тег комплекта (main)")
    gh.set_defaults(func=cmd_classroom)


class PackageError(Exception):
    """The bundle cannot be built as asked."""


# -- Gradescope ----------------------------------------------------------------------------
def scenario_ids() -> set[str]:
    """Every scenario the harness can grade."""
    import harness.scenarios  # noqa: F401 - registers every scenario module
    from harness.scenario import SCENARIOS

    return set(SCENARIOS)


def requirements() -> list[str]:
    """The kit's runtime dependencies, as ``pyproject.toml`` lists them."""
    with (KIT_ROOT / "pyproject.toml").open("rb") as f:
        deps: list[str] = tomllib.load(f)["project"]["dependencies"]
    return deps


def without_marker(requirement: str) -> str:
    """``"tomli>=1.1; python_version < '3.11'"`` -> ``"tomli>=1.1"``.

    ``pip download --python-version`` still evaluates markers for the running Python, so a
    dependency of an older target would be left out; downloading it anyway is harmless.
    """
    return requirement.split(";", 1)[0].strip()


def download_wheels(dest: Path, python_versions: Iterable[str]) -> None:
    """Every dependency as a binary wheel for each Python version, for x86-64 Linux."""
    platforms = [arg for p in WHEEL_PLATFORMS for arg in ("--platform", p)]
    for version in python_versions:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--dest",
            str(dest),
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            version,
            *platforms,
            *(without_marker(r) for r in requirements()),
        ]
        print(f"колёса для Python {version}…", flush=True)
        subprocess.run(command, check=True)


def kit_files(rubric: Path) -> list[tuple[Path, str]]:
    """(file on disk, path in the zip) for the kit part of the bundle."""
    harness_dir = KIT_ROOT / "harness"
    files = [
        (path, f"kit/{path.relative_to(KIT_ROOT).as_posix()}")
        for path in sorted(harness_dir.rglob("*"))
        if path.is_file()
        and path.suffix != ".pyc"
        and "__pycache__" not in path.relative_to(harness_dir).parts
    ]
    files += [(path, f"kit/reference/{path.name}") for path in sorted(REFERENCE_DIR.glob("*.py"))]
    files += [
        (PROTOCOL_FILE, "kit/lab/protocol.json"),
        (rubric, "kit/lab/rubric.toml"),
        (KIT_ROOT / "LICENSE", "kit/LICENSE"),
    ]
    return files


def git_commit() -> str:
    """The kit's git commit (``+dirty`` with local changes), or ``unknown`` outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=KIT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "harness", "reference", "lab"],
            cwd=KIT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _add(bundle: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    bundle.writestr(info, data)


def build_gradescope(
    out: Path,
    rubric: Path = RUBRIC_FILE,
    python_versions: Iterable[str] = (),
    wheelhouse: Path | None = None,
) -> dict[str, Any]:
    """Write the Gradescope autograder zip to ``out``; returns its ``bundle.json``."""
    entries = load_rubric(rubric)
    unknown = [e.id for e in entries if e.id not in scenario_ids()]
    if unknown:
        raise PackageError(f"{rubric}: в проверке нет сценариев {', '.join(unknown)}")
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    versions = sorted(set(python_versions or (*GRADESCOPE_PYTHONS, running)))
    with tempfile.TemporaryDirectory(prefix="wheels-") as tmp:
        if wheelhouse is None:
            wheelhouse = Path(tmp)
            download_wheels(wheelhouse, versions)
        wheels = sorted(wheelhouse.glob("*.whl"))
        if not wheels:
            raise PackageError(f"в {wheelhouse} нет колёс (*.whl)")
        manifest = {
            "kit_version": __version__,
            "kit_commit": git_commit(),
            "rubric": {
                "source": str(rubric),
                "sha256": hashlib.sha256(rubric.read_bytes()).hexdigest(),
                "scenarios": len(entries),
                "points": sum(e.points for e in entries),
                "hidden": [e.id for e in entries if e.hidden],
            },
            "python_versions": versions,
            "requirements": requirements(),
            "wheels": [w.name for w in wheels],
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as bundle:
            for script in SCRIPTS:
                _add(bundle, script, (GRADESCOPE_DIR / script).read_bytes(), executable=True)
            _add(bundle, "requirements.txt", "\n".join(requirements()).encode() + b"\n")
            _add(bundle, "bundle.json", json.dumps(manifest, indent=2).encode() + b"\n")
            for wheel in wheels:
                _add(bundle, f"wheels/{wheel.name}", wheel.read_bytes())
            for path, name in kit_files(rubric):
                _add(bundle, name, path.read_bytes(), executable=path.name in SCRIPTS)
    return manifest


def cmd_gradescope(args: argparse.Namespace) -> int:
    try:
        manifest = build_gradescope(args.out, args.rubric, args.python_version, args.wheelhouse)
    except (RubricError, PackageError, OSError, subprocess.CalledProcessError) as exc:
        print(f"ошибка: {exc}", file=sys.stderr)
        return 2
    rubric = manifest["rubric"]
    size = args.out.stat().st_size / 1024 / 1024
    print(
        f"{args.out}: {size:.1f} МБ; рубрика {rubric['source']}: {rubric['scenarios']} "
        f"сценариев, {rubric['points']:g} баллов, скрытых {len(rubric['hidden'])}; "
        f"{len(manifest['wheels'])} колёс для Python {', '.join(manifest['python_versions'])}."
    )
    print("Загрузите архив в Gradescope: Configure Autograder → Zip file upload.")
    return 0


# -- GitHub Classroom ----------------------------------------------------------------------
def render_classroom_workflow(kit_repo: str, kit_ref: str) -> str:
    """The workflow template with the kit's repository and ref filled in."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", kit_repo) or not re.fullmatch(r"[\w./-]+", kit_ref):
        raise ValueError(f"--kit-repo ждёт OWNER/NAME, получено {kit_repo!r}")
    text = CLASSROOM_WORKFLOW.read_text(encoding="utf-8")
    for key, value in (("KIT_REPOSITORY", kit_repo), ("KIT_REF", kit_ref)):
        text, count = re.subn(rf"^(\s*{key}:[ \t]*).*$", rf"\g<1>{value}", text, flags=re.M)
        if count != 1:
            raise ValueError(f"в шаблоне {CLASSROOM_WORKFLOW} нет строки {key}:")
    return text


def cmd_classroom(args: argparse.Namespace) -> int:
    try:
        text = render_classroom_workflow(args.kit_repo, args.kit_ref)
    except ValueError as exc:
        print(f"ошибка: {exc}", file=sys.stderr)
        return 2
    target = args.out / ".github" / "workflows" / "classroom.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"{target}: проверка комплектом {args.kit_repo}@{args.kit_ref}.")
    print("Положите этот файл в репозиторий-шаблон задания (см. lab/github-classroom/README.md).")
    return 0
