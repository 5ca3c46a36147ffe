"""``python -m harness load``: simulate many chat users against a server and measure it.

What runs where:

- the **main process** starts the server (the reference by default) on port 0, waits for its
  ready line, samples its RSS, thread count and CPU from ``/proc/<pid>/`` and shows progress;
- **user workers** (``--workers`` processes, one selector loop each, non-blocking sockets)
  connect and register the N users, read everything every user receives and count the chat
  messages by the sequence numbers in their text (``L<sender>:<seq>``); the first S users
  also send, at ``--rate`` messages/s in total or flat out;
- one **probe worker** holds the P probe users, who broadcast ``P<probe>:<seq>:<ns>`` a few
  times per second and measure, on receipt of each other's messages, the latency; it also
  holds the users that never read (``--stuck``, for the slow-reader test).

Every broadcast must reach the N-1 other users: whatever did not arrive once the senders
stopped and the queues drained is reported as lost. Flat-out senders keep at most a bounded
number of messages in flight (checked against a receiver in the same worker), so a run ends
soon after the senders stop. Every wait has a deadline; the run stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import math
import operator
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from pathlib import Path
from typing import IO, Any

from harness.kit import KIT_ROOT
from harness.protocol import ready_line_regex

DEFAULT_SERVER = KIT_ROOT / "reference" / "server.py"
TICK = 0.5  # seconds between progress samples
CONNECT_WINDOW = 200  # connections being set up at once per worker
RECV_BYTES = 1 << 18
IN_FLIGHT_DELIVERIES = 200_000  # flat-out senders: messages in flight x receivers, at most
SENDER_BATCH = 256  # messages written per wake-up of a flat-out sender
READ_PERIOD = 0.005  # user workers read all their sockets at most this often
FD_LIMIT_WANTED = 65536
DRAIN_MAX = 60.0  # seconds the queues may take to drain; what is left is "undelivered"

LOAD_TEXT = re.compile(rb'"L(\d+):(\d+)')
PROBE_TEXT = re.compile(rb'"P\d+:\d+:(\d+)')
PONG = b'{"type": "pong"}\n'
FLOODER = "flood0"  # the user who fills the queues of the users that never read
FLOOD_TEXT_CHARS = 4000


# --------------------------------------------------------------------------- the server child


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


def end_process(proc: subprocess.Popen[bytes], sig: int, grace: float = 10.0) -> None:
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
        proc.wait(60)


def proc_status(pid: int) -> dict[str, int]:
    """RSS (KiB), thread count and CPU ticks of ``pid`` from /proc; empty once it is gone."""
    result: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    result["rss_kb"] = int(line.split()[1])
                elif line.startswith("Threads:"):
                    result["threads"] = int(line.split()[1])
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        result["cpu_ticks"] = int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):  # the process exited meanwhile
        return {}
    return result


class ServerProcess:
    """A chat server started on port 0; ``with`` stops it (SIGTERM, then SIGKILL)."""

    def __init__(self, path: Path, extra_args: Sequence[str] = (), ready_timeout: float = 15.0):
        self.path = Path(path).resolve()
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        argv = [sys.executable, "-u", str(self.path), "--host", "127.0.0.1", "--port", "0"]
        argv += list(extra_args)
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=str(self.path.parent),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=raise_fd_limit,
        )
        self.pid = self.proc.pid
        self.port = self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout: float) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        seen = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not sel.select(max(0.0, deadline - time.monotonic())):
                    break
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
                for line in seen.decode("utf-8", "replace").splitlines():
                    match = ready_line_regex().search(line)
                    if match:
                        return int(match.group("port"))
        self.stop()
        raise LoadError(
            f"сервер {self.path} не напечатал строку готовности за {timeout:g} с; "
            f"вывод: {seen.decode('utf-8', 'replace')!r}; журнал: {self.log_tail()!r}"
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def status(self) -> dict[str, int]:
        return proc_status(self.pid)

    def log_tail(self, size: int = 2000) -> str:
        self.log.seek(0, os.SEEK_END)
        end = self.log.tell()
        self.log.seek(max(0, end - size))
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        end_process(self.proc, signal.SIGTERM)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log.close()


# --------------------------------------------------------------------------- worker processes


class Peer:
    """One simulated user inside a worker."""

    __slots__ = (
        "counts",
        "joins",
        "last",
        "mask",
        "name",
        "online_at_welcome",
        "out",
        "probe",
        "sender",
        "seq",
        "sock",
        "state",
        "stuck",
        "tail",
    )

    def __init__(self, name: str, sock: socket.socket):
        self.name = name
        self.sock = sock
        self.state = "connecting"  # -> registering -> ready -> closed
        self.mask = 0
        self.tail = b""
        self.out = bytearray()
        self.counts: Counter[bytes] = Counter()  # sender id -> messages received from it
        self.last: dict[bytes, bytes] = {}  # sender id -> the last sequence number received
        self.joins = 0
        self.online_at_welcome = 0
        self.sender: int | None = None  # load sender id
        self.probe: int | None = None  # probe id
        self.seq = 0
        self.stuck = False


class Worker:
    """The selector loop of one worker process, driven by commands from the main process."""

    def __init__(self, conn: Connection, spec: dict[str, Any]):
        self.conn = conn
        self.addr = ("127.0.0.1", int(spec["port"]))
        self.rate: float | None = spec.get("rate")  # per sender, messages/s; None: flat out
        self.quota: int | None = spec.get("quota")  # messages per sender, None: until stop
        self.window = int(spec.get("window", 1000))
        self.pad = b"." * int(spec.get("pad", 0))
        self.probe_rate = float(spec.get("probe_rate", 10.0))
        self.flood_rate = float(spec.get("flood_rate", 0.0))
        self.read_period = float(spec.get("read_period", READ_PERIOD))
        self.flooder: Peer | None = None
        self.sel = selectors.DefaultSelector()
        self.peers: list[Peer] = []
        self.pending: deque[tuple[str, bool]] = deque()
        self.setting_up = 0
        self.failures: list[str] = []
        self.senders: list[Peer] = []
        self.probes: list[Peer] = []
        self.witness: Peer | None = None
        self.sending = False
        self.t_start = 0.0
        self.cpu_start = 0.0
        self.delivered = 0
        self.latencies: list[tuple[float, float]] = []
        self.leaves: dict[str, str] = {}
        self.left_at: dict[str, float] = {}  # seconds after the start of sending
        self.errors: Counter[str] = Counter()
        self.dropped: list[str] = []
        self.waiting: tuple[str, Any] | None = None  # ("registered"|"settled"|"drained", arg)
        self.finished = False
        self.next_stats = 0.0

    # -- control ------------------------------------------------------------------------------

    def run(self) -> None:
        self.sel.register(self.conn.fileno(), selectors.EVENT_READ, None)
        last_round = 0.0
        while not self.finished:
            if not self.probes:
                # Reading each socket as soon as one line arrives costs a recv() per line;
                # a short pause lets lines pile up, so one recv() takes many. Latency is
                # measured in the probe worker, which never pauses.
                pause = last_round + self.read_period - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                last_round = time.monotonic()
            for key, mask in self.sel.select(self.timeout()):
                if key.data is None:
                    while not self.finished and self.conn.poll():
                        self.command(self.conn.recv())
                    continue
                peer: Peer = key.data
                if mask & selectors.EVENT_READ:
                    self.on_read(peer)
                if mask & selectors.EVENT_WRITE and peer.state != "closed":
                    self.on_write(peer)
            self.start_connections()
            if self.sending:
                self.pump_senders()
            if self.probes and self.sending:
                self.pump_probes()
            if self.flooder is not None and self.sending:
                self.pump_flood(self.flooder)
            self.check_waiting()
            now = time.monotonic()
            if now >= self.next_stats:
                self.next_stats = now + TICK
                self.report_stats()

    def timeout(self) -> float:
        """How long select() may wait: until the next scheduled message, at most a tick."""
        if not self.sending:
            return TICK
        due = [self.probe_due(p) for p in self.probes if p.probe is not None]
        if self.rate:
            due += [(p.seq + 1) / self.rate for p in self.senders]
        if self.flooder is not None and self.flood_targets():
            due.append((self.flooder.seq + 1) / self.flood_rate)
        if not due:
            return TICK
        return min(TICK, max(0.0, self.t_start + min(due) - time.monotonic()))

    def probe_due(self, peer: Peer) -> float:
        """Seconds after the start when ``peer``'s next probe is due (probes are staggered)."""
        assert peer.probe is not None
        return (peer.probe / len(self.probes) + peer.seq) / self.probe_rate

    def command(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "connect":
            for name in message[1]:
                self.pending.append((name, False))
            for name in message[2]:
                self.pending.append((name, True))
            self.waiting = ("registered", None)
        elif kind == "settle":
            self.waiting = ("settled", int(message[1]))
        elif kind == "start":
            self.begin_sending(message[1], message[2])
        elif kind == "stop":
            self.sending = False
            sent = {str(p.sender): p.seq for p in self.senders if p.sender is not None}
            self.conn.send(("stopped", sent, self.delivered, cpu_seconds() - self.cpu_start))
        elif kind == "drain":
            self.waiting = ("drained", {k.encode(): v for k, v in message[1].items()})
        elif kind == "finish":
            self.conn.send(("final", self.final_report(message[1])))
            self.finished = True
            for peer in self.peers:
                peer.sock.close()

    def begin_sending(self, senders: dict[str, int], probes: dict[str, int]) -> None:
        by_name = {p.name: p for p in self.peers}
        for name, sid in senders.items():
            if name in by_name:
                by_name[name].sender = sid
                self.senders.append(by_name[name])
        for name, pid in probes.items():
            if name in by_name:
                by_name[name].probe = pid
                self.probes.append(by_name[name])
        self.flooder = by_name.get(FLOODER) if self.flood_rate > 0 else None
        readers = [p for p in self.peers if p.state == "ready" and p.sender is None and not p.stuck]
        self.witness = readers[-1] if readers else None
        self.t_start = time.monotonic()
        self.cpu_start = cpu_seconds()
        self.sending = True

    def check_waiting(self) -> None:
        if self.waiting is None:
            return
        kind, arg = self.waiting
        live = [p for p in self.peers if p.state == "ready" and not p.stuck]
        if kind == "registered":
            if self.pending or self.setting_up:
                return
            self.conn.send(("registered", len(live), self.failures[:20], len(self.failures)))
        elif kind == "settled":
            if any(p.joins < arg - p.online_at_welcome for p in live):
                return
            self.conn.send(("settled", len(live)))
        elif kind == "drained":
            for p in live:
                for sid, sent in arg.items():
                    if p.counts[sid] < sent and sid != str(p.sender).encode():
                        return
            self.conn.send(("drained", self.delivered))
        self.waiting = None

    def report_stats(self) -> None:
        sent = sum(p.seq for p in self.senders)
        self.conn.send(
            ("stats", self.delivered, sent, self.latencies, dict(self.leaves), len(self.dropped))
        )
        self.latencies = []

    def final_report(self, sent: dict[str, int]) -> dict[str, Any]:
        """Per receiver and sender: a gap before the last message received is lost (the
        server keeps each sender's order); what is missing after it was still on its way
        when the run ended, unless the server dropped that receiver."""
        lost = duplicated = incomplete = undelivered = 0
        receivers = 0
        for p in self.peers:
            if p.stuck or p.probe is not None or p.state not in ("ready", "closed"):
                continue
            receivers += 1
            missing_here = 0
            for sid, count in sent.items():
                if sid == str(p.sender):
                    continue
                got = p.counts[sid.encode()]
                last = int(p.last.get(sid.encode(), 0))
                missing_here += max(0, last - got)
                duplicated += max(0, got - last)
                if p.state == "closed":
                    missing_here += count - last
                else:
                    undelivered += count - last
            lost += missing_here
            incomplete += missing_here > 0
        return {
            "receivers": receivers,
            "delivered": self.delivered,
            "lost": lost,
            "undelivered": undelivered,
            "duplicated": duplicated,
            "incomplete_receivers": incomplete,
            "dropped": self.dropped,
            "leaves": self.leaves,
            "left_at": self.left_at,
            "errors": dict(self.errors),
            "cpu_s": cpu_seconds(),
        }

    # -- sockets ------------------------------------------------------------------------------

    def set_mask(self, peer: Peer, mask: int) -> None:
        if mask == peer.mask:
            return
        if peer.mask == 0:
            self.sel.register(peer.sock, mask, peer)
        elif mask == 0:
            self.sel.unregister(peer.sock)
        else:
            self.sel.modify(peer.sock, mask, peer)
        peer.mask = mask

    def start_connections(self) -> None:
        while self.pending and self.setting_up < CONNECT_WINDOW:
            name, stuck = self.pending.popleft()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if stuck:  # a tiny receive window makes the server's queue for it fill up fast
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            peer = Peer(name, sock)
            peer.stuck = stuck
            self.peers.append(peer)
            self.setting_up += 1
            err = sock.connect_ex(self.addr)
            if err not in (0, 115):  # 115: EINPROGRESS
                self.fail(peer, f"{name}: connect: {os.strerror(err)}")
                continue
            self.set_mask(peer, selectors.EVENT_WRITE)

    def fail(self, peer: Peer, why: str) -> None:
        if peer.state in ("connecting", "registering"):
            self.setting_up -= 1
            self.failures.append(why)
        elif peer.state == "ready":
            self.dropped.append(peer.name)
        peer.state = "closed"
        self.set_mask(peer, 0)
        peer.sock.close()

    def on_write(self, peer: Peer) -> None:
        if peer.state == "connecting":
            err = peer.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.fail(peer, f"{peer.name}: connect: {os.strerror(err)}")
                return
            peer.state = "registering"
            peer.out += json.dumps({"username": peer.name}).encode() + b"\n"
        if peer.out:
            try:
                sent = peer.sock.send(peer.out)
            except BlockingIOError:
                sent = 0
            except OSError as exc:  # connection reset by the server
                self.fail(peer, f"{peer.name}: send: {exc}")
                return
            del peer.out[:sent]
        self.update_mask(peer)

    def update_mask(self, peer: Peer) -> None:
        if peer.state == "closed":
            return
        mask = 0 if (peer.stuck and peer.state == "ready") else selectors.EVENT_READ
        if peer.out or peer.state == "connecting":
            mask |= selectors.EVENT_WRITE
        self.set_mask(peer, mask)

    def on_read(self, peer: Peer) -> None:
        try:
            data = peer.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:  # reset by the server
            self.fail(peer, f"{peer.name}: recv: {exc}")
            return
        if not data:
            self.fail(peer, f"{peer.name}: сервер закрыл соединение")
            return
        buf = peer.tail + data if peer.tail else data
        cut = buf.rfind(b"\n") + 1
        peer.tail = buf[cut:]
        if not cut:
            return
        start = 0
        if peer.state == "registering":
            start = self.read_registration(peer, buf, cut)
            if peer.state != "ready":
                return
        self.count(peer, buf, start, cut)

    def read_registration(self, peer: Peer, buf: bytes, cut: int) -> int:
        """Parse lines until the welcome; return where the lines after it start."""
        pos = 0
        while pos < cut:
            end = buf.index(b"\n", pos) + 1
            line = buf[pos:end]
            pos = end
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("event") == "join":  # another user's join may precede the welcome
                peer.joins += 1
            if message.get("type") == "system" and message.get("event") == "welcome":
                peer.state = "ready"
                peer.online_at_welcome = int(message.get("online_users", 0))
                self.setting_up -= 1
                self.update_mask(peer)
                return pos
            if message.get("type") == "error":
                self.fail(peer, f"{peer.name}: {message.get('code')}: {message.get('message')}")
                return cut
        return cut

    def count(self, peer: Peer, buf: bytes, start: int, cut: int) -> None:
        found = LOAD_TEXT.findall(buf, start, cut)
        if found:
            peer.counts.update(map(operator.itemgetter(0), found))
            peer.last.update(found)
            self.delivered += len(found)
        if self.probes:
            now = time.monotonic_ns()
            for sent_ns in PROBE_TEXT.findall(buf, start, cut):
                self.latencies.append((time.monotonic(), (now - int(sent_ns)) / 1e6))
        peer.joins += buf.count(b'"join"', start, cut)
        if buf.find(b'"ping"', start, cut) >= 0:
            peer.out += PONG
            self.update_mask(peer)
        for message in lines_with(b'"leave"', buf, start, cut):
            if message.get("event") == "leave":
                name = str(message.get("username"))
                if name not in self.leaves:
                    self.leaves[name] = str(message.get("reason"))
                    self.left_at[name] = round(time.monotonic() - self.t_start, 3)
        for message in lines_with(b'"error"', buf, start, cut):
            self.errors[str(message.get("code"))] += 1

    # -- sending ------------------------------------------------------------------------------

    def pump_senders(self) -> None:
        elapsed = time.monotonic() - self.t_start
        for peer in self.senders:
            if peer.state != "ready" or len(peer.out) > RECV_BYTES or peer.sender is None:
                continue
            if self.rate is not None:
                room = int(elapsed * self.rate) - peer.seq
            else:
                seen = self.witness.counts[str(peer.sender).encode()] if self.witness else 0
                room = min(SENDER_BATCH, self.window - (peer.seq - seen))
            if self.quota is not None:
                room = min(room, self.quota - peer.seq)
            if room <= 0:
                continue
            first = peer.seq + 1
            peer.seq += room
            peer.out += b"".join(
                b'{"type": "message", "message": "L%d:%d%s"}\n' % (peer.sender, seq, self.pad)
                for seq in range(first, peer.seq + 1)
            )
            self.on_write(peer)

    def pump_probes(self) -> None:
        elapsed = time.monotonic() - self.t_start
        for peer in self.probes:
            if peer.state != "ready" or peer.probe is None:
                continue
            if elapsed < self.probe_due(peer):
                continue
            peer.seq += 1
            stamp = time.monotonic_ns()
            peer.out += b'{"type": "message", "message": "P%d:%d:%d"}\n' % (
                peer.probe,
                peer.seq,
                stamp,
            )
            self.on_write(peer)

    def flood_targets(self) -> list[str]:
        return [p.name for p in self.peers if p.stuck and p.name not in self.leaves]

    def pump_flood(self, peer: Peer) -> None:
        """Private messages to the users that never read, until the server drops them."""
        due = int((time.monotonic() - self.t_start) * self.flood_rate) - peer.seq
        targets = self.flood_targets()
        if due <= 0 or peer.state != "ready" or not targets or len(peer.out) > RECV_BYTES:
            return
        peer.seq += due
        text = b"F" * FLOOD_TEXT_CHARS
        peer.out += b"".join(
            b'{"type": "private", "target_username": "%s", "message": "%s"}\n'
            % (name.encode(), text)
            for name in targets
            for _ in range(due)
        )
        self.on_write(peer)


def lines_with(word: bytes, buf: bytes, start: int, end: int) -> Iterator[dict[str, Any]]:
    """The JSON objects on the lines of ``buf[start:end]`` that contain ``word`` (rare)."""
    pos = buf.find(word, start, end)
    while pos >= 0:
        line_start = buf.rfind(b"\n", start, pos) + 1 or start
        line_end = buf.find(b"\n", pos, end)
        line_end = end if line_end < 0 else line_end
        with contextlib.suppress(ValueError):
            message = json.loads(buf[line_start:line_end])
            if isinstance(message, dict):
                yield message
        pos = buf.find(word, line_end, end)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker_main(fd: int) -> None:
    """Entry point of a worker process: commands come over the socket ``fd``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID` shows where a worker is
    raise_fd_limit()
    conn = Connection(fd)
    spec = conn.recv()
    with contextlib.suppress(EOFError, BrokenPipeError):  # the main process went away
        Worker(conn, spec).run()


# --------------------------------------------------------------------------- the fleet


class Fleet:
    """The worker processes and the commands to them; ``with`` ends them all."""

    def __init__(self, count: int, spec: dict[str, Any], server: ServerProcess):
        self.server = server
        self.conns: list[Connection] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        for _ in range(count):
            # A plain child process (not multiprocessing's spawn, which re-imports the
            # caller's __main__) talking pickled tuples over a socket pair.
            parent, child = socket.socketpair()
            code = f"from harness.load import worker_main; worker_main({child.fileno()})"
            proc = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[child.fileno()], stdin=subprocess.DEVNULL
            )
            child.close()
            conn = Connection(parent.detach())
            conn.send(spec)
            self.conns.append(conn)
            self.procs.append(proc)
        self.stats: list[tuple[Any, ...]] = [("stats", 0, 0, [], {}, 0)] * count
        self.new_latencies: list[tuple[float, float]] = []
        self.finished: set[int] = set()

    def send(self, message: tuple[Any, ...], only: Sequence[int] | None = None) -> None:
        for i, conn in enumerate(self.conns):
            if only is None or i in only:
                conn.send(message)

    def gather(
        self,
        kind: str,
        timeout: float,
        idle: Any = None,
        only: Sequence[int] | None = None,
        stall: float | None = None,
    ) -> dict[int, tuple[Any, ...]]:
        """Wait for one ``kind`` answer from each worker (statistics are kept on the way).

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
            if not self.server.alive():
                raise LoadError(f"сервер завершился; журнал: {self.server.log_tail()}")
            self.poll(min(left, TICK), kind, answers)
            if idle is not None:
                idle()
        return answers

    def delivered(self) -> int:
        return sum(s[1] for s in self.stats)

    def poll(self, timeout: float, kind: str = "", answers: dict[int, Any] | None = None) -> None:
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
                    self.stats[i] = message
                    self.new_latencies.extend(message[3])
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


# --------------------------------------------------------------------------- one load run


@dataclass
class LoadConfig:
    """What to run: see ``python -m harness load --help`` for each field."""

    server: Path = DEFAULT_SERVER
    users: int = 100
    senders: int = 1
    rate: float | None = None
    duration: float | None = 5.0
    messages: int | None = None
    probes: int = 3
    probe_rate: float = 10.0
    stuck: int = 0
    stuck_flood: float = 0.0
    pad: int = 0
    workers: int = 1
    server_args: list[str] = field(default_factory=list)
    settle_timeout: float = 120.0
    drain_timeout: float = 10.0  # give up draining after this long without progress


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def split(names: list[str], parts: int) -> list[list[str]]:
    return [names[i::parts] for i in range(parts)]


def run_load(cfg: LoadConfig, progress: Any = None) -> dict[str, Any]:
    """Run one load test and return its results (see README in bench/ for the fields)."""
    if cfg.users < 2 or not 0 < cfg.senders < cfg.users:
        raise LoadError("нужно users >= 2 и 0 < senders < users")
    raise_fd_limit()
    window = max(16, IN_FLIGHT_DELIVERIES // (cfg.users * cfg.senders))
    per_sender_rate = cfg.rate / cfg.senders if cfg.rate else None
    quota = math.ceil(cfg.messages / cfg.senders) if cfg.messages else None
    users = [f"u{i}" for i in range(cfg.users)]
    senders = {name: i + 1 for i, name in enumerate(users[: cfg.senders])}
    probes = {f"probe{i}": i for i in range(cfg.probes)}
    stuck = [f"stuck{i}" for i in range(cfg.stuck)]
    flooders = [FLOODER] if stuck and cfg.stuck_flood > 0 else []
    extra = list(probes) + flooders + stuck
    workers = max(1, cfg.workers)
    parts = split(users, workers)
    total_online = cfg.users + len(extra)
    spec = {"rate": per_sender_rate, "quota": quota, "window": window, "pad": cfg.pad}
    spec["probe_rate"] = cfg.probe_rate
    spec["flood_rate"] = cfg.stuck_flood
    timeline: list[dict[str, Any]] = []
    with ServerProcess(cfg.server, cfg.server_args) as server:
        spec["port"] = server.port
        with Fleet(workers + 1, spec, server) as fleet:
            t0 = time.monotonic()
            for i, part in enumerate(parts):
                fleet.send(("connect", part, []), only=[i])
            fleet.send(("connect", list(probes) + flooders, stuck), only=[workers])
            registered = fleet.gather("registered", cfg.settle_timeout)
            failures = [f for answer in registered.values() for f in answer[2]]
            if sum(answer[3] for answer in registered.values()):
                raise LoadError("не удалось зарегистрировать: " + "; ".join(failures[:5]))
            fleet.send(("settle", total_online))
            fleet.gather("settled", cfg.settle_timeout)
            t_registered = time.monotonic() - t0

            load_before = os.getloadavg()
            base = server.status()
            cpu_before = base.get("cpu_ticks", 0)
            fleet.send(("start", senders, probes))
            t_start = time.monotonic()
            sampler = _Sampler(server, fleet, timeline, t_start, progress, cfg)
            while True:
                fleet.poll(TICK)
                sampler.sample()
                now = time.monotonic()
                sent_now = sum(s[2] for s in fleet.stats[:workers])
                if cfg.duration is not None and now - t_start >= cfg.duration:
                    break
                if quota is not None and sent_now >= quota * cfg.senders:
                    break
                if not server.alive():
                    raise LoadError(f"сервер завершился; журнал: {server.log_tail()}")
                if now - t_start > 3600:
                    raise LoadError("прогон длится больше часа — остановлен")
            fleet.send(("stop",))
            stopped = fleet.gather("stopped", 30)
            t_stop = time.monotonic()
            sent: dict[str, int] = {}
            for answer in stopped.values():
                sent.update(answer[1])
            delivered_at_stop = sum(stopped[i][2] for i in range(workers))
            cpu_at_stop = server.status().get("cpu_ticks", cpu_before)
            fleet.send(("drain", sent), only=range(workers))
            drained = True
            try:
                fleet.gather(
                    "drained", DRAIN_MAX, sampler.sample, range(workers), stall=cfg.drain_timeout
                )
            except LoadError:
                drained = False
            t_drained = time.monotonic()
            sampler.sample()
            fleet.send(("finish", sent))
            finals = fleet.gather("final", 30)
            server_after = server.status()
    return _results(
        cfg,
        finals,
        stopped,
        sent,
        timeline,
        sampler.latencies,
        extra={
            "workers": workers,
            "window": window,
            "registration_s": round(t_registered, 3),
            "send_s": round(t_stop - t_start, 3),
            "drain_s": round(t_drained - t_stop, 3),
            "drained": drained,
            "delivered_at_stop": delivered_at_stop,
            "server_cpu_s": round((cpu_at_stop - cpu_before) / os.sysconf("SC_CLK_TCK"), 2),
            "loadavg_before": [round(x, 2) for x in load_before],
            "server_rss_kb_after": server_after.get("rss_kb"),
        },
        stuck=stuck,
    )


class _Sampler:
    """Turns worker statistics and /proc samples into the timeline and the progress line."""

    def __init__(
        self,
        server: ServerProcess,
        fleet: Fleet,
        timeline: list[dict[str, Any]],
        t_start: float,
        progress: Any,
        cfg: LoadConfig,
    ):
        self.server, self.fleet, self.timeline = server, fleet, timeline
        self.t_start = t_start
        self.last_t = t_start
        self.last_delivered = 0
        self.progress = progress
        self.cfg = cfg
        self.latencies: list[float] = []

    def sample(self) -> None:
        now = time.monotonic()
        if now - self.last_t < TICK * 0.9:
            return
        delivered = sum(s[1] for s in self.fleet.stats[:-1])
        batch = [lat for _, lat in self.fleet.new_latencies]
        self.fleet.new_latencies = []
        self.latencies.extend(batch)
        status = self.server.status()
        point = {
            "t": round(now - self.t_start, 3),
            "deliveries_per_s": round((delivered - self.last_delivered) / (now - self.last_t)),
            "p50_ms": _round(percentile(batch, 50)),
            "p99_ms": _round(percentile(batch, 99)),
            "rss_kb": status.get("rss_kb"),
            "threads": status.get("threads"),
        }
        self.timeline.append(point)
        self.last_t, self.last_delivered = now, delivered
        if self.progress is not None:
            self.progress(point, now - self.t_start, sum(s[2] for s in self.fleet.stats[:-1]))


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _results(
    cfg: LoadConfig,
    finals: dict[int, tuple[Any, ...]],
    stopped: dict[int, tuple[Any, ...]],
    sent: dict[str, int],
    timeline: list[dict[str, Any]],
    latencies: list[float],
    extra: dict[str, Any],
    stuck: list[str],
) -> dict[str, Any]:
    reports = [finals[i][1] for i in sorted(finals)]
    users, probe = reports[:-1], reports[-1]
    leaves: dict[str, str] = {}
    left_at: dict[str, float] = {}
    for report in reports:
        leaves.update(report["leaves"])
        left_at.update(report["left_at"])
    messages_sent = sum(sent.values())
    delivered = sum(r["delivered"] for r in users)
    send_s = extra["send_s"]
    gen_cpu = sum(stopped[i][3] for i in stopped)
    at_stop = extra["delivered_at_stop"]
    server_cpu = extra["server_cpu_s"]
    return {
        "server": str(cfg.server),
        "design": Path(cfg.server).stem,
        "users": cfg.users,
        "senders": cfg.senders,
        "probes": cfg.probes,
        "stuck": cfg.stuck,
        "rate": cfg.rate,
        "pad": cfg.pad,
        "messages_sent": messages_sent,
        "expected_deliveries": messages_sent * (cfg.users - 1),
        "deliveries": delivered,
        "lost": sum(r["lost"] for r in users),
        "undelivered_at_end": sum(r["undelivered"] for r in users),
        "duplicated": sum(r["duplicated"] for r in users),
        "incomplete_receivers": sum(r["incomplete_receivers"] for r in users),
        "deliveries_per_s": round(extra["delivered_at_stop"] / send_s) if send_s else 0,
        "latency_ms": {
            "p50": _round(percentile(latencies, 50)),
            "p99": _round(percentile(latencies, 99)),
            "max": _round(max(latencies, default=None)),
            "samples": len(latencies),
        },
        "dropped": [name for r in reports for name in r["dropped"]],
        "leaves": leaves,
        "stuck_dropped_overflow": bool(stuck) and all(leaves.get(n) == "overflow" for n in stuck),
        "stuck_dropped_after_s": max((left_at.get(n, -1.0) for n in stuck), default=None),
        "errors": {k: v for r in reports for k, v in r["errors"].items()},
        "server_rss_kb_max": max((p["rss_kb"] or 0 for p in timeline), default=None),
        "server_threads_max": max((p["threads"] or 0 for p in timeline), default=None),
        "server_cpu_percent": round(100 * server_cpu / send_s, 1) if send_s else None,
        "server_cpu_us_per_delivery": round(1e6 * server_cpu / at_stop, 2) if at_stop else None,
        "generator_cpu_percent": round(100 * gen_cpu / send_s, 1) if send_s else None,
        "generator_cpu_us_per_delivery": round(1e6 * gen_cpu / at_stop, 2) if at_stop else None,
        "generator_cpu_percent_by_worker": [
            round(100 * stopped[i][3] / send_s, 1) if send_s else None for i in sorted(stopped)
        ],
        "probe_worker_cpu_s": round(probe["cpu_s"], 3),
        **extra,
        "timeline": timeline,
    }


# --------------------------------------------------------------------------- plots (plain SVG)

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
Series = dict[str, list[tuple[float, float]]]


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0]
    step = 10 ** math.floor(math.log10(top))
    for factor in (1, 2, 5, 10):
        if top / (step * factor) <= 5:
            step *= factor
            break
    return [i * step for i in range(int(top / step) + 2) if i * step <= top * 1.0001 + step]


def _fmt(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def svg_panel(title: str, series: Series, x_label: str, y_label: str, top: int) -> list[str]:
    """One line chart as SVG elements, drawn 260 px high starting at ``top``."""
    left, width, height = 70, 560, 190
    points = [pt for values in series.values() for pt in values]
    x_max = max((x for x, _ in points), default=1.0) or 1.0
    y_ticks = _ticks(max((y for _, y in points), default=1.0) or 1.0)
    y_max = y_ticks[-1] or 1.0
    y0 = top + 30 + height
    out = [
        f'<text x="{left}" y="{top + 18}" font-weight="bold">{title}</text>',
        f'<line x1="{left}" y1="{y0}" x2="{left + width}" y2="{y0}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top + 30}" x2="{left}" y2="{y0}" stroke="#333"/>',
        f'<text x="{left + width / 2}" y="{y0 + 34}" text-anchor="middle">{x_label}</text>',
        f'<text x="14" y="{top + 30 + height / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + 30 + height / 2})">{y_label}</text>',
    ]
    for tick in y_ticks:
        y = y0 - height * tick / y_max
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    for tick in _ticks(x_max):
        x = left + width * tick / x_max
        out.append(f'<text x="{x:.1f}" y="{y0 + 16}" text-anchor="middle">{_fmt(tick)}</text>')
    for n, values in enumerate(series.values()):
        color = PALETTE[n % len(PALETTE)]
        coords = " ".join(
            f"{left + width * x / x_max:.1f},{y0 - height * y / y_max:.1f}" for x, y in values
        )
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
    return out + _legend(list(series), left + width + 8, top + 44)


def _legend(names: list[str], x: float, y: float) -> list[str]:
    return [
        f'<text x="{x}" y="{y + 16 * n}" fill="{PALETTE[n % len(PALETTE)]}">{name}</text>'
        for n, name in enumerate(names)
    ]


def svg_bars(title: str, series: Series, x_label: str, y_label: str, top: int) -> list[str]:
    """Grouped bars: one group per x value (category), one bar per series."""
    left, width, height = 70, 560, 190
    categories = sorted({x for values in series.values() for x, _ in values})
    y_ticks = _ticks(max((y for v in series.values() for _, y in v), default=1.0) or 1.0)
    y_max = y_ticks[-1] or 1.0
    y0 = top + 30 + height
    out = svg_panel(title, {}, x_label, y_label, top)[:5]
    for tick in y_ticks:
        y = y0 - height * tick / y_max
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    group = width / max(1, len(categories))
    bar = group * 0.8 / max(1, len(series))
    for c, category in enumerate(categories):
        x_mid = left + group * (c + 0.5)
        out.append(f'<text x="{x_mid:.1f}" y="{y0 + 16}" text-anchor="middle">{category:g}</text>')
        for n, values in enumerate(series.values()):
            value = dict(values).get(category, 0.0)
            h = height * value / y_max
            x = left + group * c + group * 0.1 + bar * n
            color = PALETTE[n % len(PALETTE)]
            out.append(
                f'<rect x="{x:.1f}" y="{y0 - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{color}"/>'
            )
            out.append(
                f'<text x="{x + bar / 2:.1f}" y="{y0 - h - 3:.1f}" text-anchor="middle" '
                f'font-size="10">{_fmt(round(value, -2))}</text>'
            )
    return out + _legend(list(series), left + width + 8, top + 44)


def svg_document(panels: list[list[str]], width: int = 780) -> str:
    height = 260 * len(panels)
    body = "\n".join(element for panel in panels for element in panel)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
    )


def timeline_series(results: dict[str, Any], key: str) -> list[tuple[float, float]]:
    return [(p["t"], p[key]) for p in results["timeline"] if p.get(key) is not None]


def write_plot(path: Path, runs: dict[str, dict[str, Any]]) -> None:
    """Throughput and p99 latency over time of one or more runs, as SVG (or PNG)."""
    throughput = {name: timeline_series(r, "deliveries_per_s") for name, r in runs.items()}
    latency = {name: timeline_series(r, "p99_ms") for name, r in runs.items()}
    if path.suffix.lower() == ".png":
        try:
            import matplotlib  # type: ignore[import-not-found, unused-ignore]

            matplotlib.use("Agg")
            from matplotlib import pyplot  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            raise LoadError("для PNG нужен matplotlib; SVG рисуется без него") from exc
        fig, axes = pyplot.subplots(2, 1, figsize=(8, 6), sharex=True)
        for ax, data, label in (
            (axes[0], throughput, "доставок/с"),
            (axes[1], latency, "p99, мс"),
        ):
            for name, values in data.items():
                ax.plot([x for x, _ in values], [y for _, y in values], label=name)
            ax.set_ylabel(label)
            ax.legend()
        axes[1].set_xlabel("время, с")
        fig.savefig(path)
        return
    panels = [
        svg_panel("Пропускная способность", throughput, "время, с", "доставок/с", 0),
        svg_panel("Задержка (p99 за интервал)", latency, "время, с", "мс", 260),
    ]
    path.write_text(svg_document(panels), encoding="utf-8")


# --------------------------------------------------------------------------- command line


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    lat = results["latency_ms"]
    return [
        ("сервер", results["server"]),
        ("пользователей / отправителей", f"{results['users']} / {results['senders']}"),
        ("отправлено сообщений", str(results["messages_sent"])),
        ("доставок (ожидалось)", f"{results['deliveries']} ({results['expected_deliveries']})"),
        ("доставок/с", f"{results['deliveries_per_s']:,}".replace(",", " ")),
        ("потеряно", str(results["lost"])),
        ("не дошло к концу прогона", str(results["undelivered_at_end"])),
        ("задержка p50 / p99 / max, мс", f"{lat['p50']} / {lat['p99']} / {lat['max']}"),
        ("RSS сервера max, МиБ", f"{(results['server_rss_kb_max'] or 0) / 1024:.1f}"),
        ("потоков сервера max", str(results["server_threads_max"])),
        (
            "CPU сервера / генератора, %",
            f"{results['server_cpu_percent']} / {results['generator_cpu_percent']}",
        ),
        (
            "CPU на доставку: сервер / генератор, мкс",
            f"{results['server_cpu_us_per_delivery']} / {results['generator_cpu_us_per_delivery']}",
        ),
        ("загрузка машины (loadavg) до прогона", str(results["loadavg_before"][0])),
        ("отключены сервером", ", ".join(results["dropped"]) or "—"),
    ]


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


@contextlib.contextmanager
def progress_display(label: str, total: float | None, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; yields the callback run_load() calls every tick."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total, info="")

        def update(point: dict[str, Any], elapsed: float, sent: int) -> None:
            done = sent if total and total > 0 and label.endswith("msgs") else elapsed
            info = (
                f"{point['deliveries_per_s']:>9,}/с  p99 {point['p99_ms']} мс  "
                f"RSS {(point['rss_kb'] or 0) // 1024} МиБ  потоков {point['threads']}"
            )
            bar.update(task, completed=done, info=info)

        yield update


def config_from_args(args: argparse.Namespace) -> LoadConfig:
    duration = args.duration
    if args.messages is None and duration is None:
        duration = 5.0
    return LoadConfig(
        server=Path(args.server),
        users=args.users,
        senders=args.senders,
        rate=args.rate,
        duration=duration,
        messages=args.messages,
        probes=args.probes,
        probe_rate=args.probe_rate,
        stuck=args.stuck,
        stuck_flood=args.stuck_flood,
        pad=args.pad,
        workers=args.workers,
        server_args=list(args.server_arg),
    )


def command(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.plot and args.plot.lower().endswith(".png") and not find_spec("matplotlib"):
        print("Для PNG нужен matplotlib; без него рисуется SVG (--plot FILE.svg)", file=sys.stderr)
        return 2
    label = f"{cfg.messages} msgs" if cfg.messages else f"{cfg.duration:g} s"
    total = float(cfg.messages) if cfg.messages else cfg.duration
    try:
        with progress_display(label, total, enabled=not args.quiet) as update:
            results = run_load(cfg, update)
    except LoadError as exc:
        print(f"Ошибка нагрузочного теста: {exc}", file=sys.stderr)
        return 2
    print_table(f"Нагрузка: {results['design']}", summary_rows(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    if args.plot:
        write_plot(Path(args.plot), {results["design"]: results})
    return 0 if results["lost"] == 0 else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=str(DEFAULT_SERVER), help="путь к server.py")
    parser.add_argument("--users", type=int, default=100, help="сколько пользователей (N)")
    parser.add_argument("--senders", type=int, default=1, help="сколько из них пишут (S)")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="сообщений/с от всех отправителей вместе; "
        "без этого флага — так быстро, как сервер принимает",
    )
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--duration", type=float, default=None, help="секунд отправки (5)")
    stop.add_argument("--messages", type=int, default=None, help="сколько сообщений всего")
    parser.add_argument("--probes", type=int, default=3, help="клиентов-зондов задержки (P)")
    parser.add_argument("--probe-rate", type=float, default=10.0, help="сообщений/с от зонда")
    parser.add_argument("--stuck", type=int, default=0, help="клиентов, которые не читают")
    parser.add_argument(
        "--stuck-flood",
        type=float,
        default=0.0,
        help="личных сообщений/с (по 4000 символов) каждому нечитающему: быстрее переполнить",
    )
    parser.add_argument("--pad", type=int, default=0, help="добавить столько символов к тексту")
    parser.add_argument("--workers", type=int, default=1, help="процессов-генераторов")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="дополнительный аргумент серверу (можно повторять): --server-arg=--sendq-bytes=65536",
    )
    parser.add_argument("--plot", help="нарисовать график в FILE.svg (или .png с matplotlib)")
    parser.add_argument("--json", help="записать результаты в JSON-файл")
    parser.add_argument("--quiet", action="store_true", help="без индикатора прогресса")


def register(subparsers: Any) -> None:
    """Add ``load`` to the harness command line."""
    parser = subparsers.add_parser(
        "load", help="нагрузочный тест сервера", description=__doc__.split("\n")[0]
    )
    add_arguments(parser)
    parser.set_defaults(func=command)
