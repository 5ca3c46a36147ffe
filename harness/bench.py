"""``python -m harness bench``: the reference server against the naive design, with numbers.

Three measurements, all with the load generator of :mod:`harness.load`
(:func:`harness.load.run.run_load`, or its fleet directly for the client ramp):

- **fan-out**: every design (``reference/server.py``, ``bench/naive_server.py`` and any
  other ``bench/*_server.py``) at 100 and at 1000 receivers, one sender flat out plus the
  latency probes; each cell is the median of ``--repeat`` runs, the designs interleaved so
  that a busy moment of the machine hits them alike; the ratio reference/naive is printed.
- **clients**: registered clients held at once by the reference, ramped up in steps until
  ``--max-clients`` or a failure, with the server's RSS per client.
- **slow reader**: 1000 receivers × 100 messages/s, p99 latency of the probes without and
  with one user that never reads; that user must be dropped with leave reason ``overflow``.

Results: a table on the terminal and three files, ``latest.json``, ``latest.md`` (a table
for the docs) and ``latest.svg`` (bar chart of fan-out, latency over time of the slow-reader
runs), in ``build/bench/`` by default, so that a trial run never touches the committed
results; ``--save`` writes them to ``bench/results/`` (what the docs include), ``--out DIR``
anywhere else.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from harness.kit import KIT_ROOT
from harness.load.charts import (
    PANEL_HEIGHT,
    Series,
    svg_bars,
    svg_document,
    svg_panel,
    timeline_series,
)
from harness.load.cli import progress_display
from harness.load.fleet import Fleet
from harness.load.procs import LoadError, raise_fd_limit, serve
from harness.load.run import DEFAULT_SERVER, LoadConfig, run_load, split
from harness.load.sampling import proc_status

BENCH_DIR = KIT_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"  # committed: written only with --save or --out
BUILD_DIR = KIT_ROOT / "build" / "bench"  # the default: not tracked by git
FANOUT_RECEIVERS = (100, 1000)
SLOW_READER_PAD = 100  # characters added to each text: a chat line of a realistic size
SLOW_READER_FLOOD = 500.0  # private 4000-character messages/s to the stuck user
DESCRIPTION = (
    "Измерения: эталонный сервер против наивного (рассылка, число клиентов, медленный читатель)."
)
TARGETS = {"fanout_ratio": 3.0, "clients": 10_000, "slow_reader_p99_delta_ms": 10.0}


def designs() -> dict[str, Path]:
    """reference first, then naive, then every other ``bench/*_server.py``."""
    found = {"reference": DEFAULT_SERVER}
    for path in sorted(BENCH_DIR.glob("*_server.py"), key=lambda p: (p.stem != "naive_server", p)):
        found[path.stem.removesuffix("_server")] = path
    return found


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run(cfg: LoadConfig, label: str, quiet: bool) -> dict[str, Any]:
    total = cfg.duration or 0.0
    with progress_display(label, total, enabled=not quiet) as update:
        return run_load(cfg, update)


def bench_fanout(
    paths: dict[str, Path], receivers: list[int], repeat: int, duration: float, quiet: bool
) -> dict[str, Any]:
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {str(n): [] for n in receivers} for name in paths
    }
    for n in receivers:
        for rep in range(repeat):
            for name, path in paths.items():
                cfg = LoadConfig(server=path, users=n, senders=1, duration=duration)
                label = f"{name} × {n}, прогон {rep + 1}/{repeat}"
                try:
                    result = _run(cfg, label, quiet)
                except LoadError as exc:
                    _say(f"{label}: ошибка: {exc}")
                    result = {"error": str(exc)}
                result.pop("timeline", None)
                runs[name][str(n)].append(result)
                if "error" not in result:
                    _say(
                        f"{label}: {result['deliveries_per_s']:,} доставок/с, "
                        f"потеряно {result['lost']}, p99 {result['latency_ms']['p99']} мс, "
                        f"CPU сервера {result['server_cpu_us_per_delivery']} мкс/доставку"
                    )
    summary: dict[str, Any] = {}
    for name in paths:
        summary[name] = {}
        for n in receivers:
            good = [r for r in runs[name][str(n)] if "error" not in r]
            summary[name][str(n)] = {
                "deliveries_per_s": _median([r["deliveries_per_s"] for r in good]),
                "server_cpu_us_per_delivery": _median(
                    [r["server_cpu_us_per_delivery"] for r in good]
                ),
                "p99_ms": _median([r["latency_ms"]["p99"] for r in good]),
                "lost": sum(r["lost"] for r in good),
                "undelivered_at_end": sum(r["undelivered_at_end"] for r in good),
                "runs": len(good),
                "errors": len(runs[name][str(n)]) - len(good),
            }
    ratios: dict[str, Any] = {}
    if "naive" in summary:
        for name in paths:
            ratios[name] = {}
            for n in receivers:
                mine, naive = summary[name][str(n)], summary["naive"][str(n)]
                ratios[name][str(n)] = {
                    "throughput": _ratio(mine["deliveries_per_s"], naive["deliveries_per_s"]),
                    "cpu_efficiency": _ratio(
                        naive["server_cpu_us_per_delivery"], mine["server_cpu_us_per_delivery"]
                    ),
                }
    return {
        "receivers": receivers,
        "repeat": repeat,
        "duration_s": duration,
        "senders": 1,
        "summary": summary,
        "ratio_to_naive": ratios,
        "runs": runs,
    }


def bench_clients(path: Path, target: int, step: int, timeout: float) -> dict[str, Any]:
    """Register clients in steps until ``target`` or a failure; RSS after each step."""
    raise_fd_limit()
    steps: list[dict[str, Any]] = []
    reached = 0
    failure = None
    t0 = time.monotonic()
    t_registered = 0.0
    # Nothing is timed here, so the users read rarely: joins pile up, one recv() takes many.
    spec: dict[str, Any] = {"rate": None, "quota": None, "window": 16, "read_period": 0.05}
    with serve(path) as server:
        spec["port"] = server.port
        base = proc_status(server.pid)
        with Fleet(2, spec, server) as fleet:
            while reached < target:
                count = min(step, target - reached)
                names = [f"c{i}" for i in range(reached, reached + count)]
                halves = split(names, 2)
                left = timeout - (time.monotonic() - t0)
                try:
                    for i, part in enumerate(halves):
                        fleet.send(("connect", part, []), only=[i])
                    answers = fleet.gather("registered", max(1.0, left))
                    ok = sum(a[1] for a in answers.values())
                    failed = sum(a[3] for a in answers.values())
                    if failed:
                        reasons = [f for a in answers.values() for f in a[2]]
                        failure = f"{failed} не зарегистрировались: {'; '.join(reasons[:3])}"
                    reached = ok
                    t_registered = time.monotonic() - t0
                    fleet.send(("settle", reached))
                    fleet.gather("settled", max(1.0, timeout - (time.monotonic() - t0)))
                except LoadError as exc:
                    failure = str(exc)
                status = proc_status(server.pid)
                steps.append(
                    {
                        "clients": reached,
                        "rss_kb": status.get("rss_kb"),
                        "threads": status.get("threads"),
                        "server_cpu_s": round(
                            status.get("cpu_ticks", 0) / os.sysconf("SC_CLK_TCK"), 1
                        ),
                        "registered_after_s": round(t_registered, 1),
                        "settled_after_s": round(time.monotonic() - t0, 1),
                    }
                )
                _say(
                    f"клиентов {reached}: RSS {(status.get('rss_kb') or 0) // 1024} МиБ, "
                    f"потоков {status.get('threads')}, {steps[-1]['settled_after_s']} с, "
                    f"CPU сервера {steps[-1]['server_cpu_s']} с"
                )
                if failure:
                    break
            with contextlib.suppress(LoadError, OSError):  # the context manager ends them
                fleet.send(("finish", {}))
                fleet.gather("final", 60)
    last = steps[-1] if steps else {}
    rss_per_client = None
    if reached and last.get("rss_kb") and base.get("rss_kb"):
        rss_per_client = round((last["rss_kb"] - base["rss_kb"]) / reached, 1)
    return {
        "target": target,
        "reached": reached,
        "failure": failure,
        "rss_kb_idle": base.get("rss_kb"),
        "rss_kb_per_client": rss_per_client,
        "steps": steps,
        "seconds": round(time.monotonic() - t0, 1),
    }


def bench_slow_reader(
    path: Path,
    duration: float,
    quiet: bool,
    receivers: int = 1000,
    rate: float = 100.0,
    repeat: int = 2,
) -> dict[str, Any]:
    """Runs without and with a stuck user, taking turns; p99 is the median over runs."""
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with_stuck": []}
    for rep in range(repeat):
        for stuck in (0, 1):
            cfg = LoadConfig(
                server=path, users=receivers, senders=1, rate=rate, duration=duration, stuck=stuck
            )
            cfg.pad = SLOW_READER_PAD
            cfg.stuck_flood = SLOW_READER_FLOOD
            label = f"медленный читатель: {stuck} не читает, прогон {rep + 1}/{repeat}"
            result = _run(cfg, label, quiet)
            _say(
                f"{label}: p99 {result['latency_ms']['p99']} мс, потеряно {result['lost']}, "
                f"CPU сервера {result['server_cpu_percent']} %, "
                f"отключён: {result['leaves'].get('stuck0', '—')}"
            )
            runs["with_stuck" if stuck else "without"].append(result)
    without, with_stuck = runs["without"], runs["with_stuck"]
    p99_without = _median([r["latency_ms"]["p99"] for r in without])
    p99_with = _median([r["latency_ms"]["p99"] for r in with_stuck])
    return {
        "receivers": receivers,
        "rate": rate,
        "pad": SLOW_READER_PAD,
        "stuck_flood_per_s": SLOW_READER_FLOOD,
        "duration_s": duration,
        "repeat": repeat,
        "p99_ms_without": p99_without,
        "p99_ms_with_stuck": p99_with,
        "p99_delta_ms": _delta(p99_with, p99_without),
        "stuck_dropped_overflow": all(r["stuck_dropped_overflow"] for r in with_stuck),
        "stuck_dropped_after_s": _median([r["stuck_dropped_after_s"] for r in with_stuck]),
        "lost_without": sum(r["lost"] for r in without),
        "lost_with_stuck": sum(r["lost"] for r in with_stuck),
        "runs": runs,
    }


def _digest(path: Path) -> str:
    """Which version of a design was measured (the file changes as the kit evolves)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _median(values: list[Any]) -> Any:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _delta(a: float | None, b: float | None) -> float | None:
    return round(a - b, 3) if a is not None and b is not None else None


# --------------------------------------------------------------------------- reporting


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Measured {results['date']} on {results['machine']['cpus']} CPUs "
        f"(load average before: {results['machine']['loadavg']}).",
        "",
    ]
    fan = results.get("fanout")
    if fan:
        receivers = fan["receivers"]
        header = ["design"]
        for n in receivers:
            header += [
                f"deliveries/s @{n}",
                f"CPU µs/delivery @{n}",
                f"p99 ms @{n}",
                f"× naive @{n}",
            ]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, cells in fan["summary"].items():
            row = [name]
            for n in receivers:
                cell = cells[str(n)]
                ratio = fan["ratio_to_naive"].get(name, {}).get(str(n), {}).get("throughput")
                lost = f" (lost {cell['lost']})" if cell["lost"] else ""
                row += [
                    f"{_num(cell['deliveries_per_s'])}{lost}",
                    str(cell["server_cpu_us_per_delivery"]),
                    str(cell["p99_ms"]),
                    f"{ratio}" if ratio is not None else "—",
                ]
            lines.append("| " + " | ".join(row) + " |")
        lines += [
            "",
            f"One sender flat out, 3 latency probes at 10 msg/s; median of {fan['repeat']} "
            f"runs of {fan['duration_s']:g} s.",
            "",
        ]
    clients = results.get("clients")
    if clients:
        lines += [
            f"Registered clients held by the reference: **{clients['reached']}** "
            f"(target {clients['target']}); RSS {clients['rss_kb_per_client']} KiB per client; "
            f"ramp took {clients['seconds']} s"
            + (f"; stopped by: {clients['failure']}" if clients["failure"] else "")
            + ".",
            "",
        ]
    slow = results.get("slow_reader")
    if slow:
        lines += [
            f"Slow reader ({slow['receivers']} receivers × {slow['rate']:g} msg/s, reference): p99 "
            f"{slow['p99_ms_without']} ms without, {slow['p99_ms_with_stuck']} ms with one "
            f"client that never reads (delta {slow['p99_delta_ms']} ms); the stuck client "
            + (
                f"was dropped with reason `overflow` after {slow['stuck_dropped_after_s']:.2f} s."
                if slow["stuck_dropped_overflow"]
                else "was **not** dropped with reason `overflow`."
            ),
            f"Median of {slow.get('repeat', 1)} runs of each kind, {slow['duration_s']:g} s each; "
            f"lost messages: {slow['lost_without']} without, {slow['lost_with_stuck']} with.",
            "",
        ]
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}".replace(",", " ")


def plot(results: dict[str, Any], path: Path) -> None:
    panels = []
    fan = results.get("fanout")
    if fan:
        series: Series = {}
        for name, cells in fan["summary"].items():
            series[name] = [
                (float(n), float(cells[str(n)]["deliveries_per_s"] or 0)) for n in fan["receivers"]
            ]
        panels.append(
            svg_bars("Доставок в секунду (медиана)", series, "получателей", "доставок/с", 0)
        )
    slow = results.get("slow_reader")
    if slow:
        runs = {
            "все читают": slow["runs"]["without"][0],
            "один не читает": slow["runs"]["with_stuck"][0],
        }
        latency = {name: timeline_series(r, "p99_ms") for name, r in runs.items()}
        top = PANEL_HEIGHT * len(panels)
        panels.append(svg_panel("Медленный читатель: p99 задержки", latency, "время, с", "мс", top))
    if panels:
        path.write_text(svg_document(panels), encoding="utf-8")


def print_summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    fan = results.get("fanout")
    if fan:
        table = Table(title="Рассылка: доставок в секунду (медиана)")
        table.add_column("сервер")
        for n in fan["receivers"]:
            table.add_column(f"{n} получ.", justify="right")
            table.add_column("мкс CPU", justify="right")
            table.add_column("× naive", justify="right")
        for name, cells in fan["summary"].items():
            row = [name]
            for n in fan["receivers"]:
                cell = cells[str(n)]
                ratio = fan["ratio_to_naive"].get(name, {}).get(str(n), {}).get("throughput")
                lost = f" (потеряно {cell['lost']})" if cell["lost"] else ""
                row += [
                    _num(cell["deliveries_per_s"]) + lost,
                    str(cell["server_cpu_us_per_delivery"]),
                    str(ratio),
                ]
            table.add_row(*row)
        console.print(table)
    clients = results.get("clients")
    if clients:
        console.print(
            f"Клиентов одновременно: {clients['reached']} из {clients['target']}, "
            f"RSS на клиента {clients['rss_kb_per_client']} КиБ"
            + (f" (остановлено: {clients['failure']})" if clients["failure"] else "")
        )
    slow = results.get("slow_reader")
    if slow:
        console.print(
            f"Медленный читатель: p99 {slow['p99_ms_without']} → {slow['p99_ms_with_stuck']} мс "
            f"(разница {slow['p99_delta_ms']} мс); отключён по overflow: "
            f"{'да' if slow['stuck_dropped_overflow'] else 'НЕТ'}"
        )


SECTIONS = ("fanout", "slow_reader", "clients")


def carry_over(results: dict[str, Any], previous_file: Path, skipped: list[str]) -> None:
    """Keep the previous results of the sections this run skips (each section is dated)."""
    if not previous_file.exists():
        return
    with contextlib.suppress(ValueError, OSError):
        previous = json.loads(previous_file.read_text(encoding="utf-8"))
        for section in skipped:
            if section in previous:
                results[section] = previous[section]
                results[section].setdefault("date", previous.get("date"))


def save(results: dict[str, Any], out: Path) -> None:
    """Write latest.json, latest.md and latest.svg (after every section: a crash keeps them)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    (out / "latest.md").write_text(markdown(results) + "\n", encoding="utf-8")
    plot(results, out / "latest.svg")


def output_dir(args: argparse.Namespace) -> Path:
    """Where this run writes: ``--out``, ``bench/results/`` with ``--save``, else the build
    folder (the committed results change only when asked to)."""
    if args.out:
        return Path(args.out)
    return RESULTS_DIR if args.save else BUILD_DIR


def command(args: argparse.Namespace) -> int:
    raise_fd_limit()
    paths = designs()
    if args.designs:
        wanted = args.designs.split(",")
        paths = {name: path for name, path in paths.items() if name in wanted}
    receivers = [int(n) for n in args.receivers.split(",")]
    out = output_dir(args)
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results: dict[str, Any] = {
        "date": date,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        },
        "targets": TARGETS,
        "designs": {
            name: {"path": str(path.relative_to(KIT_ROOT)), "sha256": _digest(path)}
            for name, path in paths.items()
        },
    }
    skip = {"fanout": args.skip_fanout, "slow_reader": args.skip_slow_reader}
    skip["clients"] = args.skip_clients
    carry_over(results, out / "latest.json", [name for name in SECTIONS if skip[name]])
    if not skip["fanout"]:
        fanout = bench_fanout(paths, receivers, args.repeat, args.duration, args.quiet)
        results["fanout"] = {"date": date, **fanout}
        save(results, out)
    if not skip["slow_reader"]:
        try:
            slow = bench_slow_reader(
                DEFAULT_SERVER,
                args.slow_duration,
                args.quiet,
                args.slow_receivers,
                repeat=args.slow_repeat,
            )
            results["slow_reader"] = {"date": date, **slow}
            save(results, out)
        except LoadError as exc:
            _say(f"медленный читатель: ошибка: {exc}")
    if not skip["clients"]:
        clients = bench_clients(DEFAULT_SERVER, args.max_clients, args.step, args.clients_timeout)
        results["clients"] = {"date": date, **clients}
    save(results, out)
    print_summary(results)
    _say(f"Результаты: {out.resolve()}/ (latest.json, latest.md, latest.svg)")
    if out.resolve() != RESULTS_DIR.resolve():
        _say("Сохранённые результаты bench/results/ не изменены; обновить их: bench --save")
    return 0


def register(subparsers: Any) -> None:
    """Add ``bench`` to the harness command line."""
    parser = subparsers.add_parser(
        "bench", help="сравнить эталонный сервер с наивным", description=DESCRIPTION
    )
    parser.add_argument("--designs", help="через запятую, например reference,naive (все)")
    parser.add_argument("--receivers", default="100,1000", help="число получателей (100,1000)")
    parser.add_argument("--repeat", type=int, default=3, help="прогонов на ячейку (3)")
    parser.add_argument("--duration", type=float, default=5.0, help="секунд на прогон (5)")
    parser.add_argument("--max-clients", type=int, default=10_000, help="цель по клиентам")
    parser.add_argument("--step", type=int, default=1000, help="шаг наращивания клиентов")
    parser.add_argument(
        "--clients-timeout", type=float, default=1500.0, help="предел на наращивание, с"
    )
    parser.add_argument(
        "--slow-duration", type=float, default=20.0, help="секунд на прогон медленного читателя"
    )
    parser.add_argument(
        "--slow-receivers", type=int, default=1000, help="получателей в тесте медленного читателя"
    )
    parser.add_argument(
        "--slow-repeat", type=int, default=2, help="прогонов медленного читателя каждого вида"
    )
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--skip-clients", action="store_true")
    parser.add_argument("--skip-slow-reader", action="store_true")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--save",
        action="store_true",
        help="записать результаты в bench/results/ (их показывает документация)",
    )
    where.add_argument(
        "--out", metavar="DIR", help="куда писать результаты (по умолчанию build/bench/)"
    )
    parser.add_argument("--quiet", action="store_true", help="без индикатора прогресса")
    parser.set_defaults(func=command)
