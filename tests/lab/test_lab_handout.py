"""The student handout (lab/README.md) covers lab/protocol.json completely and correctly."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest
from jsonschema import Draft7Validator
from lab_markdown import HANDOUT, JsonLine, Table, parse_json_lines, unquote

# The message examples of the original assignment (shared/seed/assignment-ru.md), verbatim.
SEED_EXAMPLES: list[dict[str, Any]] = [
    {"username": "Alice"},
    {"type": "message", "message": "Привет всем!"},
    {"type": "private", "target_username": "Bob", "message": "Привет! Как дела?"},
    {"type": "session_request", "target_username": "Bob"},
    {"type": "session_response", "target_username": "Alice", "accepted": True},
    {"type": "users"},
    {
        "type": "system",
        "message": "Добро пожаловать в чат, Alice!",
        "timestamp": "2024-01-15T14:30:00",
        "online_users": 3,
    },
    {
        "type": "users_list",
        "users": ["Alice", "Bob", "Charlie"],
        "timestamp": "2024-01-15T14:30:00",
    },
    {
        "type": "private",
        "from_username": "Bob",
        "message": "Привет! Как дела?",
        "timestamp": "2024-01-15T14:30:00",
    },
    {
        "type": "session_request",
        "from_username": "Alice",
        "message": "Alice хочет начать приватную сессию с вами",
        "timestamp": "2024-01-15T14:30:00",
    },
    {
        "type": "session_accepted",
        "from_username": "Alice",
        "to_username": "Bob",
        "message": "Приватная сессия между Alice и Bob установлена",
        "timestamp": "2024-01-15T14:30:00",
    },
    {
        "type": "session_rejected",
        "from_username": "Alice",
        "to_username": "Bob",
        "message": "Приватная сессия между Alice и Bob отклонена",
        "timestamp": "2024-01-15T14:30:00",
    },
]
YES_NO = {False: "нет", True: "да"}


def only_table(table_headed: Callable[..., list[Table]], *first: str) -> Table:
    found = table_headed(*first)
    assert len(found) == 1, f"в {HANDOUT.name} нужна ровно одна таблица с заголовком {first}"
    return found[0]


def plain(value: Any) -> str:
    """A default as the handout writes it: 30, not 30.0 or 1.04858e+06."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def first_column(table: Table) -> list[str]:
    return [unquote(row[0]) for row in table.rows]


# --- every name in the protocol is in the handout ----------------------------------------


@pytest.mark.parametrize("section", ["client_messages", "server_messages"])
def test_handout_mentions_every_message_type(
    section: str, protocol: dict[str, Any], code_spans: set[str]
) -> None:
    types = set(protocol[section]) - {"register"}
    assert types - code_spans == set()


def test_handout_client_message_table_lists_exactly_the_client_types(
    table_headed: Callable[..., list[Table]], protocol: dict[str, Any]
) -> None:
    table = only_table(table_headed, "`type`", "Поля", "Что делает сервер")
    assert sorted(first_column(table)) == sorted(set(protocol["client_messages"]) - {"register"})


def test_handout_server_message_table_lists_exactly_the_server_types(
    table_headed: Callable[..., list[Table]], protocol: dict[str, Any]
) -> None:
    table = only_table(table_headed, "`type`", "Поля (кроме `type` и `timestamp`)")
    assert sorted(first_column(table)) == sorted(protocol["server_messages"])


def test_handout_error_table_lists_every_code_with_its_fatal_flag(
    table_headed: Callable[..., list[Table]], protocol: dict[str, Any]
) -> None:
    table = only_table(table_headed, "Код", "Фатальная")
    in_handout = {unquote(row[0]): row[1] for row in table.rows}
    expected = {code: YES_NO[info["fatal"]] for code, info in protocol["error_codes"].items()}
    assert in_handout == expected


def test_error_codes_agree_between_schema_and_code_table(protocol: dict[str, Any]) -> None:
    schema_codes = protocol["server_messages"]["error"]["schema"]["properties"]["code"]["enum"]
    assert sorted(schema_codes) == sorted(protocol["error_codes"])


