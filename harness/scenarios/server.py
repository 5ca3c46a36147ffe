"""Server scenarios: the student's server, checked with raw-socket probes.

Each scenario starts its own server in its own private network and registers probes under
fixed names.  Absence ("B did NOT get it") is always proven with a marker the same sender
causes after the message under test (handout §5.10, :mod:`harness.probe`), never with a
sleep.  Limits, codes and reasons come from ``lab/protocol.json``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import signal
import socket
import time
from typing import Any

from harness.context import LOAD_SLACK, Context
from harness.probe import (
    Marker,
    Probe,
    broadcast_marker,
    private_marker,
    unique,
)
from harness.process import ServerProcess
from harness.protocol import protocol, server_message_problem
from harness.sandbox import TIME_ZONE, TIME_ZONE_HOURS
from harness.scenario import scenario
from harness.verdict import Fail

STARTS = ("server_starts",)
REGISTERED = ("server_register",)
LIMITS = protocol()["limits"]
MAX_NAME = int(LIMITS["username_max_chars"])
MAX_TEXT = int(LIMITS["max_text_chars"])
SLOW_SENDQ = 512 * 1024
# A closed socket is either, by the server's view (handout §5.6).
LEAVE_REASONS_ON_CLOSE = tuple(
    r for r in protocol()["leave_reasons"] if r in ("quit", "disconnect")
)


def chat(ctx: Context, *names: str, **options: Any) -> tuple[ServerProcess, list[Probe]]:
    """Start the student's server and register one probe per name, in order."""
    ctx.step("запуск сервера")
    server = ctx.server(**options)
    probes = []
    for name in names:
        ctx.step(f"регистрация клиента {name}")
        probes.append(ctx.probe(server, name))
    return server, probes


def nothing_via(
    observer: Probe, replier: Probe, forbid: Any, what: str, hint: str = ""
) -> list[dict[str, Any]]:
    """Prove ``observer`` got nothing ``forbid`` selects: ``replier`` broadcasts a marker.

    Whatever ``replier``'s earlier messages caused for ``observer`` arrives before the marker
    (§5.10, same sender).  So does whatever ``observer``'s own messages caused, once
    ``replier`` has seen their effect: it was queued before the marker existed (causality).
    Needs only the general chat, so a scenario using it grades nothing else.
    """
    return observer.expect_none_before(broadcast_marker(replier), forbid, what=what, hint=hint)


def heard_from(observer: Probe, newcomer: Probe) -> None:
    """``observer`` receives a chat line from ``newcomer`` (a broadcast marker).

    The newcomer writes it after its welcome, so whatever its registration caused for
    ``observer`` (the join notice) has arrived before it (§5.10).  A scenario synchronises
    on it, not on the join itself, which is server_join_leave's to grade.
    """
    observer.take_until(broadcast_marker(newcomer))


def expect_error(probe: Probe, code: str, hint: str, timeout: float = 2.0) -> dict[str, Any]:
    """Wait for ``error`` with ``code``; a different error code fails with what came."""
    try:
        return probe.expect("error", code=code, timeout=timeout)
    except Fail as fail:
        fail.hint = hint
        raise


def wait_for_users(probe: Probe, expected: list[str], hint: str, timeout: float = 2.0) -> None:
    """Ask for the users list until it is ``expected`` (a leave is processed asynchronously).

    Each try is a full round trip, so this waits on the server, not on the clock.
    """
    deadline = time.monotonic() + timeout
    while True:
        probe.send({"type": "users"})
        users = probe.expect("users_list", timeout=timeout).get("users")
        if users == expected:
            return
        if time.monotonic() > deadline:
            raise Fail(f"users = {expected}", got=str(users), hint=hint)


def order_of(probe: Probe, author: Probe, sender: str, texts: list[str], hint: str) -> str:
    """``probe`` gets ``texts`` from ``sender`` in this order (§5.10); "" when it did.

    A server that answered ``author``'s burst with invalid_json could not split glued lines:
    that is server_framing's to grade, and the order here is not graded (the reason is
    returned).
    """
    try:
        for text in texts:
            probe.expect("message", from_username=sender, message=text)
    except Fail:
        if author.peek("error", code="invalid_json") is not None:
            return "порядок не проверен: сервер не разобрал две склеенные строки (server_framing)"
        raise
    order = [
        i.message.get("message")
        for i in probe.received
        if i.message and i.message.get("message") in texts
    ]
    if order != texts:
        raise Fail(
            f"{probe.username} получает сообщения {sender} в том порядке, в каком они отправлены",
            got=" → ".join(str(t) for t in order),
            hint=hint + " Сообщения одного клиента обрабатывайте по порядку в его потоке (§5.10).",
        )
    return ""


def register_when_free(
    ctx: Context, server: ServerProcess, name: str, timeout: float = 3.0
) -> Probe:
    """A probe registered as ``name`` once its last owner is gone (retried: a leave is
    processed asynchronously, and leave notices are graded elsewhere)."""
    probe = ctx.probe(server)
    deadline = time.monotonic() + timeout
    while True:
        probe.send({"username": name})
        answer = probe.expect(lambda kind: kind in ("system", "error"), timeout=timeout)
        if answer.get("event") == "welcome":
            probe.username = name
            return probe
        if time.monotonic() > deadline:
            raise Fail(f"имя {name} освобождается после ухода", got=str(answer))


def names_user(message: dict[str, Any], name: str) -> bool:
    return name.casefold() in str(message.get("message", "")).casefold()


def starts_fail(problems: list[str], hint: str) -> Fail:
    return Fail(
        "сервер слушает адрес и порт из --host и --port и сообщает настоящий порт строкой "
        "готовности «Сервер запущен на 127.0.0.1:ПОРТ»",
        got="\n".join(problems),
        hint=hint,
    )


# -- part 1 ---------------------------------------------------------------------------------
@scenario("server_starts", timeout=12)
def server_starts(ctx: Context) -> None:
    """Сервер слушает адрес и порт из --host/--port, печатает строку готовности с настоящим
    портом (и для --port 0), а занятый порт — одна строка об ошибке и код 1.
    """
    hint = (
        "Разберите параметры --host и --port (и остальные из задания), слушайте ровно их и "
        "напечатайте «Сервер запущен на 127.0.0.1:ПОРТ» с портом из sock.getsockname()[1]."
    )
    ctx.step("запуск сервера с --port 0: он принимает подключения", hint)
    server = ctx.server(port=0)
    ctx.probe(server).close()
    ctx.dependents_may_run()  # the others can use this server; how it starts is graded here
    ctx.step("строка готовности называет порт, который выбрала ОС", hint)
    if server.ready.problems:
        raise starts_fail(server.ready.problems, hint)
    server.close()

    asked = ctx.asked_port()
    ctx.step(f"запуск сервера с --port {asked}: он слушает именно этот порт", hint)
    server = ctx.server(port=asked)
    problems = list(server.ready.problems)
    if server.host != "127.0.0.1" or any(
        h != "127.0.0.1" for h, _ in ctx.sandbox.listening(server.pid)
    ):
        problems.append(
            "сервер слушает не только 127.0.0.1 (например, 0.0.0.0 — все адреса машины), "
            "а ему дали --host 127.0.0.1"
        )
    if problems:
        raise starts_fail(problems, hint)
    ctx.step(
        "в stdout сервера — только строка готовности, один раз; журнал — в stderr",
        "Журнал входов, выходов и ошибок пишите в stderr (logging или print(..., "
        "file=sys.stderr)): stdout — только для строки готовности (§5.11).",
    )
    alice, bob = ctx.probe(server), ctx.probe(server)
    try:  # a server that registers has logged both by the time Alice hears of Bob
        alice.register("Alice")
        bob.register("Bob")
        alice.expect("system", event="join", username="Bob")
    except Fail:  # registration is graded by server_register; here the connections suffice
        alice.close()
    lines = [line for line in server.stdout_lines() if line.strip()]
    if len(lines) != 1:
        raise Fail(
            "в stdout одна строка — строка готовности",
            got="\n".join(lines[:12]) or "stdout пуст",
            hint=ctx.current_hint,
        )
    server.close()

    busy_hint = (
        "Если bind() бросил OSError (порт занят), напечатайте одну понятную строку "
        "(например, «Порт 8083 занят») и выйдите с кодом 1 — без traceback."
    )
    ctx.step(f"порт {asked} уже занят: одна строка об ошибке, код 1, без Traceback", busy_hint)
    with ctx.sandbox.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT left by probes
        taken.bind(("127.0.0.1", asked))
        taken.listen(1)
        code, output = ctx.run_to_exit("server.py", ["--host", "127.0.0.1", "--port", str(asked)])
    if code is None:
        raise Fail(
            "сервер на занятом порту завершается с кодом 1",
            got="сервер всё ещё работает через 5 с",
            hint=busy_hint,
        )
    if code != 1 or "Traceback" in output:
        raise Fail(
            "одна строка об ошибке и код выхода 1",
            got=f"код {code}\n{output[-1500:]}",
            hint=busy_hint,
        )


