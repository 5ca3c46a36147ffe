"""lab/rubric.toml is a valid rubric, and the handout's scoring tables say what it says."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Callable

import pytest
from lab_markdown import Table, unquote

TARGETS = {"server": "сервер", "client": "клиент", "both": "оба"}
VISIBILITY = {False: "открытый", True: "скрытый"}
REQUIRED_KEYS = {"id", "title", "points", "part", "target"}
ALLOWED_KEYS = REQUIRED_KEYS | {"hidden"}
PARTS = range(1, 6)


# --- the rubric file itself ----------------------------------------------------------


def test_rubric_entries_have_exactly_the_known_keys(rubric: list[dict[str, Any]]) -> None:
    for entry in rubric:
        assert REQUIRED_KEYS <= entry.keys() <= ALLOWED_KEYS, entry


def test_rubric_ids_are_unique_identifiers(rubric: list[dict[str, Any]]) -> None:
    ids = [entry["id"] for entry in rubric]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids


def test_rubric_points_are_positive_and_total_100(rubric: list[dict[str, Any]]) -> None:
    points = [entry["points"] for entry in rubric]
    assert all(isinstance(p, (int, float)) and p > 0 for p in points), points
    assert sum(points) == 100


def test_rubric_parts_are_1_to_5_and_each_part_is_graded(rubric: list[dict[str, Any]]) -> None:
    parts = {entry["part"] for entry in rubric}
    assert parts == set(PARTS)


def test_rubric_targets_are_server_client_or_both(rubric: list[dict[str, Any]]) -> None:
    assert {entry["target"] for entry in rubric} <= TARGETS.keys()


def test_rubric_hidden_is_a_boolean_and_titles_are_present(rubric: list[dict[str, Any]]) -> None:
    for entry in rubric:
        assert isinstance(entry.get("hidden", False), bool), entry["id"]
        assert isinstance(entry["title"], str) and entry["title"].strip(), entry["id"]


def test_rubric_id_prefix_names_its_target(rubric: list[dict[str, Any]]) -> None:
    for entry in rubric:
        if entry["id"].startswith("server_"):
            assert entry["target"] == "server", entry["id"]
        elif entry["id"].startswith("client_"):
            assert entry["target"] == "client", entry["id"]
        else:
            assert entry["target"] == "both", entry["id"]


# --- the handout's tables -------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario_table(table_headed: Callable[..., list[Table]]) -> Table:
    found = table_headed("Сценарий", "Что проверяется")
    assert len(found) == 1, "в lab/README.md нужна ровно одна таблица сценариев"
    return found[0]


def handout_row(entry: dict[str, Any]) -> list[str]:
    """The row the handout must show for one rubric entry."""
    return [
        f"`{entry['id']}`",
        entry["title"],
        str(entry["part"]),
        TARGETS[entry["target"]],
        str(int(entry["points"]) if float(entry["points"]).is_integer() else entry["points"]),
        VISIBILITY[entry.get("hidden", False)],
    ]


def test_handout_scenario_table_matches_rubric_row_by_row(
    scenario_table: Table, rubric: list[dict[str, Any]]
) -> None:
    assert scenario_table.header == [
        "Сценарий",
        "Что проверяется",
        "Часть",
        "Программа",
        "Баллы",
        "Видимость",
    ]
    assert scenario_table.rows == [handout_row(entry) for entry in rubric]


def test_handout_scenario_table_totals_100(scenario_table: Table) -> None:
    points = scenario_table.column("Баллы")
    assert sum(float(row[points]) for row in scenario_table.rows) == 100


def test_handout_part_totals_match_rubric(
    table_headed: Callable[..., list[Table]], rubric: list[dict[str, Any]]
) -> None:
    (table,) = table_headed("Часть", "Тема", "Баллы")
    per_part = Counter()
    for entry in rubric:
        per_part[entry["part"]] += entry["points"]
    body = [row for row in table.rows if row[0]]
    assert [(int(r[0]), float(r[2])) for r in body] == sorted(per_part.items())
    total_row = [row for row in table.rows if not row[0]]
    assert total_row == [["", "**Итого**", "**100**"]]


def test_handout_totals_per_program_and_visibility_match_rubric(
    handout: str, rubric: list[dict[str, Any]]
) -> None:
    by_target = Counter()
    by_hidden = Counter()
    for entry in rubric:
        by_target[entry["target"]] += entry["points"]
        by_hidden[entry.get("hidden", False)] += entry["points"]
    match = re.search(
        r"за сервер — (\d+) балл\w*, за клиент — (\d+), за совместную работу — (\d+)", handout
    )
    assert match, "в lab/README.md нет фразы о баллах за сервер, клиент и совместную работу"
    assert [int(g) for g in match.groups()] == [
        by_target["server"],
        by_target["client"],
        by_target["both"],
    ]
    match = re.search(r"Открытые сценарии дают (\d+) балл\w*, скрытые — (\d+)", handout)
    assert match, "в lab/README.md нет фразы о баллах открытых и скрытых сценариев"
    assert [int(g) for g in match.groups()] == [by_hidden[False], by_hidden[True]]


def test_handout_names_hidden_scenarios_only_where_rubric_hides_them(
    scenario_table: Table, rubric: list[dict[str, Any]]
) -> None:
    hidden_in_table = {
        unquote(row[0]) for row in scenario_table.rows if row[-1] == VISIBILITY[True]
    }
    assert hidden_in_table == {e["id"] for e in rubric if e.get("hidden", False)}
