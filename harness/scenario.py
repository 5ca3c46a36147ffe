"""The API scenarios are written against (check50 style).

A scenario is a function ``f(ctx)`` registered with :func:`scenario`.  Its docstring is the
sentence the student sees.  It records what it is doing with ``ctx.step("…")`` and fails by
raising :class:`Fail` (expected / got / hint / screen): the report shows the first failing
step.  Any other exception is a harness error, not the student's fault.

::

    @scenario("server_broadcast", depends=("server_register",))
    def server_broadcast(ctx: Context) -> None:
        \"\"\"Общее сообщение доходит до всех, кроме отправителя.\"\"\"
        server = ctx.server()
        alice = ctx.probe(server, "alice")
        ...

The context owns everything a scenario starts (servers, probes, proxies, terminals) and
cleans it up when the scenario ends or times out, whole process groups included.
"""

from __future__ import annotations

import inspect
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harness.kit import REFERENCE_DIR
from harness.process import Program, ServerProcess, Transcript
from harness.protocol import ready_line_regex
from harness.sandbox import Sandbox
from harness.verdict import Fail, Skip

if TYPE_CHECKING:
    from harness.probe import Probe
    from harness.proxy import FaultProxy

P = TypeVar("P", bound=Program)
DEFAULT_TIMEOUT = 8.0
READY_TIMEOUT = 5.0
LOAD_SLACK = 1.0  # seconds added to protocol deadlines that the harness measures


@dataclass
class Scenario:
    """A registered scenario."""

    id: str
    func: Callable[[Context], None]
    depends: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT

    @property
    def description(self) -> str:
        """The student-facing sentence (the docstring's first paragraph)."""
        doc = inspect.getdoc(self.func) or self.id
        return " ".join(doc.split("\n\n")[0].split())


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    id: str, depends: Iterable[str] = (), timeout: float = DEFAULT_TIMEOUT
) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """Register ``f(ctx)`` as the scenario ``id`` (the id in ``lab/rubric.toml``)."""

    def register(func: Callable[[Context], None]) -> Callable[[Context], None]:
        if id in SCENARIOS:
            raise ValueError(f"scenario {id!r} registered twice")
        if not inspect.getdoc(func):
            raise ValueError(f"scenario {id!r} needs a docstring: it is what the student sees")
        SCENARIOS[id] = Scenario(id=id, func=func, depends=tuple(depends), timeout=timeout)
        return func

    return register


def option_argv(options: dict[str, Any]) -> list[str]:
    """``ping_interval=0.3`` → ``["--ping-interval", "0.3"]``."""
    argv = []
    for key, value in options.items():
        argv += ["--" + key.replace("_", "-"), str(value)]
    return argv


