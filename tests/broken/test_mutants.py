"""The harness grades each broken submission down exactly where its bug is.

Mutants are data (``mutants.py``; client ones in ``client_mutants.py`` when present).  For
each: the snippet must occur exactly once in the current reference, the mutated copy is
graded on every scenario that grades the mutated file, and it must lose points in the
named scenarios and keep full points in all others.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

import harness.scenarios  # noqa: F401 - registers every scenario
from harness.rubric import load_rubric
from harness.runner import grade
from harness.verdict import PASSED

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent.parent / "reference"


def load(name: str) -> ModuleType | None:
    path = HERE / f"{name}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"broken_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def mutants_of(module: ModuleType | None) -> list[Mutant]:
    """``MUTANTS`` (Mutant objects) or ``CLIENT_MUTANTS`` (dicts with the same keys)."""
    if module is None:
        return []
    found = list(getattr(module, "MUTANTS", []))
    for raw in getattr(module, "CLIENT_MUTANTS", []):
        loses = raw["loses"]
        found.append(
            Mutant(
                id=raw["id"],
                file=raw["file"],
                old=raw["old"],
                new=raw["new"],
                loses=(loses,) if isinstance(loses, str) else tuple(loses),
                why=raw.get("about", raw.get("why", "")),
                may_lose=tuple(raw.get("may_lose", ())),
            )
        )
    return found


_server = load("mutants")
assert _server is not None
Mutant = _server.Mutant
ALL = mutants_of(_server) + mutants_of(load("client_mutants"))


def test_mutant_ids_are_unique_and_prefixed() -> None:
    ids = [m.id for m in ALL]
    assert len(ids) == len(set(ids))
    for m in ALL:
        assert m.id.startswith(("server_", "client_")), m.id
        assert m.loses, f"{m.id} names no scenario"


def test_mutants_name_only_rubric_scenarios() -> None:
    known = {e.id for e in load_rubric()}
    for m in ALL:
        assert set(m.loses) | (set(m.may_lose) - {"*"}) <= known, m.id


@pytest.mark.slow
@pytest.mark.parametrize("mutant", ALL, ids=[m.id for m in ALL])
def test_mutant_loses_points_only_where_its_bug_is(mutant: object, tmp_path: Path) -> None:
    source = REFERENCE / mutant.file  # type: ignore[attr-defined]
    if not source.is_file():
        pytest.skip(f"reference/{mutant.file} is not written yet")  # type: ignore[attr-defined]
    text = source.read_text(encoding="utf-8")
    count = text.count(mutant.old)  # type: ignore[attr-defined]
    assert count == 1, (
        f"{mutant.id}: the snippet occurs {count} times in reference/{mutant.file}; "  # type: ignore[attr-defined]
        "update the mutant to the current reference"
    )
    submission = tmp_path / "submission"
    submission.mkdir()
    for name in ("server.py", "client.py"):
        if (REFERENCE / name).is_file():
            shutil.copy(REFERENCE / name, submission / name)
    (submission / mutant.file).write_text(  # type: ignore[attr-defined]
        text.replace(mutant.old, mutant.new),
        encoding="utf-8",  # type: ignore[attr-defined]
    )
    entries = [e for e in load_rubric() if mutant.file in e.needs]  # type: ignore[attr-defined]
    report = grade(submission, entries)
    lost = {r.id for r in report.results if r.points < r.max_points}
    must = set(mutant.loses)  # type: ignore[attr-defined]
    allowed = must | set(mutant.may_lose)  # type: ignore[attr-defined]
    if "*" in allowed:  # a timing-dependent bug: only the named scenarios are certain
        allowed = {r.id for r in report.results}
    detail = {r.id: (r.status, r.step, r.got[:200]) for r in report.results if r.id in lost ^ must}
    assert must <= lost, f"still full points in {sorted(must - lost)}"
    assert lost <= allowed, f"also lost points in {sorted(lost - allowed)}: {detail}"
    for r in report.results:
        if r.id in must:
            assert r.status != PASSED
