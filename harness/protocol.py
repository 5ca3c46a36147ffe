"""What the protocol says, read from ``lab/protocol.json``: limits, codes, messages, display.

The scenarios read every limit, reason and option from here, never from a literal of
their own, so an instructor who edits ``protocol.json`` edits the grader too.
:func:`server_message_problem` validates a received message against its JSON Schema.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

import jsonschema

from harness.kit import PROTOCOL_FILE


@functools.cache
def protocol() -> dict[str, Any]:
    """The parsed ``lab/protocol.json``."""
    with PROTOCOL_FILE.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@functools.cache
def ready_line_regex() -> re.Pattern[str]:
    """The pattern of the server's ready line (group ``port`` holds the real port)."""
    return re.compile(protocol()["transport"]["ready_line_regex"])


@functools.cache
def _validators(check_timestamp: bool = True) -> dict[str, jsonschema.protocols.Validator]:
    proto = protocol()
    result: dict[str, jsonschema.protocols.Validator] = {}
    for kind in ("client_messages", "server_messages"):
        for name, spec in proto[kind].items():
            schema = copy.deepcopy(spec["schema"])
            schema["definitions"] = proto["definitions"]
            if not check_timestamp:
                # Timestamps are graded by their own scenario; elsewhere they must not matter.
                schema["required"] = [f for f in schema.get("required", []) if f != "timestamp"]
                schema.get("properties", {}).pop("timestamp", None)
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
            result[f"{kind}.{name}"] = cls(schema)
    return result


def server_message_problem(message: Any, check_timestamp: bool = True) -> str | None:
    """Why ``message`` is not a valid server message, or None when it is.

    ``check_timestamp=False`` ignores the ``timestamp`` field (graded separately).
    """
    if not isinstance(message, dict):
        return "сообщение не является JSON-объектом"
    kind = message.get("type")
    validator = _validators(check_timestamp).get(f"server_messages.{kind}")
    if validator is None:
        return f"неизвестный тип сообщения сервера: {kind!r}"
    errors = sorted(validator.iter_errors(message), key=lambda e: list(e.path))
    if not errors:
        return None
    err = errors[0]
    where = "/".join(str(p) for p in err.path) or "сообщение"
    return f"{where}: {err.message}"
