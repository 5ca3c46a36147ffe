"""One load run: register the users, send for a while, drain, count, and sum it all up.

:func:`run_load` is what ``python -m harness load`` and every ``bench`` measurement run:
it starts the server (:func:`harness.load.procs.serve`), the user workers and one probe
worker (:class:`harness.load.fleet.Fleet`), samples the server (:mod:`harness.load.sampling`)
and returns a dictionary of results, the timeline included (:mod:`harness.load.stats`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.kit import REFERENCE_DIR
from harness.load.fleet import Fleet
from harness.load.procs import LoadError, raise_fd_limit, serve, server_gone
from harness.load.sampling import Progress, Sampler, proc_status
from harness.load.stats import percentile, rounded
from harness.load.worker import FLOODER, REPORT_PERIOD

DEFAULT_SERVER = REFERENCE_DIR / "server.py"
IN_FLIGHT_DELIVERIES = 200_000  # flat-out senders: messages in flight x receivers, at most
DRAIN_MAX = 60.0  # seconds the queues may take to drain; what is left is "undelivered"
MAX_RUN = 3600.0


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


def split(names: list[str], parts: int) -> list[list[str]]:
    """``names`` dealt round-robin into ``parts`` lists (one per worker)."""
    return [names[i::parts] for i in range(parts)]


def run_load(cfg: LoadConfig, progress: Progress | None = None) -> dict[str, Any]:
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
    with serve(cfg.server, cfg.server_args) as server:
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
            base = proc_status(server.pid)
            cpu_before = base.get("cpu_ticks", 0)
            fleet.send(("start", senders, probes))
            t_start = time.monotonic()
            sampler = Sampler(server, fleet, workers, t_start, progress)
            while True:
                fleet.poll(REPORT_PERIOD)
                sampler.sample()
                now = time.monotonic()
                sent_now = sum(fleet.latest(i).sent for i in range(workers))
                if cfg.duration is not None and now - t_start >= cfg.duration:
                    break
                if quota is not None and sent_now >= quota * cfg.senders:
                    break
                gone = server_gone(server)
                if gone:
                    raise LoadError(gone)
                if now - t_start > MAX_RUN:
                    raise LoadError("прогон длится больше часа — остановлен")
            fleet.send(("stop",))
            stopped = fleet.gather("stopped", 30)
            t_stop = time.monotonic()
            sent: dict[str, int] = {}
            for answer in stopped.values():
                sent.update(answer[1])
            delivered_at_stop = sum(stopped[i][2] for i in range(workers))
            cpu_at_stop = proc_status(server.pid).get("cpu_ticks", cpu_before)
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
            server_after = proc_status(server.pid)
    return _results(
        cfg,
        finals,
        stopped,
        sent,
        sampler.timeline(),
        [ms for _, ms in sampler.latencies(since=t_start)],
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
            "p50": rounded(percentile(latencies, 50)),
            "p99": rounded(percentile(latencies, 99)),
            "max": rounded(max(latencies, default=None)),
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
