"""An example scenario for the docs page "how to write a new scenario".

It is not in lab/rubric.toml, so grading never runs it; the docs build runs it
against the reference server and against a broken copy, and shows the verdicts.
"""

from __future__ import annotations

import json

from harness.context import Context
from harness.probe import broadcast_marker
from harness.scenario import scenario
from harness.verdict import Fail


@scenario("server_users_after_leave", depends=("server_register",))
def server_users_after_leave(ctx: Context) -> None:
    """Кто вышел из чата, пропадает из списка пользователей; остальные остаются в порядке входа."""
    ctx.step("запуск сервера")
    server = ctx.server()

    ctx.step("Alice, Bob и Carol входят в чат")
    alice = ctx.probe(server, "Alice")
    bob = ctx.probe(server, "Bob")
    carol = ctx.probe(server, "Carol")

    ctx.step(
        "Bob закрывает соединение, Alice получает leave",
        hint="Когда соединение закрыто, удалите пользователя и разошлите leave.",
    )
    bob.close()
    alice.expect("system", event="leave", username="Bob")

    ctx.step(
        "Alice запрашивает список: в нём Alice и Carol, в порядке входа",
        hint="Список пользователей — те, кто сейчас в чате, в порядке входа.",
    )
    alice.send({"type": "users"})
    users = alice.expect("users_list")["users"]
    if users != ["Alice", "Carol"]:
        raise Fail('users: ["Alice", "Carol"]', got="users: " + json.dumps(users))

    ctx.step(
        "список получает только Alice, Carol — нет (проверка маркером)",
        hint="Ответ на users отправляйте только тому, кто спросил.",
    )
    # Alice sent "users" before her marker, so whatever it made the server send Carol
    # has reached Carol before the marker does (handout §5.10): this check can fail.
    carol.expect_none_before(
        broadcast_marker(alice),
        {"type": "users_list"},
        what="users_list приходит только тому, кто отправил users",
    )
