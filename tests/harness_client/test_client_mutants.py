"""The client mutant corpus covers every client scenario.

``tests/broken/test_mutants.py`` grades each mutant and checks that it loses points only in
the scenario naming its bug; this file checks the corpus itself.
"""

from __future__ import annotations

import importlib.util

from client_grading import KIT, terminal_entries

MUTANTS_FILE = KIT / "tests" / "broken" / "client_mutants.py"


def load_mutants() -> list[dict[str, str]]:
    spec = importlib.util.spec_from_file_location("client_mutants_corpus", MUTANTS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mutants: list[dict[str, str]] = module.CLIENT_MUTANTS
    return mutants


def test_every_client_scenario_has_a_mutant_that_must_fail_it() -> None:
    mutants = load_mutants()
    assert len(mutants) >= 7
    client_ids = {e.id for e in terminal_entries() if e.target == "client"}
    assert client_ids <= {m["loses"] for m in mutants}


def test_client_mutants_change_only_the_client() -> None:
    for mutant in load_mutants():
        assert mutant["id"].startswith("client_")
        assert mutant["file"] == "client.py"
        assert mutant["old"] != mutant["new"]
