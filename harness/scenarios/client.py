"""Client scenarios: the student's client in a real terminal, the harness as its server.

The client connects to :class:`~harness.peer.ScriptedServer` (``ctx.chat_server()``), which
plays the chat: it registers the client, answers ``users`` and sends whatever messages a
scenario scripts, with timestamps from a fixed clock, so what the screen must show is known
in advance and the same on every run.  What the screen must show is the display contract
of ``lab/protocol.json`` (:mod:`harness.screen`); what the client must send is checked on
the wire (:class:`~harness.peer.Link`).

Each scenario grades one feature and avoids depending on the others, so that a client with
one bug loses points in the scenario that names it and keeps them elsewhere.  Readiness
after registration is "the server welcomed the name", not "the prompt shows the mode"
(that is ``client_prompt_mode``); the display checks look for text on any line, not for the
input line being kept intact (that is ``client_typing``); messages to show are sent by the
server unprompted, not provoked by a command the client may not have.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from harness.context import Context
from harness.peer import Link, ScriptedServer
from harness.scenario import scenario
from harness.screen import (
    CLIENT,
    DISPLAY,
    FRAMING_HINT,
    GENERAL,
    NAME_WORD,
    REGISTER_HINT,
    SESSION,
    SETTLE,
    WAIT,
    asks_name,
    asks_name_again,
    at_prompt,
    back_at_prompt,
    check_clean,
    expect_prompt,
    expect_shown,
    fill,
    screen_fail,
    screen_fail_status,
    wait_screen,
)
from harness.terminal import Terminal, join_wrapped
from harness.verdict import Fail, Skip

# A passing client needs about 1 s per scenario; every wait has its own WAIT, so this bound
# only matters on an overloaded machine (load average 100 on 2 cores took up to 9 s).
SCENARIO_TIMEOUT = 20.0
CONNECT_WAIT = 8.0  # a client's start (bwrap, Python) takes long on a loaded machine
CONNECT_HINT = (
    "Клиент подключается к адресу из параметров --host и --port (по умолчанию "
    "127.0.0.1:8083): разберите их argparse и передайте в socket.create_connection()."
)


class Chat(NamedTuple):
    """What most client scenarios start with (see :func:`vera_in_chat`)."""

    server: ScriptedServer
    link: Link
    term: Terminal


def connected(ctx: Context, server: ScriptedServer, term: Terminal, index: int = 0) -> Link:
    """The client's connection to the scripted server, or a Fail that says why there is none."""
    link = server.connection(CONNECT_WAIT, index)
    if link is None:
        raise screen_fail(
            term,
            f"клиент подключается к {server.host}:{server.port} (--host, --port)",
            CONNECT_HINT,
        )
    return link


def register(ctx: Context, term: Terminal, link: Link, name: str) -> None:
    """Answer the name question with ``name`` and wait for the welcome the server sends.

    Whether the question is worded and placed as it should be is graded by client_register;
    here any line with «имя» will do, and a client that draws its prompt only later gets
    ``SETTLE`` seconds (its prompt is graded elsewhere).
    """
    ctx.step(f"клиент спрашивает имя и входит в чат как {name}", REGISTER_HINT)
    term.poll_until(lambda t: t.find_line(NAME_WORD) is not None, WAIT)
    if term.eof:
        raise screen_fail(
            term, f"вопрос «{CLIENT['name_prompt'].strip()}»", "Клиент не должен падать."
        )
    term.send_line(name)
    link.expect(WAIT, username=name)
    if link.username != name:
        raise Fail(
            f"клиент регистрируется под именем {name}",
            got=f"сервер получил имя {json.dumps(link.sent[-1].raw, ensure_ascii=False)}",
            hint=REGISTER_HINT,
            screen=term.screen_text(),
        )
    term.poll_until(at_prompt, SETTLE)