def test_handout_reason_tables_list_exactly_the_leave_and_session_end_reasons(
    table_headed: Callable[..., list[Table]], protocol: dict[str, Any]
) -> None:
    reason_sets = sorted(sorted(first_column(t)) for t in table_headed("`reason`"))
    assert reason_sets == sorted(
        [sorted(protocol["leave_reasons"]), sorted(protocol["session_end_reasons"])]
    )


def test_handout_system_event_table_lists_every_event(
    table_headed: Callable[..., list[Table]], protocol: dict[str, Any]
) -> None:
    table = only_table(table_headed, "`event`")
    assert sorted(first_column(table)) == sorted(protocol["system_events"])


def test_handout_lists_every_server_option_with_its_default(
    table_headed: Callable[..., list[Table]], protocol: dict[str, Any]
) -> None:
    table = only_table(table_headed, "Параметр", "По умолчанию")
    in_handout = {unquote(row[0]): unquote(row[1]) for row in table.rows}
    expected = {opt: plain(info["default"]) for opt, info in protocol["server_options"].items()}
    assert in_handout == expected


def test_handout_states_client_options_and_defaults(handout: str, protocol: dict[str, Any]) -> None:
    for option, info in protocol["client_options"].items():
        assert f"`{option}` (по умолчанию `{info['default']}`)" in handout, option


def test_handout_command_table_lists_every_client_command(
    table_headed: Callable[..., list[Table]], protocol: dict[str, Any]
) -> None:
    table = only_table(table_headed, "Команда")
    commands = protocol["client"]["commands"]
    expected = sorted(f"{name} {c['args']}".strip() for name, c in commands.items())
    assert sorted(first_column(table)) == expected


def test_handout_names_every_y_and_n_answer(protocol: dict[str, Any], code_spans: set) -> None:
    answers = set(protocol["client"]["answers_yes"]) | set(protocol["client"]["answers_no"])
    assert answers - code_spans == set()


def test_handout_says_pending_requests_are_answered_oldest_first(
    handout: str, protocol: dict[str, Any]
) -> None:
    assert protocol["client"]["pending_requests"]["order"] == "oldest_first"
    assert "**самому старому**" in handout


def test_handout_states_the_limits(handout: str, protocol: dict[str, Any]) -> None:
    limits = protocol["limits"]
    assert f"от 1 до {limits['max_text_chars']} символов" in handout
    assert f"1–{limits['username_max_chars']} символа" in handout
    assert f'r"{limits["username_regex"].strip("^$")}"' in handout


# --- the process contract ----------------------------------------------------------------


def test_handout_ready_line_examples_match_the_ready_line_regex(
    handout: str, protocol: dict[str, Any]
) -> None:
    transport = protocol["transport"]
    prefix = transport["ready_line"].split("{")[0]
    examples = [line for line in handout.splitlines() if line.startswith(prefix)]
    assert examples, f"нет примера строки готовности «{prefix}…»"
    for line in examples:
        assert re.search(transport["ready_line_regex"], line), line


def test_handout_shows_the_client_display_contract_templates(
    protocol: dict[str, Any], code_spans: set[str]
) -> None:
    display = protocol["client"]["display"]
    templates = [m["reference"] for m in display["messages"].values() if m["reference"]]
    templates += [display[k]["reference"] for k in ("help", "unknown_command", "server_gone")]
    templates += [display["prompt_general"]["reference"], display["prompt_session"]["reference"]]
    templates.append(protocol["client"]["name_prompt"])
    assert [t for t in templates if t not in code_spans] == []


def test_handout_names_what_must_never_be_on_screen(handout: str, protocol: dict[str, Any]) -> None:
    for text in protocol["client"]["display"]["never_on_screen"]:
        assert f"`{text}`" in handout


# --- JSON examples -----------------------------------------------------------------------