def welcomed_after(probe: Probe, name: str, errors: tuple[str, ...], hint: str) -> None:
    """``probe`` is welcomed as ``name``, and before the welcome got exactly ``errors`` (codes).

    Registration is all that part 1 has, so framing is proven by the replies to registration
    lines: a line cut or glued wrongly becomes a wrong name, an extra error or no welcome.
    The lines were sent already; the welcome is the marker.
    """
    welcome = Marker({"type": "system", "event": "welcome", "username": name})
    try:
        before = probe.take_until(welcome)
    except Fail as fail:
        fail.expected = f"приветствие (welcome) с именем {name}"
        fail.hint = hint
        raise
    probe.username = name
    got = [
        str(i.message.get("code")) if i.message and i.message.get("type") == "error" else i.show()
        for i in before
    ]
    if tuple(got) != errors:
        raise Fail(
            "до приветствия " + (", ".join(f"ошибка {c}" for c in errors) or "ничего не приходит"),
            got=", ".join(got) or "ничего",
            hint=hint,
        )


@scenario("server_framing", depends=REGISTERED)
def server_framing(ctx: Context) -> None:
    """Сервер собирает строку из кусков (по байту, с разрезанными UTF-8 символами), разбирает
    несколько строк из одного куска, принимает \\r\\n и \\uXXXX, пропускает пустые строки и сам
    завершает каждое сообщение символом \\n.
    """
    ctx.step("запуск сервера")
    server = ctx.server()
    recv_hint = (
        "Один recv() — не одно сообщение: копите байты в буфере, делите по b'\\n' "
        "и декодируйте UTF-8 только целую строку."
    )
    ctx.step("клиент занимает имя Taken")
    taken = ctx.probe(server, "Taken")
    probes = [taken]

    ctx.step("регистрация, присланная по одному байту: приветствие с именем Dan", hint=recv_hint)
    dan = ctx.probe(ctx.proxy(server, chunk=1, delay=0.002))
    probes.append(dan)
    dan.send({"username": "Dan"})
    welcomed_after(dan, "Dan", (), recv_hint)

    name = "Ёжик_Кира_中_𝔄"
    ctx.step(
        f"имя {name}, разрезанное посреди UTF-8 символов: приветствие с тем же именем",
        hint=recv_hint,
    )
    kira = ctx.probe(ctx.proxy(server, split_utf8=True, delay=0.01))
    probes.append(kira)
    kira.send({"username": name})
    welcomed_after(kira, name, (), recv_hint)

    ctx.step(
        "две строки в одном куске (занятое имя, затем свободное): username_taken, "
        "затем приветствие",
        hint=recv_hint + " Разберите все полные строки из буфера, по порядку.",
    )
    free = ctx.probe(server)
    probes.append(free)
    free.send_raw(b'{"username": "Taken"}\n{"username": "Free"}\n')
    welcomed_after(free, "Free", ("username_taken",), recv_hint)

    ctx.step(
        "кусок с концом одной строки и началом следующей: username_taken, затем приветствие",
        hint=recv_hint + " Хвост без b'\\n' оставьте в буфере до следующего recv().",
    )
    glue = ctx.probe(ctx.proxy(server, chunk=15, delay=0.01))
    probes.append(glue)
    glue.send_raw(b'{"username": "Taken"}\n{"username": "Glue"}\n')  # pieces of 15 bytes
    welcomed_after(glue, "Glue", ("username_taken",), recv_hint)

    blank_hint = "Отбрасывайте \\r в конце строки и пропускайте пустые строки (§5.1)."
    ctx.step("строки с \\r\\n и пустые строки: ошибок нет, кроме username_taken", hint=blank_hint)
    crlf = ctx.probe(server)
    probes.append(crlf)
    crlf.send_raw(b'\r\n\n{"username": "Taken"}\r\n\n\r\n{"username": "Crlf"}\r\n')
    welcomed_after(crlf, "Crlf", ("username_taken",), blank_hint)

    ctx.step(
        "имя, присланное как \\uXXXX: приветствие с именем Аня_𝔄",
        hint="Разбирайте строку json.loads(): он сам превращает \\uXXXX в символы.",
    )
    anya = ctx.probe(server)
    probes.append(anya)
    anya.send_raw(b'{"username": "\\u0410\\u043d\\u044f_\\ud835\\udd04"}\n')
    welcomed_after(anya, "Аня_𝔄", (), "Разбирайте строку json.loads() и не меняйте имя.")

    ctx.step(
        "каждое сообщение сервера — одна строка: JSON-объект и \\n после него",
        hint="Отправляйте (json.dumps(сообщение, ensure_ascii=False) + '\\n').encode('utf-8') "
        "одним sendall(): без \\n клиент не узнает, где кончается сообщение (§5.1).",
    )
    for probe in probes:
        bad = probe.unframed()
        if bad:
            raise Fail(
                "каждое сообщение сервера заканчивается \\n, одно сообщение — одна строка",
                got=f"{bad[0].show()}   ({bad[0].unframed})",
                hint=ctx.current_hint,
            )


