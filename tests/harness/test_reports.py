"""Report formats: Gradescope results.json, JUnit XML, one-file HTML, JSON, scorecard.

Every format is checked twice: on an ordinary report, and on one where every text a
submission can reach holds what breaks terminals, XML, HTML and rich (control characters,
escape sequences, lone surrogates, U+FFFE, bidi overrides, markup, a 10 MB line).  The same
is then done for real: a hostile submission graded by ``python -m harness grade``.
"""

from __future__ import annotations

import html.parser
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from harness_helpers import KIT
from rich.console import Console

from harness import report
from harness.verdict import (
    ERROR,
    FAILED,
    FLAKY,
    PASSED,
    SKIPPED,
    TIMED_OUT,
    Finding,
    GradeReport,
    ScenarioResult,
)

HERE = Path(__file__).resolve().parent
HOSTILE_SUBMISSION = HERE / "report_hostile"
NASTY = (
    "\x00\x07\x1b[2J\x1b]0;pwned\x07 ]]> </pre><script>alert(1)</script> "
    "[bold red]markup[/] \ud800 \udcff \ufffe \uffff \x7f \x9b2J \u202eevil \r\x0b\x0c"
)
BIG = "Б" * (10 * 1024 * 1024)  # a 10 MB line
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202e]")
SCHEMA_FILE = KIT / "harness" / "gradescope" / "results.schema.json"


def result(sid: str, status: str, hidden: bool = False) -> ScenarioResult:
    return ScenarioResult(
        id=sid,
        title=f"Сценарий {sid}",
        description=f"Описание <{sid}> & проверка",
        points=3 if status == PASSED else 0,
        max_points=3,
        part=2,
        target="server",
        hidden=hidden,
        status=status,
        duration=0.25,
        reason="Traceback (most recent call last):\nRuntimeError: x" if status == ERROR else "",
        step="шаг" if status == FAILED else "",
        expected="ожидалось <b>" if status == FAILED else "",
        got="получено" if status == FAILED else "",
        hint="подсказка" if status == FAILED else "",
        transcripts={"сервер": "[+  0.001s] stdout| Сервер запущен на 127.0.0.1:5000"},
    )


@pytest.fixture
def sample() -> GradeReport:
    results = [
        result("a", PASSED),
        result("b", FAILED),
        result("c", SKIPPED),
        result("d", TIMED_OUT),
        result("e", ERROR),
        result("f", FLAKY),
        result("g", PASSED, hidden=True),
    ]
    return GradeReport(
        submission="/tmp/s", results=results, duration=1.5, started_at="2026-01-01T00:00:00",
        environment={"network": "сеть изолирована"},
    )  # fmt: skip


def hostile_report() -> GradeReport:
    """Every field a submission can reach (and a few it cannot) full of trouble."""
    wire = [
        {"t": 0.1, "from": "Alice", "to": "сервер", "text": '{"username": "Alice"}'},
        {"t": 0.2, "from": "сервер", "to": "Alice", "text": NASTY},
        {"t": 0.3, "from": "сервер", "to": "Bob" + NASTY[:8], "text": BIG},
    ]
    failed = ScenarioResult(
        id="server_register", title="Регистрация " + NASTY, description=NASTY, points=0,
        max_points=4, part=1, target="server", hidden=False, status=FAILED, duration=0.5,
        step=NASTY, expected=NASTY + "\n" + BIG, got=BIG + NASTY, hint=NASTY,
        screen="  Введите имя: " + NASTY + "\n▸ " + NASTY,
        transcripts={"сервер" + NASTY: NASTY + "\n" + BIG}, wire=wire,
    )  # fmt: skip
    errored = ScenarioResult(
        id="server_chat", title="Чат", description="", points=0, max_points=2, part=2,
        target="server", hidden=True, status=ERROR, duration=0.1, reason=NASTY + "\n" + BIG,
    )  # fmt: skip
    skipped = ScenarioResult(
        id="server_x", title="X", description="", points=0, max_points=2, part=2,
        target="server", hidden=False, status=SKIPPED, reason=NASTY,
    )  # fmt: skip
    return GradeReport(
        submission="[/]" + NASTY, results=[failed, errored, skipped], duration=1.0,
        started_at=NASTY, environment={"files": "НЕ изолированы " + NASTY, "missing_1": NASTY},
        findings=[Finding("server.py", NASTY, detail=NASTY + "\n" + BIG, hint=NASTY)],
    )  # fmt: skip


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def scorecard(rep: GradeReport, lang: str = "ru", terminal: bool = False) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=120, force_terminal=terminal, color_system="truecolor" if terminal else None
    )
    report.print_scorecard(rep, lang=lang, console=console)
    return out.getvalue()


class Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def tags_of(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


# -- the ordinary report ---------------------------------------------------------------------
def test_gradescope_results_follow_the_documented_shape(sample: GradeReport) -> None:
    data = json.loads(json.dumps(report.to_gradescope(sample)))
    assert data["score"] == 6
    assert isinstance(data["execution_time"], (int, float))
    assert len(data["tests"]) == 7
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert data["tests"][-1]["visibility"] == "after_published"
    assert data["tests"][1]["status"] == "failed" and "подсказка" in data["tests"][1]["output"]
    assert sum(t["score"] for t in data["tests"]) == data["score"]
    assert data["output_format"] == data["test_output_format"] == "text"  # never HTML/markdown


def test_gradescope_results_match_the_kit_schema_of_the_specification(sample: GradeReport) -> None:
    if not SCHEMA_FILE.is_file():
        pytest.skip("no results.schema.json in harness/gradescope")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(report.to_gradescope(sample), schema)
    jsonschema.validate(report.to_gradescope(hostile_report()), schema)


def test_junit_is_well_formed_and_counts_each_status(sample: GradeReport) -> None:
    root = ET.fromstring(report.to_junit(sample).encode("utf-8"))
    assert root.tag == "testsuite"
    assert root.get("tests") == "7"
    assert root.get("failures") == "3"  # failed, timed out, flaky
    assert root.get("errors") == "1"
    assert root.get("skipped") == "1"
    assert len(root.findall("testcase")) == 7


def test_html_is_one_self_contained_file_with_transcripts(sample: GradeReport) -> None:
    page = report.to_html(sample)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(link|script|img|iframe)\b", page)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "Сервер запущен на 127.0.0.1:5000" in page
    assert "&lt;b&gt;" in page and "<b>" not in page  # student text is escaped


def test_json_round_trips(sample: GradeReport) -> None:
    data = json.loads(report.to_json(sample))
    assert data["score"] == 6 and data["max_score"] == 21
    assert data["results"][0]["duration"] == 0.25
    again = GradeReport.from_dict(data)
    assert [r.status for r in again.results] == [r.status for r in sample.results]
    assert report.to_json(again) == report.to_json(sample)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_scorecard_names_every_status(sample: GradeReport, lang: str) -> None:
    text = scorecard(sample, lang)
    for status in (PASSED, FAILED, SKIPPED, TIMED_OUT, ERROR, FLAKY):
        assert report.STATUS_TEXT[lang][status] in text
    assert "6/21" in text


# -- whatever the submission printed -------------------------------------------------------
def test_junit_parses_whatever_the_submission_printed() -> None:
    xml = report.to_junit(hostile_report())
    root = ET.fromstring(xml.encode("utf-8"))
    assert len(root.findall("testcase")) == 3
    texts = [root.text or ""] + [e.text or "" for e in root.iter()]
    texts += [v for e in root.iter() for v in e.attrib.values()]
    assert not any(RAW_CONTROL.search(t) for t in texts)
    assert "]]>" in "".join(texts)  # shown, as text
    assert len(xml) < 2_000_000  # a 10 MB line is cut, its start and end kept


def test_json_reports_are_strict_utf8_whatever_the_submission_printed() -> None:
    rep = hostile_report()
    for text in (report.to_json(rep), json.dumps(report.to_gradescope(rep), ensure_ascii=False)):
        text.encode("utf-8")  # no lone surrogate left
        values = strings(json.loads(text))
        assert not any(RAW_CONTROL.search(v) for v in values)
        assert any("␛[2J" in v for v in values)  # the escape is shown, not dropped


def test_report_json_read_back_renders_the_same() -> None:
    first = report.to_json(hostile_report())
    again = GradeReport.from_dict(json.loads(first))
    assert report.to_json(again) == first
    assert report.to_html(again) == report.to_html(GradeReport.from_dict(json.loads(first)))


def test_html_escapes_everything_from_the_submission() -> None:
    page = report.to_html(hostile_report())
    assert not RAW_CONTROL.search(page)
    tags = tags_of(page)
    allowed = {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p", "a", "b",
        "div", "ul", "li", "table", "tr", "th", "td", "section", "dl", "dt", "dd", "pre", "span",
        "details", "summary", "code", "svg", "g", "line", "rect", "path", "text", "tspan",
    }  # fmt: skip
    assert {tag for tag, _ in tags} <= allowed
    assert not any(name.startswith("on") for _, attrs in tags for name, _ in attrs)
    assert not any(
        (value or "").strip().lower().startswith(("javascript:", "http:", "https:", "data:"))
        for tag, attrs in tags
        for name, value in attrs
        if name in ("href", "src")
    )
    assert "&lt;/pre&gt;&lt;script&gt;" in page
    assert "[bold red]markup[/]" in page
    assert '<span class="ctl" title="␛">ESC</span>' in page  # a control character, visible
    assert len(page) < 5_000_000


def test_scorecard_never_prints_a_control_character_or_reads_markup() -> None:
    rep = hostile_report()
    plain = scorecard(rep)
    assert not RAW_CONTROL.search(plain.replace("\n", ""))
    assert "[bold red]markup[/]" in plain and "[/]" in plain  # shown as typed, not styled
    assert max(len(line) for line in plain.splitlines()) <= 130  # long lines are cut
    styled = scorecard(rep, terminal=True)
    own = re.sub(r"\x1b\[[0-9;]*m", "", styled)  # rich's own colours are the only escapes
    assert not RAW_CONTROL.search(own.replace("\n", ""))
    assert "\x1b]" not in styled and "\x1b[2J" not in styled


def test_make_console_reads_no_markup() -> None:
    console = report.make_console()
    assert console._markup is False and console._emoji is False


def test_shown_is_idempotent_and_caps_length() -> None:
    once = report.shown(NASTY + BIG, 1000)
    assert len(once) <= 1000 and "обрезано" in once
    assert report.shown(once, 1000) == once
    assert once.endswith(report.shown(NASTY + BIG)[-100:])  # the end is kept too


# -- findings first, environment everywhere ----------------------------------------------------
@pytest.fixture
def found(sample: GradeReport) -> GradeReport:
    sample.findings = [
        Finding("server.py", "сервер падает при запуске", "Traceback …\nOSError: busy", "Порт?")
    ]
    sample.environment = {
        "files": "НЕ изолированы: программа видит все файлы",
        "network": "своя сеть на каждый сценарий",
        "missing_1": "bubblewrap (bwrap) не установлен",
    }
    return sample


def test_findings_head_every_report(found: GradeReport) -> None:
    header = report.WORDS["ru"]["findings"]
    assert scorecard(found).lstrip().startswith(header)
    page = report.to_html(found)
    assert page.index('class="findings"') < page.index("<table>")
    assert report.to_gradescope(found)["output"].startswith(header)
    root = ET.fromstring(report.to_junit(found).encode("utf-8"))
    assert root[0].tag == "properties"
    assert root[0][0].get("name") == "finding.1"
    assert "сервер падает при запуске" in root[0][0].get("value", "")
    failure = root.find("testcase/failure")
    assert failure is not None and (failure.text or "").startswith(header)


def test_environment_in_every_report_with_what_is_missing_marked(found: GradeReport) -> None:
    mark = report.MISSING_MARK
    card = scorecard(found)
    assert f"{mark} Файлы: НЕ изолированы" in card
    assert f"{mark} Нет защиты: bubblewrap" in card
    assert "  Сеть: своя сеть" in card
    page = report.to_html(found)
    assert page.count("<tr class=missing>") == 2 and 'href="#environment"' in page
    assert f"{mark} Нет защиты: bubblewrap" in report.to_gradescope(found)["output"]
    root = ET.fromstring(report.to_junit(found).encode("utf-8"))
    names = {p.get("name") for p in root.iter("property")}
    assert {"environment.files", "environment.missing_1", "environment.network"} <= names
    assert "bubblewrap" in (root.findtext("system-out") or "")
    assert json.loads(report.to_json(found))["environment"] == found.environment


# -- pictures --------------------------------------------------------------------------------
def test_html_shows_the_wire_as_a_diagram_and_the_screen_as_it_was(sample: GradeReport) -> None:
    failed = sample.results[1]
    failed.wire = [
        {"t": 0.01, "from": "Alice", "to": "сервер", "text": '{"username": "Alice"}'},
        {"t": 0.02, "from": "сервер", "to": "Alice", "text": '{"type": "system"}'},
    ]
    failed.screen = "  Введите имя: Alice\n▸ > привет"
    page = report.to_html(sample)
    section = page[page.index('<section id="b">') : page.index('<section id="c">')]
    assert section.count("<svg") == 1 and "1. {&quot;username&quot;: &quot;Alice&quot;}" in section
    assert '<pre class="screen">' in section
    assert '<span class="cursor">▸ &gt; привет</span>' in section
    assert "<svg" not in page[page.index('<section id="c">') :]  # no wire, no picture
    assert report.WORDS["ru"]["screen"] + "</dt>" not in section  # the screen is not repeated


def test_the_diagram_shows_control_characters_by_name() -> None:
    page = report.to_html(hostile_report())
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "‹ESC›[2J" in svg and "␛" not in svg  # readable without a font for U+241B


# -- what importing the renderers loads -------------------------------------------------------
def test_importing_the_renderers_loads_no_runner_sandbox_or_scenarios() -> None:
    code = (
        "import sys, harness.report, harness.diagram\n"
        "bad = [m for m in sys.modules if m.startswith(('harness.runner', 'harness.sandbox',"
        " 'harness.scenario', 'harness.context', 'harness.netns', 'harness.process'))]\n"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=KIT,
        check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "[]"


# -- for real --------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_hostile_submission_graded_for_real_gives_well_formed_reports(tmp_path: Path) -> None:
    files = {name: tmp_path / name for name in ("r.json", "j.xml", "g.json", "r.html")}
    proc = subprocess.run(
        [
            sys.executable, "-m", "harness", "grade", str(HOSTILE_SUBMISSION),
            "--scenario", "server_starts", "--scenario", "server_register",
            "--scenario", "client_display",
            "--json", str(files["r.json"]), "--junit", str(files["j.xml"]),
            "--gradescope", str(files["g.json"]), "--html", str(files["r.html"]),
        ],
        capture_output=True, timeout=180, cwd=KIT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    for byte in (b"\x1b", b"\x07", b"\x00"):
        assert byte not in proc.stdout and byte not in proc.stderr
    proc.stdout.decode("utf-8")  # strict
    data = json.loads(files["r.json"].read_bytes().decode("utf-8"))
    assert {r["status"] for r in data["results"]} == {FAILED}
    assert not any(RAW_CONTROL.search(v) for v in strings(data))
    results = json.loads(files["g.json"].read_bytes().decode("utf-8"))
    if SCHEMA_FILE.is_file():
        jsonschema.validate(results, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    ET.parse(files["j.xml"])
    page = files["r.html"].read_bytes().decode("utf-8")
    assert not RAW_CONTROL.search(page)
    assert {tag for tag, _ in tags_of(page)} >= {"svg", "pre"} and "<script" not in page
    assert '<pre class="screen">' in page  # the client's screen, as it was
    assert "&lt;/pre&gt;&lt;script&gt;" in page
