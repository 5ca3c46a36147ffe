"""Build step of the kit's wheel: the files the grader reads at run time ride along.

In a checkout the harness reads ``lab/``, ``exercises/`` and ``reference/`` next to itself
(``harness/kit.py``).  A wheel (``pip install .``, ``pipx install .``) has no checkout, so
``build_py`` copies those files into the package as ``harness/_kit/<same path>``, where
``harness.kit.kit_file`` looks for them.  They are copied at build time, never committed
twice.  Everything else about the package is in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# Kept in step with MANIFEST.in, which puts the same files in the sdist.
KIT_FILES = ("lab/protocol.json", "lab/rubric.toml", "exercises/*.py", "reference/*.py")
PACKAGED = Path("harness", "_kit")


def kit_files(root: Path = ROOT) -> list[Path]:
    """The kit's run-time files, relative to the checkout (or the unpacked sdist)."""
    found = [path.relative_to(root) for pattern in KIT_FILES for path in sorted(root.glob(pattern))]
    missing = [pattern for pattern in KIT_FILES if not list(root.glob(pattern))]
    if missing:
        raise SystemExit(f"setup.py: the kit's files are missing from the build: {missing}")
    return found


class BuildPyWithKit(build_py):
    """``build_py`` plus the kit's run-time files under ``harness/_kit/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        for relative in kit_files():
            target = Path(self.build_lib) / PACKAGED / relative
            self.mkpath(str(target.parent))
            self.copy_file(str(ROOT / relative), str(target), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            outputs += [str(Path(self.build_lib) / PACKAGED / p) for p in kit_files()]
        return outputs


setup(cmdclass={"build_py": BuildPyWithKit})