@scenario("server_register", depends=STARTS)
def server_register(ctx: Context) -> None:
    """После регистрации {"username": ...} клиент получает приветствие со своим именем и числом
    пользователей онлайн.
    """
    ctx.step("запуск сервера")
    server = ctx.server()
    hint = (
        'Первое сообщение клиента — {"username": ИМЯ}. Ответьте ему '
        '{"type": "system", "event": "welcome", "username": ИМЯ, "online_users": N, ...}.'
    )
    for count, name in enumerate(("Alice", "Bob"), start=1):
        ctx.step(f"регистрация {name}: приветствие с именем и online_users={count}", hint=hint)
        probe = ctx.probe(server)
        probe.send({"username": name})
        welcome = probe.expect("system", event="welcome")
        if welcome.get("username") != name:
            raise Fail(f"в приветствии username={name!r}", got=str(welcome), hint=hint)
        ctx.dependents_may_run()  # registration works; the details below are this one's own
        if welcome.get("online_users") != count:
            raise Fail(
                f"в приветствии online_users={count} (онлайн {count})",
                got=str(welcome),
                hint="online_users — сколько пользователей онлайн, включая нового.",
            )
        if not names_user(welcome, name):
            raise Fail(
                f"текст приветствия называет пользователя {name}",
                got=str(welcome.get("message")),
                hint="Например: «Добро пожаловать в чат, ИМЯ!».",
            )
        probe.username = name
    ctx.step(
        'имя из букв, цифр и «.-_» с лишним полем {"username": "a.b-c_9", "color": "red"}: '
        "приветствие",
        hint="Имя — 1–32 символа: буквы, цифры, «_», «-», «.»; лишние поля сообщения "
        "игнорируются (§5.1, §5.2).",
    )
    probe = ctx.probe(server)
    probe.send({"username": "a.b-c_9", "color": "red"})
    probe.expect("system", event="welcome", username="a.b-c_9")


@scenario("server_duplicate_names", depends=REGISTERED)
def server_duplicate_names(ctx: Context) -> None:
    """Имя, занятое без учёта регистра, и недопустимое имя получают ошибку; соединение остаётся
    открытым, можно попробовать снова.
    """
    server, (alice,) = chat(ctx, "Alice")
    other = ctx.probe(server)
    for attempt, code in (
        ("Alice", "username_taken"),
        ("alice", "username_taken"),
        ("ALICE", "username_taken"),
        ("bad name", "username_invalid"),
        ("", "username_invalid"),
        ("x" * (MAX_NAME + 1), "username_invalid"),
    ):
        ctx.step(f"регистрация с именем {attempt!r}: ошибка {code}")
        other.send({"username": attempt})
        expect_error(
            other,
            code,
            "Имена уникальны без учёта регистра: сравнивайте "
            "unicodedata.normalize('NFC', имя).casefold(). Имя — 1–32 символа: буквы, цифры, "
            "«_», «-», «.». Ошибка не закрывает соединение.",
        )
    ctx.step(
        "«Zoë» занято: «Zoe» + комбинируемый знак (то же имя в NFD) — ошибка, а не второй Zoë",
        hint="Сравнивайте unicodedata.normalize('NFC', имя).casefold() (§5.2).",
    )
    ctx.probe(server, "Zo\u00eb")
    other.send({"username": "Zoe\u0308"})
    # §5.2 leaves the order open: compared after NFC it is taken, checked as sent it is invalid.
    answer = other.expect("error")  # a welcome instead would be a second Zoë
    if answer.get("code") not in ("username_taken", "username_invalid"):
        raise Fail(
            "ошибка username_taken (или username_invalid) для «Zoe» + U+0308",
            got=json.dumps(answer, ensure_ascii=False),
            hint=ctx.current_hint,
        )
    ctx.step(
        "десять клиентов одновременно занимают одно имя: приветствие получает ровно один",
        hint="Проверку «имя свободно» и занятие имени делайте под одной блокировкой: иначе "
        "два одинаковых имени проскочат одновременно (§5.2).",
    )
    racers = [ctx.probe(server) for _ in range(10)]
    for racer in racers:
        racer.send({"username": "Same"})
    answers = [
        racer.expect(lambda kind: kind in ("system", "error"), timeout=3.0) for racer in racers
    ]
    welcomes = [m for m in answers if m.get("event") == "welcome"]
    if len(welcomes) != 1:
        raise Fail(
            "ровно одно приветствие с именем Same",
            got=f"приветствий: {len(welcomes)}",
            hint=ctx.current_hint,
        )
    ctx.step("после ошибок можно зарегистрироваться под свободным именем")
    other.register("Alice2")
    ctx.step(
        "Alice узнаёт только о входе Alice2, а не о неудачных попытках",
        hint="Уведомление join рассылается только после успешной регистрации.",
    )
    # Alice2's join ends the wait; a server that sends no joins at all (server_join_leave's
    # to grade) sends no wrong ones either, and Alice2's chat line ends it instead.
    marker = broadcast_marker(other)
    marker.or_fields = ({"type": "system", "event": "join", "username": "Alice2"},)
    alice.expect_none_before(
        marker,
        lambda m: (
            m.get("event") == "join"
            and m.get("username") not in ("Alice", "Alice2", "Zo\u00eb", "Same")
        ),
        what="Alice не получает join для отклонённых имён",
    )


@scenario("server_join_leave", depends=REGISTERED)
def server_join_leave(ctx: Context) -> None:
    """Остальные пользователи получают уведомления о входе и выходе с именем и верным числом
    онлайн.
    """
    server, (alice, bob) = chat(ctx, "Alice", "Bob")
    join_hint = (
        "Всем, кроме нового пользователя, отправьте "
        '{"type": "system", "event": "join", "username": ИМЯ, "online_users": N, ...}.'
    )
    ctx.step("Alice получает join Bob с online_users=2", hint=join_hint)
    alice.expect("system", event="join", username="Bob", online_users=2)
    ctx.step(
        "Carol входит, пока открыто ещё не зарегистрированное соединение: Alice и Bob получают "
        "join с online_users=3",
        hint=join_hint + " Считайте только зарегистрированных пользователей.",
    )
    stranger = ctx.probe(server)  # connected, never registers: not a user, not counted
    carol = ctx.probe(server, "Carol")
    for probe in (alice, bob):
        msg = probe.expect("system", event="join", username="Carol")
        if msg.get("online_users") != 3:
            raise Fail("online_users=3 в уведомлении о входе Carol", got=str(msg), hint=join_hint)
        if not names_user(msg, "Carol"):
            raise Fail("текст уведомления называет Carol", got=str(msg), hint=join_hint)
    ctx.step(
        "Carol не получает join о самой себе",
        hint="Новый пользователь получает welcome; join — только остальные.",
    )
    nothing_via(
        carol, alice, {"type": "system", "event": "join", "username": "Carol"},
        "Carol не получает join о себе",
    )  # fmt: skip
    leave_hint = (
        "Когда соединение закрывается, удалите пользователя из списка и сообщите остальным "
        '{"type": "system", "event": "leave", "username": ИМЯ, "reason": ..., '
        '"online_users": N} — N уже без ушедшего.'
    )
    ctx.step(
        "Carol закрывает соединение: Alice и Bob получают leave с online_users=2", hint=leave_hint
    )
    carol.close()
    for probe in (alice, bob):
        msg = probe.expect("system", event="leave", username="Carol")
        if msg.get("online_users") != 2 or msg.get("reason") not in LEAVE_REASONS_ON_CLOSE:
            raise Fail(
                "leave Carol с online_users=2 и reason quit или disconnect",
                got=str(msg),
                hint=leave_hint,
            )
        if not names_user(msg, "Carol"):
            raise Fail("текст уведомления называет Carol", got=str(msg), hint=leave_hint)
    ctx.step("Bob уходит: Alice получает leave с online_users=1", hint=leave_hint)
    bob.close()
    msg = alice.expect("system", event="leave", username="Bob")
    if msg.get("online_users") != 1:
        raise Fail("leave Bob с online_users=1", got=str(msg), hint=leave_hint)
    ctx.step(
        "незарегистрированное соединение закрывается молча: Alice не получает leave",
        hint="О подключении, которое так и не зарегистрировалось, никто не знал: уходит оно "
        "без уведомления (§5.6).",
    )
    stranger.close()
    dave = ctx.probe(server)
    dave.register("Dave")
    alice.expect_none_before(
        Marker({"type": "system", "event": "join", "username": "Dave"}),
        {"type": "system", "event": "leave"},
        what="Alice не получает leave о незарегистрированном соединении",
        hint=ctx.current_hint,
    )
    ctx.step("новый пользователь видит верный счётчик", hint=join_hint)
    eve = ctx.probe(server)
    welcome = eve.register("Eve")
    if welcome.get("online_users") != 3:
        raise Fail("приветствие Eve с online_users=3", got=str(welcome), hint=join_hint)


