"""Where the kit's files are: a checkout of the kit, or the copy inside an installed package.

In a checkout (``pip install -e .``, nox, the bundles) the harness sits next to ``lab/``,
``reference/`` and ``exercises/``.  A wheel (``pip install .``, ``pipx install .``) carries
the files the grader reads at run time as package data under ``harness/_kit/`` (see
``setup.py``), so :func:`kit_file` finds them either way.  Standard library only.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
KIT_ROOT = PACKAGE_DIR.parent  # the checkout (meaningful only when it has lab/)
PACKAGED = PACKAGE_DIR / "_kit"  # the copy inside an installed wheel


def kit_file(relative: str) -> Path:
    """``lab/rubric.toml`` and the like: from the checkout if there is one, else packaged."""
    in_checkout = KIT_ROOT / relative
    if in_checkout.exists() or not (PACKAGED / relative).exists():
        return in_checkout
    return PACKAGED / relative


def in_checkout() -> bool:
    """True when the harness runs from a checkout of the kit (not from an installed wheel)."""
    return (KIT_ROOT / "lab" / "protocol.json").is_file() and (KIT_ROOT / "harness").is_dir()


LAB_DIR = kit_file("lab")
PROTOCOL_FILE = kit_file("lab/protocol.json")
RUBRIC_FILE = kit_file("lab/rubric.toml")
REFERENCE_DIR = kit_file("reference")
EXERCISES_DIR = kit_file("exercises")
