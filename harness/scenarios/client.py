"""Client scenarios: the reference server, the student's client in a real terminal.

The other parties are raw-socket probes (:mod:`harness.probe`), and the client talks to the
server through a :class:`~harness.scenarios.wiretap.Wiretap`, so every check is about what
the student's client shows and sends.  What the screen must show is read from the display
contract in ``lab/protocol.json`` (``client.display``): a ``graded`` list of
case-insensitive substrings that must all be on ONE screen line, placeholders filled from
the message the client really received (the wiretap's copy).

Each scenario grades one feature and avoids depending on the others, so that a client with
one bug loses points in the scenario that names it and keeps them elsewhere.  For example
readiness after registration is "the server announced the join", not "the prompt shows the
mode" (that is ``client_prompt_mode``), and the display checks look for text on any line, not
for the input line being kept intact (that is ``client_typing``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

from harness.probe import Probe
from harness.process import ServerProcess
from harness.protocol import protocol
from harness.scenario import Context, scenario
from harness.scenarios.wiretap import Wiretap
from harness.terminal import Terminal, TerminalTimeout
from harness.verdict import Fail

WAIT = 3.0  # seconds the screen may take to show what it should
# A passing client needs about 1 s per scenario; every wait has its own WAIT, so this bound
# only matters on an overloaded machine (load average 100 on 2 cores took up to 9 s).
SCENARIO_TIMEOUT = 20.0
SETTLE = 1.0  # grace for a client that shows its prompt only after the next Enter
TIME_SLACK = 1  # seconds the shown time may differ from the received timestamp (rounding)
CLIENT_TZ_SHIFT = 3 * 60 + 37  # minutes: the client's local clock is this far from the server's
TIME_RE = re.compile(r"\b(\d{2}):(\d{2}):(\d{2})\b")

CLIENT = protocol()["client"]
DISPLAY = CLIENT["display"]
NAME_PROMPT = CLIENT["name_prompt"].strip()  # "Введите имя:"
NAME_WORD = "имя"  # enough to know the client asks for the name
GENERAL = DISPLAY["prompt_general"]["graded"]  # ["общий"]
SESSION = DISPLAY["prompt_session"]["graded"]  # ["сесси", "{partner}"]
NEVER = DISPLAY["never_on_screen"]  # ["Traceback"]

REGISTER_HINT = (
    'После ввода имени отправьте {"username": имя} — одна строка JSON в UTF-8 с \\n на конце.'
)
FRAMING_HINT = (
    "Один recv() — не одно сообщение: копите байты в буфере, режьте по b'\\n' "
    "и только потом декодируйте UTF-8 и JSON."
)
TRACEBACK_HINT = (
    "На экране Traceback: клиент упал с исключением. Перехватывайте ошибки сокета "
    "(OSError, ConnectionError) и JSON (ValueError) и сообщайте о них по-человечески."
)


# -- starting and registering -----------------------------------------------------------------


def start_client(
    ctx: Context,
    server: Any,
    name: str,
    which: str = "student",
    env: dict[str, str] | None = None,
) -> Terminal:
    """The client (``which``: student or reference) in a terminal, connected to ``server``."""
    argv = ctx.program_argv(which, "client.py")
    argv += ["--host", server.host, "--port", str(server.port)]
    term: Terminal = ctx.spawn_terminal(argv, which=which, name=f"клиент {name}", env=env)
    _TERMINALS.setdefault(id(ctx), []).append(term)
    return term


_TERMINALS: dict[int, list[Terminal]] = {}  # id(ctx) -> the clients a scenario started


def terminal_scenario(
    scenario_id: str, **options: Any
) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """``@scenario`` that adds the clients' screens to a failure that has none.

    A probe that did not get what the client should have sent fails without a screen;
    what the student's client showed at that moment is the most useful feedback, and the
    step's hint (about the client) replaces the probe's generic one (about a server).
    """

    def register(func: Callable[[Context], None]) -> Callable[[Context], None]:
        @functools.wraps(func)
        def run(ctx: Context) -> None:
            try:
                func(ctx)
            except Fail as fail:
                terms = _TERMINALS.get(id(ctx), [])
                if fail.screen is None:  # a probe's verdict on what the client sent
                    fail.screen = screens(terms)
                    if ctx.current_hint:  # the step knows better than the probe's generic hint
                        fail.hint = ""
                crashed = any(t.contains(word) for t in terms for word in NEVER)
                if crashed and TRACEBACK_HINT not in fail.hint:
                    fail.hint = f"{TRACEBACK_HINT} {fail.hint}".strip()
                raise
            finally:
                _TERMINALS.pop(id(ctx), None)

        return scenario(scenario_id, **options)(run)

    return register


def screens(terms: Sequence[Terminal]) -> str | None:
    """The screens of ``terms`` (each titled with its name when there are several)."""
    shown = []
    for term in terms:
        term.pump(0.0)
        shown.append((term.name, term.screen_text()))
    if len(shown) == 1:
        return shown[0][1]
    return "\n\n".join(f"— {name} —\n{text}" for name, text in shown) or None


def wait_screen(
    term: Terminal,
    predicate: Callable[[Terminal], bool],
    expected: str,
    hint: str,
    timeout: float = WAIT,
) -> None:
    """``term.wait_until`` that fails the scenario with the screen as it was."""
    try:
        term.wait_until(predicate, timeout, expected)
    except TerminalTimeout:
        raise screen_fail(term, expected, hint, timeout) from None


def screen_fail(term: Terminal, expected: str, hint: str, timeout: float = WAIT) -> Fail:
    """A Fail that shows the screen, says whether the client is still running."""
    if term.overflowed:
        got = "клиент напечатал слишком много и был остановлен"
    elif term.eof:
        status = term.wait_exit(0.5)
        got = "клиент завершился" + (f" с кодом {status}" if status is not None else "")
    else:
        got = f"за {timeout:g} с на экране этого нет"
    if any(term.contains(word) for word in NEVER):
        hint = TRACEBACK_HINT + " " + hint
    return Fail(expected, got=got, hint=hint, screen=term.screen_text())


def has_all(line: str, parts: Sequence[str]) -> bool:
    folded = line.casefold()
    return all(part.casefold() in folded for part in parts)


def asks_name(term: Terminal) -> bool:
    return has_all(term.cursor_line(), [NAME_PROMPT])


def asks_name_again(row: int) -> Callable[[Terminal], bool]:
    """The name question on a line below ``row`` (where the last name was typed)."""
    return lambda term: asks_name(term) and term.row() > row


def at_prompt(term: Terminal) -> bool:
    """The cursor stands on a non-empty line that is not the name question (some prompt)."""
    line = term.cursor_line().strip()
    return bool(line) and not asks_name(term)


def back_at_prompt(term: Terminal, row: int) -> None:
    """Let the client finish with the line typed at ``row``: a prompt below it, or SETTLE.

    A change of mode that arrives while a client is still printing the answer to a command
    and has not yet drawn its next prompt is a race a person never produces by typing.
    """
    term.poll_until(lambda t: at_prompt(t) and t.row() > row, SETTLE)


def register(ctx: Context, term: Terminal, name: str, watcher: Probe) -> None:
    """Answer the name question with ``name``; ``watcher`` sees the join.

    Ready means: the server announced the join and the client shows some prompt (a client
    that draws its prompt only later gets ``SETTLE`` seconds; its prompt is graded elsewhere).
    """
    ctx.step(
        f"клиент спрашивает имя («{CLIENT['name_prompt']}») и входит в чат как {name}",
        REGISTER_HINT,
    )
    # Whether the question is worded and placed exactly so is graded by client_register;
    # here the join that the server announces is the proof of registration.
    term.poll_until(lambda t: t.find_line(NAME_WORD) is not None, WAIT)
    if term.eof:
        raise screen_fail(term, f"вопрос «{CLIENT['name_prompt']}»", "Клиент не должен падать.")
    term.send_line(name)
    watcher.expect("system", event="join", username=name, timeout=WAIT)
    term.poll_until(at_prompt, SETTLE)


def check_clean(ctx: Context, *terms: Terminal) -> None:
    """No terminal ever showed a Traceback."""
    ctx.step("на экране клиента нет Traceback")
    for term in terms:
        term.pump(0.0)
        for word in NEVER:
            line = term.find_line(word)
            if line is not None:
                raise Fail(
                    f"на экране нет «{word}»",
                    got=line,
                    hint=TRACEBACK_HINT,
                    screen=term.screen_text(),
                )


# -- the display contract -----------------------------------------------------------------------


def clock(timestamp: str) -> str:
    """``2024-01-15T14:30:00`` → ``14:30:00``."""
    return timestamp[11:19]


def seconds_of_day(hms: str) -> int:
    hours, minutes, seconds = (int(x) for x in hms.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def shows_time(line: str, timestamp: str) -> bool:
    """The line has an HH:MM:SS within TIME_SLACK seconds of the server's timestamp."""
    want = seconds_of_day(clock(timestamp))
    for match in TIME_RE.finditer(line):
        diff = abs(seconds_of_day(match.group(0)) - want)
        if min(diff, 86400 - diff) <= TIME_SLACK:
            return True
    return False


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


