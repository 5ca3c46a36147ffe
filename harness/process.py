"""Started programs: output read into a transcript, waits on lines, the student's server.

Every process the harness starts gets a :class:`~harness.transcript.Transcript` (what it
printed, with times relative to the scenario start) that goes into the report.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from harness.sandbox import Launch
from harness.transcript import Transcript


class Program:
    """A started program with both output streams read into a transcript.

    Runs in its own session/process group; reading more than ``output_cap`` bytes from one
    stream kills the whole group (and says so in the transcript).
    """

    def __init__(
        self,
        launch: Launch,
        *,
        transcript: Transcript,
        output_cap: int,
        on_start: Callable[[int], None] | None = None,
        deliver: Callable[[int, int], None] | None = None,
    ):
        self.argv = list(launch.argv)
        self._deliver = deliver
        self.transcript = transcript
        self.output_cap = output_cap
        self.output_exceeded = False
        self._lines: list[str] = []
        self._output: list[str] = []
        self._cond = threading.Condition()
        self._stdout_done = False
        transcript.add("harness", "$ " + launch.shown)
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=launch.cwd,
            env=launch.env,
            preexec_fn=launch.preexec_fn,
            start_new_session=True,
            close_fds=True,
        )
        self.pid = self.proc.pid
        if on_start is not None:
            on_start(self.pid)
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, "stderr"), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[bytes] | None, name: str) -> None:
        assert stream is not None
        total = 0
        pending = b""
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # pipe closed under us at cleanup
                chunk = b""
            if not chunk:
                break
            total += len(chunk)
            if total > self.output_cap:
                self.output_exceeded = True
                self.transcript.add(
                    "harness", f"{name}: больше {self.output_cap} байт вывода — процесс остановлен"
                )
                self.kill()
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                self._line(name, raw.decode("utf-8", "replace").rstrip("\r"))
        if pending:
            self._line(name, pending.decode("utf-8", "replace"))
        stream.close()
        with self._cond:
            if name == "stdout":
                self._stdout_done = True
            self._cond.notify_all()

    def _line(self, name: str, text: str) -> None:
        self.transcript.add(name, text)
        with self._cond:
            if name == "stdout":
                self._lines.append(text)
            self._output.append(text)
            self._cond.notify_all()

    def stdout_lines(self) -> list[str]:
        """The lines the program printed on stdout so far."""
        with self._cond:
            return list(self._lines)

    def finish_reading(self, timeout: float = 2.0) -> None:
        """Wait until both output streams are read to their end (after the program exited)."""
        for reader in self._readers:
            reader.join(timeout)

    def output(self) -> str:
        """Everything the program printed (stdout and stderr, as it came), capped."""
        with self._cond:
            return "\n".join(self._output)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        """First stdout line matching ``pattern``; None on timeout or when stdout ended."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    match = pattern.search(line)
                    if match:
                        return match
                seen = len(self._lines)
                if self._stdout_done:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float) -> int | None:
        """Exit status, or None if still running after ``timeout`` seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, sig: int) -> None:
        """``sig`` to the program (through ``deliver`` when a sandbox stands in between)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # exited meanwhile
                if self._deliver is not None:
                    self._deliver(self.pid, sig)
                else:
                    os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Kill the group, reap the process and finish reading its output."""
        self.kill()
        self.wait(5)
        for reader in self._readers:
            reader.join(2)
        code = self.proc.poll()
        self.transcript.add("harness", f"процесс завершён, код {code}")


LOOPBACK = ("127.0.0.1", "::1")
ANY_ADDRESS = ("0.0.0.0", "::", "")
POLL = 0.05  # how often the listening sockets are looked up while waiting for them
GRACE = 0.5  # how long a listening server may still take to print its ready line


def ready_address(line: str, pattern: re.Pattern[str]) -> tuple[str, int] | None:
    """The last ``host:port`` in ``line`` ("[14:30:05] Сервер запущен на 127.0.0.1:8083")."""
    found = list(pattern.finditer(line))
    if not found:
        return None
    match = found[-1]
    port = int(match.group("port"))
    return match.group("host").strip("[]"), port if port < 65536 else -1


@dataclass
class Ready:
    """Where a started server really listens, and how that differs from what it should do."""

    host: str  # address to connect to
    port: int
    line: str | None  # the ready line as printed, None if there was none
    problems: list[str] = field(default_factory=list)  # deviations, in the student's terms


class ServerProcess(Program):
    """A chat server: ``host`` and ``port`` to connect to once :meth:`await_ready` says so."""

    host: str
    port: int
    ready: Ready

    def await_ready(
        self,
        listening: Callable[[], list[tuple[str, int]]],
        pattern: re.Pattern[str],
        asked_port: int,
        timeout: float,
    ) -> Ready | None:
        """Wait until the server listens; None if it exits or never listens in ``timeout``.

        The ready line is not trusted: the port to use is a socket the server's own
        processes listen on (``listening()``).  A server that listens but prints no ready
        line is used after ``GRACE`` seconds; one that prints a wrong port, listens on
        another port than ``asked_port`` or names a foreign address is used all the same,
        and each deviation is noted in :attr:`Ready.problems` for the scenario that grades it.
        """
        deadline = time.monotonic() + timeout
        grace_end: float | None = None
        while True:
            line, address = self._ready_line(pattern)
            sockets = listening()
            if sockets and (address is not None or (grace_end and time.monotonic() > grace_end)):
                return self._decide(line, address, sockets, asked_port)
            if sockets and grace_end is None:
                grace_end = time.monotonic() + GRACE
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.returncode is not None:
                return None
            with self._cond:
                self._cond.wait(min(POLL, remaining))

    def _ready_line(self, pattern: re.Pattern[str]) -> tuple[str | None, tuple[str, int] | None]:
        with self._cond:
            lines = list(self._lines)
        for line in lines:
            address = ready_address(line, pattern)
            if address is not None:
                return line, address
        return None, None

    def _decide(
        self,
        line: str | None,
        address: tuple[str, int] | None,
        sockets: list[tuple[str, int]],
        asked_port: int,
    ) -> Ready:
        problems = []
        ports = sorted({port for _, port in sockets})
        if address is None:
            problems.append(
                f"сервер слушает порт {ports[0]}, но не напечатал строку готовности "
                "«Сервер запущен на ХОСТ:ПОРТ» в stdout"
            )
            port = asked_port if asked_port in ports else ports[0]
        elif address[1] in ports:
            port = address[1]
        else:
            port = asked_port if asked_port in ports else ports[0]
            problems.append(f"в строке готовности порт {address[1]}, а сервер слушает порт {port}")
        if asked_port and port != asked_port:
            problems.append(
                f"сервер слушает порт {port}, а ему дали --port {asked_port}: "
                "порт должен браться из параметра --port"
            )
        if address is not None and address[0] not in (*LOOPBACK, *ANY_ADDRESS, "localhost"):
            problems.append(f"в строке готовности адрес {address[0]}, а не 127.0.0.1")
        hosts = [host for host, p in sockets if p == port]
        host = next((h for h in hosts if h in LOOPBACK), hosts[0])
        if host in ANY_ADDRESS:
            host = "::1" if host == "::" else "127.0.0.1"
        ready = Ready(host=host, port=port, line=line, problems=problems)
        self.host, self.port, self.ready = host, port, ready
        self.transcript.add(
            "harness", f"слушает {host}:{port}" + "".join(f"; ⚠ {p}" for p in problems)
        )
        return ready

    def stop(self, sig: int = signal.SIGINT, timeout: float = 2.0) -> int | None:
        """Send ``sig`` and wait up to ``timeout`` s; the exit status or None if still running."""
        self.transcript.add("harness", f"посылаю сигнал {signal.Signals(sig).name}")
        self.send_signal(sig)
        return self.wait(timeout)
