"""The harness grades programs written unlike the reference as a fair grader would.

Every folder here is one student's submission (``server.py`` and/or ``client.py``), written
in a style real students use; ``expected.toml`` says, scenario by scenario, the verdict a
fair grader gives it and which handout rule (§ of lab/README.md) each lost scenario
breaks.  Each submission is graded once, with ``--repeat 3``, exactly as an instructor
would (``python -m harness grade DIR --repeat 3 --json FILE``), and the tests check:

- every scenario's verdict is the fair one;
- the three runs agree, scenario by scenario;
- where a scenario is lost, its feedback names the cause in the student's terms.

Where the harness is not fair yet, the expectation stays the fair one and the test is
``xfail(strict=True)`` with what the harness does today (``unfair`` / ``feedback_unfair``
in expected.toml): it turns into a failure, to be unmarked, once the harness is fixed.
Where the harness's verdict changes from run to run today (``flaky_today``,
``nondeterministic``) the mark cannot be strict: a lucky run would fail it.

Grading all folders takes minutes.  ``CORPUS_REPORTS=DIR`` reads ``DIR/<folder>.json``
(reports written by ``python -m harness grade FOLDER --repeat 3 --json ...``) instead.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
KIT = HERE.parent.parent
RUBRIC = KIT / "lab" / "rubric.toml"
REPEAT = 3
STATUSES = {"passed", "failed", "skipped", "timed_out", "flaky", "error"}
FIELDS = {"status", "why", "feedback", "feedback_step", "unfair", "flaky_today", "feedback_unfair"}
PROGRAM_FIELDS = {"about", "score", "nondeterministic"}


def load_expected() -> dict[str, dict[str, Any]]:
    with (HERE / "expected.toml").open("rb") as f:
        return tomllib.load(f)


def load_rubric() -> dict[str, dict[str, Any]]:
    with RUBRIC.open("rb") as f:
        return {entry["id"]: entry for entry in tomllib.load(f)["scenario"]}


EXPECTED = load_expected()
SCENARIOS = load_rubric()
FILES = {"server": ("server.py",), "client": ("client.py",), "both": ("server.py", "client.py")}


def folders() -> list[str]:
    programs = ("server.py", "client.py")
    return sorted(p.name for p in HERE.iterdir() if any((p / f).is_file() for f in programs))


def graded_here(program: str) -> list[str]:
    """The scenarios the program's files can be graded on (the others are «нет файла»)."""
    have = {p.name for p in (HERE / program).iterdir()}
    return [sid for sid, e in SCENARIOS.items() if set(FILES[e["target"]]) <= have]


def expectation(program: str, scenario: str) -> dict[str, Any]:
    """What expected.toml says about one scenario; unlisted graded scenarios pass."""
    return EXPECTED[program].get(scenario, {"status": "passed"})


# -- expected.toml itself (fast) ----------------------------------------------------------------


def test_every_folder_has_expectations_and_nothing_else() -> None:
    assert set(EXPECTED) == set(folders())


@pytest.mark.parametrize("program", folders())
def test_expectations_are_well_formed(program: str) -> None:
    entry = EXPECTED[program]
    assert entry.get("about"), f"{program}: say what the program is and how it is written"
    graded = graded_here(program)
    for key, value in entry.items():
        if key in PROGRAM_FIELDS:
            continue
        assert key in graded, f"{program}: {key} is not a scenario this program is graded on"
        assert set(value) <= FIELDS, f"{program}.{key}: unknown fields {set(value) - FIELDS}"
        assert value.get("status") in STATUSES, f"{program}.{key}: status"
        if value["status"] != "passed" or {"unfair", "flaky_today"} & set(value):
            assert "§" in value.get("why", ""), f"{program}.{key}: why, with the handout rule (§)"
    fair = sum(
        SCENARIOS[sid]["points"]
        for sid in graded
        if expectation(program, sid)["status"] == "passed"
    )
    assert entry["score"] == fair, f"{program}: score {entry['score']}, statuses add up to {fair}"