def fill(template: str, message: dict[str, Any]) -> str:
    """A display template with the message's fields (``{users}`` joined with ', ')."""
    values = _Values(message)
    users = message.get("users")
    if isinstance(users, list):
        values["users"] = ", ".join(users)
        values["count"] = len(users)
    return template.format_map(values)


class Shown:
    """What one message must look like on screen (``client.display.messages[kind]``)."""

    def __init__(self, kind: str, message: dict[str, Any]) -> None:
        spec = DISPLAY["messages"][kind]
        self.kind = kind
        self.reference = fill(spec["reference"].replace("{time}", "{timestamp}"), message)
        self.reference = self.reference.replace(message.get("timestamp", "\0"), "ЧЧ:ММ:СС")
        graded = list(spec["graded"])
        self.timestamp = message.get("timestamp") if "{time}" in graded else None
        self.parts = [fill(g, message) for g in graded if g != "{time}"]
        keys = [k for k in ("{message}", "{users}", "{from_username}") if k in graded]
        self.anchor = fill(keys[0], message) if keys else self.parts[0]
        users = message.get("users")
        self.words = [str(w) for w in (users if isinstance(users, list) else [])]
        self.words += [str(message[k]) for k in ("from_username", "message") if k in message]
        self.absent = list(spec.get("graded_absent", []))

    def problems(self, line: str) -> list[str]:
        """What ``line`` lacks (empty when it shows the message as the contract says)."""
        folded = line.casefold()
        missing = [f"«{p}»" for p in self.parts if p.casefold() not in folded]
        if self.timestamp is not None and not shows_time(line, self.timestamp):
            missing.append(f"время сервера {clock(self.timestamp)}")
        missing += [f"без «{a}»" for a in self.absent if a.casefold() in folded]
        return missing

    def found(self, term: Terminal) -> bool:
        return any(not self.problems(line) for line in term.all_lines())

    def score(self, line: str) -> int:
        folded = line.casefold()
        return sum(word.casefold() in folded for word in self.words)

    def closest(self, term: Terminal) -> tuple[str, list[str]] | None:
        """The line showing the most of the message, with what it lacks.

        Lines with the message's main text (``anchor``) first; failing that, the line with
        the most of its names for a users list, so a reordered list is still shown.
        """
        lines = term.all_lines()
        best: tuple[str, list[str]] | None = None
        for line in lines:
            if self.anchor.casefold() not in line.casefold():
                continue
            problems = self.problems(line)
            if best is None or len(problems) <= len(best[1]):
                best = (line, problems)
        if best is not None or self.kind != "users_list":
            return best
        score, line = max(((self.score(line), line) for line in lines), default=(0, ""))
        return (line, self.problems(line)) if score else None


