"""Generate the message reference from lab/protocol.json at build time.

A page asks for a generated part with a fenced block::

    ```protocol-reference
    server_messages
    ```

Before MyST parses the page, the block is replaced by Markdown built from
lab/protocol.json (headings, tables, one-line JSON examples as they travel on
the wire), so the reference is never retyped and gets real headings, anchors
and search entries. The page is rebuilt whenever protocol.json changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

FENCE = re.compile(r"^```protocol-reference[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


def protocol_path(app: Sphinx) -> Path:
    return Path(app.confdir).parent / "lab" / "protocol.json"


def load_protocol(app: Sphinx) -> dict[str, Any]:
    return json.loads(protocol_path(app).read_text(encoding="utf-8"))


def wire(obj: Any) -> str:
    """One JSON line exactly as the reference programs write it (without the newline)."""
    return json.dumps(obj, ensure_ascii=False)


def cell(text: str) -> str:
    """Make text safe inside one cell of a Markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def code(text: Any) -> str:
    text = str(text)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def table(headers: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def describe_type(schema: dict[str, Any], definitions: dict[str, Any]) -> str:
    """A short Russian description of a property's JSON Schema."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return describe_type(definitions[name], definitions)
    if "const" in schema:
        return "всегда " + code(wire(schema["const"]))
    if "enum" in schema:
        return "одно из: " + ", ".join(code(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return "массив; элемент: " + describe_type(schema.get("items", {}), definitions)
    words = {
        "string": "строка",
        "boolean": "логическое (`true`/`false`)",
        "integer": "целое число",
        "number": "число",
        "object": "объект",
    }
    parts = [words.get(kind, str(kind))]
    if "minLength" in schema or "maxLength" in schema:
        parts.append(f"{schema.get('minLength', 0)}–{schema.get('maxLength', '…')} символов")
    if "minimum" in schema:
        parts.append(f"не меньше {schema['minimum']}")
    if "pattern" in schema:
        parts.append("шаблон " + code(schema["pattern"]))
    return ", ".join(parts)


def conditional_requirements(schema: dict[str, Any]) -> dict[str, str]:
    """Field -> condition text, from `allOf: [{if: {properties: {...}}, then: {required}}]`."""
    found: dict[str, str] = {}
    for rule in schema.get("allOf", []):
        conditions = []
        for field, test in rule.get("if", {}).get("properties", {}).items():
            values = test.get("enum", [test.get("const")])
            conditions.append(f"{code(field)} = " + ", ".join(code(v) for v in values))
        for field in rule.get("then", {}).get("required", []):
            found[field] = "при " + "; ".join(conditions)
    return found


def fields_table(schema: dict[str, Any], definitions: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    conditional = conditional_requirements(schema)
    rows = []
    for field, sub in schema.get("properties", {}).items():
        need = "да" if field in required else conditional.get(field, "нет")
        rows.append([code(field), describe_type(sub, definitions), need])
    text = table(["Поле", "Значение", "Обязательно"], rows)
    forbidden = schema.get("not", {}).get("required", [])
    if forbidden:
        text += "\nПоля " + ", ".join(code(f) for f in forbidden) + " в этом сообщении нет.\n"
    return text


def messages(proto: dict[str, Any], key: str, level: int) -> str:
    side = "client" if key == "client_messages" else "server"
    hashes = "#" * level
    out = []
    for name, spec in proto[key].items():
        examples = spec.get("examples") or [spec["example"]]
        label = "Пример" if len(examples) == 1 else "Примеры"
        out.append(f"(msg-{side}-{name})=\n{hashes} {code(name)}\n")
        out.append(spec["summary_ru"] + "\n")
        out.append(fields_table(spec["schema"], proto["definitions"]))
        out.append(f"{label} (одна строка на проводе, за ней `\\n`):\n")
        # One block per message: on a narrow column a long line wraps, indented (kit.css).
        block = "```{{code-block}} json\n:class: wire-example\n\n{}\n```\n"
        out += [block.format(wire(e)) for e in examples]
    return "\n".join(out)


def error_codes(proto: dict[str, Any], level: int) -> str:
    rows = [
        [code(name), "**да**, соединение закрывается" if e["fatal"] else "нет", e["ru"]]
        for name, e in proto["error_codes"].items()
    ]
    return table(["Код (`code`)", "Фатальная (`fatal`)", "Когда"], rows)


def mapping(proto: dict[str, Any], key: str, header: str) -> str:
    return table([header, "Значение"], ([code(k), v] for k, v in proto[key].items()))


def options(proto: dict[str, Any], key: str) -> str:
    rows = [
        [code(opt), code(spec["type"]), code(wire(spec["default"])), spec["help_ru"]]
        for opt, spec in proto[key].items()
    ]
    return table(["Ключ", "Тип", "По умолчанию", "Смысл"], rows)


def client_commands(proto: dict[str, Any], level: int) -> str:
    client = proto["client"]
    rows = [
        [code(f"{cmd} {spec['args']}".strip()), spec["ru"]]
        for cmd, spec in client["commands"].items()
    ]
    text = table(["Команда", "Что делает"], rows)
    yes = ", ".join(code(a) for a in client["answers_yes"])
    no = ", ".join(code(a) for a in client["answers_no"])
    text += (
        f"\nПриглашение ввода имени: {code(client['name_prompt'])}.\n"
        f"На запрос сессии «да» — это {yes}; «нет» — {no}.\n"
    )
    if "pending_requests" in client:
        text += client["pending_requests"]["ru"] + "\n"
    return text


def display(proto: dict[str, Any], level: int) -> str:
    shown = proto["client"]["display"]

    def graded(spec: dict[str, Any]) -> str:
        parts = [code(g) for g in spec.get("graded", [])]
        parts += ["**нет** " + code(g) for g in spec.get("graded_absent", [])]
        return ", ".join(parts) or "не показывается"

    rows = [
        [code(name), code(spec["reference"]) if spec["reference"] else "—", graded(spec)]
        for name, spec in shown["messages"].items()
    ]
    text = table(["Тип сообщения", "Строка эталонного клиента", "Что проверяется"], rows)
    prompts = [
        [code(key), code(shown[key]["reference"]), graded(shown[key])]
        for key in ("prompt_general", "prompt_session")
    ]
    text += "\n" + table(["Приглашение", "Эталон", "Что проверяется"], prompts)
    local = [
        [code(key), code(shown[key]["reference"]), graded(shown[key])]
        for key in ("help", "unknown_command")
        if key in shown
    ]
    if local:
        text += "\nСтроки, которые клиент печатает сам, ничего не отправляя серверу:\n\n"
        text += table(["Случай", "Эталон", "Что проверяется"], local)
    never = ", ".join(code(s) for s in shown["never_on_screen"])
    text += (
        f"\nНа экране никогда не должно быть: {never}.\n"
        f"Когда сервер пропал, эталонный клиент пишет {code(shown['server_gone']['reference'])}"
        " и завершается с ненулевым кодом;"
        f" после `/quit` код выхода {code(shown['quit']['exit_status'])}.\n"
    )
    return text


def limits(proto: dict[str, Any], level: int) -> str:
    t, lim = proto["transport"], proto["limits"]
    rows = [
        ["Адрес по умолчанию", code(f"{t['default_host']}:{t['default_port']}")],
        ["Кодировка", code(t["encoding"])],
        ["Строка готовности сервера", code(t.get("ready_line", "—"))],
        ["Разделитель сообщений", code(wire(t["delimiter"]))],
        ["Наибольшая длина строки", f"{lim['max_line_bytes']} байт"],
        ["Наибольшая длина текста", f"{lim['max_text_chars']} символов"],
        ["Имя пользователя", lim["username_rule_ru"]],
        ["Как тесты находят в ней адрес (регулярное выражение)", code(t["ready_line_regex"])],
    ]
    return table(["Что", "Значение"], rows)


GENERATORS: dict[str, Callable[[dict[str, Any], int], str]] = {
    "client_messages": lambda p, lv: messages(p, "client_messages", lv),
    "server_messages": lambda p, lv: messages(p, "server_messages", lv),
    "error_codes": error_codes,
    "system_events": lambda p, lv: mapping(p, "system_events", "Событие (`event`)"),
    "leave_reasons": lambda p, lv: mapping(p, "leave_reasons", "Причина (`reason`)"),
    "session_end_reasons": lambda p, lv: mapping(p, "session_end_reasons", "Причина (`reason`)"),
    "server_options": lambda p, lv: options(p, "server_options"),
    "client_options": lambda p, lv: options(p, "client_options"),
    "client_commands": client_commands,
    "display": display,
    "limits": limits,
}


def render(proto: dict[str, Any], body: str) -> str:
    """Markdown for one fenced request: first word is the part, `level N` sets headings."""
    words = body.split()
    if not words or words[0] not in GENERATORS:
        raise ExtensionError(
            f"protocol-reference: неизвестная часть {words[:1]}; есть: {', '.join(GENERATORS)}"
        )
    level = int(words[words.index("level") + 1]) if "level" in words else 3
    return GENERATORS[words[0]](proto, level)


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if "```protocol-reference" not in source[0]:
        return
    proto = load_protocol(app)
    app.env.note_dependency(str(protocol_path(app)))
    source[0] = FENCE.sub(lambda m: render(proto, m.group("body")), source[0])


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("source-read", on_source_read)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
