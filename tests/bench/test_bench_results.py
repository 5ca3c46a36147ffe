"""``python -m harness bench`` writes the result files the docs include."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness import bench


def test_designs_are_reference_then_naive():
    names = list(bench.designs())
    assert names[:2] == ["reference", "naive"]


@pytest.mark.slow
def test_bench_writes_json_markdown_and_svg_with_the_expected_keys(tmp_path):
    command = [sys.executable, "-m", "harness", "bench", "--receivers", "4", "--repeat", "1"]
    command += ["--duration", "0.5", "--slow-duration", "1", "--slow-receivers", "4"]
    command += ["--slow-repeat", "1"]
    command += ["--max-clients", "20", "--step", "10", "--quiet", "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert {"date", "machine", "targets", "fanout", "slow_reader", "clients"} <= results.keys()
    fanout = results["fanout"]
    assert set(fanout["summary"]) >= {"reference", "naive"}
    cell = fanout["summary"]["reference"]["4"]
    assert {"deliveries_per_s", "server_cpu_us_per_delivery", "p99_ms", "lost"} <= cell.keys()
    assert fanout["summary"]["reference"]["4"]["lost"] == 0
    assert fanout["ratio_to_naive"]["reference"]["4"]["throughput"] is not None
    assert results["clients"]["reached"] == 20
    assert results["clients"]["rss_kb_per_client"] is not None
    assert {"p99_ms_without", "p99_ms_with_stuck", "p99_delta_ms", "stuck_dropped_overflow"} <= (
        results["slow_reader"].keys()
    )
    assert "| reference |" in (tmp_path / "latest.md").read_text(encoding="utf-8")
    assert (tmp_path / "latest.svg").read_text(encoding="utf-8").startswith("<svg")