def expect_shown(
    ctx: Context, term: Terminal, kind: str, message: dict[str, Any], hint: str = ""
) -> None:
    """The screen shows ``message`` (as received by a probe) the way the contract says."""
    shown = Shown(kind, message)
    if term.poll_until(shown.found, WAIT):
        return
    closest = shown.closest(term)
    expected = f"строка вида «{shown.reference}»"
    if closest is None:
        raise screen_fail(term, expected, hint or f"Покажите сообщение типа {kind}.")
    line, problems = closest
    lacks = ", ".join(problems)
    time_hint = (
        " Время берите из поля timestamp сообщения сервера, а не из часов компьютера."
        if any(p.startswith("время") for p in problems)
        else ""
    )
    raise Fail(
        expected,
        got=f"{line}\n(не хватает: {lacks})",
        hint=(hint + time_hint).strip() or f"Покажите сообщение типа {kind} по образцу.",
        screen=term.screen_text(),
    )


def shows_prompt(parts: Sequence[str]) -> Callable[[Terminal], bool]:
    return lambda term: has_all(term.cursor_line(), parts)


def expect_prompt(term: Terminal, parts: Sequence[str], expected: str, hint: str) -> None:
    """The input line shows ``parts``; a client that redraws only on Enter gets one Enter."""
    if term.poll_until(shows_prompt(parts), SETTLE):
        return
    if not term.cursor_line().strip():
        term.send_line("")  # the prompt may come only with the next input() call
    wait_screen(term, shows_prompt(parts), expected, hint)


