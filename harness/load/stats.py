"""Statistics of a load run: percentiles and the timeline, from time-stamped observations.

Pure functions over numbers (no processes, no sockets), so they are tested on known series.

Each worker reports its delivery counter with the time it read it.  Between two reports
the counter is taken as linear, so the deliveries within any interval are known whether a
report fell inside it or not: an interval in which no report happened to *arrive* is not a
false zero, and the next one is not a false double.  Latencies carry the time they were
measured and go to the interval they belong to.  The timeline has one point per interval of
``width`` seconds from the start of sending; its ``t`` is the end of the interval.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

Totals = Sequence[tuple[float, float]]  # (time, total so far), in time order


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def count_at(counter: Totals, t: float) -> float:
    """The value of ``counter`` at time ``t``: linear between reports, flat outside them."""
    times = [at for at, _ in counter]
    i = bisect.bisect_right(times, t)
    if i == 0:
        return counter[0][1] if counter else 0.0
    if i == len(counter):
        return counter[-1][1]
    (t0, v0), (t1, v1) = counter[i - 1], counter[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1


def rate(counters: Sequence[Totals], start: float, end: float) -> float:
    """Sum of the counters' increase over ``[start, end]``, per second."""
    if end <= start:
        return 0.0
    return sum(count_at(c, end) - count_at(c, start) for c in counters) / (end - start)


def recent_rate(counters: Sequence[Totals]) -> float | None:
    """Per second, summed over counters, between each one's last two reports; None before."""
    if any(len(c) < 2 for c in counters):
        return None
    return sum((c[-1][1] - c[-2][1]) / max(1e-9, c[-1][0] - c[-2][0]) for c in counters)


def intervals(start: float, end: float, width: float) -> list[tuple[float, float]]:
    """``[start, end]`` cut into ``width``-second intervals; a last piece shorter than half
    a width joins the interval before it (a sliver would hold too few samples to mean much)."""
    edges = [start]
    while end - edges[-1] >= width:
        edges.append(edges[-1] + width)
    if end - edges[-1] >= width / 2 or len(edges) == 1:
        edges.append(end)
    else:
        edges[-1] = end
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def timeline(
    start: float,
    counters: Sequence[Totals],
    latencies: Sequence[tuple[float, float]],
    samples: Sequence[tuple[float, dict[str, Any]]],
    width: float,
) -> list[dict[str, Any]]:
    """One point per interval from ``start`` until the last time every counter is known.

    ``counters``: each worker's deliveries; ``latencies``: (time measured, ms);
    ``samples``: (time, ``{"rss_kb", "threads"}``) of the server, in time order.
    """
    if not counters or not all(counters):
        return []
    end = min(c[-1][0] for c in counters)
    measured = sorted(latencies)
    measured_at = [at for at, _ in measured]
    sampled_at = [at for at, _ in samples]
    points = []
    for a, b in intervals(start, end, width):
        lo, hi = bisect.bisect_left(measured_at, a), bisect.bisect_left(measured_at, b)
        batch = [ms for _, ms in measured[lo:hi]]
        if b == end:  # the last interval includes its end
            batch += [ms for at, ms in measured[hi:] if at == b]
        k = bisect.bisect_right(sampled_at, b) - 1
        status = samples[max(0, k)][1] if samples else {}
        points.append(
            {
                "t": round(b - start, 3),
                "deliveries_per_s": round(rate(counters, a, b)),
                "p50_ms": rounded(percentile(batch, 50)),
                "p99_ms": rounded(percentile(batch, 99)),
                "rss_kb": status.get("rss_kb"),
                "threads": status.get("threads"),
            }
        )
    return points
