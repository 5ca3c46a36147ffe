"""The processes of a load run: the server under test, the open-file limit, ending a child.

:func:`serve` starts a chat server on port 0 and waits for the ready line of
``lab/protocol.json``; ``load`` and ``bench`` start every server through it.  The servers
measured are the kit's own (trusted) designs, so none of the grader's containment applies;
their output is read all along (a server that prints never blocks on a full pipe) and its
last lines are kept for error messages.
"""

from __future__ import annotations

import collections
import contextlib
import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from harness.protocol import ready_line_regex

HOST = "127.0.0.1"
FD_LIMIT_WANTED = 65536
READY_TIMEOUT = 15.0
STOP_GRACE = 10.0  # seconds after SIGTERM before SIGKILL
EXIT_WAIT = 60.0  # a killed server with 10 000 sockets takes a while to go
TAIL_LINES = 20


class LoadError(RuntimeError):
    """The load run could not proceed (server died, workers did not answer in time)."""


def raise_fd_limit() -> int:
    """Raise this process's open-file limit as far as allowed; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (max(hard, FD_LIMIT_WANTED), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):  # not privileged to raise the hard limit
            continue
    return soft


def end_process(proc: subprocess.Popen[bytes], sig: int, grace: float = STOP_GRACE) -> None:
    """Stop ``proc``: ``sig``, then SIGKILL after ``grace`` seconds. With 10 000 sockets
    to tear down even a killed process can take a while; wait for that, but not forever."""
    for action in (lambda: proc.send_signal(sig), proc.kill):
        if proc.poll() is not None:
            return
        with contextlib.suppress(OSError):  # exited in the meantime
            action()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(EXIT_WAIT)


class Server:
    """A started chat server: ``pid``, ``port`` (once ready) and the tail of its output."""

    def __init__(self, proc: subprocess.Popen[bytes]):
        self.proc = proc
        self.pid = proc.pid
        self.port = 0
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._ready = threading.Event()  # set by the ready line, or by the end of output
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:  # closed at the end of output
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip()
                self._tail.append(line)
                match = None if self._ready.is_set() else ready_line_regex().search(line)
                if match:
                    self.port = int(match.group("port"))
                    self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float) -> bool:
        """True once the ready line was printed; False if it was not within ``timeout``."""
        self._ready.wait(timeout)
        return self.port != 0

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def tail(self) -> str:
        """The last lines the server printed (stdout and stderr)."""
        return "\n".join(self._tail)

    def stop(self) -> None:
        end_process(self.proc, signal.SIGTERM)
        self._reader.join(STOP_GRACE)


@contextlib.contextmanager
def serve(
    path: Path, extra_args: Sequence[str] = (), ready_timeout: float = READY_TIMEOUT
) -> Iterator[Server]:
    """The chat server ``path`` listening on ``HOST``:``.port``; stopped on exit (SIGTERM,
    then SIGKILL)."""
    path = Path(path).resolve()
    argv = [sys.executable, "-u", str(path), "--host", HOST, "--port", "0", *extra_args]
    server = Server(
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=str(path.parent),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=raise_fd_limit,
            start_new_session=True,  # Ctrl+C reaches the harness, which stops the server
        )
    )
    try:
        if not server.wait_ready(ready_timeout):
            raise LoadError(
                f"сервер {path} не напечатал строку готовности за {ready_timeout:g} с; "
                f"вывод:\n{server.tail()}"
            )
        yield server
    finally:
        server.stop()


def server_gone(server: Server) -> str | None:
    """Why the run cannot go on when ``server`` has exited (its last output); else None."""
    code = server.returncode
    if code is None:
        return None
    return f"сервер завершился (код {code}); вывод:\n{server.tail()}"
