"""The load and bench charts as a reader sees them, and the timeline they are drawn from.

No processes here: known series go into :mod:`harness.load.stats` and
:mod:`harness.load.charts`, and the SVG that comes out is parsed.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import bench
from harness.load import charts, cli, stats

SVG = "{http://www.w3.org/2000/svg}"
RATE = 100_000.0  # deliveries per second in the known series


def panels(svg: str) -> list[dict]:
    """Per panel: the x axis ends, the x ticks (label, px) and the series' points."""
    found = []
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") != "panel":
            continue
        axis = next(e for e in g if e.get("class") == "axis-x")
        found.append(
            {
                "axis": (float(axis.get("x1")), float(axis.get("x2"))),
                "ticks": [(e.text, float(e.get("x"))) for e in g if e.get("class") == "tick-x"],
                "series": [
                    [tuple(map(float, pt.split(","))) for pt in e.get("points").split()]
                    for e in g
                    if e.get("class") == "series"
                ],
            }
        )
    return found


def run(timeline: list[dict], send_s: float = 6.3) -> dict:
    return {"timeline": timeline, "send_s": send_s}


def steady_reports(period: float, until: float, phase: float = 0.0) -> list[tuple[float, float]]:
    """A worker counting RATE deliveries/s, reporting every ``period`` s (first at
    ``phase``), from zero at the start (t = 0)."""
    points = [(0.0, 0.0)]
    t = phase or period
    while t <= until:
        points.append((t, RATE * t))
        t += period
    return points


@pytest.mark.parametrize("top", [0.3, 1, 6.35, 6.508, 9.999, 10, 20.25, 101.1, 504_359, 1e6])
def test_ticks_start_at_zero_and_the_last_is_the_first_at_or_past_the_top(top):
    ticks = charts.nice_ticks(top)
    assert ticks[0] == 0
    assert ticks == sorted(set(ticks))
    assert ticks[-1] >= top > ticks[-2], ticks


def test_no_tick_lies_past_the_end_of_an_axis_and_no_line_leaves_it(tmp_path):
    timeline = [
        {"t": t / 10, "deliveries_per_s": 1000 + t, "p99_ms": 5.0 + t % 7} for t in range(1, 64)
    ]
    path = tmp_path / "load.svg"
    charts.write_plot(path, {"server": run(timeline)})
    drawn = panels(path.read_text(encoding="utf-8"))
    assert len(drawn) == 2
    for panel in drawn:
        start, end = panel["axis"]
        xs = [x for _, x in panel["ticks"]]
        assert all(start <= x <= end for x in xs), (panel["ticks"], end)
        assert xs[0] == start and xs[-1] == end, "the axis runs from the first to the last tick"
        for points in panel["series"]:
            assert all(start <= x <= end for x, _ in points)


def test_both_panels_of_the_load_chart_share_one_time_axis(tmp_path):
    # Throughput until 6.5 s; latency only until 3 s (no probe message after that).
    timeline = [
        {"t": t / 2, "deliveries_per_s": 5000, "p99_ms": 10.0 if t <= 6 else None}
        for t in range(1, 14)
    ]
    path = tmp_path / "load.svg"
    charts.write_plot(path, {"server": run(timeline)})
    throughput, latency = panels(path.read_text(encoding="utf-8"))
    assert throughput["ticks"] == latency["ticks"]
    assert throughput["axis"] == latency["axis"]
    start, _ = throughput["axis"]
    (thr_points,), (lat_points,) = throughput["series"], latency["series"]
    assert lat_points[-1][0] - start == pytest.approx((thr_points[-1][0] - start) * 3.0 / 6.5)


