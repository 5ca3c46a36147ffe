"""What is sampled during a load run: the server's ``/proc`` status and the live progress.

:func:`proc_status` reads a process's RSS, thread count and CPU ticks.  :class:`Sampler`
takes such a sample about every report period while the run goes on, hands the progress
display a live point, and at the end turns the samples and the workers' reports (kept by
:class:`~harness.load.fleet.Fleet`) into the timeline of :func:`harness.load.stats.timeline`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.load.fleet import Fleet
from harness.load.procs import Server
from harness.load.stats import percentile, recent_rate, rounded
from harness.load.stats import timeline as build_timeline
from harness.load.worker import REPORT_PERIOD

LIVE_WINDOW = 1.0  # seconds of latencies behind the live p99

Progress = Callable[[dict[str, Any], float, int], None]  # (live point, elapsed s, sent)


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


class Sampler:
    """Samples the server while workers ``0 .. users-1`` (the users) and the others
    (the probes) report; ``progress`` gets a live point after each sample."""

    def __init__(
        self,
        server: Server,
        fleet: Fleet,
        users: int,
        t_start: float,
        progress: Progress | None = None,
    ):
        self.server, self.fleet, self.users = server, fleet, range(users)
        self.t_start = t_start
        self.progress = progress
        self.samples: list[tuple[float, dict[str, Any]]] = []

    def sample(self) -> None:
        """Read the server's /proc status, unless the last sample is younger than a period."""
        now = time.monotonic()
        if self.samples and now - self.samples[-1][0] < REPORT_PERIOD * 0.9:
            return
        status = proc_status(self.server.pid)
        self.samples.append((now, {k: status.get(k) for k in ("rss_kb", "threads")}))
        if self.progress is not None:
            sent = sum(self.fleet.latest(i).sent for i in self.users)
            self.progress(self.live_point(now), now - self.t_start, sent)

    def counters(self) -> list[list[tuple[float, float]]]:
        """Each user worker's deliveries over time, from zero at the start of sending."""
        return [
            [(self.t_start, 0.0)]
            + [(s.t, float(s.delivered)) for s in self.fleet.reports[i] if s.t > self.t_start]
            for i in self.users
        ]

    def latencies(self, since: float = 0.0) -> list[tuple[float, float]]:
        """(time measured, ms) of every probe message received after ``since``."""
        return [
            sample
            for reports in self.fleet.reports
            for s in reports
            if s.t >= since
            for sample in s.latencies
            if sample[0] >= since
        ]

    def live_point(self, now: float) -> dict[str, Any]:
        """Throughput between the last two reports, p99 over the last second (or None)."""
        recent = [
            [(s.t, float(s.delivered)) for s in self.fleet.reports[i][-2:]] for i in self.users
        ]
        per_s = recent_rate(recent)
        window = [ms for _, ms in self.latencies(since=now - LIVE_WINDOW)]
        return {
            "deliveries_per_s": None if per_s is None else round(per_s),
            "p99_ms": rounded(percentile(window, 99), 1),
            **self.samples[-1][1],
        }

    def timeline(self) -> list[dict[str, Any]]:
        """The run's timeline (see :func:`harness.load.stats.timeline`)."""
        return build_timeline(
            self.t_start,
            self.counters(),
            self.latencies(since=self.t_start),
            self.samples,
            REPORT_PERIOD,
        )
