"""End to end: the student's server and two of the student's clients, nothing else.

Only what a person would check by hand: both can join, a message to all reaches the other
screen, a private message reaches its addressee's screen.  The exact display format, the
mode prompt and the timestamps are graded by the client scenarios, so a client with one of
those bugs does not lose these points too.
"""

from __future__ import annotations

from harness.scenario import Context
from harness.scenarios.client import (
    NAME_PROMPT,
    NAME_WORD,
    SCENARIO_TIMEOUT,
    SETTLE,
    at_prompt,
    check_clean,
    start_client,
    terminal_scenario,
    wait_screen,
    wiretap,
)
from harness.terminal import Terminal


def join(ctx: Context, server: object, name: str) -> Terminal:
    """A student client in a terminal, registered as ``name`` (its screen says so)."""
    term = start_client(ctx, wiretap(ctx, server, name), name)
    ctx.step(f"клиент {name} спрашивает имя, отвечаем «{name}»")
    wait_screen(
        term,
        lambda t: t.find_line(NAME_WORD) is not None,
        f"вопрос «{NAME_PROMPT}»",
        "Сразу после подключения спросите имя: input('Введите имя: ').",
    )
    row = term.row()
    term.send_line(name)
    wait_screen(
        term,
        lambda t: any(line.strip() for line in t.lines_below(row)),
        f"после ввода имени {name}: ответ сервера на экране (приветствие)",
        'Отправьте {"username": имя} и покажите ответ сервера (welcome).',
    )
    term.poll_until(at_prompt, SETTLE)
    return term


@terminal_scenario("end_to_end", depends=("server_register",), timeout=SCENARIO_TIMEOUT)
def end_to_end(ctx: Context) -> None:
    """Сервер и клиент студента работают вместе: два клиента обмениваются
    общим и личным сообщениями."""
    server = ctx.server("student")
    alice = join(ctx, server, "alice")
    bob = join(ctx, server, "bob")  # bob's welcome is on his screen: the server knows him

    ctx.step("alice пишет всем: сообщение видно на экране bob")
    alice.send_line("hello from alice 2024")
    wait_screen(
        bob,
        lambda t: t.find_line("alice", "hello from alice 2024") is not None,
        "на экране bob строка с «alice» и «hello from alice 2024»",
        "Сервер пересылает message всем, кроме отправителя; клиент показывает отправителя и текст.",
    )

    ctx.step("bob пишет alice лично (/private alice ...): сообщение видно на экране alice")
    bob.send_line("/private alice secret for alice 7")
    wait_screen(
        alice,
        lambda t: t.find_line("bob", "secret for alice 7") is not None,
        "на экране alice строка с «bob» и «secret for alice 7»",
        'Клиент отправляет /private как {"type": "private"}, сервер доставляет '
        "его адресату, клиент адресата показывает.",
    )
    check_clean(ctx, alice, bob)