def vera_in_chat(ctx: Context, online: tuple[str, ...] = ("Анна",), **terminal: Any) -> Chat:
    """The scripted chat with ``online`` users, then the student's client registered as Вера.

    ``terminal`` options (``rows``, ``columns``) go to the client's terminal.
    """
    ctx.step("запуск клиента", CONNECT_HINT)
    server = ctx.chat_server(online=online)
    term = ctx.client(server, "Вера", **terminal)
    link = connected(ctx, server, term)
    register(ctx, term, link, "Вера")
    return Chat(server, link, term)


def caught_up(term: Terminal, link: Link, text: str, sender: str = "Анна") -> None:
    """``sender`` writes to all; once it is on screen, the client has shown what came before.

    The server sends in order and the client reads in order, so this is a marker (§5.10).
    """
    link.send("message", from_username=sender, message=text)
    wait_screen(
        term,
        lambda t: t.find_line(text) is not None,
        f"сообщение {sender} «{text}» на экране",
        "Показывайте каждое входящее сообщение.",
    )


def nothing_sent_before(
    link: Link,
    term: Terminal,
    since: int,
    marker_line: str,
    what: str,
    hint: str,
    allow: Any = None,
) -> None:
    """The client sent nothing (but what ``allow`` selects) since ``since``: proven by a marker.

    The user types ``marker_line`` (a chat line); the client sends what the user typed in
    order, so once it arrives, everything the earlier input caused has arrived too.
    """
    term.send_line(marker_line)
    link.expect_none_before(
        since,
        {"message": marker_line},
        (lambda m: not allow(m)) if allow else (lambda m: True),
        what=what,
        hint=hint,
        timeout=WAIT,
    )


# -- the scenarios ------------------------------------------------------------------------------


@scenario("client_register", timeout=SCENARIO_TIMEOUT)
def client_register(ctx: Context) -> None:
    """Клиент подключается к адресу из --host/--port, спрашивает имя и переспрашивает, если имя
    занято или недопустимо.
    """
    ctx.step("запуск клиента", CONNECT_HINT)
    server = ctx.chat_server(online=["Лена"])
    term = ctx.client(server, "Вера")
    link = connected(ctx, server, term)
    ctx.step(f"клиент подключается к порту из --port ({server.port})", CONNECT_HINT)
    if link.port != server.port:
        raise Fail(
            f"подключение к 127.0.0.1:{server.port} — адрес из --host/--port",
            got=f"клиент подключился к порту {link.port}",
            hint="Порт зашит в программе? " + CONNECT_HINT,
            screen=term.screen_text(),
        )

    ctx.step(
        "клиент спрашивает имя: в строке с курсором вопрос со словом «имя»",
        f"Сразу после подключения спросите имя: input('{CLIENT['name_prompt']}').",
    )
    wait_screen(
        term,
        asks_name,
        f"вопрос имени в строке ввода, например «{CLIENT['name_prompt'].strip()}»",
        ctx.current_hint,
    )
    for wrong, why in (("лена", "уже занято (Лена в чате)"), ("два слова", "недопустимо")):
        ctx.step(f"имя «{wrong}» {why}: клиент показывает ошибку и снова спрашивает имя")
        row = term.row()
        term.send_line(wrong)
        link.expect(WAIT, username=wrong)
        wait_screen(
            term,
            asks_name_again(row),
            "ошибка и снова вопрос имени",
            "На ошибку username_taken или username_invalid покажите её текст и спросите имя "
            'ещё раз: соединение остаётся открытым, отправьте новый {"username": ...}.',
        )

    ctx.step("со свободным именем «Вера» клиент входит в чат", REGISTER_HINT)
    term.send_line("Вера")
    link.expect(WAIT, username="Вера")
    ctx.step(
        "каждое сообщение клиента — одна строка JSON с \\n на конце",
        'Отправляйте json.dumps({"username": имя}, ensure_ascii=False) + "\\n", '
        "закодированное в UTF-8, одним sendall().",
    )
    for item in link.sent:
        if item.unframed or item.message is None:
            raise Fail(
                "одна строка JSON с \\n на конце",
                got=f"{item.show()}   ({item.unframed or item.problem})",
                hint=ctx.current_hint,
                screen=term.screen_text(),
            )
    check_clean(term)