# -- grading (slow) -----------------------------------------------------------------------------


@functools.cache
def report(program: str) -> dict[str, Any]:
    """The harness's JSON report on ``program``, graded once with --repeat 3."""
    cached = os.environ.get("CORPUS_REPORTS")
    if cached:
        return json.loads((Path(cached) / f"{program}.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "harness", "grade", str(HERE / program), "--quiet",
             "--repeat", str(REPEAT), "--json", str(out)],
            cwd=KIT, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert out.is_file(), f"no report:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return json.loads(out.read_text(encoding="utf-8"))


def result(program: str, scenario: str) -> dict[str, Any]:
    found = [r for r in report(program)["results"] if r["id"] == scenario]
    assert found, f"{scenario} is not in the report on {program}"
    return found[0]


def feedback(program: str, scenario: str) -> str:
    """Everything the student reads about one scenario, the start-up check's findings first."""
    r = result(program, scenario)
    parts = [" ".join(str(f.get(k, "")) for k in ("problem", "detail", "hint"))
             for f in report(program).get("findings", [])]  # fmt: skip
    parts += [str(r.get(k) or "") for k in ("reason", "step", "expected", "got", "hint")]
    return "\n".join(parts)


def cases(kind: str) -> list[Any]:
    """(program, scenario) parameters, xfail(strict) where the harness is unfair today."""
    out = []
    for program in folders():
        for scenario in graded_here(program):
            exp = expectation(program, scenario)
            if kind == "feedback" and not (exp.get("feedback") or exp.get("feedback_step")):
                continue
            unfair = exp.get("unfair" if kind == "verdict" else "feedback_unfair")
            marks = [pytest.mark.slow]
            if unfair:
                marks.append(pytest.mark.xfail(reason=unfair, strict=True))
            elif kind == "verdict" and exp.get("flaky_today"):
                marks.append(pytest.mark.xfail(reason=exp["flaky_today"], strict=False))
            out.append(pytest.param(program, scenario, marks=marks, id=f"{program}-{scenario}"))
    return out


@pytest.mark.parametrize(("program", "scenario"), cases("verdict"))
def test_verdict_is_fair(program: str, scenario: str) -> None:
    exp = expectation(program, scenario)
    r = result(program, scenario)
    assert r["status"] == exp["status"], (
        f"{program}/{scenario}: {r['status']} (runs {r.get('runs')}), fair: {exp['status']} — "
        f"{exp.get('why', 'nothing in it breaks a rule of the handout')}\n"
        f"step: {r.get('step')}\ngot: {str(r.get('got'))[:600]}"
    )


@pytest.mark.parametrize(("program", "scenario"), cases("feedback"))
def test_feedback_names_the_cause(program: str, scenario: str) -> None:
    exp = expectation(program, scenario)
    text = feedback(program, scenario).casefold()
    missing = [w for w in exp.get("feedback", []) if w.casefold() not in text]
    assert not missing, f"{program}/{scenario}: feedback lacks {missing}:\n{text[:1500]}"
    step = str(result(program, scenario).get("step") or "").casefold()
    missing = [w for w in exp.get("feedback_step", []) if w.casefold() not in step]
    assert not missing, f"{program}/{scenario}: the failed step «{step}» does not name {missing}"


def repeat_cases() -> list[Any]:
    out = []
    for program in folders():
        marks = [pytest.mark.slow]
        why = EXPECTED[program].get("nondeterministic")
        if why:
            marks.append(pytest.mark.xfail(reason=why, strict=False))
        out.append(pytest.param(program, marks=marks, id=program))
    return out


@pytest.mark.parametrize("program", repeat_cases())
def test_repeats_agree(program: str) -> None:
    rep = report(program)
    assert rep["repeat"] == REPEAT
    mixed = {r["id"]: r["runs"] for r in rep["results"] if len(set(r["runs"])) != 1}
    assert not mixed, f"{program}: runs differ: {mixed}"
