"""Each broken client loses points in the scenario that names its bug, and only there."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from client_grading import KIT, REFERENCE, failures, grade_clients, terminal_entries

MUTANTS_FILE = KIT / "tests" / "broken" / "client_mutants.py"


def load_mutants() -> list[dict[str, str]]:
    spec = importlib.util.spec_from_file_location("client_mutants", MUTANTS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mutants: list[dict[str, str]] = module.CLIENT_MUTANTS
    return mutants


MUTANTS = load_mutants()
pytestmark = pytest.mark.skipif(
    not (REFERENCE / "client.py").is_file() or not (REFERENCE / "server.py").is_file(),
    reason="the reference programs are not written yet",
)


def build(mutant: dict[str, str], dest: Path) -> Path:
    """The reference server and client with the mutant's one change applied."""
    for name in ("server.py", "client.py"):
        shutil.copy(REFERENCE / name, dest / name)
    target = dest / mutant["file"]
    source = target.read_text(encoding="utf-8")
    count = source.count(mutant["old"])
    assert count == 1, f"{mutant['id']}: the text to replace occurs {count} times in the reference"
    target.write_text(source.replace(mutant["old"], mutant["new"]), encoding="utf-8")
    return dest


def test_there_are_enough_client_mutants_covering_every_client_scenario_kind() -> None:
    assert len(MUTANTS) >= 7
    assert len({m["id"] for m in MUTANTS}) == len(MUTANTS)
    terminal_ids = {e.id for e in terminal_entries()}
    assert {m["loses"] for m in MUTANTS} <= terminal_ids


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m["id"] for m in MUTANTS])
def test_mutant_loses_points_only_in_the_scenario_naming_its_bug(
    mutant: dict[str, str], tmp_path: Path
) -> None:
    report = grade_clients(build(mutant, tmp_path))
    verdicts = {r.id: r.status for r in report.results}
    assert verdicts[mutant["loses"]] == "failed", failures(report) or verdicts
    others = {k: v for k, v in verdicts.items() if k != mutant["loses"] and v != "passed"}
    assert not others, failures(report)
