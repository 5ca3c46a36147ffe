"""``python -m harness similarity DIR...``: which students' programs are suspiciously alike.

Offline, with `copydetect <https://github.com/blingenf/copydetect>`_ (MOSS-style winnowing
over tokenised code: names become ``V``/``F``/``O``, strings ``S``, comments and layout are
dropped, so renaming variables and rewording comments does not hide a copy).  The student
skeletons (``exercises/server.py``, ``exercises/client.py``) are boilerplate: every
fingerprint they contain is discarded, so the code everyone was given is never counted.

Each pair of students is compared program by program (``server.py`` with ``server.py``,
``client.py`` with ``client.py``); a pair's similarity, for each side, is the share of that
side's own (non-skeleton) code found in the other.  Pairs where either share reaches the
threshold and at least :data:`MIN_OVERLAP` characters of tokenised code match are listed;
the HTML report shows their programs side by side with the matching code highlighted.
It is a list of candidates for a person to look at, never a verdict.

copydetect's own HTML report is not used: it loads Bootstrap from a CDN and does not escape
file names.  This module builds its own page (inline CSS, no scripts) and escapes everything.
"""

from __future__ import annotations

import argparse
import html
import io
import itertools
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cliargs import EXIT_OK, usage_error
from harness.kit import kit_file
from harness.roster import PROGRAMS, read_class

DEFAULT_THRESHOLD = 0.6
MIN_OVERLAP = 200  # characters of tokenised code: a few shared idioms are not a copy
NOISE = 25  # k-gram length (copydetect's default noise threshold)
GUARANTEE = 30  # a match this long is always found (window = GUARANTEE - NOISE + 1)
READ_BYTES = 512 * 1024  # of one program; more is cut (a generated or hostile file)
LISTED_PAIRS = 100
CONTEXT = 8  # lines shown around matching code; the rest is "..."


class SimilarityUnavailable(RuntimeError):
    """copydetect is not installed (the message says how to install it, in Russian).

    It is an optional extra of the kit (``pip install -e '.[similarity]'``): it brings numpy
    and matplotlib, which grading does not need.  It is imported only here, when a check runs.
    """


@dataclass
class Match:
    """One program of a pair: shares and the two highlighted listings (escaped HTML)."""

    program: str
    sim_a: float
    sim_b: float
    overlap: int
    html_a: str = ""
    html_b: str = ""


@dataclass
class Pair:
    """Two students and how much of each one's own code is found in the other's."""

    a: str
    b: str
    sim_a: float
    sim_b: float
    overlap: int
    matches: list[Match] = field(default_factory=list)

    @property
    def score(self) -> float:
        return max(self.sim_a, self.sim_b)

    def line(self) -> str:
        return (
            f"{self.a} — {self.b}: {self.sim_a:.0%} кода {self.a} и {self.sim_b:.0%} кода "
            f"{self.b} совпадают"
        )


def _copydetect() -> Any:
    os.environ.setdefault("MPLBACKEND", "Agg")  # copydetect imports pyplot; no display here
    try:
        import copydetect
        import copydetect.utils
    except ImportError as exc:
        raise SimilarityUnavailable(
            "сходство не проверено: нет пакета copydetect; поставьте его командой "
            f"{shlex.quote(sys.executable)} -m pip install 'copydetect>=0.5'"
        ) from exc
    return copydetect


def _read(path: Path) -> str:
    with path.open("rb") as f:
        data = f.read(READ_BYTES)
    return data.decode("utf-8", errors="replace")


def boilerplate(cd: Any) -> dict[str, Any]:
    """Every k-gram hash of each skeleton program (window 1: all of them)."""
    import numpy as np

    hashes: dict[str, Any] = {}
    for program in PROGRAMS:
        skeleton = kit_file(f"exercises/{program}")
        text = _read(skeleton) if skeleton.is_file() else ""
        fp = cd.CodeFingerprint(program, NOISE, 1, fp=io.StringIO(text))
        hashes[program] = np.unique(np.array(sorted(fp.hashes), dtype=np.int64))
    return hashes


def _has_slices(slices: Any) -> bool:
    return getattr(slices, "ndim", 1) == 2 and slices.shape[1] > 0