def client_tz(server_timestamp: str) -> str:
    """A POSIX TZ whose clock is CLIENT_TZ_SHIFT minutes off the server's local clock."""
    server_local = datetime.fromisoformat(server_timestamp[:19])
    utc_now = datetime.now(timezone.utc).replace(tzinfo=None)
    offset = round((server_local - utc_now).total_seconds() / 900) * 15  # minutes east of UTC
    shifted = offset + CLIENT_TZ_SHIFT
    if shifted > 14 * 60:
        shifted -= 24 * 60
    sign = "-" if shifted >= 0 else "+"  # POSIX TZ counts west of UTC as positive
    return f"GRD{sign}{abs(shifted) // 60}:{abs(shifted) % 60:02d}"


class Chat(NamedTuple):
    """What most client scenarios start with (see :func:`anna_and_vera`)."""

    server: ServerProcess
    anna: Probe
    term: Terminal
    tap: Wiretap


def wiretap(ctx: Context, server: Any, name: str) -> Wiretap:
    """A tap in front of ``server`` for one client; its traffic goes into the report."""
    tap = Wiretap(server.host, server.port, transcript=ctx.transcript(f"сеть клиента {name}"))
    ctx.add_cleanup(tap.close)
    return tap


def anna_and_vera(ctx: Context) -> Chat:
    """The reference server, the probe Анна, then the student's client registered as Вера.

    The client talks to the server through a :class:`Wiretap`.  Its clock (TZ) is set
    CLIENT_TZ_SHIFT minutes off the server's, so a client that shows its own time instead
    of the server's timestamp is seen.
    """
    server = ctx.server("reference")
    anna = ctx.probe(server)
    welcome = anna.register("Анна")
    tap = wiretap(ctx, server, "Вера")
    term = start_client(ctx, tap, "Вера", env={"TZ": client_tz(str(welcome["timestamp"]))})
    register(ctx, term, "Вера", anna)
    return Chat(server, anna, term, tap)


# -- the scenarios ------------------------------------------------------------------------------


