"""``python -m harness load``: the command line, the live progress bar and the summary table.

:func:`register` adds the verb to the harness command line; :func:`progress_display` and
:func:`print_table` are also what ``bench`` shows while it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import fields
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from harness.load.charts import write_plot
from harness.load.procs import LoadError
from harness.load.run import DEFAULT_SERVER, LoadConfig, run_load
from harness.load.sampling import Progress

DESCRIPTION = "Нагрузочный тест: много пользователей чата против одного сервера."
MISSING = "—"


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary table of one run: (what, value) rows."""
    lat = results["latency_ms"]
    return [
        ("сервер", results["server"]),
        ("пользователей / отправителей", f"{results['users']} / {results['senders']}"),
        ("отправлено сообщений", str(results["messages_sent"])),
        ("доставок (ожидалось)", f"{results['deliveries']} ({results['expected_deliveries']})"),
        ("доставок/с", f"{results['deliveries_per_s']:,}".replace(",", " ")),
        ("потеряно", str(results["lost"])),
        ("не дошло к концу прогона", str(results["undelivered_at_end"])),
        ("задержка p50 / p99 / max, мс", " / ".join(shown(lat[k]) for k in ("p50", "p99", "max"))),
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
        ("отключены сервером", ", ".join(results["dropped"]) or MISSING),
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


def shown(value: Any, spec: str = "") -> str:
    """``value`` formatted with ``spec``, or «—» when there is no value yet."""
    return MISSING if value is None else format(value, spec)


def progress_info(point: dict[str, Any]) -> str:
    """The live numbers after the bar; «—» for what is not measured yet."""
    rss = point.get("rss_kb")
    return (
        f"{shown(point.get('deliveries_per_s'), ','):>9}/с  "
        f"p99 {shown(point.get('p99_ms'), 'g')} мс  "
        f"RSS {shown(None if rss is None else rss // 1024)} МиБ  "
        f"потоков {shown(point.get('threads'))}"
    )


@contextlib.contextmanager
def progress_display(
    label: str, total: float | None, enabled: bool = True
) -> Iterator[Progress | None]:
    """A rich progress bar on stderr; yields the callback run_load() calls every sample."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(
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
            bar.update(task, completed=done, info=progress_info(point))

        yield update


def config_from_args(args: argparse.Namespace) -> LoadConfig:
    """The run the options ask for: each option sets the config field of its name."""
    given = {f.name: getattr(args, f.name) for f in fields(LoadConfig) if hasattr(args, f.name)}
    given["server"] = Path(args.server)
    given["server_args"] = list(args.server_arg)
    if args.messages is None and args.duration is None:
        given["duration"] = 5.0
    return LoadConfig(**given)


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
    parser = subparsers.add_parser("load", help="нагрузочный тест сервера", description=DESCRIPTION)
    add_arguments(parser)
    parser.set_defaults(func=command)