@scenario("client_display", timeout=SCENARIO_TIMEOUT)
def client_display(ctx: Context) -> None:
    """Клиент показывает каждое сообщение: время сервера, отправителя и текст;
    личные помечает «лично»."""
    _server, link, term = vera_in_chat(ctx)

    ctx.step(
        "Кира входит: уведомление о входе со счётчиком онлайн "
        "(сообщения сервера приходят кусками, разрезанными посреди букв)",
        FRAMING_HINT,
    )
    join = link.send(
        "system",
        chop=True,
        event="join",
        username="Кира",
        message="Кира вошла в чат",
        online_users=3,
    )
    expect_shown(term, "system", join, "Покажите текст уведомления и «онлайн: N».")

    ctx.step("Анна пишет всем: время сервера, имя отправителя, текст")
    broadcast = link.send("message", chop=True, from_username="Анна", message="общий привет 7341")
    expect_shown(term, "message", broadcast)

    ctx.step("Анна пишет Вере лично: строка помечена «лично»")
    private = link.send("private", chop=True, from_username="Анна", message="секрет 5120")
    expect_shown(
        term, "private", private, "Личное сообщение отметьте словом «лично», например [лично]."
    )

    ctx.step("Кира выходит: уведомление о выходе со счётчиком онлайн")
    leave = link.send(
        "system",
        event="leave",
        username="Кира",
        reason="quit",
        message="Кира вышла из чата",
        online_users=2,
    )
    expect_shown(term, "system", leave, "Покажите текст уведомления и «онлайн: N».")

    ctx.step("ошибка от сервера показана со словом «Ошибка» и текстом")
    error = link.send("error", code="unknown_user", message="Пользователь Никто не в сети")
    expect_shown(term, "error", error, "Покажите ошибку: «Ошибка: <текст из message>».")

    ctx.step(
        "сервер присылает ping: клиент сам отвечает pong и ничего не показывает",
        'На {"type": "ping"} сразу отправьте {"type": "pong"}; на экран ничего не выводите.',
    )
    link.send("ping")
    link.expect(WAIT, type="pong")
    caught_up(term, link, "проверка связи 4242")
    shown = term.find_line("ping")
    if shown is not None:
        raise Fail("ping не виден на экране", got=shown, screen=term.screen_text())
    check_clean(term)


def open_session(ctx: Context, chat: Chat, partner: str = "Анна") -> None:
    """Вера asks ``partner`` with /session; the server accepts at once.

    /session itself is graded by client_session: a client whose /session sends nothing
    cannot show the session mode, and this scenario is skipped saying so.
    """
    ctx.step(
        f"/session {partner}: клиент отправляет session_request",
        '/session ИМЯ отправляет {"type": "session_request", "target_username": ИМЯ}.',
    )
    row = chat.term.row()
    chat.term.send_line(f"/session {partner}")
    try:
        chat.link.expect(WAIT, type="session_request", target_username=partner)
    except Fail as fail:
        raise Skip(
            f"не проверить: на «/session {partner}» клиент не отправил session_request "
            f"(это оценивает client_session); {fail.got}"
        ) from fail
    back_at_prompt(chat.term, row)  # as a person would, the partner answers once it is idle
    chat.link.send(
        "session_accepted",
        from_username="Вера",
        to_username=partner,
        message=f"Приватная сессия между Вера и {partner} установлена",
    )


