"""Each rule of the handout fails its own scenario step when broken, and nothing else.

lab/traceability.toml names, for every rule, the scenario step that grades it and (field
``mutant``) a broken program of tests/broken/rules/mutants.py that breaks that rule alone.
Each mutant is graded once on every scenario of its program (server_* or client_*, plus
the scenarios of its rows); from that grading:

- each of its rows: the row's scenario fails, at the row's step (``{}`` in the step text
  matches anything);
- the mutant: every other scenario passes (one deviation costs only its own scenario).

A mutant not caught at its step, or costing other scenarios too, is a finding: the test
is ``xfail(strict=True)`` with the reason (``NOT_AT_ITS_STEP``, ``COSTS_MORE``), so it is
reported until the harness or the table is fixed.  The gradings run in a small thread pool,
started for the tests that are selected, in their order.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import harness.scenarios  # noqa: F401 - registers every scenario
from harness.rubric import RubricEntry, load_rubric
from harness.runner import grade
from harness.verdict import FAILED, PASSED, TIMED_OUT, GradeReport

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
KIT = HERE.parent.parent
REFERENCE = KIT / "reference"
PARALLEL = 3  # gradings at a time (each runs up to 4 scenarios at once; mostly waiting)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("broken_rules_mutants", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


table = _load(HERE / "rules" / "mutants.py")
RULES: list[dict[str, str]] = tomllib.loads(
    (KIT / "lab" / "traceability.toml").read_text(encoding="utf-8")
)["rule"]
ROWS = [r for r in RULES if "mutant" in r]
RUBRIC = load_rubric()
MUTANT_IDS = list(dict.fromkeys(r["mutant"] for r in ROWS))  # in table order


def rows_of(mutant_id: str) -> list[dict[str, str]]:
    return [r for r in ROWS if r["mutant"] == mutant_id]


def entries_of(mutant_id: str) -> list[RubricEntry]:
    """The scenarios a mutant is graded on: its program's, and those of its rows."""
    program = table.BY_ID[mutant_id].file.removesuffix(".py")
    own = {r["scenario"] for r in rows_of(mutant_id)}
    return [e for e in RUBRIC if e.target == program or e.id in own]


def step_pattern(step: str) -> re.Pattern[str]:
    """The row's step text as a prefix pattern: ``{}`` stands for anything."""
    return re.compile(".*?".join(re.escape(part) for part in step.split("{}")), re.S)


def show(report: GradeReport, ids: set[str] | None = None) -> dict[str, Any]:
    return {
        r.id: (r.status, r.step, (r.got or r.reason)[:300])
        for r in report.results
        if ids is None or r.id in ids
    }


class Gradings:
    """Gradings of the mutants (and the reference), started in the order tests need them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pool = concurrent.futures.ThreadPoolExecutor(PARALLEL, "grading")
        self.futures: dict[str, concurrent.futures.Future[GradeReport]] = {}

    def start(self, name: str) -> None:
        if name not in self.futures:
            self.futures[name] = self.pool.submit(self._grade, name)

    def report(self, name: str) -> GradeReport:
        self.start(name)
        return self.futures[name].result()

    def _grade(self, name: str) -> GradeReport:
        if name == "reference":
            scenarios = {r["scenario"] for r in RULES}
            return grade(REFERENCE, [e for e in RUBRIC if e.id in scenarios], diagnosis=False)
        mutant = table.BY_ID[name]
        submission = table.write_submission(mutant, REFERENCE, self.folder / name)
        return grade(submission, entries_of(name), diagnosis=False)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def gradings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Start the gradings of every selected test of this module, in test order."""
    runs = Gradings(tmp_path_factory.mktemp("rule_mutants"))
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is sys.modules[__name__] and callspec is not None:
            runs.start(callspec.params.get("grading", ""))
    yield runs
    runs.close()


# -- the table itself (fast) ------------------------------------------------------------------


def test_every_row_has_a_known_mutant_or_a_reason_for_none() -> None:
    unknown = sorted({r["mutant"] for r in ROWS} - set(table.BY_ID))
    assert unknown == []
    without = {(r["scenario"], r["rule"]) for r in RULES if "mutant" not in r}
    assert without == set(table.UNBREAKABLE)
    unused = sorted(set(table.BY_ID) - {r["mutant"] for r in ROWS})
    assert unused == [], "mutants no row names"


def test_mutants_name_their_program_and_apply_to_the_reference() -> None:
    for mutant in table.MUTANTS:
        assert mutant.id.startswith(mutant.file.removesuffix(".py") + "_"), mutant.id
        text = table.mutated(mutant, REFERENCE)  # every snippet exactly once
        assert text != (REFERENCE / mutant.file).read_text(encoding="utf-8"), mutant.id
        compile(text, f"{mutant.id}/{mutant.file}", "exec")


def test_findings_name_rows_of_the_table() -> None:
    pairs = {(r["mutant"], r["scenario"]) for r in ROWS}
    assert set(table.NOT_AT_ITS_STEP) <= pairs
    assert set(table.COSTS_MORE) <= set(MUTANT_IDS)


# -- graded for real (slow) -------------------------------------------------------------------


def row_param(row: dict[str, str]) -> Any:
    key = (row["mutant"], row["scenario"])
    marks = []
    if key in table.NOT_AT_ITS_STEP:
        marks.append(pytest.mark.xfail(strict=True, reason=table.NOT_AT_ITS_STEP[key]))
    return pytest.param(row["mutant"], row, marks=marks, id=f"{row['scenario']}:{row['mutant']}")


def mutant_param(mutant_id: str) -> Any:
    marks = []
    if mutant_id in table.COSTS_MORE:
        marks.append(pytest.mark.xfail(strict=True, reason=table.COSTS_MORE[mutant_id]))
    return pytest.param(mutant_id, marks=marks, id=mutant_id)


@pytest.mark.slow
@pytest.mark.parametrize("grading", ["reference"])
def test_reference_passes_every_traced_scenario(grading: str, gradings: Gradings) -> None:
    report = gradings.report(grading)
    failed = {k: v for k, v in show(report).items() if v[0] != PASSED}
    assert failed == {}


@pytest.mark.slow
@pytest.mark.parametrize(("grading", "row"), [row_param(r) for r in ROWS])
def test_mutant_fails_at_the_step_of_its_rule(
    grading: str, row: dict[str, str], gradings: Gradings
) -> None:
    report = gradings.report(grading)
    result = next(r for r in report.results if r.id == row["scenario"])
    assert result.status in (FAILED, TIMED_OUT), (
        f"{row['scenario']} {result.status}: {result.reason or result.step}"
    )
    assert step_pattern(row["step"]).match(result.step), (
        f"failed at {result.step!r}, not at {row['step']!r}: {(result.got or '')[:300]}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("grading", [mutant_param(m) for m in MUTANT_IDS])
def test_mutant_costs_only_the_scenarios_of_its_rules(grading: str, gradings: Gradings) -> None:
    report = gradings.report(grading)
    own = {r["scenario"] for r in rows_of(grading)}
    others = {r.id for r in report.results} - own
    lost = {k: v for k, v in show(report, others).items() if v[0] != PASSED}
    assert lost == {}
