"""The load generator (``python -m harness load``) against the reference server, small N."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.load.run import LoadConfig, run_load
from harness.load.stats import percentile


def test_every_broadcast_reaches_every_other_user_and_nothing_is_lost():
    cfg = LoadConfig(users=12, senders=3, messages=300, duration=None, probes=2)
    results = run_load(cfg)
    assert results["messages_sent"] == 300
    assert results["expected_deliveries"] == 300 * 11
    assert results["deliveries"] == results["expected_deliveries"]
    assert results["lost"] == 0
    assert results["duplicated"] == 0
    assert results["dropped"] == []


def test_probes_measure_latency_and_the_server_is_sampled():
    cfg = LoadConfig(users=5, senders=1, rate=50.0, duration=1.5, probes=3, probe_rate=20)
    results = run_load(cfg)
    assert results["latency_ms"]["samples"] > 0
    assert 0 <= results["latency_ms"]["p50"] <= results["latency_ms"]["p99"]
    assert results["server_threads_max"] >= 5
    assert results["server_rss_kb_max"] > 0
    assert results["timeline"], "no progress samples were taken"


@pytest.mark.slow
def test_a_user_that_never_reads_is_dropped_with_reason_overflow():
    cfg = LoadConfig(
        users=5,
        senders=1,
        rate=50.0,
        duration=4.0,
        probes=2,
        stuck=1,
        stuck_flood=300.0,
    )
    results = run_load(cfg)
    assert results["stuck_dropped_overflow"], results["leaves"]
    assert results["dropped"] == [], "only the user that never reads may be dropped"


def test_load_command_writes_json_and_svg(tmp_path):
    out, plot = tmp_path / "load.json", tmp_path / "load.svg"
    command = [sys.executable, "-m", "harness", "load", "--users", "4", "--messages", "40"]
    command += ["--probes", "2", "--quiet", "--json", str(out), "--plot", str(plot)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["lost"] == 0
    assert results["deliveries"] == 40 * 3
    assert plot.read_text(encoding="utf-8").startswith("<svg")


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([], 99) is None
