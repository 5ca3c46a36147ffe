"""The harness's import graph is a tree, and the report renderers stand apart from the engine.

Every import is counted, also those inside functions (a lazy import hides a cycle, it does
not remove it), as ``harness/__init__.py`` promises.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import harness

KIT = Path(__file__).resolve().parents[2]
PACKAGE = KIT / "harness"
ENGINE = ("harness.runner", "harness.sandbox", "harness.scenarios")
MAP_ENTRY = re.compile(r"^- ((?:``\w+``(?:, )?)+)", re.MULTILINE)


def map_names(text: str) -> list[str]:
    """The module names a part of the module map lists (``- ``a``, ``b`` — …``)."""
    return [n for entry in MAP_ENTRY.findall(text) for n in re.findall(r"``(\w+)``", entry)]


MAP = harness.__doc__ or ""
READERS_PART = MAP[MAP.index("Reports and tools that read them") :].split("\n\n")[1]
RENDERERS = tuple(
    dict.fromkeys(
        ["harness.report", "harness.classpage", "harness.classroom", "harness.roster"]
        + [f"harness.{name}" for name in map_names(READERS_PART)]
    )
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(KIT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The harness module ``name`` is, or is inside of (``harness.x.y`` → ``harness.x``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """Every harness module ``module`` imports, at any depth of its code."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from harness import report`` imports the module harness.report
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            names = [node.args[0].value]  # type: ignore[attr-defined]
        for name in names:
            target = resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


def _is_dynamic_import(node: ast.Call) -> bool:
    """``importlib.import_module("harness.x")`` / ``__import__("harness.x")`` with a literal."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return (
        called in ("import_module", "__import__")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


GRAPH = {module: imports_of(module) for module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as a path (first = last), or [] when there is none."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = "done"
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    source = "def late():\n    from harness import verdict\n"
    tree = ast.parse(source)
    inner = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert inner, "the walk must reach imports inside functions"
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_graph_sees_the_imports_the_core_is_known_to_make() -> None:
    assert "harness.verdict" in GRAPH["harness.probe"]
    assert "harness.scenarios" in GRAPH["harness.runner"]  # a plain ``import harness.scenarios``
    assert "harness.report" in GRAPH["harness.cli"]  # ``from harness import report``


def test_harness_import_graph_has_no_cycle_counting_function_level_imports() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle == [], "import cycle: " + " → ".join(cycle)


def test_the_leaf_modules_import_no_other_harness_module() -> None:
    """Verdicts, kit paths and transcripts are leaves everything else may import."""
    assert GRAPH["harness.verdict"] == set()
    assert GRAPH["harness.kit"] <= {"harness"}
    assert GRAPH["harness.transcript"] <= {"harness.verdict"}


def test_the_module_map_names_every_module_and_only_modules_that_exist() -> None:
    named = set(map_names(MAP))
    top = {m.split(".")[1] for m in MODULES if m.count(".") >= 1} - {"__main__"}
    assert sorted(top - named) == [], "modules missing from the map in harness/__init__.py"
    assert sorted(named - top) == [], "the map names modules that do not exist"


def test_scenario_modules_import_tools_never_each_other() -> None:
    scenario_modules = {m for m in MODULES if m.startswith("harness.scenarios.")}
    for module in scenario_modules:
        assert not GRAPH[module] & scenario_modules, (module, GRAPH[module] & scenario_modules)


def reach(start: str) -> set[str]:
    """Every harness module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in GRAPH.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_report_renderer_never_imports_the_engine_not_even_inside_a_function(
    renderer: str,
) -> None:
    assert sorted(reach(renderer) & set(ENGINE)) == []


@pytest.mark.parametrize("renderer", RENDERERS)
def test_importing_a_report_renderer_loads_neither_runner_sandbox_nor_scenarios(
    renderer: str,
) -> None:
    code = (
        f"import {renderer}, sys; print(sorted(m for m in sys.modules if m.startswith('harness')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=KIT
    )
    assert proc.returncode == 0, proc.stderr
    loaded = set(ast.literal_eval(proc.stdout.strip()))
    assert renderer in loaded
    engine = {m for m in loaded if m in ENGINE or m.startswith("harness.scenarios.")}
    assert engine == set(), f"{renderer} loads {sorted(engine)}"
