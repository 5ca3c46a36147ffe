"""Record a protocol flow on a real reference server, line by line.

A flow is a small script, one step per line (``#`` starts a comment)::

    Alice -> {"username": "Alice"}           send this JSON line (a newline is added)
    Alice -> b'{"username": "\\xd0'          send these raw bytes as they are
    Alice -> text: {"type": oops             send this line as is (not JSON on purpose)
    Alice <- system event=welcome            the next line Alice gets: type system, event welcome
    Alice <- error code=line_too_long fatal=true
    Alice <- EOF                             the server closes Alice's connection
    Alice connects                           open the connection now (otherwise: on first send)
    Mallory connects silently                connect and never read (a slow reader)
    Alice closes                             Alice closes her socket
    server <- SIGINT                         signal the server process
    server exits 0                           the server process ends with this status
    flood Alice -> {"type": "message", "message": "x"} sized 4000 until Carol <- system event=leave
                                             send this line again and again (its "message"
                                             repeated to 4000 characters) until Carol gets that

Expectations name the message type and ``key=value`` filters (values are JSON
when they parse as JSON, strings otherwise). Every line a client receives must
be the one its next expectation names, so the recording is the complete,
ordered exchange: a flow with an unexpected, missing or reordered line fails
with the lines seen so far. At the end, every client still in the chat sends the
others a private marker and asks for ``users`` (checked, not recorded): a stray
line queued behind the last step still fails the flow (lab/README.md §5.10).

Standard library only, no Sphinx: the docs build and the tests both use it.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER = "server"
WAIT = 5.0  # seconds any single expected event may take
FLOOD_LIMIT = 20000  # lines a flood may send before the flow is declared broken
FLOOD_SECONDS = 30.0  # and the time it may take
WORD = re.compile(r'[^\s=]+=(?:"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\S+)|\S+')
SIZED = re.compile(r"^(?P<line>.*?)\s+sized\s+(?P<chars>\d+)$")
READY_TIMEOUT = 10.0

STEP = re.compile(
    r"^(?:(?P<flood>flood)\s+)?(?P<who>\S+)\s+(?P<verb>->|<-|connects|closes|exits)\s*(?P<rest>.*)$"
)


class FlowError(Exception):
    """The reference server did not behave as the flow says."""


@dataclass
class Event:
    """One thing that happened on the wire; a recording is sorted by ``at``."""

    kind: str  # send | recv | close | eof | signal | exit | note
    who: str  # the client, or "server"
    data: bytes = b""
    count: int = 1  # a flood sends the same line this many times
    raw: bool = False  # sent as raw bytes (a chunk), not as one JSON line
    at: float = field(default_factory=time.monotonic)  # sent: just before; received: on arrival

    @property
    def message(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return value if isinstance(value, dict) else None


@dataclass
class Expect:
    who: str
    type: str | None  # None: EOF
    fields: dict[str, Any]

    def matches(self, line: bytes | None) -> bool:
        if self.type is None or line is None:
            return self.type is None and line is None
        try:
            msg = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return False
        if not isinstance(msg, dict) or msg.get("type") != self.type:
            return False
        return all(msg.get(k) == v for k, v in self.fields.items())

    def __str__(self) -> str:
        if self.type is None:
            return f"{self.who} <- EOF"
        filters = " ".join(
            f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in self.fields.items()
        )
        return f"{self.who} <- {self.type} {filters}".rstrip()


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_expect(who: str, rest: str) -> Expect:
    words = WORD.findall(rest)  # message="два слова" and users=["A", "B"] are one word each
    if not words:
        raise FlowError(f"{who} <- : не сказано, что ждать")
    if words[0] == "EOF":
        return Expect(who, None, {})
    fields = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise FlowError(f"ожидание {who} <- {rest}: «{word}» должно быть вида ключ=значение")
        fields[key] = parse_value(value)
    return Expect(who, words[0], fields)


def parse_payload(text: str) -> bytes:
    """A step's payload: ``b'…'`` raw bytes, ``text: …`` any line, else a JSON line."""
    text = text.strip()
    if text.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as error:
            raise FlowError(f"байты {text}: {error}") from None
        if not isinstance(value, bytes):
            raise FlowError(f"{text}: ожидались байты b'…'")
        return value
    if text.startswith("text:"):
        return text[len("text:") :].strip().encode("utf-8") + b"\n"
    try:
        json.loads(text)  # a JSON line in a flow must be JSON; a broken one says text:
    except ValueError as error:
        raise FlowError(
            f"не JSON ({error}): {text}; для нарочно сломанной строки — text: …"
        ) from None
    return text.encode("utf-8") + b"\n"