def schema_for(value: dict[str, Any], protocol: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Which protocol message an example is: by `type`; a bare `username` is registration.

    Types both sides use (message, private, session_request) are told apart by
    `timestamp`, which only the server sends.
    """
    if "type" not in value:
        name, section = "register", "client_messages"
    else:
        name = value["type"]
        in_client = name in protocol["client_messages"]
        in_server = name in protocol["server_messages"]
        from_server = in_server and (not in_client or "timestamp" in value)
        section = "server_messages" if from_server else "client_messages"
    message = protocol[section].get(name)
    assert message is not None, f"в protocol.json нет сообщения {name!r}"
    return f"{section}.{name}", {**message["schema"], "definitions": protocol["definitions"]}


def validation_errors(value: Any, protocol: dict[str, Any]) -> list[str]:
    if not isinstance(value, dict):
        return ["не JSON-объект"]
    where, schema = schema_for(value, protocol)
    Draft7Validator.check_schema(schema)
    errors = [f"{where}: {e.message}" for e in Draft7Validator(schema).iter_errors(value)]
    declared = set(schema.get("properties", {}))
    errors += [f"{where}: поле {k!r} не описано в схеме" for k in value if k not in declared]
    return errors


def test_every_json_block_line_is_one_json_object(json_lines: list[JsonLine]) -> None:
    assert json_lines, "в lab/README.md нет примеров ```json"
    bad = [f"строка {j.line}: {j.text}" for j in json_lines if not isinstance(j.value, dict)]
    assert bad == []


def test_every_json_example_validates_against_its_protocol_schema(
    json_lines: list[JsonLine], protocol: dict[str, Any]
) -> None:
    problems = [
        f"строка {j.line}: {err}"
        for j in json_lines
        if isinstance(j.value, dict)
        for err in validation_errors(j.value, protocol)
    ]
    assert problems == []


def test_every_message_type_has_a_json_example(
    json_lines: list[JsonLine], protocol: dict[str, Any]
) -> None:
    shown = {schema_for(j.value, protocol)[0] for j in json_lines if isinstance(j.value, dict)}
    expected = {f"client_messages.{t}" for t in protocol["client_messages"]}
    expected |= {f"server_messages.{t}" for t in protocol["server_messages"]}
    assert expected - shown == set()


def test_every_system_event_has_a_json_example(
    json_lines: list[JsonLine], protocol: dict[str, Any]
) -> None:
    events = {
        j.value.get("event")
        for j in json_lines
        if isinstance(j.value, dict) and j.value.get("type") == "system"
    }
    assert set(protocol["system_events"]) - events == set()


def test_handout_shows_a_fatal_and_a_non_fatal_error_example(json_lines: list[JsonLine]) -> None:
    errors = [
        j.value for j in json_lines if isinstance(j.value, dict) and j.value.get("type") == "error"
    ]
    assert {bool(e.get("fatal", False)) for e in errors} == {False, True}


def test_protocol_examples_validate_against_their_own_schemas(protocol: dict[str, Any]) -> None:
    problems = []
    for section in ("client_messages", "server_messages"):
        for name, message in protocol[section].items():
            examples = message.get("examples") or [message["example"]]
            for example in examples:
                problems += [f"{name}: {e}" for e in validation_errors(example, protocol)]
    assert problems == []


def test_handout_keeps_every_example_of_the_original_assignment(
    json_lines: list[JsonLine],
) -> None:
    """Each example of the seed assignment is in the handout, its fields and values kept."""
    ours = [j.value for j in json_lines if isinstance(j.value, dict)]
    missing = [
        example
        for example in SEED_EXAMPLES
        if not any(all(o.get(k, object()) == v for k, v in example.items()) for o in ours)
    ]
    assert missing == []


def test_parse_json_lines_reads_each_line_of_a_block_on_its_own() -> None:
    text = 'x\n```json\n{"a": 1}\n\n{"b": \n```\n```text\n{"c": 3}\n```\n'
    lines = parse_json_lines(text)
    assert [(j.line, j.value) for j in lines] == [(3, {"a": 1}), (5, None)]


# --- links ---------------------------------------------------------------------------------


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_table_of_contents_links_reach_headings(handout: str) -> None:
    anchors = {github_slug(h) for h in re.findall(r"^#{1,6} (.+)$", handout, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", handout)
    assert links, "в lab/README.md нет оглавления"
    assert [link for link in links if link not in anchors] == []


def test_links_to_lab_files_point_to_existing_files(handout: str) -> None:
    targets = re.findall(r"\]\(([\w.\-]+)\)", handout)
    assert targets
    assert [t for t in targets if not (HANDOUT.parent / t).is_file()] == []