@scenario("server_broadcast", depends=REGISTERED)
def server_broadcast(ctx: Context) -> None:
    """Сообщение в общий чат доходит до всех остальных по порядку и не возвращается отправителю."""
    ctx.step("запуск сервера")
    server = ctx.server()
    # Connected before the others: the server has accepted it by the time they are welcomed.
    stranger = ctx.probe(server)
    alice, bob, carol = (ctx.probe(server, name) for name in ("Alice", "Bob", "Carol"))
    hint = (
        'Каждому, КРОМЕ отправителя, отправьте {"type": "message", "from_username": '
        'ОТПРАВИТЕЛЬ, "message": ТЕКСТ, ...}.'
    )
    texts = [unique("Привет всем"), unique("как дела"), unique("третье")]
    ctx.step("Alice отправляет сообщение: Bob и Carol получают его", hint=hint)
    alice.send({"type": "message", "message": texts[0]})
    for probe in (bob, carol):
        probe.expect("message", from_username="Alice", message=texts[0])
    ctx.step("Alice отправляет ещё два подряд: Bob и Carol получают их по порядку", hint=hint)
    # Two lines sent at once may reach the server in one recv(); a server that cannot split
    # them fails server_framing, and here only the order is graded (when it could be).
    for text in texts[1:]:
        alice.send({"type": "message", "message": text})
    for probe in (bob, carol):
        glued = order_of(probe, alice, "Alice", texts[1:], hint)
        if glued:
            ctx.transcript("harness").add("harness", glued)
            break
    ctx.step(
        "соединение, которое не зарегистрировалось, не получает сообщений чата",
        hint="Рассылайте только зарегистрированным пользователям (§5.3): до регистрации "
        "подключение — ещё не участник чата.",
    )
    # Bob has the messages, so whatever the server sent the stranger was queued before the
    # welcome to the stranger's registration below (causality, §5.10).
    stranger.expect_none_before(
        Marker(
            {"type": "system", "event": "welcome", "username": "Late"},
            lambda: stranger.send({"username": "Late"}),
            "приветствие после его регистрации",
        ),
        lambda m: True,
        what="до регистрации соединение не получает ни сообщений чата, ни уведомлений",
        hint=ctx.current_hint,
    )
    stranger.username = "Late"
    ctx.step(
        "Alice не получает своё сообщение обратно",
        hint="Отправитель не должен получать эхо своего сообщения: пропустите его при рассылке.",
    )
    nothing_via(
        alice, bob, {"type": "message", "from_username": "Alice"},
        "отправитель не получает своё сообщение",
    )  # fmt: skip
    ctx.step("Bob отвечает: Alice и Carol получают сообщение", hint=hint)
    reply = unique("ответ Bob")
    bob.send({"type": "message", "message": reply})
    for probe in (alice, carol):
        probe.expect("message", from_username="Bob", message=reply)


def answered(asker: Probe, target: Probe, timeout: float = 2.0) -> None:
    """Wait until ``asker``'s request had its effect: an answer to it or a delivery to ``target``.

    A server without that feature answers with an error, or with nothing: then the wait
    ends at ``timeout`` and there is simply nothing more to look at.
    """
    deadline = time.monotonic() + timeout
    delivered = {"from_username": asker.username}
    while time.monotonic() < deadline:
        for probe, fields in ((asker, {}), (target, delivered)):
            with contextlib.suppress(Fail):  # not yet: look at the other one
                probe.expect(lambda kind: kind != "ping", timeout=0.05, **fields)
                return


@scenario("server_timestamps", depends=REGISTERED)
def server_timestamps(ctx: Context) -> None:
    """Каждое сообщение сервера содержит timestamp — местное время в формате ISO 8601 до секунды
    ("2024-01-15T14:30:00").
    """
    # Every student program runs east of UTC (TIME_ZONE), so a UTC clock cannot pass for it.
    server, (alice, bob) = chat(ctx, "Alice", "Bob")
    ctx.step("обмен сообщениями разных типов")
    carol = ctx.probe(server, "Carol")
    heard_from(alice, carol)
    carol.close()
    text = unique("привет")
    alice.send({"type": "message", "message": text})
    bob.expect("message", from_username="Alice", message=text)
    # One request per connection and each answer awaited: no two lines ever arrive glued.
    # Whatever the server implements answers with a timestamp (an error, if nothing else).
    probes = [alice, bob]
    for i, request in enumerate(
        (
            {"type": "private", "target_username": "Bob", "message": unique("лично")},
            {"type": "users"},
            {"type": "session_request", "target_username": "Bob"},
            {"type": "nonsense"},
        )
    ):
        asker = ctx.probe(server, f"Asker{i}")
        probes.append(asker)
        asker.send(request)
        answered(asker, bob)
    ctx.step(
        "у каждого полученного сообщения есть верный timestamp",
        hint='Добавляйте в КАЖДОЕ сообщение сервера "timestamp": '
        "datetime.now().isoformat(timespec='seconds').",
    )
    utc = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    now = utc + dt.timedelta(hours=TIME_ZONE_HOURS)
    for probe in probes:
        for item in probe.received:
            if item.message is None:
                continue
            problem = server_message_problem(item.message)
            if problem and "timestamp" in problem:
                raise Fail("timestamp вида 2024-01-15T14:30:00", got=item.show(), hint=problem)
            stamp = str(item.message.get("timestamp"))
            try:
                when = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S")
            except ValueError as exc:
                raise Fail("timestamp вида 2024-01-15T14:30:00", got=item.show()) from exc
            if abs((when - now).total_seconds()) > 300:
                raise Fail(
                    f"местное время, около {now.isoformat(timespec='seconds')}",
                    got=item.show(),
                    hint="Используйте местное время сервера: datetime.now(), не utcnow() "
                    f"(сервер запущен с TZ={TIME_ZONE}, UTC+{TIME_ZONE_HOURS}).",
                )


@scenario("server_unicode", depends=REGISTERED)
def server_unicode(ctx: Context) -> None:
    """Имена и тексты на кириллице и с эмодзи доходят без искажений, в том числе присланные как
    \\uXXXX.
    """
    _server, (alice, boris) = chat(ctx, "Алиса", "Борис_2")
    hint = (
        "Кодируйте json.dumps(..., ensure_ascii=False).encode('utf-8') и декодируйте "
        "UTF-8 целые строки; не меняйте текст сообщения."
    )
    text = "Привет, Борис! Ёлка 🎄, эмодзи 👍🏽 и китайский 你好"
    ctx.step("сообщение с кириллицей и эмодзи доходит без изменений", hint=hint)
    alice.send({"type": "message", "message": text})
    boris.expect("message", from_username="Алиса", message=text)
    ctx.step(
        "кириллица на проводе — как есть, не \\uXXXX (ensure_ascii=False)",
        hint="Пишите не-ASCII текст как есть: json.dumps(..., ensure_ascii=False) (§5.1).",
    )
    raw = next(
        i.raw for i in reversed(boris.received) if i.message and i.message.get("message") == text
    )
    if "Привет" not in raw:
        raise Fail("в строке сообщения «Привет», а не \\u041f…", got=raw, hint=ctx.current_hint)
    ctx.step("ответ Бориса доходит до Алисы без изменений", hint=hint)
    boris.send({"type": "message", "message": text + "!"})
    alice.expect("message", from_username="Борис_2", message=text + "!")
    ctx.step("текст, присланный экранированным (\\uXXXX), приходит обычным текстом", hint=hint)
    escaped = '{"type": "message", "message": "\\u0416\\u0443\\u043a \\ud83d\\udc1e"}\n'
    alice.send_raw(escaped.encode("ascii"))
    boris.expect("message", from_username="Алиса", message="Жук 🐞")


