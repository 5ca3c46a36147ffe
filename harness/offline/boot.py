"""Start the grader from an offline bundle: standard library only, Python 3.9+.

The bundle's root (``boot.py`` sits there) holds ``harness/``, ``lab/``, ``wheels/`` and
``bundle.json``.  Nothing is installed with pip and nothing is downloaded: a wheel is a zip
of files, so "installing" the wheels that ``bundle.json`` lists for the running Python is
unpacking them into ``lib/X.Y/``.

    python3 -I -S boot.py install            unpack the wheels for this Python (idempotent)
    python3 -I -S boot.py run MODULE [ARGS]  call MODULE.main(ARGS) with lib/X.Y/ and the
                                             bundle on sys.path; exit with its return code

``-I -S`` keep every site-packages folder of the machine (a venv, Debian's dist-packages)
off ``sys.path``: the grader sees the standard library and its own wheels only, whatever
the image or jail has installed.  Exit codes: 0 done, 3 the bundle cannot run here (the
reason on stderr, in Russian, for the instructor).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = "bundle.json"
EXIT_BROKEN = 3
DONE_MARK = ".installed"


class BundleError(Exception):
    """The bundle cannot run on this machine (a message for the instructor)."""


def python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def manifest(root: Path = HERE) -> dict:
    with (root / MANIFEST).open(encoding="utf-8") as f:
        data: dict = json.load(f)
    return data


def lib_dir(root: Path = HERE) -> Path:
    return root / "lib" / python_version()


def wheels_for_this_python(data: dict) -> list[str]:
    """The wheel file names bundled for the running Python, or BundleError saying why not."""
    version = python_version()
    by_version: dict[str, list[str]] = data.get("wheels", {})
    if version not in by_version:
        bundled = ", ".join(sorted(by_version, key=lambda v: tuple(map(int, v.split(".")))))
        raise BundleError(
            f"проверка собрана для Python {bundled}, а здесь Python {version} "
            f"({sys.executable}); соберите пакет заново с --python-version {version}"
        )
    names = by_version[version]
    machine = platform.machine()
    foreign = [n for n in names if not n.endswith("-any.whl") and machine not in n]
    if foreign:
        raise BundleError(
            f"колёса {', '.join(foreign)} собраны не для этого процессора ({machine}); "
            "проверка поддерживает x86-64"
        )
    return names


def _extract(wheel: Path, dest: Path) -> None:
    """What ``pip install`` does with a wheel's files, minus scripts and metadata records."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            parts = Path(info.filename).parts
            if info.is_dir() or not parts or info.filename.startswith("/") or ".." in parts:
                continue  # never outside dest
            if parts[0].endswith(".data"):  # purelib/platlib go to the top; scripts do not
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                parts = parts[2:]
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)


def install(root: Path = HERE) -> Path:
    """Unpack this Python's wheels into ``lib/X.Y/`` (once) and return that folder."""
    target = lib_dir(root)
    if (target / DONE_MARK).is_file():
        return target
    names = wheels_for_this_python(manifest(root))
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in names:
        wheel = root / "wheels" / name
        if not wheel.is_file():
            raise BundleError(f"в пакете нет колеса wheels/{name}: пакет неполон, соберите заново")
        _extract(wheel, partial)
    (partial / DONE_MARK).write_text("\n".join(names) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    return target


def activate(root: Path = HERE) -> None:
    """Put the unpacked wheels and the bundle (the ``harness`` package) first on sys.path."""
    target = install(root)
    for path in (str(root), str(target)):
        if path in sys.path:
            sys.path.remove(path)
    sys.path[:0] = [str(root), str(target)]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["install"]:
            install()
            return 0
        if args[:1] == ["run"] and len(args) >= 2:
            activate()
            module = importlib.import_module(args[1])
            code: int = module.main(args[2:])
            return code
    except BundleError as exc:
        print(f"boot.py: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    print("usage: boot.py install | boot.py run MODULE [ARGS...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