@terminal_scenario("client_register", timeout=SCENARIO_TIMEOUT)
def client_register(ctx: Context) -> None:
    """Клиент спрашивает имя «Введите имя: » и переспрашивает, если имя занято."""
    server = ctx.server("reference")
    lena = ctx.probe(server, "Лена")
    term = start_client(ctx, wiretap(ctx, server, "Вера"), "Вера")

    ctx.step(f"клиент спрашивает имя: «{CLIENT['name_prompt']}»")
    wait_screen(
        term,
        asks_name,
        f"вопрос «{CLIENT['name_prompt']}» в строке ввода",
        "Сразу после подключения спросите имя: input('Введите имя: ').",
    )

    for wrong, why in (("лена", "уже занято (Лена вошла раньше)"), ("два слова", "недопустимо")):
        ctx.step(f"имя «{wrong}» {why}: клиент показывает ошибку и снова спрашивает имя")
        row = term.row()
        term.send_line(wrong)
        wait_screen(
            term,
            asks_name_again(row),
            f"ошибка и снова вопрос «{CLIENT['name_prompt']}»",
            "На ошибку username_taken или username_invalid покажите её текст и спросите имя "
            'ещё раз: соединение остаётся открытым, отправьте новый {"username": ...}.',
        )

    ctx.step("со свободным именем «Вера» клиент входит в чат", REGISTER_HINT)
    term.send_line("Вера")
    lena.expect("system", event="join", username="Вера", timeout=WAIT)
    check_clean(ctx, term)


@terminal_scenario("client_display", timeout=SCENARIO_TIMEOUT)
def client_display(ctx: Context) -> None:
    """Клиент показывает каждое сообщение: время сервера, отправителя и текст;
    личные помечает «лично»."""
    server, anna, term, tap = anna_and_vera(ctx)

    tap.chop()  # from now on the server's lines reach the client in pieces
    ctx.step(
        "Кира входит: уведомление о входе со счётчиком онлайн "
        "(сообщения сервера приходят кусками, разрезанными посреди букв)",
        FRAMING_HINT,
    )
    kira = ctx.probe(server, "Кира")
    join = tap.expect_received(WAIT, type="system", event="join", username="Кира")
    expect_shown(ctx, term, "system", join, "Покажите текст уведомления и «онлайн: N».")

    ctx.step("Анна пишет всем: время сервера, имя отправителя, текст")
    anna.send({"type": "message", "message": "общий привет 7341"})
    broadcast = tap.expect_received(WAIT, type="message", message="общий привет 7341")
    expect_shown(ctx, term, "message", broadcast)

    ctx.step("Анна пишет Вере лично: строка помечена «лично»")
    anna.send({"type": "private", "target_username": "Вера", "message": "секрет 5120"})
    private = tap.expect_received(WAIT, type="private", message="секрет 5120")
    expect_shown(
        ctx, term, "private", private, "Личное сообщение отметьте словом «лично», например [лично]."
    )

    tap.chop(None)  # enough of that: the rest arrives as the server sent it
    ctx.step("Кира выходит: уведомление о выходе со счётчиком онлайн")
    kira.close()
    leave = tap.expect_received(WAIT, type="system", event="leave", username="Кира")
    expect_shown(ctx, term, "system", leave, "Покажите текст уведомления и «онлайн: N».")

    ctx.step("ошибка сервера (личное несуществующему пользователю) показана со словом «Ошибка»")
    term.send_line("/private Никто 123")
    error = tap.expect_received(WAIT, type="error", code="unknown_user")
    expect_shown(ctx, term, "error", error, "Покажите ошибку: «Ошибка: <текст из message>».")

    ctx.step(
        "сервер присылает ping: клиент сам отвечает pong и ничего не показывает",
        'На {"type": "ping"} сразу отправьте {"type": "pong"}; на экран ничего не выводите.',
    )
    tap.inject({"type": "ping", "timestamp": error["timestamp"]})
    tap.expect_sent(WAIT, type="pong")
    caught_up(term, anna, "проверка связи 4242")
    shown = term.find_line("ping")
    if shown is not None:
        raise Fail("ping не виден на экране", got=shown, screen=term.screen_text())
    check_clean(ctx, term)


def caught_up(term: Terminal, sender: Probe, text: str) -> None:
    """``sender`` writes to all; once it is on screen, the client has handled what came before.

    (Messages the server sent this client earlier are handled before this one.)
    """
    sender.send({"type": "message", "message": text})
    wait_screen(
        term,
        lambda t: t.find_line(text) is not None,
        f"сообщение {sender.username} «{text}» на экране",
        "Показывайте каждое входящее сообщение.",
    )