def compare(students: list[tuple[str, Path]], threshold: float | None = None) -> list[Pair]:
    """Pairs of ``(name, folder)`` students at or above ``threshold``, most similar first."""
    cd = _copydetect()
    limit = DEFAULT_THRESHOLD if threshold is None else threshold
    skip = boilerplate(cd)
    prints: dict[str, dict[str, Any]] = {}
    for name, folder in students:
        prints[name] = {}
        for program in PROGRAMS:
            path = folder / program
            if path.is_file() and not path.is_symlink():
                prints[name][program] = cd.CodeFingerprint(
                    program, NOISE, GUARANTEE - NOISE + 1, boilerplate=skip[program],
                    fp=io.StringIO(_read(path)),
                )  # fmt: skip
    pairs: list[Pair] = []
    for (a, _), (b, _) in itertools.combinations(students, 2):
        matches = []
        own_a = own_b = found_a = found_b = 0.0
        for program in PROGRAMS:
            fa, fb = prints[a].get(program), prints[b].get(program)
            if fa is None or fb is None:
                continue
            overlap, (sim_a, sim_b), (slices_a, slices_b) = cd.compare_files(fa, fb)
            own_a += fa.token_coverage
            own_b += fb.token_coverage
            found_a += float(sim_a) * fa.token_coverage
            found_b += float(sim_b) * fb.token_coverage
            match = Match(program, float(sim_a), float(sim_b), int(overlap))
            if _has_slices(slices_a) and _has_slices(slices_b):
                match.html_a, _ = cd.utils.highlight_overlap(
                    fa.raw_code, slices_a, "<mark>", "</mark>", CONTEXT, escape_html=True
                )
                match.html_b, _ = cd.utils.highlight_overlap(
                    fb.raw_code, slices_b, "<mark>", "</mark>", CONTEXT, escape_html=True
                )
            matches.append(match)
        if not matches:
            continue
        pair = Pair(
            a, b,
            sim_a=found_a / own_a if own_a else 0.0,
            sim_b=found_b / own_b if own_b else 0.0,
            overlap=sum(m.overlap for m in matches), matches=matches,
        )  # fmt: skip
        if pair.score >= limit and pair.overlap >= MIN_OVERLAP:
            pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; } th, td { border-bottom: 1px solid #ddd; padding: .3rem .6rem;
text-align: left; } td.num { text-align: right; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.side > div { min-width: 0; }
pre { background: #f6f8fa; padding: .6rem; overflow: auto; max-height: 40rem; font-size: .8rem; }
mark { background: #ffd8a8; }
section { margin-top: 2.5rem; border-top: 2px solid #ccc; }
"""


def write_report(path: Path, pairs: list[Pair], students: int, threshold: float) -> None:
    """One HTML file: the flagged pairs, then each pair's programs side by side."""
    esc = lambda v: html.escape(str(v), quote=True)  # noqa: E731
    body = [
        "<h1>Похожие решения</h1>",
        f"<p>Студентов сравнено: {students}; порог: {threshold:.0%} собственного кода "
        f"(не заготовки) и не меньше {MIN_OVERLAP} знаков совпадения. "
        "Код заготовок из exercises/ не считается. Это список для просмотра, а не вывод "
        "о списывании.</p>",
    ]
    if not pairs:
        body.append("<p>Пар выше порога нет.</p>")
    else:
        body.append(
            "<table><tr><th>Студент A</th><th>Студент B</th><th>Код A в B</th>"
            "<th>Код B в A</th></tr>"
        )
        for i, p in enumerate(pairs[:LISTED_PAIRS]):
            body.append(
                f'<tr><td><a href="#pair{i}">{esc(p.a)}</a></td><td>{esc(p.b)}</td>'
                f"<td class=num>{p.sim_a:.0%}</td><td class=num>{p.sim_b:.0%}</td></tr>"
            )
        body.append("</table>")
    for i, p in enumerate(pairs[:LISTED_PAIRS]):
        body.append(f'<section id="pair{i}"><h2>{esc(p.a)} — {esc(p.b)}</h2>')
        for m in p.matches:
            body.append(
                f"<h3>{esc(m.program)}: {m.sim_a:.0%} / {m.sim_b:.0%}</h3>"
                f'<div class="side"><div><b>{esc(p.a)}</b><pre>{m.html_a or "(нет совпадений)"}'
                f"</pre></div><div><b>{esc(p.b)}</b><pre>{m.html_b or '(нет совпадений)'}"
                "</pre></div></div>"
            )
        body.append("</section>")
    path.write_text(
        '<!DOCTYPE html>\n<html lang="ru"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<title>Похожие решения</title><style>"
        + CSS
        + "</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n",
        encoding="utf-8",
    )


def check_class(
    students: list[tuple[str, Path]], report: Path, threshold: float | None = None
) -> list[Pair]:
    """Compare ``students``, write the HTML ``report``, return the flagged pairs."""
    pairs = compare(students, threshold)
    report.parent.mkdir(parents=True, exist_ok=True)
    limit = DEFAULT_THRESHOLD if threshold is None else threshold
    write_report(report, pairs, len(students), limit)
    return pairs


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "similarity", help="найти похожие решения в группе (без интернета, без заготовок)"
    )
    parser.add_argument(
        "dirs", nargs="+", type=Path, metavar="DIR", help="папка группы (по папке на студента)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("similarity.html"), help="HTML-отчёт (similarity.html)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="P",
        help="доля совпадающего кода, с которой пара попадает в список "
        f"(0..1, по умолчанию {DEFAULT_THRESHOLD})",
    )
    parser.set_defaults(func=cmd_similarity)


def cmd_similarity(args: argparse.Namespace) -> int:
    missing = [d for d in args.dirs if not d.is_dir()]
    if missing:
        return usage_error("нет папки " + ", ".join(map(str, missing)))
    if not 0 < args.threshold <= 1:
        return usage_error("--threshold — доля от 0 до 1, например 0.6")
    with tempfile.TemporaryDirectory(prefix="similarity-") as unpacked:
        roster = read_class(args.dirs, unpack_root=Path(unpacked))
        students = [(s.name, s.programs) for s in roster.students if s.programs is not None]
        for s in roster.students:
            if s.programs is None:
                print(f"{s.name}: не сравнивается — {s.note}", file=sys.stderr)
        if len(students) < 2:
            return usage_error("для сравнения нужны хотя бы два студента с программами")
        try:
            pairs = check_class(students, args.out, args.threshold)
        except SimilarityUnavailable as exc:
            return usage_error(str(exc))
    for pair in pairs:
        print(pair.line())
    print(
        f"Студентов сравнено: {len(students)}; пар выше порога {args.threshold:.0%}: "
        f"{len(pairs)}; отчёт: {args.out}"
    )
    return EXIT_OK
