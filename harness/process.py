"""Started programs: capped, timestamped transcripts and the student's server.

Every process the harness starts gets a :class:`Transcript` (what it printed, with times
relative to the scenario start) that goes into the report.  A transcript keeps its start and
its end when the output is long; the middle is replaced by a note of how much was left out.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

HEAD_BYTES = 24 * 1024
TAIL_BYTES = 24 * 1024


class Transcript:
    """A thread-safe log of one process or probe: ``[+1.234s] stream| text`` lines."""

    def __init__(
        self, name: str, t0: float | None = None, head: int = HEAD_BYTES, tail: int = TAIL_BYTES
    ):
        self.name = name
        self.t0 = time.monotonic() if t0 is None else t0
        self._head: list[str] = []
        self._head_bytes = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_bytes = 0
        self._omitted_lines = 0
        self._omitted_bytes = 0
        self._limits = (head, tail)
        self._lock = threading.Lock()

    def add(self, stream: str, text: str) -> None:
        """Record ``text`` (one line or several) as coming from ``stream`` now."""
        stamp = time.monotonic() - self.t0
        lines = text.splitlines() or [""]
        with self._lock:
            for line in lines:
                entry = f"[+{stamp:7.3f}s] {stream}| {line}"
                size = len(entry.encode("utf-8", "replace")) + 1
                if self._head_bytes + size <= self._limits[0] and not self._tail:
                    self._head.append(entry)
                    self._head_bytes += size
                    continue
                self._tail.append(entry)
                self._tail_bytes += size
                while self._tail_bytes > self._limits[1] and len(self._tail) > 1:
                    dropped = self._tail.popleft()
                    self._tail_bytes -= len(dropped.encode("utf-8", "replace")) + 1
                    self._omitted_lines += 1
                    self._omitted_bytes += len(dropped.encode("utf-8", "replace")) + 1

    def text(self) -> str:
        """The transcript as text (start, a note of what was omitted, end)."""
        with self._lock:
            parts = list(self._head)
            if self._omitted_lines:
                parts.append(
                    f"… пропущено {self._omitted_lines} строк ({self._omitted_bytes} байт) …"
                )
            parts.extend(self._tail)
        return "\n".join(parts)

    def tail(self, lines: int = 15) -> str:
        """The last ``lines`` entries (for a short "got" in a failure)."""
        with self._lock:
            entries = list(self._head) + list(self._tail)
        return "\n".join(entries[-lines:])


class Program:
    """A started program with both output streams read into a transcript.

    Runs in its own session/process group; reading more than ``output_cap`` bytes from one
    stream kills the whole group (and says so in the transcript).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        transcript: Transcript,
        cwd: Path,
        env: dict[str, str],
        preexec_fn: Callable[[], None] | None,
        output_cap: int,
        on_start: Callable[[int], None] | None = None,
    ):
        self.argv = list(argv)
        self.transcript = transcript
        self.output_cap = output_cap
        self.output_exceeded = False
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._stdout_done = False
        transcript.add("harness", "$ " + " ".join(self.argv))
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(cwd),
            env=env,
            preexec_fn=preexec_fn,
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
        if name == "stdout":
            with self._cond:
                self._lines.append(text)
                self._cond.notify_all()

    @property
    def stdout_lines(self) -> list[str]:
        with self._cond:
            return list(self._lines)

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
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # exited meanwhile
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


class ServerProcess(Program):
    """A chat server that printed its ready line: ``host`` and ``port`` to connect to."""

    host: str
    port: int

    def stop(self, sig: int = signal.SIGINT, timeout: float = 2.0) -> int | None:
        """Send ``sig`` and wait up to ``timeout`` s; the exit status or None if still running."""
        self.transcript.add("harness", f"посылаю сигнал {signal.Signals(sig).name}")
        self.send_signal(sig)
        return self.wait(timeout)