@scenario("server_disconnect", depends=REGISTERED)
def server_disconnect(ctx: Context) -> None:
    """Если клиент обрывает соединение (даже посреди сообщения), остальные получают уведомление о
    выходе, а сервер продолжает работать.
    """
    server, (alice, bob, carol) = chat(ctx, "Alice", "Bob", "Carol")
    hint = (
        "Обрыв соединения (ConnectionResetError, recv() вернул b'') — не ошибка сервера: "
        "уберите пользователя, сообщите остальным и продолжайте обслуживать других."
    )
    ctx.step("Bob обрывает соединение (RST) на середине сообщения", hint=hint)
    bob.send_raw(b'{"type": "message", "mess')
    bob.abort()
    alice.expect("system", event="leave", username="Bob")
    ctx.step("Carol закрывает соединение, не дописав сообщение", hint=hint)
    carol.send_raw('{"type": "message", "message": "недопис'.encode())
    carol.close()
    alice.expect("system", event="leave", username="Carol")
    ctx.step("после обрывов новый клиент подключается и переписывается с Alice", hint=hint)
    dave = ctx.probe(server, "Dave")
    text = unique("сервер жив")
    dave.send({"type": "message", "message": text})
    alice.expect("message", from_username="Dave", message=text)
    ctx.step("имена ушедших освободились", hint="После выхода имя снова свободно.")
    # Dave reads all the new Bob's registration caused before his reset, so no send to Dave
    # is pending when it comes: the server learns of it from recv(), as the next step grades.
    heard_from(dave, ctx.probe(server, "Bob"))
    ctx.step(
        'Dave обрывает соединение (RST): Alice получает leave с reason "disconnect"',
        hint='Обрыв (ConnectionResetError, ошибка сокета) — reason "disconnect"; '
        '"quit" — когда клиент закрыл соединение сам (§5.6).',
    )
    dave.abort()
    leave = alice.expect("system", event="leave", username="Dave")
    if leave.get("reason") != "disconnect":
        raise Fail(
            'leave Dave с reason "disconnect" (соединение оборвано)',
            got=json.dumps(leave, ensure_ascii=False),
            hint=ctx.current_hint,
        )


# -- part 3 ---------------------------------------------------------------------------------
@scenario("server_private", depends=REGISTERED)
def server_private(ctx: Context) -> None:
    """Личное сообщение доходит только адресату: ни отправитель, ни другие его не получают."""
    _server, (alice, bob, carol) = chat(ctx, "Alice", "Bob", "Carol")
    secret = unique("секрет для Bob")
    hint = (
        'Найдите адресата по target_username и отправьте только ему {"type": "private", '
        '"from_username": ОТПРАВИТЕЛЬ, "message": ТЕКСТ, ...}.'
    )
    ctx.step("Alice пишет Bob лично: Bob получает private от Alice", hint=hint)
    alice.send({"type": "private", "target_username": "Bob", "message": secret})
    bob.expect("private", from_username="Alice", message=secret)
    leak_hint = "Личное сообщение отправляется только адресату, не всем."
    ctx.step("Carol личное сообщение Alice→Bob не получает", hint=leak_hint)
    carol.expect_none_before(
        private_marker(alice, carol),
        lambda m: m.get("message") == secret,
        what="Carol не получает чужое личное сообщение",
        hint=leak_hint,
    )
    ctx.step("ответ Bob → Alice доходит до Alice, а копии её сообщения у неё нет", hint=leak_hint)
    answer = unique("ответ")
    bob.send({"type": "private", "target_username": "Alice", "message": answer})
    alice.expect_none_before(
        Marker({"type": "private", "from_username": "Bob", "message": answer}),
        lambda m: m.get("message") == secret,
        what="отправитель не получает копию личного сообщения",
        hint=leak_hint,
    )
    carol.expect_none_before(
        private_marker(bob, carol),
        lambda m: m.get("message") == answer,
        what="Carol не получает чужое личное сообщение",
        hint=leak_hint,
    )
    for target, code in (("Nobody", "unknown_user"), ("Alice", "self_target")):
        ctx.step(
            f"личное сообщение для {target!r}: ошибка {code}",
            hint="Адресата нет в сети — unknown_user; адресат — сам отправитель — "
            "self_target. Ошибка не закрывает соединение.",
        )
        alice.send({"type": "private", "target_username": target, "message": "hi"})
        expect_error(alice, code, ctx.current_hint)
    ctx.step(
        "адресат «bob» в другом регистре: сообщение доходит до Bob",
        hint="Имена без учёта регистра и везде одинаково: ищите адресата по "
        "unicodedata.normalize('NFC', имя).casefold() (§5.2).",
    )
    text = unique("регистр не важен")
    alice.send({"type": "private", "target_username": "bob", "message": text})
    bob.expect("private", from_username="Alice", message=text)


@scenario("server_users_list", depends=REGISTERED)
def server_users_list(ctx: Context) -> None:
    """Запрос users возвращает список пользователей онлайн в порядке входа, без ушедших."""
    server, (zoe, adam, mia) = chat(ctx, "Zoe", "Adam", "Mia")
    hint = (
        'Ответьте {"type": "users_list", "users": [...]} — имена в порядке входа '
        "(храните пользователей в dict или list в порядке регистрации, не сортируйте); "
        "незарегистрированные соединения в список не входят."
    )
    ctx.probe(server)  # connected, never registers
    ctx.step("Adam запрашивает список: Zoe, Adam, Mia", hint=hint)
    adam.send({"type": "users"})
    users = adam.expect("users_list").get("users")
    if users != ["Zoe", "Adam", "Mia"]:
        raise Fail("users = ['Zoe', 'Adam', 'Mia']", got=str(users), hint=hint)
    ctx.step("Adam уходит; вскоре список Zoe: Zoe, Mia", hint=hint)
    adam.close()
    wait_for_users(zoe, ["Zoe", "Mia"], hint)
    ctx.step("Bella входит последней и оказывается в конце списка", hint=hint)
    heard_from(mia, ctx.probe(server, "Bella"))
    mia.send({"type": "users"})
    users = mia.expect("users_list").get("users")
    if users != ["Zoe", "Mia", "Bella"]:
        raise Fail("users = ['Zoe', 'Mia', 'Bella']", got=str(users), hint=hint)