@scenario("client_prompt_mode", timeout=SCENARIO_TIMEOUT)
def client_prompt_mode(ctx: Context) -> None:
    """Приглашение ввода показывает режим: «общий» или «сессия с ИМЯ»; набранный текст
    переживает смену режима."""
    chat = vera_in_chat(ctx)
    term = chat.term

    ctx.step("в общем режиме строка ввода показывает «общий»")
    expect_prompt(
        term,
        GENERAL,
        f"приглашение вида «{DISPLAY['prompt_general']['reference']}» в строке ввода",
        "Показывайте режим в приглашении: input('[общий]> ').",
    )

    open_session(ctx, chat)
    session = [fill(p, {"partner": "Анна"}) for p in SESSION]
    ctx.step(
        "после session_accepted строка ввода показывает сессию с Анной",
        "После session_accepted переключитесь в режим сессии и перерисуйте приглашение: "
        "«[сессия с Анна]> ».",
    )
    expect_prompt(
        term,
        session,
        "приглашение вида «"
        + fill(DISPLAY["prompt_session"]["reference"], {"partner": "Анна"})
        + "» в строке ввода",
        ctx.current_hint,
    )

    half = "недописанная мыс"
    ctx.step(
        f"набираем «{half}», и тут Анна завершает сессию: строка ввода снова «общий», "
        "набранный текст на месте",
        "При смене режима перерисуйте приглашение вместе с уже набранным текстом "
        "(readline.get_line_buffer()).",
    )
    term.type(half)
    wait_screen(
        term,
        lambda t: t.cursor_line().endswith(half),
        f"набранный текст «{half}» в строке ввода",
        "Набранный текст должен быть виден в строке ввода.",
    )
    chat.link.send(
        "session_ended",
        from_username="Анна",
        to_username="Вера",
        reason="exit",
        message="Анна завершил(а) приватную сессию",
    )
    expect_prompt(
        term,
        GENERAL,
        f"снова приглашение «[общий]> » в строке ввода, за ним «{half}»",
        "После session_ended вернитесь в общий режим и перерисуйте приглашение.",
    )
    wait_screen(
        term,
        lambda t: t.cursor_line().endswith(half),
        f"в строке ввода «[общий]> {half}»",
        ctx.current_hint,
    )
    term.send_line("ль 77")
    sent = chat.link.expect(WAIT, type="message")
    if sent.get("message") != half + "ль 77":
        raise Fail(
            f"уходит вся строка «{half}ль 77»",
            got=json.dumps(sent, ensure_ascii=False),
            hint="Смена режима не должна терять то, что уже набрано.",
            screen=term.screen_text(),
        )
    check_clean(term)


