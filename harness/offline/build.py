"""Build side of the offline payload (see :mod:`harness.offline`).

The kit file list, grading requirements, rubric summary and zip/folder writers are
:mod:`harness.package`'s shared helpers; what is added here is a wheel set resolved *per
Python version*, so that ``boot.py`` unpacks exactly what pip chose for the Python it runs
on (a pure wheel may need Python 3.10+, pip then picks an older release for 3.9).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__
from harness.bundle import (
    BundleFile,
    PackageError,
    checked_rubric,
    git_commit,
    grading_requirements,
    kit_files,
    pip_download_command,
    rubric_summary,
)

BOOT_FILE = Path(__file__).with_name("boot.py")
# Debian 11 / Ubuntu 22.04 / Debian 12 / Ubuntu 24.04 / Debian 13: the python3 a jail host
# or a grading image is likely to have.
DEFAULT_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
# Needed by the scorecard only: the offline bundles render their own reports.
NOT_OFFLINE = ("rich",)


@dataclass
class Payload:
    """The files of a bundle and its manifest (also one of the files, ``bundle.json``)."""

    files: list[BundleFile] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, data: bytes, executable: bool = False) -> None:
        self.files.append(BundleFile(name, data, executable))

    @property
    def size(self) -> int:
        return sum(len(f.data) for f in self.files)


def distribution(requirement: str) -> str:
    """``"tomli>=1.1; python_version < '3.11'"`` -> ``"tomli"``."""
    return re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0].lower()


def offline_requirements() -> list[str]:
    """What grading imports in these bundles: the grading requirements, less the scorecard's."""
    return [r for r in grading_requirements() if distribution(r) not in NOT_OFFLINE]


def python_versions(asked: Iterable[str]) -> list[str]:
    """The asked ``X.Y`` versions (else the defaults and the running one), checked, sorted."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    versions = set(asked) or {*DEFAULT_PYTHONS, running}
    for version in versions:
        if not re.fullmatch(r"3\.\d{1,2}", version) or int(version.split(".")[1]) < 9:
            raise PackageError(
                f"--python-version: нужна 3.9 или новее в виде X.Y, а не {version!r}"
            )
    return sorted(versions, key=lambda v: tuple(map(int, v.split("."))))


def download_for(
    dest: Path, version: str, wanted: list[str], wheelhouse: Path | None = None
) -> list[str]:
    """Resolve ``wanted`` for CPython ``version`` on x86-64 Linux into ``dest``; the names.

    ``pip download`` as :func:`harness.bundle.pip_download_command` runs it, for one version,
    and with ``wheelhouse`` from that folder only (``--no-index --find-links``).
    """
    source = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse is not None else []
    with tempfile.TemporaryDirectory(prefix=f"wheels-{version}-") as tmp:
        command = [*pip_download_command(version, Path(tmp), wanted), *source]
        print(f"колёса для Python {version}…", flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise PackageError(f"pip download для Python {version} не удался:\n{tail}")
        names = sorted(p.name for p in Path(tmp).glob("*.whl"))
        for name in names:
            shutil.copyfile(Path(tmp) / name, dest / name)
    return names


def build_payload(
    rubric: Path,
    versions: Iterable[str] = (),
    wheelhouse: Path | None = None,
    settings: dict[str, Any] | None = None,
) -> Payload:
    """Everything an offline bundle carries (see :mod:`harness.offline`)."""
    entries = checked_rubric(rubric)
    if wheelhouse is not None and not any(wheelhouse.glob("*.whl")):
        raise PackageError(f"в {wheelhouse} нет колёс (*.whl)")
    chosen = python_versions(versions)
    wanted = offline_requirements()
    payload = Payload()
    for path, name in kit_files(rubric, prefix=""):
        payload.add(name, path.read_bytes(), executable=bool(path.stat().st_mode & 0o111))
    payload.add("boot.py", BOOT_FILE.read_bytes())
    wheels: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="wheels-") as tmp:
        for version in chosen:
            wheels[version] = download_for(Path(tmp), version, wanted, wheelhouse)
        for wheel in sorted(Path(tmp).glob("*.whl")):
            payload.add(f"wheels/{wheel.name}", wheel.read_bytes())
    payload.manifest = {
        "kit_version": __version__,
        "kit_commit": git_commit(),
        "rubric": rubric_summary(rubric, entries),
        "python_versions": chosen,
        "requirements": wanted,
        "wheels": wheels,
        "settings": dict(settings or {}),
    }
    payload.add("bundle.json", json.dumps(payload.manifest, indent=2).encode() + b"\n")
    return payload