# -- part 4 ---------------------------------------------------------------------------------
def open_session(ctx: Context, requester: Probe, responder: Probe) -> None:
    """requester asks responder, who accepts; both get session_accepted."""
    a, b = requester.username, responder.username
    ctx.step(
        f"{a} просит сессию у {b}: {b} получает session_request",
        hint='Передайте адресату {"type": "session_request", "from_username": КТО_ПРОСИТ, ...}.',
    )
    requester.send({"type": "session_request", "target_username": b})
    responder.expect("session_request", from_username=a)
    ctx.step(
        f"{b} соглашается: оба получают session_accepted",
        hint='На session_response с accepted=true отправьте ОБОИМ {"type": "session_accepted", '
        '"from_username": КТО_ПРОСИЛ, "to_username": КТО_ОТВЕТИЛ, ...}.',
    )
    responder.send({"type": "session_response", "target_username": a, "accepted": True})
    for probe in (requester, responder):
        probe.expect("session_accepted", from_username=a, to_username=b)


@scenario("server_session_accept", depends=REGISTERED)
def server_session_accept(ctx: Context) -> None:
    """Запрос приватной сессии доходит до адресата; после согласия оба получают session_accepted,
    пара занята для других запросов.
    """
    _server, (alice, bob, carol) = chat(ctx, "Alice", "Bob", "Carol")
    open_session(ctx, alice, bob)
    ctx.dependents_may_run()  # sessions open; what follows is this scenario's own
    ctx.step(
        "Carol не получает уведомлений о чужой сессии",
        hint="Запрос и ответ о сессии отправляются только её участникам.",
    )
    nothing_via(
        carol, alice, lambda m: str(m.get("type", "")).startswith("session"),
        "Carol не получает сообщений о чужой сессии",
    )  # fmt: skip
    ctx.step(
        "в сессии сообщения Alice → Bob идут лично",
        hint="private внутри сессии доставляется партнёру как обычно.",
    )
    text = unique("в сессии")
    alice.send({"type": "private", "target_username": "Bob", "message": text})
    bob.expect("private", from_username="Alice", message=text)
    ctx.step(
        "Carol просит сессию у занятого Bob: ошибка busy",
        hint="Пользователь может быть только в одной сессии: ответьте ошибкой busy.",
    )
    carol.send({"type": "session_request", "target_username": "Bob"})
    expect_error(carol, "busy", "Пока Bob в сессии, запрос к нему получает ошибку busy.")
    nothing_via(bob, carol, {"type": "session_request"}, "Bob не получает запрос, пока он в сессии")
    ctx.step(
        "Carol просит сессию у «ALICE» (другой регистр): та же Alice, ошибка busy",
        hint="Ищите адресата без учёта регистра: unicodedata.normalize('NFC', имя).casefold() "
        "(§5.2); Alice занята сессией — busy.",
    )
    carol.send({"type": "session_request", "target_username": "ALICE"})
    expect_error(carol, "busy", ctx.current_hint)
    ctx.step(
        "Carol пишет всем: участники сессии Alice и Bob получают общее сообщение",
        hint="Общее сообщение уходит всем остальным, в том числе тем, кто в сессии (§5.3).",
    )
    text = unique("всем, и в сессии")
    carol.send({"type": "message", "message": text})
    for probe in (alice, bob):
        probe.expect("message", from_username="Carol", message=text)
    for target, code in (("Carol", "self_target"), ("Nobody", "unknown_user")):
        ctx.step(
            f"Carol просит сессию у {target}: ошибка {code}",
            hint="Сессию нельзя просить у себя (self_target) и у того, кого нет в сети "
            "(unknown_user).",
        )
        carol.send({"type": "session_request", "target_username": target})
        expect_error(carol, code, ctx.current_hint)


@scenario("server_session_reject", depends=REGISTERED)
def server_session_reject(ctx: Context) -> None:
    """При отказе оба получают session_rejected, сессия не начинается и запрос можно повторить;
    запросы ушедшего пользователя забываются."""
    server, (alice, bob) = chat(ctx, "Alice", "Bob")
    hint = (
        'На session_response с accepted=false отправьте ОБОИМ {"type": "session_rejected", '
        '"from_username": КТО_ПРОСИЛ, "to_username": КТО_ОТВЕТИЛ, ...} и забудьте запрос.'
    )
    ctx.step("Alice просит сессию у Bob")
    alice.send({"type": "session_request", "target_username": "Bob"})
    bob.expect("session_request", from_username="Alice")
    ctx.step(
        "повторный запрос Alice, пока Bob не ответил: ошибка busy",
        hint="Если запрос Alice к Bob уже ждёт ответа, новый запрос — ошибка busy.",
    )
    alice.send({"type": "session_request", "target_username": "Bob"})
    expect_error(alice, "busy", ctx.current_hint)
    ctx.step("Bob отказывает: оба получают session_rejected", hint=hint)
    bob.send({"type": "session_response", "target_username": "Alice", "accepted": False})
    for probe in (alice, bob):
        probe.expect("session_rejected", from_username="Alice", to_username="Bob")
    ctx.step("отказ не начинает сессию", hint=hint)
    for observer, replier in ((alice, bob), (bob, alice)):
        nothing_via(
            observer, replier, {"type": "session_accepted"}, "после отказа нет session_accepted",
            hint,
        )  # fmt: skip
    alice.send({"type": "session_end"})
    expect_error(alice, "not_in_session", "После отказа сессии нет: session_end → not_in_session.")
    ctx.step(
        "второй ответ Bob на уже отвеченный запрос: ошибка no_pending_request",
        hint="Ответ без ожидающего запроса от этого пользователя — ошибка no_pending_request.",
    )
    bob.send({"type": "session_response", "target_username": "Alice", "accepted": True})
    expect_error(bob, "no_pending_request", ctx.current_hint)
    ctx.step("Alice может снова попросить сессию у Bob", hint=hint)
    alice.send({"type": "session_request", "target_username": "Bob"})
    bob.expect("session_request", from_username="Alice")
    ctx.step(
        "Alice уходит, не дождавшись ответа, и входит снова: её старый запрос забыт — "
        "ответ Bob получает no_pending_request",
        hint="Когда пользователь уходит, удалите и его ожидающие запросы сессий (§5.6, §5.7): "
        "новый пользователь с тем же именем их не наследует.",
    )
    alice.close()
    again = register_when_free(ctx, server, "Alice")
    bob.send({"type": "session_response", "target_username": "Alice", "accepted": True})
    expect_error(bob, "no_pending_request", ctx.current_hint)
    nothing_via(
        again, bob, {"type": "session_accepted"}, "новая Alice не получает session_accepted",
        ctx.current_hint,
    )  # fmt: skip


@scenario("server_session_end", depends=("server_session_accept",))
def server_session_end(ctx: Context) -> None:
    """Сессия завершается по session_end (оба получают session_ended с reason exit) и при уходе
    собеседника (reason disconnect).
    """
    _server, (alice, bob, carol) = chat(ctx, "Alice", "Bob", "Carol")
    open_session(ctx, alice, bob)
    ctx.step(
        "Alice завершает сессию: оба получают session_ended с reason exit",
        hint='На session_end отправьте обоим {"type": "session_ended", "from_username": КТО, '
        '"to_username": ПАРТНЁР, "reason": "exit", ...} и освободите пару.',
    )
    alice.send({"type": "session_end"})
    for probe in (alice, bob):
        probe.expect("session_ended", from_username="Alice", to_username="Bob", reason="exit")
    ctx.step("после завершения Bob свободен для новой сессии")
    open_session(ctx, carol, bob)
    ctx.step(
        "Bob уходит из чата: Carol получает session_ended с reason disconnect",
        hint="Когда участник сессии отключается, партнёру отправьте session_ended с "
        'reason "disconnect" и from_username ушедшего.',
    )
    bob.close()
    carol.expect("session_ended", from_username="Bob", reason="disconnect")
    ctx.step(
        "Carol снова свободна: Alice может начать с ней сессию",
        hint="Освободите партнёра ушедшего пользователя.",
    )
    open_session(ctx, alice, carol)