@scenario("client_commands", timeout=SCENARIO_TIMEOUT)
def client_commands(ctx: Context) -> None:
    """Команды /help, /users, /private ИМЯ ТЕКСТ работают;
    неизвестная команда и команда без аргументов — подсказка, а не сообщение в чат."""
    # Not in alphabetical order: a client that sorts the list shows it wrongly.
    chat = vera_in_chat(ctx, online=("Борис", "Анна"))
    term, link = chat.term, chat.link

    ctx.step("/help показывает все команды")
    row = term.row()
    since = link.mark()
    term.send_line("/help")
    commands = DISPLAY["help"]["graded"]
    wait_screen(
        term,
        lambda t: all(t.find_line(c, lines=t.lines_below(row)) for c in commands),
        "после /help на экране команды " + ", ".join(commands),
        "Напечатайте подсказку, например: «" + DISPLAY["help"]["reference"] + "».",
    )

    ctx.step("неизвестная команда /абв: подсказка про /help")
    row = term.row()
    term.send_line("/абв")
    hint_words = DISPLAY["unknown_command"]["graded"]
    wait_screen(
        term,
        lambda t: t.find_line(*hint_words, lines=t.lines_below(row)) is not None,
        "после /абв строка-подсказка с «/help», например «"
        + fill(DISPLAY["unknown_command"]["reference"], {"command": "/абв"})
        + "»",
        "Строку, которая начинается с «/», но не является командой, не отправляйте: "
        "подскажите про /help.",
    )

    ctx.step(
        "/private без текста: сообщение об ошибке на месте",
        "Команде не хватает аргументов: напечатайте, как ею пользоваться, и ничего не отправляйте.",
    )
    row = term.row()
    term.send_line("/private Борис")
    wait_screen(
        term,
        lambda t: any(line.strip() for line in t.lines_below(row)[:-1]),
        "после «/private Борис» без текста — подсказка или ошибка на экране",
        ctx.current_hint,
    )

    ctx.step("на /help, /абв и «/private Борис» без текста серверу не уходит ничего")
    nothing_sent_before(
        link,
        term,
        since,
        "после команд 7007",
        "на /help, /абв и «/private Борис» без текста клиент ничего не отправляет серверу",
        "/help и подсказки клиент показывает сам, без обращения к серверу.",
    )

    ctx.step("/users показывает пользователей в порядке входа")
    term.send_line("/users")
    link.expect(WAIT, type="users")
    listed = next(m for m in reversed(link.received) if m.get("type") == "users_list")
    expect_shown(
        term,
        "users_list",
        listed,
        'Отправьте {"type": "users"} и покажите имена из ответа через запятую, по порядку.',
    )

    ctx.step(
        "/private Борис ТЕКСТ уходит Борису как личное сообщение",
        '/private ИМЯ ТЕКСТ отправляет {"type": "private", "target_username": ИМЯ, '
        '"message": ТЕКСТ}.',
    )
    since = link.mark()
    term.send_line("/private Борис только тебе 4412")
    sent = link.expect(WAIT, type="private")
    if sent.get("target_username") != "Борис" or sent.get("message") != "только тебе 4412":
        raise Fail(
            'клиент отправляет {"type": "private", "target_username": "Борис", '
            '"message": "только тебе 4412"}',
            got=json.dumps(sent, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )
    ctx.step("личное Борису не уходит ещё и в общий чат (проверка маркером)")
    nothing_sent_before(
        link,
        term,
        since,
        "маркер 9001",
        "«/private Борис ...» уходит только как private",
        'Команды обрабатывайте в клиенте; /private отправляйте как {"type": "private", ...}.',
        allow=lambda m: m.get("type") == "private",
    )
    check_clean(term)


@scenario("client_session", timeout=SCENARIO_TIMEOUT)
def client_session(ctx: Context) -> None:
    """Клиент спрашивает y/n на запрос сессии и отвечает на самый старый; в сессии строки
    уходят собеседнику лично; /exit и уход собеседника завершают сессию."""
    chat = vera_in_chat(ctx, online=("Анна", "Борис"))
    term, link = chat.term, chat.link

    ctx.step("Анна просит сессию: клиент показывает запрос и вопрос y/n")
    ask = link.send(
        "session_request",
        from_username="Анна",
        message="Анна хочет начать приватную сессию с вами",
    )
    expect_shown(term, "session_request", ask, "Покажите запрос и спросите «Принять? (y/n)».")

    ctx.step(
        "ответ n: клиент отправляет отказ и не отправляет «n» в чат",
        'Ответ n отправляет только {"type": "session_response", "target_username": "Анна", '
        '"accepted": false}: эта строка — ответ, а не сообщение.',
    )
    since = link.mark()
    term.send_line("n")
    answer = link.expect(WAIT, type="session_response")
    if answer.get("target_username") != "Анна" or answer.get("accepted") is not False:
        raise Fail(
            'session_response с "target_username": "Анна" и "accepted": false',
            got=json.dumps(answer, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )
    nothing_sent_before(
        link,
        term,
        since,
        "после отказа 1111",
        "ответ «n» уходит только как session_response",
        ctx.current_hint,
        allow=lambda m: m.get("type") == "session_response",
    )
    ctx.step(
        "без ожидающих запросов строка «y» — обычное сообщение в чат",
        "y/n отвечают только на ожидающий запрос; без него это обычный текст (§4).",
    )
    term.send_line("y")
    sent = link.expect(WAIT, message="y")
    if sent.get("type") != "message":
        raise Fail(
            'клиент отправляет {"type": "message", "message": "y"}',
            got=json.dumps(sent, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )
    ctx.step("на экране клиента сообщение об отказе")
    rejected = link.send(
        "session_rejected",
        from_username="Анна",
        to_username="Вера",
        message="Приватная сессия между Анна и Вера отклонена",
    )
    expect_shown(term, "session_rejected", rejected)

    ctx.step(
        "запрашивают двое (Борис, затем Анна): клиент показывает оба запроса",
        "Запросы ждут в очереди: y/n отвечает на самый старый (первым пришёл — первым отвечен).",
    )
    for who in ("Борис", "Анна"):
        link.send("session_request", from_username=who, message=f"{who} хочет начать сессию")
    wait_screen(
        term,
        lambda t: t.count_lines("y/n") >= 3,
        "запросы Бориса и Анны с вопросом y/n на экране",
        "Показывайте каждый запрос сессии.",
    )
    ctx.step(
        "пока запросы ждут ответа, обычная строка уходит в чат как обычно",
        "Ожидающие запросы не мешают: сообщения уходят, команды работают (§4).",
    )
    term.send_line("пока жду 4321")
    sent = link.expect(WAIT, message="пока жду 4321")
    if sent.get("type") != "message":
        raise Fail(
            'клиент отправляет {"type": "message", "message": "пока жду 4321"}',
            got=json.dumps(sent, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )
    ctx.step(
        "ответ «да»: принят самый старый запрос — Бориса",
        "«да» (как y, yes, д) принимает; ответ относится к самому старому запросу (§4).",
    )
    term.send_line("да")
    answer = link.expect(WAIT, type="session_response")
    if answer.get("target_username") != "Борис" or answer.get("accepted") is not True:
        raise Fail(
            'session_response с "target_username": "Борис" и "accepted": true',
            got=json.dumps(answer, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )
    ctx.step("ответ «нет» — отказ Анне, второму запросу", "«нет» (как n, no, н) отклоняет (§4).")
    term.send_line("нет")
    answer = link.expect(WAIT, type="session_response")
    if answer.get("target_username") != "Анна" or answer.get("accepted") is not False:
        raise Fail(
            'session_response с "target_username": "Анна" и "accepted": false',
            got=json.dumps(answer, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )
    ctx.step("на экране клиента сообщение о начале сессии")
    accepted = link.send(
        "session_accepted",
        from_username="Борис",
        to_username="Вера",
        message="Приватная сессия между Борис и Вера установлена",
    )
    expect_shown(term, "session_accepted", accepted)
    caught_up(term, link, "сессия пошла 3300")

    ctx.step(
        "в сессии обычная строка уходит Борису как личное сообщение, не в общий чат",
        'После session_accepted обычная строка уходит как {"type": "private", '
        '"target_username": собеседник, "message": строка}.',
    )
    term.send_line("только для Бориса 2718")
    sent = link.expect(WAIT, message="только для Бориса 2718")
    if sent.get("type") != "private" or sent.get("target_username") != "Борис":
        raise Fail(
            'клиент отправляет {"type": "private", "target_username": "Борис", ...}',
            got=json.dumps(sent, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )

    ctx.step(
        "в сессии /private Анне (третьей) уходит личным сообщением Анне",
        "Команды в сессии работают как обычно, и /private кому-то третьему тоже (§4).",
    )
    term.send_line("/private Анна третьей 2719")
    sent = link.expect(WAIT, message="третьей 2719")
    if sent.get("type") != "private" or sent.get("target_username") != "Анна":
        raise Fail(
            'клиент отправляет {"type": "private", "target_username": "Анна", ...}',
            got=json.dumps(sent, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )

    ctx.step("/exit завершает сессию", '/exit отправляет {"type": "session_end"}.')
    term.send_line("/exit")
    link.expect(WAIT, type="session_end")
    ctx.step("на экране клиента сообщение о конце сессии")
    ended = link.send(
        "session_ended",
        from_username="Вера",
        to_username="Борис",
        reason="exit",
        message="Вера завершил(а) приватную сессию",
    )
    expect_shown(term, "session_ended", ended)
    caught_up(term, link, "после сессии 5555")
    ctx.step(
        "после сессии обычная строка снова уходит всем",
        'После session_ended обычные строки снова уходят как {"type": "message"}.',
    )
    term.send_line("снова всем 1414")
    sent = link.expect(WAIT, message="снова всем 1414")
    if sent.get("type") != "message":
        raise Fail(
            'клиент отправляет {"type": "message", "message": "снова всем 1414"}',
            got=json.dumps(sent, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )

    ctx.step(
        "сессия с Анной заканчивается её уходом (reason disconnect): строки снова уходят всем",
        "Режим меняйте по сообщениям сервера: session_ended (любая причина) — снова общий чат.",
    )
    term.send_line("/session Анна")
    link.expect(WAIT, type="session_request", target_username="Анна")
    link.send(
        "session_accepted",
        from_username="Вера",
        to_username="Анна",
        message="Приватная сессия между Вера и Анна установлена",
    )
    caught_up(term, link, "сессия два 6060")
    link.send(
        "session_ended",
        from_username="Анна",
        to_username="Вера",
        reason="disconnect",
        message="Анна покинула чат, приватная сессия завершена",
    )
    caught_up(term, link, "Анна ушла 6161", sender="Борис")
    term.send_line("всем после ухода 1717")
    sent = link.expect(WAIT, message="всем после ухода 1717")
    if sent.get("type") != "message":
        raise Fail(
            'клиент отправляет {"type": "message", "message": "всем после ухода 1717"}',
            got=json.dumps(sent, ensure_ascii=False),
            hint=ctx.current_hint,
            screen=term.screen_text(),
        )
    check_clean(term)


@scenario("client_typing", timeout=SCENARIO_TIMEOUT)
def client_typing(ctx: Context) -> None:
    """Входящее сообщение печатается над строкой ввода; набранный текст остаётся на месте и
    отправляется целиком — и в терминале шириной 80 колонок, где строка ввода переносится."""
    server, link, term = vera_in_chat(ctx)
    half = "половина стро"
    typing_check(ctx, link, term, half, "ки", "входящее 8080")

    term = ctx.client(server, "Вера (80 колонок)", rows=24, columns=80)
    link = connected(ctx, server, term, 1)
    register(ctx, term, link, "Вера80")
    ctx.step("терминал 80×24: длинная набранная строка переносится, входящее — над ней")
    long_half = "очень длинная строка, которую человек всё набирает и набирает, " * 2 + "и ещё"
    typing_check(ctx, link, term, long_half, " чуть-чуть", "узкий экран 9090")
    check_clean(term)


def typing_check(
    ctx: Context, link: Link, term: Terminal, half: str, rest: str, incoming: str
) -> None:
    """Type ``half``; a message arrives; it shows above, ``half`` stays; ``rest`` + Enter."""
    ctx.step(f"набираем «{half[:40]}» без Enter")
    row = term.row()
    term.type(half)
    wait_screen(
        term,
        lambda t: t.cursor_line().endswith(half),
        f"набранный текст «{half}» в строке ввода",
        "Набранный текст должен быть виден в строке ввода.",
    )

    ctx.step("Анна пишет всем: сообщение выше, внизу приглашение и набранный текст")
    link.send("message", from_username="Анна", message=incoming)

    def intact(t: Terminal) -> bool:
        above = join_wrapped(t.rows()[: t.row() - len(t.cursor_line()) // t.screen.columns])
        line = t.cursor_line()
        return (
            any(incoming in a and half not in a for a in above)
            and line.endswith(half)
            and bool(line[: -len(half)].strip())  # the prompt is there too
            and t.row() > row
        )

    wait_screen(
        term,
        intact,
        "сообщение Анны отдельной строкой выше, а в последней строке приглашение и "
        f"набранный текст: «{DISPLAY['prompt_general']['reference']}{half}»",
        "Перед печатью входящего сообщения сотрите строку ввода ('\\r\\x1b[K'), напечатайте "
        "сообщение, затем заново выведите приглашение и набранный текст "
        "(readline.get_line_buffer()).",
    )

    ctx.step(
        f"дописываем «{rest.strip()}» и Enter: уходит вся строка",
        "Enter отправляет всю набранную строку, вместе с тем, что набрано до прихода сообщения.",
    )
    term.send_line(rest)
    sent = link.expect(WAIT, type="message")
    if sent.get("message") != (half + rest).strip():
        raise Fail(
            f"серверу уходит ровно «{half + rest}»",
            got=json.dumps(sent, ensure_ascii=False),
            hint="Входящее сообщение не должно терять или дублировать то, что уже набрано.",
            screen=term.screen_text(),
        )


@scenario("client_quit", timeout=SCENARIO_TIMEOUT)
def client_quit(ctx: Context) -> None:
    """/quit и конец ввода (Ctrl+D) завершают клиент с кодом 0, Ctrl+C — без Traceback; если
    сервер пропал, клиент сообщает об этом и завершается с ненулевым кодом."""
    chat = vera_in_chat(ctx)

    ctx.step("/quit: клиент завершается с кодом 0 и закрывает соединение")
    chat.term.send_line("/quit")
    status = chat.term.wait_exit(WAIT)
    if status != 0:
        raise screen_fail_status(
            chat.term,
            "после /quit клиент завершается с кодом 0",
            status,
            "После /quit закройте сокет и завершите программу (sys.exit(0)).",
        )
    if not chat.link.wait_closed(WAIT):
        raise Fail(
            "после /quit клиент закрывает соединение с сервером",
            got="соединение открыто",
            hint="Перед выходом закройте сокет: sock.close().",
            screen=chat.term.screen_text(),
        )
    check_clean(chat.term)

    term = ctx.client(chat.server, "Вера (Ctrl+D)")
    register(ctx, term, connected(ctx, chat.server, term, 1), "Ирина")
    ctx.step(
        "Ctrl+D (конец ввода): клиент завершается с кодом 0 без Traceback",
        "Конец ввода — как /quit: input() бросает EOFError; перехватите его, закройте "
        "сокет и выйдите с кодом 0.",
    )
    term.ctrl_d()
    status = term.wait_exit(WAIT)
    if status != 0:
        raise screen_fail_status(
            term,
            "после Ctrl+D клиент завершается с кодом 0",
            status,
            ctx.current_hint,
        )
    check_clean(term)

    term = ctx.client(chat.server, "Вера (Ctrl+C)")
    register(ctx, term, connected(ctx, chat.server, term, 2), "Ксения")
    ctx.step(
        "Ctrl+C: клиент завершается без Traceback",
        "Перехватите KeyboardInterrupt в главном потоке: закройте сокет и выйдите (§6).",
    )
    term.ctrl_c()
    status = term.wait_exit(WAIT)
    if status is None:
        raise screen_fail_status(term, "после Ctrl+C клиент завершается", status, ctx.current_hint)
    check_clean(term)

    term = ctx.client(chat.server, "Вера (сервер пропал)")
    link = connected(ctx, chat.server, term, 3)
    register(ctx, term, link, "Ольга")
    ctx.step("сервер пропал: клиент сообщает об этом и завершается с ненулевым кодом")
    before = {line for line in term.all_lines() if line.strip()}
    link.close()
    status = term.wait_exit(WAIT)
    if status is None or status == 0:
        raise screen_fail_status(
            term,
            "когда сервер пропал, клиент завершается с ненулевым кодом",
            status,
            "Поток чтения должен заметить закрытое соединение (recv вернул b'') и завершить "
            "весь клиент: os._exit(1) или сигнал главному потоку.",
        )
    news = [line for line in term.all_lines() if line.strip() and line not in before]
    if not news:
        raise Fail(
            "сообщение о потере соединения на экране",
            got="клиент завершился молча",
            hint="Когда recv() вернул b'' или бросил OSError, напечатайте "
            "«Соединение с сервером потеряно.» и завершитесь с кодом 1.",
            screen=term.screen_text(),
        )
    check_clean(term)