def nothing_before(
    term: Terminal,
    marker_line: str,
    receiver: Probe,
    marker: dict[str, Any],
    forbid: Callable[[dict[str, Any]], bool],
    what: str,
    hint: str,
) -> None:
    """Absence proof (PROTOCOL.md §7): the client sends ``marker_line`` after what is under
    test; ``receiver`` gets the marker and nothing ``forbid`` selects before it."""
    term.send_line(marker_line)
    receiver.expect_nothing_before_marker(marker, forbid=forbid, timeout=WAIT, what=what, hint=hint)


@terminal_scenario("client_prompt_mode", timeout=SCENARIO_TIMEOUT)
def client_prompt_mode(ctx: Context) -> None:
    """Приглашение ввода показывает режим: «общий» или «сессия с ИМЯ»."""
    _server, anna, term, _tap = anna_and_vera(ctx)

    ctx.step("в общем режиме строка ввода показывает «общий»")
    expect_prompt(
        term,
        GENERAL,
        f"приглашение вида «{DISPLAY['prompt_general']['reference']}» в строке ввода",
        "Показывайте режим в приглашении: input('[общий]> ').",
    )

    ctx.step(
        "/session Анна, Анна соглашается: строка ввода показывает сессию с Анной",
        '/session ИМЯ отправляет {"type": "session_request", "target_username": ИМЯ}.',
    )
    row = term.row()
    term.send_line("/session Анна")
    anna.expect("session_request", from_username="Вера", timeout=WAIT)
    back_at_prompt(term, row)  # as a person would, Анна answers once the client is idle
    anna.send({"type": "session_response", "target_username": "Вера", "accepted": True})
    anna.expect("session_accepted")
    session = [fill(p, {"partner": "Анна"}) for p in SESSION]
    expect_prompt(
        term,
        session,
        "приглашение вида «"
        + fill(DISPLAY["prompt_session"]["reference"], {"partner": "Анна"})
        + "» в строке ввода",
        "После session_accepted переключитесь в режим сессии и перерисуйте приглашение: "
        "«[сессия с Анна]> ».",
    )

    ctx.step("Анна завершает сессию: строка ввода снова показывает «общий»")
    anna.send({"type": "session_end"})
    anna.expect("session_ended")
    expect_prompt(
        term,
        GENERAL,
        "снова приглашение «[общий]> » в строке ввода",
        "После session_ended вернитесь в общий режим и перерисуйте приглашение.",
    )
    check_clean(ctx, term)


@terminal_scenario("client_commands", timeout=SCENARIO_TIMEOUT)
def client_commands(ctx: Context) -> None:
    """Команды /help, /users, /private ИМЯ ТЕКСТ работают;
    неизвестная команда — подсказка, а не сообщение в чат."""
    server, anna, term, tap = anna_and_vera(ctx)
    boris = ctx.probe(server, "Борис")
    anna.expect("system", event="join", username="Борис")

    ctx.step("/help показывает все команды")
    row = term.row()
    sent_before_help = tap.mark()
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

    ctx.step("/users показывает пользователей в порядке входа")
    term.send_line("/users")
    tap.expect_sent(WAIT, type="users")
    extra = [m for m in tap.sent_since(sent_before_help)[:-1] if m.get("type") != "pong"]
    if extra:
        raise Fail(
            "на /help и /абв клиент ничего не отправляет серверу",
            got="\n".join(json.dumps(m, ensure_ascii=False) for m in extra),
            hint="/help и подсказку на неизвестную команду клиент показывает сам, "
            "без обращения к серверу.",
            screen=term.screen_text(),
        )
    expect_shown(
        ctx,
        term,
        "users_list",
        tap.expect_received(WAIT, type="users_list"),
        'Отправьте {"type": "users"} и покажите имена из ответа через запятую, по порядку.',
    )

    ctx.step(
        "/private Борис ТЕКСТ доходит до Бориса как личное сообщение",
        '/private ИМЯ ТЕКСТ отправляет {"type": "private", "target_username": ИМЯ, '
        '"message": ТЕКСТ}.',
    )
    term.send_line("/private Борис только тебе 4412")
    boris.expect("private", from_username="Вера", message="только тебе 4412", timeout=WAIT)

    ctx.step("команды и личное не доходят до Анны (проверка маркером)")
    nothing_before(
        term,
        "маркер 9001",
        anna,
        {"type": "message", "from_username": "Вера", "message": "маркер 9001"},
        lambda m: m.get("from_username") == "Вера",
        "до Анны не доходит ничего из /help, /абв, /users и личного Борису",
        "Команды обрабатывайте в клиенте; /private отправляйте как "
        '{"type": "private", ...}, неизвестные команды не отправляйте вовсе.',
    )
    check_clean(ctx, term)


