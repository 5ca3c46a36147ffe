"""The simulated users: one worker process, one selector loop, non-blocking sockets.

A worker is started by :class:`harness.load.fleet.Fleet` as a plain child process and
driven by commands over a socket pair (pickled tuples): ``connect`` (register users),
``settle`` (wait for every ``join``), ``start``, ``stop``, ``drain`` (wait until every
broadcast sent arrived) and ``finish`` (the final per-receiver count).  Chat messages are
counted by the sequence numbers in their text (``L<sender>:<seq>``) with a regular
expression over the received bytes, without decoding JSON; probe users broadcast
``P<probe>:<seq>:<ns>`` and measure the latency on receipt.

Every :data:`REPORT_PERIOD` (and right before answering ``stop``, ``drained`` and
``finish``) a worker sends :class:`Stats`, stamped with the ``time.monotonic()`` at which
its counters were read: the statistics attribute counts to that time, not to the time the
main process happened to read the report (``CLOCK_MONOTONIC`` is one clock for all
processes on Linux).  This module is the hot path of the generator.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import operator
import os
import re
import resource
import selectors
import signal
import socket
import time
from collections import Counter, deque
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from harness.load.procs import raise_fd_limit

REPORT_PERIOD = 0.5  # seconds between the statistics a worker reports
CONNECT_WINDOW = 200  # connections being set up at once per worker
RECV_BYTES = 1 << 18
SENDER_BATCH = 256  # messages written per wake-up of a flat-out sender
READ_PERIOD = 0.005  # user workers read all their sockets at most this often

LOAD_TEXT = re.compile(rb'"L(\d+):(\d+)')
PROBE_TEXT = re.compile(rb'"P\d+:\d+:(\d+)')
PONG = b'{"type": "pong"}\n'
FLOODER = "flood0"  # the user who fills the queues of the users that never read
FLOOD_TEXT_CHARS = 4000


class Stats(NamedTuple):
    """What a worker reports every period; counters are totals since the worker started."""

    t: float  # time.monotonic() when the counters were read
    delivered: int  # load messages received by this worker's users
    sent: int  # load messages sent by this worker's senders
    latencies: list[tuple[float, float]]  # (time received, ms) since the previous report
    leaves: dict[str, str]  # user -> leave reason seen
    dropped: int  # this worker's users the server disconnected


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
                self.next_stats = now + REPORT_PERIOD
                self.report_stats()

    def timeout(self) -> float:
        """How long select() may wait: until the next scheduled message, at most a tick."""
        if not self.sending:
            return REPORT_PERIOD
        due = [self.probe_due(p) for p in self.probes if p.probe is not None]
        if self.rate:
            due += [(p.seq + 1) / self.rate for p in self.senders]
        if self.flooder is not None and self.flood_targets():
            due.append((self.flooder.seq + 1) / self.flood_rate)
        if not due:
            return REPORT_PERIOD
        return min(REPORT_PERIOD, max(0.0, self.t_start + min(due) - time.monotonic()))

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
            self.report_stats()
            sent = {str(p.sender): p.seq for p in self.senders if p.sender is not None}
            self.conn.send(("stopped", sent, self.delivered, cpu_seconds() - self.cpu_start))
        elif kind == "drain":
            self.waiting = ("drained", {k.encode(): v for k, v in message[1].items()})
        elif kind == "finish":
            self.report_stats()
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
            self.report_stats()
            self.conn.send(("drained", self.delivered))
        self.waiting = None

    def report_stats(self) -> None:
        """Send :class:`Stats` now (latencies since the previous report go with it)."""
        sent = sum(p.seq for p in self.senders)
        stats = Stats(
            time.monotonic(),
            self.delivered,
            sent,
            self.latencies,
            dict(self.leaves),
            len(self.dropped),
        )
        self.conn.send(("stats", stats))
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
    """CPU time (user + system) this process used so far."""
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
