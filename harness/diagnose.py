"""The start-up check: before the scenarios, what is wrong with each program, in plain words.

Most failing submissions fail for one of a few reasons that make every scenario fail in
its own way: the program exits at once, listens (or connects) elsewhere than it was told,
prints no ready line, speaks plain text instead of JSON, or sends without ``\\n``.  Each of
those, when it happens, becomes one :class:`~harness.verdict.Finding` at the head of the
scorecard and of every report, so the student reads the cause once, before the list of
scenarios it broke.  The check grades nothing: the scenarios keep their own verdicts.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from harness.context import Context
from harness.peer import Link
from harness.probe import Probe
from harness.process import ServerProcess
from harness.protocol import protocol
from harness.sandbox import Containment, Limits, Sandbox
from harness.screen import NAME_WORD
from harness.terminal import Terminal
from harness.verdict import Fail, Finding, Skip

WAIT = 3.0
SERVER = "server.py"
CLIENT = "client.py"


def tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


UNRECOGNIZED = re.compile(r"unrecognized arguments: (.+)")
OPTIONS = {
    name.lstrip("-").replace("-", "_"): spec["default"]
    for name, spec in protocol()["server_options"].items()
    if name not in ("--host", "--port")
}
THIRD_PARTY = re.compile(r"No module named '([\w.]+)'")
STDLIB_HINT = (
    "На проверке есть только стандартная библиотека Python (§2): уберите сторонний пакет "
    "и сделайте то же средствами socket, threading, json."
)


def third_party(output: str) -> str:
    """The module a program failed to import, when the import is what killed it, or ""."""
    found = THIRD_PARTY.search(output)
    return found.group(1) if found and "ModuleNotFoundError" in output else ""


def crashed(output: str) -> str:
    """The exception a traceback ends with, or ""."""
    if "Traceback" not in output:
        return ""
    last = [line for line in output.strip().splitlines() if line.strip()]
    return last[-1].strip() if last else ""


def check_server(ctx: Context) -> list[Finding]:
    """Start the server as the scenarios do and look at how it starts and answers."""
    findings = []
    try:
        server = ctx.server(**OPTIONS)  # every option, as the scenarios give them
    except Fail as fail:
        output = fail.got
        unknown = UNRECOGNIZED.search(output)
        if unknown:
            return [
                Finding(
                    SERVER,
                    "сервер не понимает параметры "
                    + ", ".join(w for w in unknown.group(1).split() if w.startswith("--")),
                    detail=tail(output),
                    hint="Сервер должен понимать все параметры из §2 с теми же значениями по "
                    "умолчанию: проверка передаёт их в каждом сценарии.",
                )
            ]
        module = third_party(output)
        if module:
            return [
                Finding(
                    SERVER,
                    f"сервер импортирует сторонний пакет {module}",
                    detail=tail(output),
                    hint=STDLIB_HINT,
                )
            ]
        cause = crashed(output)
        problem = (
            "сервер падает при запуске" if cause else "сервер не начинает принимать подключения"
        )
        hint = "Запустите его так же сами и исправьте ошибку из последней строки."
        if "Address already in use" in output or "занят" in output:
            hint = "Порт занят: вы слушаете не тот порт, что передан в --port?"
        return [Finding(SERVER, problem, detail=tail(output), hint=hint if cause else fail.hint)]
    for problem in server.ready.problems:
        findings.append(Finding(SERVER, problem, hint=START_HINT))
    findings += check_answer(ctx, server)
    logged = [line for line in server.stdout_lines() if line.strip()][1:]
    if logged:
        findings.append(
            Finding(
                SERVER,
                "сервер пишет в stdout не только строку готовности",
                detail="\n".join(logged[:5]),
                hint="Журнал пишите в stderr (logging или print(..., file=sys.stderr)) (§5.11).",
            )
        )
    return findings


START_HINT = (
    "Слушайте адрес и порт из параметров --host и --port и сразу после listen() напечатайте "
    "«Сервер запущен на 127.0.0.1:ПОРТ» (порт — sock.getsockname()[1])."
)
JSON_HINT = (
    "Каждое сообщение — один JSON-объект и \\n: "
    "(json.dumps(msg, ensure_ascii=False) + '\\n').encode('utf-8') (§5.1)."
)


def check_answer(ctx: Context, server: ServerProcess) -> list[Finding]:
    """Register one probe and look at the answer: JSON lines, text, nothing."""
    try:
        probe: Probe = ctx.probe(server)
    except Fail as fail:
        return [Finding(SERVER, "к серверу нельзя подключиться", detail=fail.got)]
    probe.send({"username": "Проверка"})
    try:
        probe.expect("system", event="welcome", timeout=WAIT)
    except Fail as fail:
        items = probe.received
        if items and all(item.message is None for item in items):
            return [
                Finding(
                    SERVER,
                    "сервер отвечает не JSON, а текстом",
                    detail="\n".join(item.show() for item in items[:5]),
                    hint=JSON_HINT,
                )
            ]
        pending = probe.pending()
        if pending and not pending.lstrip().startswith(("{", "[")):
            return [
                Finding(
                    SERVER,
                    "сервер отвечает текстом, а не JSON-объектами",
                    detail=f"пришло: «{pending}» (и без \\n в конце)",
                    hint=JSON_HINT,
                )
            ]
        if pending:
            return [
                Finding(
                    SERVER,
                    "сервер отправляет байты без \\n в конце: сообщение не заканчивается",
                    detail=fail.got,
                    hint=JSON_HINT,
                )
            ]
        if not items:
            return [
                Finding(
                    SERVER,
                    'сервер не ответил на {"username": ...} за 3 с',
                    detail=tail(server.transcript.text()),
                    hint="Первое сообщение клиента — JSON-строка с именем (§5.2); ответьте "
                    "приветствием welcome.",
                )
            ]
    # One more round trip on the same connection: what the server printed while it
    # registered the probe is out by the time the answer comes.
    probe.send({"type": "users"})
    with contextlib.suppress(Fail):  # no answer: nothing to wait for
        probe.expect(lambda kind: kind != "ping", timeout=1.0)
    unframed = probe.unframed()
    if unframed:
        return [
            Finding(
                SERVER,
                "сообщения сервера не заканчиваются \\n (или разбиты на несколько строк)",
                detail=unframed[0].show(),
                hint=JSON_HINT,
            )
        ]
    return []


def check_client(ctx: Context) -> list[Finding]:
    """Start the client against the scripted server: does it connect, ask, send JSON?"""
    chat = ctx.chat_server(online=["Анна"])
    term = ctx.client(chat, "Вера")
    link = chat.connection(WAIT)
    if link is None:
        return [client_gone(term, f"клиент не подключился к 127.0.0.1:{chat.port} за 3 с")]
    findings = []
    if link.port != chat.port:
        findings.append(
            Finding(
                CLIENT,
                f"клиент подключается к порту {link.port}, а ему дали --port {chat.port}",
                hint="Берите адрес и порт из параметров --host и --port.",
            )
        )
    if not term.poll_until(lambda t: t.find_line(NAME_WORD) is not None, WAIT):
        findings.append(client_gone(term, "клиент не спрашивает имя (нет строки со словом «имя»)"))
        return findings
    term.send_line("Вера")
    findings += check_registration(link, term)
    return findings


def check_registration(link: Link, term: Terminal) -> list[Finding]:
    try:
        link.expect(WAIT, username="Вера")
    except Fail as fail:
        sent = link.sent
        if sent and all(item.message is None for item in sent):
            return [
                Finding(
                    CLIENT,
                    'клиент отправляет имя текстом, а не JSON {"username": ...}',
                    detail="\n".join(item.show() for item in sent[:5]),
                    hint=JSON_HINT,
                )
            ]
        return [client_gone(term, 'клиент не отправил {"username": "Вера"}', fail.got)]
    unframed = [item for item in link.sent if item.unframed]
    if unframed:
        return [
            Finding(
                CLIENT,
                "сообщения клиента не заканчиваются \\n",
                detail=unframed[0].show(),
                hint=JSON_HINT,
            )
        ]
    return []


def client_gone(term: Terminal, problem: str, detail: str = "") -> Finding:
    """A finding about a client, with its screen and how it ended."""
    term.pump(0.0)
    status = term.wait_exit(0.2) if term.eof else None
    screen = term.screen_text()
    if status is not None:
        problem += f"; клиент завершился с кодом {status}"
    cause = crashed(screen.replace("▸ ", "  "))
    hint = "Запустите клиент сами с теми же параметрами и исправьте ошибку." if cause else ""
    module = third_party(screen)
    if module:
        problem = f"клиент импортирует сторонний пакет {module}"
        hint = STDLIB_HINT
    if "ConnectionRefused" in screen:
        hint = "Клиент подключается не туда: берите адрес и порт из --host и --port."
    return Finding(CLIENT, problem, detail="\n".join(x for x in (detail, screen) if x), hint=hint)


def diagnose(
    submission: Path, limits: Limits | None = None, protections: Containment | None = None
) -> list[Finding]:
    """The findings about ``submission``'s programs (empty when they start as they should)."""
    findings: list[Finding] = []
    for program, check in ((SERVER, check_server), (CLIENT, check_client)):
        if not (submission / program).is_file():
            continue
        sandbox = Sandbox(limits, protections)
        ctx = Context(scenario_id=f"diagnose-{program}", sandbox=sandbox)
        try:
            sandbox.copy_submission(submission)
            findings += check(ctx)
        except (Fail, Skip, OSError) as exc:  # the check itself could not run
            findings.append(Finding(program, "проверка запуска не удалась", detail=str(exc)))
        finally:
            ctx.cleanup()
    return findings
