"""The worker processes of a load run and the commands the main process sends them.

:class:`Fleet` starts ``count`` workers (:mod:`harness.load.worker`) as plain child
processes, sends them commands, waits for their answers with deadlines and keeps every
:class:`~harness.load.worker.Stats` report they send on the way (``reports``): the
statistics of a run are computed from that history afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from typing import Any

from harness.load.procs import LoadError, Server, end_process, server_gone
from harness.load.worker import REPORT_PERIOD, Stats

WORKER_CODE = "from harness.load.worker import worker_main; worker_main({fd})"


class Fleet:
    """The worker processes and the commands to them; ``with`` ends them all."""

    def __init__(self, count: int, spec: dict[str, Any], server: Server):
        self.server = server
        self.conns: list[Connection] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        for _ in range(count):
            # A plain child process (not multiprocessing's spawn, which re-imports the
            # caller's __main__) talking pickled tuples over a socket pair.
            parent, child = socket.socketpair()
            code = WORKER_CODE.format(fd=child.fileno())
            proc = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[child.fileno()], stdin=subprocess.DEVNULL
            )
            child.close()
            conn = Connection(parent.detach())
            conn.send(spec)
            self.conns.append(conn)
            self.procs.append(proc)
        self.reports: list[list[Stats]] = [[] for _ in range(count)]  # per worker, in order
        self.finished: set[int] = set()

    def latest(self, i: int) -> Stats:
        """Worker ``i``'s latest report (all zero before the first)."""
        return self.reports[i][-1] if self.reports[i] else Stats(0.0, 0, 0, [], {}, 0)

    def send(self, message: tuple[Any, ...], only: Sequence[int] | None = None) -> None:
        for i, conn in enumerate(self.conns):
            if only is None or i in only:
                conn.send(message)

    def gather(
        self,
        kind: str,
        timeout: float,
        idle: Callable[[], None] | None = None,
        only: Sequence[int] | None = None,
        stall: float | None = None,
    ) -> dict[int, tuple[Any, ...]]:
        """Wait for one ``kind`` answer from each worker (reports are kept on the way).

        Gives up after ``timeout`` seconds, or after ``stall`` seconds in which the workers
        received nothing new.
        """
        wanted = set(range(len(self.conns)) if only is None else only)
        answers: dict[int, tuple[Any, ...]] = {}
        deadline = time.monotonic() + timeout
        progress = (self.delivered(), time.monotonic())
        while wanted - answers.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                raise LoadError(f"рабочие процессы не ответили «{kind}» за {timeout:g} с")
            if stall is not None:
                if self.delivered() != progress[0]:
                    progress = (self.delivered(), time.monotonic())
                elif time.monotonic() - progress[1] > stall:
                    raise LoadError(f"«{kind}»: {stall:g} с ничего не доставлено")
            gone = server_gone(self.server)
            if gone:
                raise LoadError(gone)
            self.poll(min(left, REPORT_PERIOD), kind, answers)
            if idle is not None:
                idle()
        return answers

    def delivered(self) -> int:
        """Load messages received by all workers' users, as last reported."""
        return sum(self.latest(i).delivered for i in range(len(self.conns)))

    def poll(self, timeout: float, kind: str = "", answers: dict[int, Any] | None = None) -> None:
        """Read what the workers sent within ``timeout``; ``kind`` answers go to ``answers``."""
        open_conns = [c for i, c in enumerate(self.conns) if i not in self.finished]
        for conn in wait_connections(open_conns, timeout):
            assert isinstance(conn, Connection)
            i = self.conns.index(conn)
            while i not in self.finished and conn.poll():
                try:
                    message = conn.recv()
                except EOFError:
                    code = self.procs[i].poll()
                    raise LoadError(f"рабочий процесс {i} завершился (код {code})") from None
                if message[0] == "stats":
                    self.reports[i].append(message[1])
                elif message[0] == kind and answers is not None:
                    answers[i] = message
                if message[0] == "final":  # the worker exits right after this
                    self.finished.add(i)

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.close()
        for proc in self.procs:
            end_process(proc, signal.SIGTERM)
