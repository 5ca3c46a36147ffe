"""The Sphinx site builds with warnings as errors and works offline.

The site is built once per test session (the `site` fixture in conftest.py), exactly as
`nox -s docs` builds it, then the produced HTML and CSS are inspected.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PROTOCOL = json.loads((ROOT / "lab" / "protocol.json").read_text(encoding="utf-8"))
REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
CSS_REMOTE = re.compile(r"(@import\s+(url\()?|url\()\s*['\"]?\s*(https?:)?//", re.I)

# The first test also waits for the site's build (a fixture), on a machine that may be busy.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


class ResourceLinks(HTMLParser):
    """Collect every URL the browser would fetch to render a page (not plain links)."""

    FETCHED_LINK_RELS = frozenset({"stylesheet", "preload", "modulepreload", "icon", "prefetch"})

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []
        self.inline_css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and set(a.get("rel", "").lower().split()) & self.FETCHED_LINK_RELS:
            self.fetched.append(a.get("href", ""))
        elif tag in {"script", "img", "iframe", "source", "audio", "video", "embed"}:
            self.fetched.append(a.get("src", ""))
        elif tag == "object":
            self.fetched.append(a.get("data", ""))
        if "style" in a:
            self.inline_css.append(a["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.inline_css.append(data)


def pages(site: Path) -> list[Path]:
    found = sorted(site.rglob("*.html"))
    assert found, "the build produced no HTML pages"
    return found


def test_pages_fetch_no_remote_scripts_styles_fonts_or_images(site: Path) -> None:
    problems = []
    for page in pages(site):
        parser = ResourceLinks()
        parser.feed(page.read_text(encoding="utf-8"))
        problems += [f"{page.name}: {url}" for url in parser.fetched if REMOTE.match(url)]
        problems += [
            f"{page.name}: {css[:80]}" for css in parser.inline_css if CSS_REMOTE.search(css)
        ]
    assert not problems, "pages load resources from the network:\n" + "\n".join(problems)


def test_stylesheets_import_no_remote_fonts_or_files(site: Path) -> None:
    problems = [
        f"{css.relative_to(site)}: {m.group(0)}"
        for css in site.rglob("*.css")
        for m in CSS_REMOTE.finditer(css.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not problems, "stylesheets fetch from the network:\n" + "\n".join(problems)


def test_message_reference_names_every_message_type_and_error_code(site: Path) -> None:
    page = (site / "protocol" / "reference.html").read_text(encoding="utf-8")
    names = [
        *PROTOCOL["client_messages"],
        *PROTOCOL["server_messages"],
        *PROTOCOL["error_codes"],
        *PROTOCOL["leave_reasons"],
        *PROTOCOL["session_end_reasons"],
        *PROTOCOL["server_options"],
        *PROTOCOL["client"]["commands"],
    ]
    missing = [name for name in names if f'<span class="pre">{name}</span>' not in page]
    assert not missing, f"the generated reference does not show: {missing}"


def test_message_reference_marks_exactly_the_fatal_error_codes_as_fatal(site: Path) -> None:
    page = (site / "protocol" / "reference.html").read_text(encoding="utf-8")
    for code, spec in PROTOCOL["error_codes"].items():
        cell = rf'<td><p><code[^>]*><span class="pre">{code}</span></code></p></td>'
        row = re.search(r"<tr[^>]*>\s*" + cell + ".*?</tr>", page, re.S)
        assert row, f"no table row for error code {code}"
        assert ("<strong>да</strong>" in row.group(0)) == spec["fatal"], code


def test_every_flow_on_the_walkthrough_is_drawn_as_inline_svg_with_its_lines(site: Path) -> None:
    source = (DOCS / "protocol" / "flows.md").read_text(encoding="utf-8")
    page = (site / "protocol" / "flows.html").read_text(encoding="utf-8")
    flows = source.count("```{wire-flow}")
    assert flows >= 12
    diagrams = re.findall(r'class="wire-diagram[^"]*">\s*<svg xmlns=', page)
    assert len(diagrams) == flows
    assert page.count('<table class="wire-lines">') == flows
    assert "Запись ещё не сделана" not in page


def test_flow_recordings_show_every_message_type_as_it_crossed_the_wire(site: Path) -> None:
    page = html.unescape((site / "protocol" / "flows.html").read_text(encoding="utf-8"))
    lines = re.findall(r"<code>(\{.*?\})</code>", page)
    seen = set()
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:  # a line broken on purpose, or one cut for the page
            continue
        if not isinstance(message, dict):
            continue
        seen.add(message.get("type", "register"))
        seen.add(message.get("code"))
    client, server = set(PROTOCOL["client_messages"]), set(PROTOCOL["server_messages"])
    assert client <= seen, client - seen
    assert server <= seen, server - seen
    fatal = {code for code, spec in PROTOCOL["error_codes"].items() if spec["fatal"]}
    assert fatal - {"server_full"} <= seen


def test_terminal_screens_are_real_renderings_of_the_reference_client(site: Path) -> None:
    page = html.unescape((site / "student" / "index.html").read_text(encoding="utf-8"))
    assert "Терминал Alice" in page and "Терминал Bob" in page
    assert re.search(r"\[\d\d:\d\d:\d\d\] \[лично\] Alice: Это видит только Bob", page)
    assert "[сессия с Bob]> Это видит только Bob" in page


def test_sample_html_report_is_published_self_contained(site: Path) -> None:
    report = (site / "instructor" / "sample-report.html").read_text(encoding="utf-8")
    parser = ResourceLinks()
    parser.feed(report)
    assert not [url for url in parser.fetched if url], parser.fetched
    assert "server_broadcast" in report or "Общее сообщение" in report


def test_broken_copies_on_the_guides_really_lose_points(site: Path) -> None:
    page = html.unescape((site / "student" / "bugs.html").read_text(encoding="utf-8"))
    assert page.count("не пройден") >= 3