# -- part 5 ---------------------------------------------------------------------------------
@scenario("server_bad_input", depends=REGISTERED)
def server_bad_input(ctx: Context) -> None:
    """На ошибочный ввод сервер отвечает ошибкой с нужным кодом, не закрывая соединение, и
    продолжает обслуживать всех; фатальные ошибки (длинная строка, лишнее подключение)
    закрывают только своё соединение.
    """
    server, (alice, bob) = chat(ctx, "Alice", "Bob", max_line_bytes=16384)
    cases: list[tuple[str, bytes, str]] = [
        ("строка не JSON", b"this is not json\n", "invalid_json"),
        ("JSON, но не объект", b"[1, 2, 3]\n", "invalid_json"),
        ("нет поля message", b'{"type": "message"}\n', "invalid_message"),
        ("message не строка", b'{"type": "message", "message": 5}\n', "invalid_message"),
        ("неизвестный type", b'{"type": "dance"}\n', "unknown_type"),
        ("пустой текст", b'{"type": "message", "message": "   "}\n', "empty_message"),
        (
            "пустой текст личного сообщения",
            b'{"type": "private", "target_username": "Bob", "message": " "}\n',
            "empty_message",
        ),
        (
            f"текст длиннее {MAX_TEXT} символов",
            ('{"type": "message", "message": "%s"}\n' % ("я" * (MAX_TEXT + 1))).encode(),
            "message_too_long",
        ),
        (
            "target_username не строка",
            b'{"type": "private", "target_username": 5, "message": "hi"}\n',
            "invalid_message",
        ),
        ("повторная регистрация", b'{"username": "Alice3"}\n', "already_registered"),
    ]
    for title, data, code in cases:
        ctx.step(
            f"{title}: ошибка {code}, соединение открыто",
            hint=f'Ответьте {{"type": "error", "code": "{code}", ...}} и продолжайте '
            "читать этого клиента; разбор и проверку сообщения оберните в обработку ошибок.",
        )
        alice.send_raw(data)
        if b'"private"' not in data:
            expect_error(alice, code, ctx.current_hint)
            continue
        # A server without private messages (graded by server_private) knows no such type:
        # its unknown_type is the right answer here, and this case is not its to grade.
        answer = alice.expect("error")
        if answer.get("code") not in (code, "unknown_type"):
            raise Fail(
                f"ошибка {code}",
                got=json.dumps(answer, ensure_ascii=False),
                hint=ctx.current_hint,
            )
    ctx.step(
        "после всех ошибок Alice и Bob переписываются как прежде",
        hint="Ошибка одного сообщения не должна ломать соединение или сервер.",
    )
    text = unique("я всё ещё здесь")
    alice.send({"type": "message", "message": text})
    bob.expect("message", from_username="Alice", message=text)
    ctx.step(
        "сообщение до регистрации: ошибка not_registered",
        hint="До регистрации на любое сообщение с type отвечайте not_registered.",
    )
    stranger = ctx.probe(server)
    stranger.send({"type": "users"})
    expect_error(stranger, "not_registered", ctx.current_hint)
    ctx.step(
        "строка длиннее --max-line-bytes: фатальная ошибка line_too_long и закрытие",
        hint="Если в буфере больше --max-line-bytes байт без \\n, отправьте error "
        'line_too_long с "fatal": true и закройте соединение.',
    )
    # No \n: the limit is on the buffer, not on complete lines (§5.1).
    stranger.send_raw(b'{"username": "' + b"x" * 20000)
    error = expect_error(stranger, "line_too_long", ctx.current_hint)
    if error.get("fatal") is not True:
        raise Fail('"fatal": true в ошибке line_too_long', got=str(error), hint=ctx.current_hint)
    stranger.expect_closed()
    ctx.step("сервер по-прежнему принимает новых клиентов")
    dora = ctx.probe(server, "Dora")
    heard_from(alice, dora)
    ctx.step(
        "зарегистрированная Dora шлёт слишком длинную строку: line_too_long, остальные "
        'получают leave с reason "error"',
        hint="Фатальная ошибка протокола зарегистрированного пользователя — leave с reason "
        '"error" (§5.6).',
    )
    dora.send_raw(b'{"type": "message", "message": "' + b"y" * 20000 + b'"}\n')
    expect_error(dora, "line_too_long", ctx.current_hint)
    dora.expect_closed()
    # The leave notice itself is graded by server_join_leave: only its reason is graded here.
    leave = alice.peek("system", event="leave", username="Dora")
    if leave is None:
        with contextlib.suppress(Fail):
            leave = alice.expect("system", event="leave", username="Dora", timeout=1.0)
    if leave is not None and leave.get("reason") != "error":
        raise Fail(
            'leave Dora с reason "error"',
            got=json.dumps(leave, ensure_ascii=False),
            hint=ctx.current_hint,
        )
    ctx.step(
        "--max-clients 2: третье подключение получает фатальную ошибку server_full и закрывается",
        hint='Считайте подключения; сверх --max-clients отправьте {"type": "error", "code": '
        '"server_full", "fatal": true, ...} и закройте соединение (§5.9).',
    )
    server.close()  # a server that always binds one port needs it free again
    small = ctx.server(max_clients=2)
    first, second = ctx.probe(small, "First"), ctx.probe(small)
    third = ctx.probe(small)
    error = expect_error(third, "server_full", ctx.current_hint, timeout=3.0)
    if error.get("fatal") is not True:
        raise Fail('"fatal": true в ошибке server_full', got=str(error), hint=ctx.current_hint)
    third.expect_closed(timeout=2.0)
    second.register("Second")  # the first two are still served
    heard_from(first, second)


@scenario("server_slow_reader", depends=REGISTERED, timeout=15)
def server_slow_reader(ctx: Context) -> None:
    """Клиент, который не читает сокет, не задерживает остальных; когда его очередь переполняется,
    сервер отключает его (reason overflow).
    """
    ctx.step("запуск сервера с --sendq-bytes 524288")
    server = ctx.server(sendq_bytes=SLOW_SENDQ)
    ctx.step("регистрация медленного клиента Slow (он перестаёт читать)")
    slow = ctx.probe(server, "Slow", recv_buffer=4096)
    slow.pause_reading()
    ctx.step("регистрация Alice и Bob")
    alice = ctx.probe(server, "Alice")
    bob = ctx.probe(server, "Bob")
    # A batch (200 KB) stays well under the limit, so a client that reads is never dropped
    # whatever the design; the kernel alone may buffer ~3 MB for the one that does not.
    batch, size, most = 50, 4000, 2500
    ctx.step(
        f"Alice шлёт сообщения по {size} символов пачками по {batch}: Bob получает каждое "
        "быстро, пока Slow не отключён",
        hint="Не отправляйте медленному клиенту прямо из потока отправителя (и тем более под "
        "блокировкой): у каждого клиента своя очередь и свой поток-писатель; sendall() "
        "медленному клиенту не должен задерживать остальных.",
    )
    start = time.monotonic()
    sent = 0
    dropped = None
    while sent < most and dropped is None:
        for i in range(sent, sent + batch):
            alice.send({"type": "message", "message": f"{i:05d}" + "x" * (size - 5)})
        for i in range(sent, sent + batch):
            bob.expect(
                "message",
                from_username="Alice",
                message=lambda m, i=i: isinstance(m, str) and m.startswith(f"{i:05d}"),
                timeout=3.0,
            )
        sent += batch
        dropped = bob.peek("system", event="leave", username="Slow")
    bob.transcript.add("harness", f"получено {sent} сообщений за {time.monotonic() - start:.2f} с")
    ctx.step(
        f"Slow отключён с reason overflow (после {sent} сообщений); Bob получает leave",
        hint="Считайте неотправленные байты каждого клиента; когда их больше --sendq-bytes, "
        'отключите клиента и разошлите leave с reason "overflow".',
    )
    bob.expect("system", event="leave", username="Slow", reason="overflow", timeout=3.0)


