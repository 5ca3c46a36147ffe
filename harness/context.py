"""What a scenario works with: one :class:`Context` per scenario run.

The context owns everything a scenario starts and builds every tool from plain values:

- :meth:`Context.server` — the student's server under containment, once it listens;
- :meth:`Context.client` — the student's client in a real terminal (:mod:`harness.terminal`);
- :meth:`Context.probe` — a raw-socket protocol client (:mod:`harness.probe`);
- :meth:`Context.proxy` — a fault-injecting relay in front of a server (:mod:`harness.proxy`);
- :meth:`Context.chat_server` — the harness as the server, for clients (:mod:`harness.peer`).

Every tool gets a transcript (into the report) and sockets made in the scenario's private
network (:class:`~harness.sandbox.Sandbox`); none of them knows the context.
:meth:`Context.cleanup` closes them all and kills what is left of the student's processes.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.peer import ScriptedServer
from harness.probe import Probe
from harness.process import Program, ServerProcess
from harness.protocol import protocol, ready_line_regex
from harness.proxy import FaultProxy, connect
from harness.sandbox import Sandbox
from harness.terminal import OUTPUT_CAP, Terminal
from harness.transcript import Transcript, WireLog
from harness.verdict import Fail, Skip

READY_TIMEOUT = 5.0
LOAD_SLACK = 1.0  # seconds added to protocol deadlines that the harness measures
# In a private network every port is free, so the port the harness asks for is the same on
# every run (the handout's own example).  The handout's default port is where a program
# that ignores --port goes.
ASKED_PORT = 41237
DEFAULT_PORT = int(protocol()["transport"]["default_port"])


def option_argv(options: dict[str, Any]) -> list[str]:
    """``ping_interval=0.3`` → ``["--ping-interval", "0.3"]``."""
    argv = []
    for key, value in options.items():
        argv += ["--" + key.replace("_", "-"), str(value)]
    return argv


@dataclass
class Context:
    """What a scenario works with (see the module docstring)."""

    scenario_id: str
    sandbox: Sandbox
    t0: float = field(default_factory=time.monotonic)
    current_step: str = ""
    current_hint: str = ""
    unblocked: bool = False
    transcripts: list[Transcript] = field(default_factory=list)
    terminals: list[Terminal] = field(default_factory=list)
    wire: WireLog = field(default_factory=WireLog)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _names: dict[str, int] = field(default_factory=dict)
    _ports: int = 0

    # -- bookkeeping -----------------------------------------------------------------------
    def step(self, text: str, hint: str = "") -> None:
        """Record the step now being checked (shown when the scenario fails).

        ``hint`` is advice for the student if this step fails; it comes before the generic
        hint of a failed wait.
        """
        with self._lock:
            self.current_step = text
            self.current_hint = hint

    def dependents_may_run(self) -> None:
        """The part other scenarios rely on works: a later failure here skips none of them.

        E.g. ``server_register`` calls it once a welcome arrives; a wrong counter after that
        costs that scenario its points but does not skip every scenario that registers.
        """
        with self._lock:
            self.unblocked = True

    def transcript(self, name: str) -> Transcript:
        """A new transcript (unique name) that goes into the report."""
        with self._lock:
            count = self._names.get(name, 0) + 1
            self._names[name] = count
            unique = name if count == 1 else f"{name} #{count}"
            transcript = Transcript(unique, t0=self.t0)
            self.transcripts.append(transcript)
        return transcript

    def add_cleanup(self, func: Callable[[], None]) -> None:
        """Run ``func`` when the scenario ends (last added, first run)."""
        with self._lock:
            self._cleanups.append(func)

    def cleanup(self) -> None:
        """Close everything the scenario started; kill what is left of student processes."""
        with self._lock:
            funcs, self._cleanups = self._cleanups[::-1], []
        self.sandbox.kill_all()
        for func in funcs:
            try:
                func()
            except Exception as exc:  # one failed close must not leave the rest running
                self.transcript("harness").add("error", f"ошибка при очистке: {exc!r}")
        self.sandbox.cleanup()

    def asked_port(self) -> int:
        """A port to give a program: fixed in a private network, a free one otherwise.

        In a private network the n-th program of the scenario gets ASKED_PORT + n, the same
        on every run; two servers of one scenario never get the same port.
        """
        with self._lock:
            self._ports += 1
            count = self._ports
        if self.sandbox.network is not None:
            return ASKED_PORT + count - 1
        with self.sandbox.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    # -- the student's programs ------------------------------------------------------------
    def _need(self, program: str) -> None:
        if not (self.sandbox.submission / program).is_file():
            raise Skip(f"нет файла {program}")

    def server(
        self,
        *,
        port: int | None = None,
        ready_timeout: float = READY_TIMEOUT,
        **options: Any,
    ) -> ServerProcess:
        """Start the student's server and wait until it listens.

        ``options`` become command-line options (``ping_interval=0.3`` →
        ``--ping-interval 0.3``); ``--host 127.0.0.1 --port N`` are always given (N from
        :meth:`asked_port` unless ``port`` says otherwise).  How the server deviates from
        what it should do (no ready line, another port) is in ``server.ready.problems``:
        only ``server_starts`` grades that, every other scenario uses the server anyway.
        """
        self._need("server.py")
        asked = self.asked_port() if port is None else port
        args = ["--host", "127.0.0.1", "--port", str(asked), *option_argv(options)]
        launch = self.sandbox.launch("server.py", args)
        server = ServerProcess(
            launch,
            transcript=self.transcript("сервер"),
            output_cap=self.sandbox.limits.output_bytes,
            on_start=self.sandbox.started,
            deliver=self.sandbox.signal,
        )
        self.add_cleanup(server.close)
        ready = server.await_ready(
            lambda: self.sandbox.listening(server.pid), ready_line_regex(), asked, ready_timeout
        )
        if ready is None:
            raise not_listening(server, launch.shown, ready_timeout)
        return server

    def run_to_exit(
        self, program: str, args: list[str], timeout: float = 5.0
    ) -> tuple[int | None, str]:
        """Run a student program to its end: (exit status or None if still up, its output)."""
        self._need(program)
        launch = self.sandbox.launch(program, args)
        run = Program(
            launch,
            transcript=self.transcript(program.removesuffix(".py")),
            output_cap=self.sandbox.limits.output_bytes,
            on_start=self.sandbox.started,
        )
        self.add_cleanup(run.close)
        code = run.wait(timeout)
        run.finish_reading()
        return code, run.output()

    def client(
        self, target: Any, name: str, *, port: int | None = None, **options: Any
    ) -> Terminal:
        """The student's client in a terminal, told to connect to ``target``'s host and port."""
        self._need("client.py")
        args = ["--host", target.host, "--port", str(target.port if port is None else port)]
        launch = self.sandbox.launch("client.py", args, tty=True)
        transcript = self.transcript(f"клиент {name}")
        transcript.add("harness", "$ " + launch.shown)
        options.setdefault("output_cap", min(OUTPUT_CAP, self.sandbox.limits.output_bytes))
        term = Terminal.spawn(
            launch.argv,
            cwd=launch.cwd,
            env=launch.env,
            name=f"клиент {name}",
            preexec_fn=launch.preexec_fn,
            transcript=transcript,
            **options,
        )
        self.sandbox.started(term.pid)
        self.add_cleanup(term.close)
        with self._lock:
            self.terminals.append(term)
        return term

    def interrupt(self, server: ServerProcess, within: float = 2.0) -> int | None:
        """Ctrl+C for a server: SIGINT, then its exit status (None if still up).

        The protocol allows ``within`` seconds; the wait adds ``LOAD_SLACK`` so that a busy
        grading machine (scheduling delays) never fails a server that keeps the rule.
        """
        return server.stop(signal.SIGINT, within + LOAD_SLACK)

    # -- the harness's own peers ------------------------------------------------------------
    def probe(
        self,
        target: Any,
        name: str | None = None,
        *,
        auto_pong: bool = True,
        recv_buffer: int | None = None,
        ping_reply: dict[str, Any] | None = None,
    ) -> Probe:
        """A raw-socket protocol client connected to ``target`` (anything with host/port).

        With ``name`` it also registers under that name and waits for the welcome.
        """
        label = f"зонд {name}" if name else "зонд"
        family_host = str(target.host)
        transcript = self.transcript(label)
        probe = Probe(
            self.sandbox.socket(socket.AF_INET6 if ":" in family_host else socket.AF_INET),
            family_host,
            int(target.port),
            transcript=transcript,
            auto_pong=auto_pong,
            recv_buffer=recv_buffer,
            wire=self.wire,
            label=transcript.name,  # unique in the scenario, like the transcript's
            ping_reply=ping_reply,
        )
        self.add_cleanup(probe.close)
        if name:
            probe.register(name)
        return probe

    def proxy(self, target: Any, **faults: Any) -> FaultProxy:
        """A fault-injecting TCP proxy in front of ``target`` (see :mod:`harness.proxy`)."""
        proxy = FaultProxy(
            target.host,
            target.port,
            make_socket=self.sandbox.socket,
            transcript=self.transcript("прокси"),
            **faults,
        )
        self.add_cleanup(proxy.close)
        return proxy

    def chat_server(self, online: Iterable[str] = ()) -> ScriptedServer:
        """The harness as the chat server (see :mod:`harness.peer`), for the student's client.

        It listens on :meth:`asked_port` and, as a decoy, on the handout's default port.
        """
        ports = [self.asked_port()]
        if DEFAULT_PORT not in ports:
            ports.append(DEFAULT_PORT)
        server = ScriptedServer(
            self.sandbox.socket,
            ports,
            transcript=self.transcript("сеть клиента"),
            online=online,
            wire=self.wire,
        )
        self.add_cleanup(server.close)
        return server

    def reachable(self, host: str, port: int) -> bool:
        """Whether something accepts connections at ``host:port`` in the scenario's network."""
        try:
            connect(self.sandbox.socket, host, port, timeout=1.0).close()
        except OSError:
            return False
        return True


def not_listening(server: ServerProcess, shown: str, timeout: float) -> Fail:
    """Why a server never came to listen, in the student's terms (exit code, stderr tail)."""
    code = server.returncode
    if code is not None:
        got = f"сервер завершился с кодом {code}, не начав принимать подключения"
    elif server.output_exceeded:
        got = "сервер напечатал слишком много и был остановлен"
    else:
        got = f"за {timeout:g} с сервер не начал слушать порт"
    return Fail(
        "сервер запускается и принимает подключения",
        got=got + "\n" + server.transcript.tail(),
        hint="Запускаем: " + shown + ". Сервер должен слушать адрес и порт из --host и "
        "--port и напечатать «Сервер запущен на 127.0.0.1:ПОРТ» (для --port 0 — порт, "
        "выбранный ОС: sock.getsockname()[1]). Если он падает, причина — в stderr выше.",
    )
