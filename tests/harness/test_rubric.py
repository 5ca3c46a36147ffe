"""The rubric and the registered scenarios match one to one (no check silently dropped)."""

from __future__ import annotations

import harness.scenarios  # noqa: F401 - registers every scenario
from harness.rubric import load_rubric
from harness.scenario import SCENARIOS


def test_every_rubric_entry_has_a_scenario_and_every_scenario_is_graded() -> None:
    rubric_ids = {e.id for e in load_rubric()}
    assert sorted(rubric_ids - set(SCENARIOS)) == [], "rubric entries without a scenario"
    assert sorted(set(SCENARIOS) - rubric_ids) == [], "scenarios missing from the rubric"


def test_rubric_points_add_up_to_one_hundred() -> None:
    assert sum(e.points for e in load_rubric()) == 100


def test_dependencies_name_registered_scenarios_without_cycles() -> None:
    for sc in SCENARIOS.values():
        assert set(sc.depends) <= set(SCENARIOS), sc.id
    state: dict[str, str] = {}

    def visit(sid: str) -> None:
        assert state.get(sid) != "open", f"dependency cycle through {sid}"
        if state.get(sid) == "done":
            return
        state[sid] = "open"
        for dep in SCENARIOS[sid].depends:
            visit(dep)
        state[sid] = "done"

    for sid in SCENARIOS:
        visit(sid)


def test_every_scenario_tells_the_student_what_it_checks_in_russian() -> None:
    for sc in SCENARIOS.values():
        assert len(sc.description) > 20, sc.id
        assert any("а" <= ch <= "я" for ch in sc.description.lower()), sc.id