@terminal_scenario("client_session", timeout=SCENARIO_TIMEOUT)
def client_session(ctx: Context) -> None:
    """Клиент спрашивает y/n на запрос сессии; в сессии строки уходят собеседнику лично;
    /exit завершает сессию."""
    server, anna, term, tap = anna_and_vera(ctx)
    boris = ctx.probe(server, "Борис")
    anna.expect("system", event="join", username="Борис")
    request = {"type": "session_request", "target_username": "Вера"}

    ctx.step("Анна просит сессию: клиент показывает запрос и вопрос y/n")
    anna.send(request)
    ask = tap.expect_received(WAIT, type="session_request")
    expect_shown(ctx, term, "session_request", ask, "Покажите запрос и спросите «Принять? (y/n)».")

    ctx.step(
        "ответ n: Анна получает отказ",
        'Ответ n отправляет {"type": "session_response", "target_username": "Анна", '
        '"accepted": false}.',
    )
    term.send_line("n")
    anna.expect("session_rejected", from_username="Анна", to_username="Вера", timeout=WAIT)
    ctx.step("на экране клиента сообщение об отказе")
    expect_shown(ctx, term, "session_rejected", tap.expect_received(WAIT, type="session_rejected"))

    ctx.step(
        "Анна просит снова, ответ y: сессия начата",
        'Ответ y отправляет {"type": "session_response", "target_username": "Анна", '
        '"accepted": true}.',
    )
    anna.send(request)
    wait_screen(
        term,
        lambda t: t.count_lines("Анна", "y/n") >= 2,
        "второй запрос от Анны с вопросом y/n",
        "Показывайте каждый запрос сессии.",
    )
    term.send_line("y")
    anna.expect("session_accepted", from_username="Анна", to_username="Вера", timeout=WAIT)
    ctx.step("на экране клиента сообщение о начале сессии")
    expect_shown(ctx, term, "session_accepted", tap.expect_received(WAIT, type="session_accepted"))
    caught_up(term, anna, "сессия пошла 3300")

    ctx.step(
        "в сессии обычная строка уходит Анне как личное сообщение",
        'После session_accepted обычная строка уходит как {"type": "private", '
        '"target_username": собеседник, "message": строка}.',
    )
    term.send_line("только для Анны 2718")
    anna.expect("private", from_username="Вера", message="только для Анны 2718", timeout=WAIT)
    ctx.step("эта строка не доходит до Бориса (проверка маркером)")
    nothing_before(
        term,
        "/private Борис маркер 1618",
        boris,
        {"type": "private", "from_username": "Вера", "message": "маркер 1618"},
        lambda m: "только для Анны" in str(m.get("message", "")),
        "строка из сессии не доходит до Бориса",
        'В сессии отправляйте обычные строки как {"type": "private", '
        '"target_username": собеседник}, а не в общий чат.',
    )

    ctx.step(
        "/exit завершает сессию",
        '/exit отправляет {"type": "session_end"}.',
    )
    term.send_line("/exit")
    anna.expect("session_ended", reason="exit", timeout=WAIT)
    ctx.step("на экране клиента сообщение о конце сессии")
    expect_shown(ctx, term, "session_ended", tap.expect_received(WAIT, type="session_ended"))
    caught_up(term, anna, "после сессии 5555")
    ctx.step(
        "после сессии обычная строка снова уходит всем",
        'После session_ended обычные строки снова уходят как {"type": "message"}.',
    )
    term.send_line("снова всем 1414")
    boris.expect("message", from_username="Вера", message="снова всем 1414", timeout=WAIT)
    check_clean(ctx, term)