@dataclass
class Context:
    """What a scenario works with; one per scenario run.

    ``submission`` is this run's private copy of the student's folder and ``reference_dir``
    the kit's reference programs.  ``which`` arguments are ``"student"`` or ``"reference"``.
    """

    scenario_id: str
    submission: Path
    sandbox: Sandbox
    reference_dir: Path = REFERENCE_DIR
    t0: float = field(default_factory=time.monotonic)
    current_step: str = ""
    current_hint: str = ""
    unblocked: bool = False
    steps: list[str] = field(default_factory=list)
    transcripts: list[Transcript] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _names: dict[str, int] = field(default_factory=dict)

    # -- bookkeeping -----------------------------------------------------------------------
    def step(self, text: str, hint: str = "") -> None:
        """Record the step now being checked (shown when the scenario fails).

        ``hint`` is advice for the student if this step fails; it comes before the generic
        hint of a failed wait.
        """
        with self._lock:
            self.current_step = text
            self.current_hint = hint
            self.steps.append(text)

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

    # -- launching programs ----------------------------------------------------------------
    def program_dir(self, which: str = "student") -> Path:
        """Folder a program runs in (and is taken from)."""
        if which == "student":
            return self.submission
        if which == "reference":
            return self.reference_dir
        raise ValueError(f"which must be 'student' or 'reference', not {which!r}")

    def program_argv(self, which: str, program: str) -> list[str]:
        """``[python, -u, …/program]`` for the student's or the reference program."""
        path = self.program_dir(which) / program
        if not path.is_file():
            raise Skip(f"нет файла {program}")
        return [self.sandbox.python(trusted=which == "reference"), "-u", str(path)]

    def program_env(self, which: str = "student") -> dict[str, str]:
        return self.sandbox.env(home=self.program_dir(which))

    def preexec_fn(self, which: str = "student") -> Callable[[], None]:
        """Containment for a child (uid + rlimits); pass to Popen/pexpect ``preexec_fn``."""
        return self.sandbox.preexec_fn(trusted=which == "reference")

    def start(self, which: str, argv: list[str], name: str) -> Program:
        """Start any program under containment with a transcript; closed at cleanup."""
        return self._launch(Program, which, argv, name)

    def _launch(
        self,
        cls: type[P],
        which: str,
        argv: list[str],
        name: str,
        env: dict[str, str] | None = None,
    ) -> P:
        program = cls(
            argv,
            transcript=self.transcript(name),
            cwd=self.program_dir(which),
            env={**self.program_env(which), **(env or {})},
            preexec_fn=self.preexec_fn(which),
            output_cap=self.sandbox.limits.output_bytes,
            on_start=self.sandbox.track_group,
        )
        self.add_cleanup(program.close)
        return program

    def server(
        self,
        which: str = "student",
        *,
        ready_timeout: float = READY_TIMEOUT,
        env: dict[str, str] | None = None,
        **options: Any,
    ) -> ServerProcess:
        """Start a chat server on a free port and wait for its ready line.

        ``options`` become command-line options (``ping_interval=0.3`` →
        ``--ping-interval 0.3``); ``--host 127.0.0.1 --port 0`` are always given.
        ``env`` adds environment variables (e.g. ``TZ``).
        """
        argv = self.program_argv(which, "server.py")
        argv += ["--host", "127.0.0.1", "--port", "0", *option_argv(options)]
        name = "сервер" if which == "student" else "эталонный сервер"
        server = self._launch(ServerProcess, which, argv, name, env)
        match = server.wait_for_line(ready_line_regex(), ready_timeout)
        if match is None:
            code = server.returncode
            if code is not None:
                got = f"сервер завершился с кодом {code} до строки готовности"
            elif server.output_exceeded:
                got = "сервер напечатал слишком много и был остановлен"
            else:
                got = f"за {ready_timeout:g} с строка готовности не появилась"
            raise Fail(
                "сервер печатает в stdout строку готовности «Сервер запущен на 127.0.0.1:ПОРТ»",
                got=got + "\n" + server.transcript.tail(),
                hint="Запускаем: server.py " + " ".join(argv[3:]) + ". Напечатайте строку "
                "готовности с настоящим портом (для --port 0 — тот, что выбрала ОС: "
                "sock.getsockname()[1]) сразу после listen(), с flush=True.",
            )
        server.host = match.group("host").strip("[]")
        if server.host in ("0.0.0.0", "localhost", ""):
            server.host = "127.0.0.1"
        server.port = int(match.group("port"))
        server.transcript.add("harness", f"готов: {server.host}:{server.port}")
        return server

    def probe(
        self,
        target: Any,
        name: str | None = None,
        *,
        auto_pong: bool = True,
        recv_buffer: int | None = None,
    ) -> Probe:
        """A raw-socket protocol client connected to ``target`` (anything with host/port).

        With ``name`` it also registers under that name and waits for the welcome.
        """
        from harness.probe import Probe

        label = f"зонд {name}" if name else "зонд"
        probe = Probe(
            target.host,
            target.port,
            transcript=self.transcript(label),
            auto_pong=auto_pong,
            recv_buffer=recv_buffer,
        )
        self.add_cleanup(probe.close)
        if name:
            probe.register(name)
        return probe

    def proxy(self, target: Any, **faults: Any) -> FaultProxy:
        """A fault-injecting TCP proxy in front of ``target`` (see :mod:`harness.proxy`)."""
        from harness.proxy import FaultProxy

        proxy = FaultProxy(target.host, target.port, transcript=self.transcript("прокси"), **faults)
        self.add_cleanup(proxy.close)
        return proxy

    def spawn_terminal(self, argv: list[str], **kwargs: Any) -> Any:
        """A client in a real pty rendered by pyte (implemented in :mod:`harness.terminal`).

        Delegates to ``harness.terminal.open_terminal(ctx, argv, **kwargs)``, which uses
        :meth:`transcript`, :meth:`program_env`, :meth:`preexec_fn` and
        :meth:`sandbox.track_group <harness.sandbox.Sandbox.track_group>`; the terminal is
        closed at cleanup.
        """
        from harness import terminal  # type: ignore[attr-defined,unused-ignore]

        term = terminal.open_terminal(self, argv, **kwargs)
        self.add_cleanup(term.close)
        return term

    def interrupt(self, server: ServerProcess, within: float = 2.0) -> int | None:
        """Ctrl+C for a server: SIGINT, then its exit status (None if still up).

        The protocol allows ``within`` seconds; the wait adds ``LOAD_SLACK`` so that a busy
        grading machine (scheduling delays) never fails a server that keeps the rule.
        """
        return server.stop(signal.SIGINT, within + LOAD_SLACK)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0