def test_the_bench_chart_has_its_ticks_within_the_axes(tmp_path):
    timeline = [{"t": t / 2, "p99_ms": 3.0 + t % 5} for t in range(1, 42)]
    results = {
        "fanout": {
            "receivers": [100, 1000],
            "summary": {
                "reference": {
                    "100": {"deliveries_per_s": 1_302_906},
                    "1000": {"deliveries_per_s": 982_270},
                },
                "naive": {
                    "100": {"deliveries_per_s": 176_730},
                    "1000": {"deliveries_per_s": 155_276},
                },
            },
        },
        "slow_reader": {"runs": {"without": [run(timeline)], "with_stuck": [run(timeline[:-3])]}},
    }
    path = tmp_path / "latest.svg"
    bench.plot(results, path)
    bars, latency = panels(path.read_text(encoding="utf-8"))
    assert [label for label, _ in bars["ticks"]] == ["100", "1000"]
    start, end = latency["axis"]
    assert [x for _, x in latency["ticks"]][-1] == end
    assert all(start <= x <= end for _, x in latency["ticks"])


def test_an_interval_without_a_report_in_it_is_not_a_false_zero():
    # Reports every 0.52 s against intervals of 0.5 s: some intervals receive no report.
    # Counting "the latest report minus the previous one" reads 0 there and 2x next.
    counters = [steady_reports(0.52, 10.5)]
    timeline = stats.timeline(0.0, counters, [], [], 0.5)
    assert len(timeline) >= 19
    for point in timeline:
        assert point["deliveries_per_s"] == pytest.approx(RATE, rel=1e-6), point


def test_reports_far_apart_are_spread_over_the_intervals_between_them():
    counters = [[(0.0, 0.0), (1.3, RATE * 1.3), (2.6, RATE * 2.6), (4.1, RATE * 4.1)]]
    rates = [p["deliveries_per_s"] for p in stats.timeline(0.0, counters, [], [], 0.5)]
    assert rates == [pytest.approx(RATE, rel=1e-6)] * len(rates)


def test_workers_reporting_out_of_phase_add_up_in_every_interval():
    counters = [steady_reports(0.5, 8.0, phase=0.13), steady_reports(0.5, 8.0, phase=0.41)]
    for point in stats.timeline(0.0, counters, [], [], 0.5):
        assert point["deliveries_per_s"] == pytest.approx(2 * RATE, rel=1e-6), point


def test_the_timeline_ends_where_every_worker_is_known_and_a_sliver_joins_the_last():
    counters = [[*steady_reports(0.5, 6.5), (6.56, RATE * 6.56)], steady_reports(0.5, 7.0)]
    timeline = stats.timeline(0.0, counters, [], [], 0.5)
    assert timeline[-1]["t"] == 6.56
    assert [p["t"] for p in timeline[-2:]] == [6.0, 6.56]


def test_latencies_go_to_the_interval_they_were_measured_in():
    counters = [steady_reports(0.5, 3.0)]
    latencies = [(0.1, 1.0), (0.2, 3.0), (1.7, 50.0), (2.99, 7.0)]
    samples = [(0.0, {"rss_kb": 100, "threads": 4}), (1.6, {"rss_kb": 200, "threads": 5})]
    timeline = stats.timeline(0.0, counters, latencies, samples, 0.5)
    assert [p["p99_ms"] for p in timeline] == [3.0, None, None, 50.0, None, 7.0]
    assert [p["rss_kb"] for p in timeline] == [100, 100, 100, 200, 200, 200]


def test_the_live_progress_shows_a_dash_until_there_is_a_value():
    empty = cli.progress_info(
        {"deliveries_per_s": None, "p99_ms": None, "rss_kb": None, "threads": None}
    )
    assert "None" not in empty
    assert "p99 — мс" in empty
    full = cli.progress_info(
        {"deliveries_per_s": 12345, "p99_ms": 4.5, "rss_kb": 20480, "threads": 7}
    )
    assert "p99 4.5 мс" in full and "12,345/с" in full and "RSS 20 МиБ" in full


def bench_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    return parser.parse_args(["bench", *argv])


def test_bench_writes_outside_the_committed_results_unless_asked():
    default = bench.output_dir(bench_args()).resolve()
    assert default == bench.BUILD_DIR.resolve()
    assert bench.RESULTS_DIR.resolve() not in (default, *default.parents)
    assert bench.output_dir(bench_args("--save")) == bench.RESULTS_DIR
    assert bench.output_dir(bench_args("--out", "elsewhere")) == Path("elsewhere")


def test_bench_refuses_save_together_with_out():
    with pytest.raises(SystemExit):
        bench_args("--save", "--out", "elsewhere")
