"""Every rule of the handout is graded by a scenario step (lab/traceability.toml), irctest-style.

The table quotes each rule from lab/README.md and names the scenario step that fails when the
rule is broken.  These tests keep it true: the quote is in the handout, in the section it
names; the step exists in that scenario; every process rule of §5.11 and every error code of
lab/protocol.json is covered.  Rows that name a ``mutant`` are graded for real by
tests/broken (the mutant loses exactly that scenario).
"""

from __future__ import annotations

import ast
import functools
import json
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KIT = Path(__file__).resolve().parents[2]
HANDOUT = (KIT / "lab" / "README.md").read_text(encoding="utf-8")
RULES = tomllib.loads((KIT / "lab" / "traceability.toml").read_text(encoding="utf-8"))["rule"]
RUBRIC = {e["id"] for e in tomllib.loads((KIT / "lab" / "rubric.toml").read_text())["scenario"]}
SCENARIO_FILES = sorted((KIT / "harness" / "scenarios").glob("*.py"))


def squash(text: str) -> str:
    return " ".join(text.split())


@functools.cache
def sections() -> dict[str, str]:
    """Handout text by section number ("5.11" → its text, "5" → the whole of §5)."""
    found: dict[str, str] = {}
    heads = list(re.finditer(r"^(#{2,3}) (\d+(?:\.\d+)?)\. ", HANDOUT, re.M))
    for i, head in enumerate(heads):
        level = len(head.group(1))
        end = next((h.start() for h in heads[i + 1 :] if len(h.group(1)) <= level), len(HANDOUT))
        found[head.group(2)] = HANDOUT[head.start() : end]
    return found


@functools.cache
def step_templates() -> dict[str, list[str]]:
    """The ctx.step texts of each scenario module's functions ({} for f-string fields)."""
    steps: dict[str, list[str]] = {}
    for path in SCENARIO_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        texts = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "step":
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    texts.append(arg.value)
                elif isinstance(arg, ast.JoinedStr):
                    texts.append(
                        "".join(
                            v.value if isinstance(v, ast.Constant) else "{}" for v in arg.values
                        )
                    )
        steps[path.stem] = texts
    return steps


def module_of(scenario: str) -> str:
    for path in SCENARIO_FILES:
        if re.search(rf'scenario\(\s*"{scenario}"', path.read_text(encoding="utf-8")):
            return path.stem
    raise AssertionError(f"no module registers {scenario}")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r['scenario']}:{r['step'][:30]}")
def test_rule_is_quoted_from_its_section_and_graded_by_a_real_step(rule: dict[str, str]) -> None:
    section = sections().get(rule["section"])
    assert section is not None, f"§{rule['section']} is not a section of lab/README.md"
    assert squash(rule["rule"]) in squash(section), f"not in §{rule['section']}: {rule['rule']}"
    assert rule["scenario"] in RUBRIC, rule["scenario"]
    steps = step_templates()[module_of(rule["scenario"])]
    assert any(text.startswith(rule["step"]) for text in steps), (
        f"no step of {rule['scenario']} starts with {rule['step']!r}"
    )


def test_every_process_rule_of_the_server_and_the_client_is_traced() -> None:
    """Each bullet of §5.11 (what the server and the client do as processes) has a row."""
    bullets = [squash(b) for b in re.findall(r"^- (.+)$", sections()["5.11"], re.M)]
    traced = [squash(r["rule"]) for r in RULES]
    missing = [b for b in bullets if not any(t in b or b in t for t in traced)]
    assert missing == []


def test_every_error_code_is_provoked_by_some_scenario() -> None:
    codes = json.loads((KIT / "lab" / "protocol.json").read_text(encoding="utf-8"))["error_codes"]
    source = "".join(p.read_text(encoding="utf-8") for p in SCENARIO_FILES)
    missing = [code for code in codes if f'"{code}"' not in source]
    assert missing == []


def test_every_scenario_grades_at_least_one_rule() -> None:
    assert RUBRIC - {r["scenario"] for r in RULES} == set()