@scenario("server_ping_timeout", depends=REGISTERED)
def server_ping_timeout(ctx: Context) -> None:
    """Молчащий клиент получает ping; кто отвечает pong, остаётся, а кто молчит после ping —
    отключается (reason timeout).
    """
    server, (alice, bob) = chat(ctx, "Alice", "Bob", ping_interval=0.3, ping_timeout=1.5)
    ctx.step("регистрация Talker, который на каждый ping отвечает запросом users, а не pong")
    talker = ctx.probe(server, ping_reply={"type": "users"})
    talker.register("Talker")
    talker.expect("ping", timeout=3.0)  # Mute comes after: its deadline is later than Talker's
    ctx.step("регистрация Mute, который не отвечает на ping")
    mute = ctx.probe(server, auto_pong=False)
    mute.register("Mute")
    ctx.step(
        "Mute молчит --ping-interval секунд и получает ping",
        hint='Если клиент молчит --ping-interval секунд, отправьте ему {"type": "ping", ...}.',
    )
    mute.expect("ping", timeout=3.0)
    ctx.step(
        "Mute не отвечает: через --ping-timeout сервер отключает его с reason timeout",
        hint="Если после ping за --ping-timeout секунд от клиента ничего не пришло, закройте "
        'соединение и разошлите leave с reason "timeout".',
    )
    alice.expect("system", event="leave", username="Mute", reason="timeout", timeout=4.0)
    mute.expect_closed(timeout=2.0, expected="сервер закрывает соединение Mute")
    ctx.step(
        "Talker на ping отвечает не pong, а запросом users: он остаётся в чате",
        hint="Признак жизни — ЛЮБОЕ сообщение клиента, не только pong: сбрасывайте его таймер "
        "на каждое сообщение (§5.8).",
    )
    text = unique("я жив")
    talker.send({"type": "message", "message": text})
    alice.expect("message", from_username="Talker", message=text, timeout=3.0)
    ctx.step(
        "Alice и Bob отвечали pong и остались в чате",
        hint="Любое сообщение клиента (и pong) — признак жизни: сбрасывайте его таймер.",
    )
    if not any(i.message and i.message.get("type") == "ping" for i in alice.received):
        alice.expect("ping", timeout=3.0)
    for sender, receiver in ((bob, alice), (alice, bob)):
        text = unique("я здесь")
        sender.send({"type": "message", "message": text})
        receiver.expect("message", from_username=sender.username, message=text, timeout=3.0)


@scenario("server_register_timeout", depends=REGISTERED)
def server_register_timeout(ctx: Context) -> None:
    """Соединение, которое не зарегистрировалось за --register-timeout, получает фатальную ошибку
    registration_timeout и закрывается; зарегистрированные остаются.
    """
    ctx.step("запуск сервера с --register-timeout 1.5")
    server = ctx.server(register_timeout=1.5)
    silent = ctx.probe(server)
    alice = ctx.probe(server, "Alice")
    hint = (
        "Заведите таймер регистрации (например, sock.settimeout(register_timeout) до первого "
        'сообщения): по истечении отправьте {"type": "error", "code": "registration_timeout", '
        '"fatal": true, ...} и закройте соединение.'
    )
    ctx.step("молчащее соединение получает registration_timeout (fatal) и закрывается", hint=hint)
    error = expect_error(silent, "registration_timeout", hint, timeout=4.0)
    if error.get("fatal") is not True:
        raise Fail('"fatal": true в ошибке registration_timeout', got=str(error), hint=hint)
    silent.expect_closed(timeout=2.0)
    ctx.step(
        "Alice зарегистрировалась вовремя и остаётся в чате",
        hint="После регистрации таймер регистрации больше не действует "
        "(верните sock.settimeout(None)).",
    )
    heard_from(alice, ctx.probe(server, "Bob"))


def session_if_any(requester: Probe, responder: Probe) -> bool:
    """Open a session between the two if the server has sessions; whether it did.

    Sessions are graded elsewhere: a server without them is graded here without them.
    """
    requester.send({"type": "session_request", "target_username": responder.username})
    try:
        responder.expect("session_request", from_username=requester.username, timeout=1.0)
        responder.send(
            {"type": "session_response", "target_username": requester.username, "accepted": True}
        )
        for probe in (requester, responder):
            probe.expect("session_accepted", timeout=1.0)
    except Fail:
        return False
    return True


@scenario("server_shutdown", depends=REGISTERED)
def server_shutdown(ctx: Context) -> None:
    """По Ctrl+C (SIGINT) и SIGTERM сервер рассылает всем уведомление shutdown, закрывает
    соединения и завершается с кодом 0 за 2 секунды.
    """
    server, (alice, bob) = chat(ctx, "Alice", "Bob")
    in_session = session_if_any(alice, bob)
    hint = (
        "Перехватите KeyboardInterrupt (или SIGINT/SIGTERM): закройте слушающий сокет, "
        'отправьте всем {"type": "system", "event": "shutdown", ...}, закройте соединения '
        "и выйдите с кодом 0. Потоки клиентов делайте daemon=True."
    )
    ctx.step("SIGINT серверу: выход с кодом 0 за 2 секунды", hint=hint)
    code = ctx.interrupt(server)
    if code is None:
        raise Fail(
            "сервер завершается за 2 секунды после Ctrl+C", got="сервер ещё работает", hint=hint
        )
    if code != 0:
        raise Fail(
            "код выхода 0 после Ctrl+C", got=f"код {code}\n{server.transcript.tail()}", hint=hint
        )
    ctx.step("каждый клиент получил shutdown и соединение закрыто", hint=hint)
    for probe in (alice, bob):
        probe.expect("system", event="shutdown", timeout=1.0)
        probe.expect_closed(timeout=1.0)
    if in_session:
        ctx.step(
            "Alice и Bob были в сессии: оба получили session_ended с reason shutdown",
            hint="При остановке сервера участникам сессий отправьте session_ended с reason "
            '"shutdown" до того, как закрыть соединения (§5.7).',
        )
        for probe in (alice, bob):
            probe.expect("session_ended", reason="shutdown", timeout=1.0)
    server, (carol,) = chat(ctx, "Carol")
    ctx.step(
        "SIGTERM (так останавливают службы): то же самое — shutdown всем и код 0 за 2 секунды",
        hint="SIGTERM по умолчанию убивает процесс сразу: установите обработчик "
        "signal.signal(signal.SIGTERM, ...), который останавливает сервер так же, как Ctrl+C "
        "(§5.11).",
    )
    code = server.stop(signal.SIGTERM, 2.0 + LOAD_SLACK)
    if code != 0:
        raise Fail(
            "после SIGTERM сервер завершается с кодом 0 за 2 секунды",
            got="сервер ещё работает" if code is None else f"код {code}",
            hint=ctx.current_hint,
        )
    carol.expect("system", event="shutdown", timeout=1.0)