def pad_message(line: bytes, chars: int) -> bytes:
    """The JSON line with its ``message`` text repeated to ``chars`` characters."""
    msg = json.loads(line)
    text = msg["message"] + " "
    msg["message"] = (text * (chars // len(text) + 1))[:chars]
    return json.dumps(msg, ensure_ascii=False).encode("utf-8") + b"\n"


@dataclass
class Step:
    verb: str
    who: str
    payload: bytes = b""
    expect: Expect | None = None
    arg: str = ""
    raw: bool = False


def parse_flow(script: str) -> list[Step]:
    steps = []
    for number, raw in enumerate(script.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = STEP.match(line)
        if not m:
            raise FlowError(f"строка {number} сценария не разобрана: {line}")
        who, verb, rest = m["who"], m["verb"], m["rest"]
        if m["flood"]:
            payload, sep, until = rest.partition(" until ")
            target, arrow, wanted = until.partition(" <- ")
            if not sep or not arrow:
                raise FlowError(f"строка {number}: flood A -> СТРОКА until B <- ОЖИДАНИЕ")
            sized = SIZED.match(payload.strip())
            data = parse_payload(sized["line"] if sized else payload)
            if sized:
                data = pad_message(data, int(sized["chars"]))
            steps.append(Step("flood", who, data, parse_expect(target.strip(), wanted)))
        elif who == SERVER and verb == "<-":
            steps.append(Step("signal", who, arg=rest.strip()))
        elif verb == "->":
            raw = rest.strip().startswith(("b'", 'b"'))
            steps.append(Step("send", who, parse_payload(rest), raw=raw))
        elif verb == "<-":
            steps.append(Step("expect", who, expect=parse_expect(who, rest)))
        else:
            steps.append(Step(verb, who, arg=rest.strip()))
    return steps


class Client:
    """A raw TCP client whose reader thread queues every line it receives."""

    def __init__(self, name: str, port: int, silent: bool) -> None:
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if silent:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lines: list[bytes | None] = []  # None marks EOF
        self.arrived: list[float] = []  # monotonic arrival time of each line
        self.last_at = 0.0  # arrival time of the line next_line() returned last
        self.taken = 0
        self.changed = threading.Condition()
        self.registered = False
        self.username = name  # the registered name, from the welcome
        self.closed = False
        if not silent:
            threading.Thread(target=self._read, name=f"reader-{name}", daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:  # reset by the server, or closed by this flow
                chunk = b""
            now = time.monotonic()
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            with self.changed:
                got: list[bytes | None] = [line.rstrip(b"\r") for line in complete if line.strip()]
                if not chunk:
                    got.append(None)
                self.lines += got
                self.arrived += [now] * len(got)
                self.changed.notify_all()
            if not chunk:
                return

    def next_line(self, deadline: float) -> bytes | None:
        with self.changed:
            if not self.changed.wait_for(
                lambda: len(self.lines) > self.taken, deadline - time.monotonic()
            ):
                raise TimeoutError
            line = self.lines[self.taken]
            self.last_at = self.arrived[self.taken]
            self.taken += 1
            return line

    def pending(self) -> int:
        """How many received lines are not taken yet."""
        with self.changed:
            return len(self.lines) - self.taken

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):  # the server may have closed it first
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class Server:
    """The reference server on an OS-chosen port; stderr kept for failure messages."""

    def __init__(self, server_py: Path, args: list[str], ready_regex: str) -> None:
        server_py = server_py.resolve()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(server_py), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            cwd=server_py.parent,
        )
        self.port = self._wait_ready(re.compile(ready_regex))

    def _wait_ready(self, regex: re.Pattern[str]) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT
        seen = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            for line in seen.split(b"\n")[:-1]:  # complete lines only: no half-read port
                m = regex.search(line.decode("utf-8", "replace"))
                if m:
                    return int(m["port"])
        why = f"сервер не напечатал строку готовности: {seen!r}\n{self.stderr()}"
        self.stop()
        raise FlowError(why)

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()


@dataclass
class Recording:
    """The ordered events of one flow run, and who took part."""

    events: list[Event] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    silent: set[str] = field(default_factory=set)


class Flow:
    """Run one parsed flow against a fresh server and record what happened."""

    def __init__(self, server_py: Path, args: list[str], ready_regex: str) -> None:
        self.server = Server(server_py, args, ready_regex)
        self.clients: dict[str, Client] = {}
        self.rec = Recording()

    def client(self, name: str, silent: bool = False) -> Client:
        if name not in self.clients:
            self.clients[name] = Client(name, self.server.port, silent)
            self.rec.clients.append(name)
            if silent:
                self.rec.silent.add(name)
        return self.clients[name]

    def fail(self, why: str) -> FlowError:
        lines = [
            f"  {e.who} {e.kind}: {e.data.decode('utf-8', 'replace')[:300]}"
            for e in self.rec.events
        ]
        return FlowError(
            why
            + "\nзаписано до этого места:\n"
            + "\n".join(lines[-30:])
            + "\nstderr сервера:\n"
            + self.server.stderr()
        )

    def expect(self, exp: Expect, record: bool = True) -> None:
        client = self.clients.get(exp.who)
        if client is None:
            raise self.fail(f"{exp}: клиент {exp.who} не подключён")
        try:
            line = client.next_line(time.monotonic() + WAIT)
        except TimeoutError:
            raise self.fail(f"за {WAIT} с не пришло ожидаемое: {exp}") from None
        if not exp.matches(line):
            got = "EOF" if line is None else line.decode("utf-8", "replace")
            raise self.fail(f"ожидалось {exp}, а пришло: {got}")
        if line is None:
            client.closed = True
            if record:
                self.rec.events.append(Event("eof", exp.who, at=client.last_at))
            return
        if exp.type == "system" and exp.fields.get("event") == "welcome":
            client.registered = True
            client.username = json.loads(line)["username"]
        if record:
            self.rec.events.append(Event("recv", exp.who, line, at=client.last_at))

    def flood(self, step: Step) -> None:
        """Send the line until the watcher gets the awaited one; record all it got."""
        assert step.expect is not None
        sender, watcher = self.client(step.who), self.clients[step.expect.who]
        kind = json.loads(step.payload)["type"]
        same = Expect(watcher.name, kind, {})
        sent = got_flood = 0
        awaited = False
        started = time.monotonic()

        def take(deadline: float) -> None:
            nonlocal got_flood, awaited
            line = watcher.next_line(deadline)
            if step.expect.matches(line) and not awaited:  # type: ignore[union-attr]
                awaited = True
            elif same.matches(line):
                got_flood += 1
            else:
                got = "EOF" if line is None else line.decode("utf-8", "replace")[:300]
                raise self.fail(f"{watcher.name}: неожиданная строка: {got}")
            self.rec.events.append(Event("recv", watcher.name, line or b"", at=watcher.last_at))

        while not awaited:
            if sent >= FLOOD_LIMIT or time.monotonic() - started > FLOOD_SECONDS:
                raise self.fail(f"после {sent} строк так и не пришло: {step.expect}")
            sender.sock.sendall(step.payload)
            sent += 1
            # Pace the flood by the watcher: it must not fall behind and overflow itself.
            while not awaited and got_flood < sent:
                try:
                    take(time.monotonic() + WAIT)
                except TimeoutError:
                    raise self.fail(f"{watcher.name}: получено {got_flood} из {sent}") from None
        self.rec.events.append(Event("send", step.who, step.payload, count=sent, at=started))
        # Every flooded line reaches the watcher, also those sent after the awaited one.
        while got_flood < sent:
            try:
                take(time.monotonic() + WAIT)
            except TimeoutError:
                raise self.fail(f"{watcher.name}: получено {got_flood} из {sent} строк") from None

    def run(self, steps: list[Step]) -> Recording:
        try:
            for step in steps:
                self.do(step)
            self.check_quiet()
            # Real order across clients: each event's own time (stable for equal times).
            self.rec.events.sort(key=lambda e: e.at)
        finally:
            for client in self.clients.values():
                if not client.closed:
                    client.close()
            self.server.stop()
        return self.rec

    def do(self, step: Step) -> None:
        if step.verb == "connects":
            self.client(step.who, silent=step.arg == "silently")
        elif step.verb == "send":
            client = self.client(step.who)
            event = Event("send", step.who, step.payload, raw=step.raw)
            client.sock.sendall(step.payload)
            self.rec.events.append(event)
        elif step.verb == "expect":
            assert step.expect is not None
            self.expect(step.expect)
        elif step.verb == "flood":
            self.flood(step)
        elif step.verb == "closes":
            self.rec.events.append(Event("close", step.who))
            self.clients[step.who].close()
        elif step.verb == "signal":
            self.rec.events.append(Event("signal", SERVER, step.arg.encode()))
            self.server.proc.send_signal(getattr(signal, step.arg))
        elif step.verb == "exits":
            try:
                status = self.server.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                raise self.fail(f"сервер не завершился за {WAIT} с") from None
            if status != int(step.arg):
                raise self.fail(f"сервер завершился с кодом {status}, ожидался {step.arg}")
            self.rec.events.append(Event("exit", SERVER, str(status).encode()))
        else:
            raise FlowError(f"неизвестный шаг {step.verb}")

    def check_quiet(self) -> None:
        """Nothing unexpected is left for any client still in the chat (not recorded).

        Every live client asks for ``users`` and sends every other live client a private
        marker. What a sender caused at a receiver arrives before that sender's marker
        (lab/README.md §5.10), so each client must now get exactly its users_list and
        one marker from each other client, in any order, and nothing else.
        """
        live = [
            c
            for c in self.clients.values()
            if c.registered and not c.closed and c.name not in self.rec.silent
        ]
        for sender in live:
            for receiver in live:
                if receiver is not sender:
                    marker = {
                        "type": "private",
                        "target_username": receiver.username,
                        "message": f"маркер от {sender.username}",
                    }
                    sender.sock.sendall(json.dumps(marker, ensure_ascii=False).encode() + b"\n")
            sender.sock.sendall(b'{"type": "users"}\n')
        for client in live:
            wanted = [Expect(client.name, "users_list", {})] + [
                Expect(
                    client.name,
                    "private",
                    {"from_username": other.username, "message": f"маркер от {other.username}"},
                )
                for other in live
                if other is not client
            ]
            while wanted:
                try:
                    line = client.next_line(time.monotonic() + WAIT)
                except TimeoutError:
                    raise self.fail(
                        f"{client.name}: за {WAIT} с не пришло: {', '.join(map(str, wanted))}"
                    ) from None
                hit = next((w for w in wanted if w.matches(line)), None)
                if hit is None:
                    got = "EOF" if line is None else line.decode("utf-8", "replace")
                    raise self.fail(
                        f"{client.name}: после последнего шага пришла лишняя строка: {got}"
                        f" (ожидались только users_list и маркеры)"
                    )
                wanted.remove(hit)


def record(server_py: Path, args: list[str], script: str, ready_regex: str) -> Recording:
    """Parse and run one flow on a fresh reference server; raise FlowError if it breaks."""
    steps = parse_flow(script)
    return Flow(server_py, args, ready_regex).run(steps)