@terminal_scenario("client_typing", timeout=SCENARIO_TIMEOUT)
def client_typing(ctx: Context) -> None:
    """Входящее сообщение печатается над строкой ввода;
    набранный текст остаётся на месте и отправляется целиком."""
    _server, anna, term, _tap = anna_and_vera(ctx)
    half = "половина стро"

    ctx.step(f"набираем «{half}» без Enter")
    term.type(half)
    wait_screen(
        term,
        lambda t: t.cursor_line().endswith(half),
        f"набранный текст «{half}» в строке ввода",
        "Набранный текст должен быть виден в строке ввода.",
    )

    ctx.step("Анна пишет всем: сообщение выше, внизу приглашение и набранный текст")
    anna.send({"type": "message", "message": "входящее 8080"})

    def intact(t: Terminal) -> bool:
        above = t.lines_above_cursor()
        line = t.cursor_line()
        return (
            any("входящее 8080" in a and half not in a for a in above)
            and line.endswith(half)
            and bool(line[: -len(half)].strip())  # the prompt is there too
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
        "дописываем «ки» и Enter: уходит вся строка «половина строки»",
        "Enter отправляет всю набранную строку, вместе с тем, что набрано до прихода сообщения.",
    )
    term.send_line("ки")
    sent = anna.expect("message", from_username="Вера", timeout=WAIT)
    if sent.get("message") != "половина строки":
        raise Fail(
            "Анна получает ровно «половина строки»",
            got=json.dumps(sent, ensure_ascii=False),
            hint="Входящее сообщение не должно терять или дублировать то, что уже набрано.",
            screen=term.screen_text(),
        )
    check_clean(ctx, term)


@terminal_scenario("client_quit", timeout=SCENARIO_TIMEOUT)
def client_quit(ctx: Context) -> None:
    """/quit завершает клиент с кодом 0; если сервер пропал,
    клиент сообщает об этом и завершается с ненулевым кодом."""
    _server, _anna, term, _tap = anna_and_vera(ctx)

    ctx.step("/quit: клиент завершается с кодом 0")
    term.send_line("/quit")
    status = term.wait_exit(WAIT)
    if status != 0:
        raise screen_fail_status(term, "после /quit клиент завершается с кодом 0", status)
    check_clean(ctx, term)

    ctx.step("сервер пропал: клиент сообщает об этом и завершается с ненулевым кодом")
    server2, _, term2, _ = anna_and_vera(ctx)
    before = {line for line in term2.all_lines() if line.strip()}
    server2.kill()
    status = term2.wait_exit(WAIT)
    if status is None or status == 0:
        raise screen_fail_status(
            term2, "когда сервер пропал, клиент завершается с ненулевым кодом", status
        )
    news = [line for line in term2.all_lines() if line.strip() and line not in before]
    if not news:
        raise Fail(
            "сообщение о потере соединения на экране",
            got="клиент завершился молча",
            hint="Когда recv() вернул b'' или бросил OSError, напечатайте "
            "«Соединение с сервером потеряно.» и завершитесь с кодом 1.",
            screen=term2.screen_text(),
        )
    check_clean(ctx, term2)


def screen_fail_status(term: Terminal, expected: str, status: int | None) -> Fail:
    if status is None:
        got = f"клиент всё ещё работает через {WAIT:g} с"
    elif status < 0:
        got = f"клиент убит сигналом {-status}"
    else:
        got = f"код выхода {status}"
    hint = "После /quit закройте сокет и завершите программу (sys.exit(0))."
    if "пропал" in expected:
        hint = (
            "Поток чтения должен заметить закрытое соединение (recv вернул b'') и завершить "
            "весь клиент: os._exit(1) или сигнал главному потоку."
        )
    if any(term.contains(word) for word in NEVER):
        hint = TRACEBACK_HINT + " " + hint
    return Fail(expected, got=got, hint=hint, screen=term.screen_text())
