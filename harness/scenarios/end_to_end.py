"""End to end: the student's server and two of the student's clients, nothing else.

Only what a person would check by hand: both can join, a message to all reaches the other
screen, a private message reaches its addressee's screen and nobody else's.  The exact
display format, the mode prompt and the timestamps are graded by the client scenarios, so a
client with one of those bugs does not lose these points too.
"""

from __future__ import annotations

from harness.context import Context
from harness.process import ServerProcess
from harness.scenario import scenario
from harness.screen import NAME_PROMPT, NAME_WORD, SETTLE, at_prompt, check_clean, wait_screen
from harness.terminal import Terminal
from harness.verdict import Fail

SCENARIO_TIMEOUT = 25.0


def join(ctx: Context, server: ServerProcess, name: str) -> Terminal:
    """A student client in a terminal, registered as ``name`` (its screen says so)."""
    term = ctx.client(server, name)
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


@scenario("end_to_end", depends=("server_register",), timeout=SCENARIO_TIMEOUT)
def end_to_end(ctx: Context) -> None:
    """Сервер и клиент студента работают вместе: три клиента обмениваются общим и личным
    сообщениями, личное видит только адресат."""
    ctx.step("запуск сервера")
    server = ctx.server()
    alice = join(ctx, server, "alice")
    bob = join(ctx, server, "bob")  # bob's welcome is on his screen: the server knows him
    carol = join(ctx, server, "carol")

    ctx.step("alice пишет всем: сообщение видно на экранах bob и carol")
    alice.send_line("hello from alice 2024")
    for term, who in ((bob, "bob"), (carol, "carol")):
        wait_screen(
            term,
            lambda t: t.find_line("alice", "hello from alice 2024") is not None,
            f"на экране {who} строка с «alice» и «hello from alice 2024»",
            "Сервер пересылает message всем, кроме отправителя; клиент показывает "
            "отправителя и текст.",
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
    ctx.step("личное сообщение не видно carol (после него bob пишет всем — маркер)")
    bob.send_line("marker from bob 8")
    wait_screen(
        carol,
        lambda t: t.find_line("bob", "marker from bob 8") is not None,
        "на экране carol общее сообщение bob «marker from bob 8»",
        "Сервер пересылает message всем, кроме отправителя.",
    )
    leaked = carol.find_line("secret for alice 7")
    if leaked is not None:
        raise Fail(
            "личное сообщение bob → alice не появляется у carol",
            got=leaked,
            hint="Личное сообщение сервер доставляет только адресату.",
            screen=carol.screen_text(),
        )
    check_clean(alice, bob, carol)
