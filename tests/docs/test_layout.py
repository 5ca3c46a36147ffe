"""The site as a reader sees it: real Chromium, headless, on the built pages.

At 1400 px nothing in a page's column is cut off on the right (no block that has to be
scrolled sideways, nothing sticking out of the column); on a phone-sized screen the page
itself never scrolls sideways (a wide block may scroll inside itself); on the sequence
diagrams no text runs through a lifeline.  A failure names the page and the element and
leaves a screenshot next to the built site.

Chromium is the system one (Debian's ``chromium``; ``.ci/run`` installs it), driven by
Playwright from PyPI, which downloads no browser of its own here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The first test also waits for the site's build (a fixture), on a machine that may be busy.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

WIDE = 1400
NARROW = 390
HEIGHT = 900
CHROMIUM_ARGS = [  # headless, and an empty profile: launch_persistent_context below
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",  # the machine has no network beyond package registries
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# The harness's own HTML report, published as a sample: a page of its own, not of the site.
NOT_SITE_PAGES = {"instructor/sample-report.html"}

# Scroll containers whose content is wider than they are, and elements of the page column
# whose right edge lies past the column's (outside any scroll container).
CUT_OFF_JS = """
() => {
  const column = document.querySelector('article[role="main"]');
  if (!column) return ["no article[role=main] on the page"];
  const edge = column.getBoundingClientRect().right + 1;
  // What a reader reads or looks at (furo's own boxes, such as headings with their ¶ link
  // and table wrappers, reach a few pixels past the column by design).
  const CONTENT = new Set(["pre", "code", "table", "img", "svg", "video", "iframe", "p", "li"]);
  const clips = (el) => ["auto", "scroll", "hidden"].includes(getComputedStyle(el).overflowX);
  const inScroller = (el) => {
    for (let p = el.parentElement; p && p !== column; p = p.parentElement) {
      if (clips(p)) return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase()
    + (typeof el.className === "string" && el.className ? "." + el.className.trim() : "");
  const text = (el) => (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 70);
  const found = [];
  for (const el of column.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (clips(el) && el.scrollWidth > el.clientWidth + 1) {
      const wide = `${el.scrollWidth} px in ${el.clientWidth}`;
      found.push(`${name(el)} scrolls sideways (${wide}): ${text(el)}`);
    } else if (CONTENT.has(el.tagName.toLowerCase()) && box.right > edge && !inScroller(el)) {
      found.push(`${name(el)} sticks out ${Math.round(box.right - edge)} px: ${text(el)}`);
    }
  }
  return found;
}
"""

# The widest things that make the whole page scroll sideways.
PAGE_WIDER_JS = """
() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const clips = (el) => ["auto", "scroll", "hidden"].includes(getComputedStyle(el).overflowX);
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right <= width + 1 || box.width === 0) continue;
    let p = el.parentElement;
    while (p && p !== document.body && !clips(p)) p = p.parentElement;
    if (p && p !== document.body) continue;  // inside a scroll container: it scrolls there
    const name = `${el.tagName.toLowerCase()}.${String(el.className)}`;
    found.push(`${name} ends at ${Math.round(box.right)} px`);
  }
  return [`page is ${document.documentElement.scrollWidth} px wide`, ...found.slice(0, 8)];
}
"""

# Every text of every diagram against every lifeline: the text's box must not contain the
# lifeline's x where the two overlap vertically.  The one exception is a note over the
# server's lifeline, whose box hides the lifeline behind it.
LABELS_ON_LIFELINES_JS = """
() => {
  const found = [];
  document.querySelectorAll(".wire-diagram svg").forEach((svg, n) => {
    const title = (svg.querySelector("title") || {}).textContent || `diagram ${n + 1}`;
    const lifelines = [...svg.querySelectorAll("line.lifeline")].map((l) => ({
      x: l.x1.baseVal.value, top: l.y1.baseVal.value, bottom: l.y2.baseVal.value }));
    svg.querySelectorAll("text").forEach((t) => {
      const b = t.getBBox();
      const note = t.closest("g.note");
      for (const line of lifelines) {
        const across = b.x - 1 < line.x && line.x < b.x + b.width + 1;
        const beside = b.y + b.height < line.top || b.y > line.bottom;
        const covered = note && Math.abs(b.x + b.width / 2 - line.x) < 2;
        if (across && !beside && !covered) {
          found.push(`${title}: «${t.textContent}» crosses the lifeline at x=${line.x}`);
        }
      }
    });
  });
  return found;
}
"""


def chromium() -> str | None:
    return next(
        (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not executable:
        message = "no chromium on PATH (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs it")
        pytest.skip(message)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with playwright_api.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile, executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def site_pages(site: Path) -> list[str]:
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert len(pages) > 10, pages
    return [p for p in pages if p not in NOT_SITE_PAGES]


def look(browser: Any, site: Path, width: int, pages: list[str], script: str) -> list[str]:
    """Open each page at ``width``; run ``script``; screenshot every page that has findings."""
    shots = site.parent / f"{site.name}-screenshots"
    problems = []
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": HEIGHT})
    try:
        for name in pages:
            page.goto((site / name).as_uri())
            found = page.evaluate(script)
            if found:
                shots.mkdir(exist_ok=True)
                shot = shots / f"{name.replace('/', '_')}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                problems += [f"{name} at {width} px ({shot}):", *(f"  {f}" for f in found)]
    finally:
        page.close()
    return problems


def test_nothing_in_the_page_column_is_cut_off_on_the_right_at_1400_px(
    site: Path, browser: Any
) -> None:
    problems = look(browser, site, WIDE, site_pages(site), CUT_OFF_JS)
    assert not problems, "content cut off on the right:\n" + "\n".join(problems)


def test_no_page_scrolls_sideways_on_a_phone_sized_screen(site: Path, browser: Any) -> None:
    problems = look(browser, site, NARROW, site_pages(site), PAGE_WIDER_JS)
    assert not problems, "pages wider than the screen:\n" + "\n".join(problems)


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_no_diagram_label_runs_through_a_lifeline(site: Path, browser: Any, width: int) -> None:
    problems = look(browser, site, width, ["protocol/flows.html"], LABELS_ON_LIFELINES_JS)
    assert not problems, "diagram text on a lifeline:\n" + "\n".join(problems)


def test_the_checks_see_a_cut_off_block_and_a_label_on_a_lifeline(
    tmp_path: Path, browser: Any
) -> None:
    """The page checks above find what they look for (they would pass on an empty page)."""
    (tmp_path / "bad.html").write_text(
        '<html><body><article role="main" style="width:600px">'
        '<pre style="overflow-x:auto">' + "x" * 300 + "</pre>"
        '<div class="wire-diagram"><svg width="400" height="100"><title>t</title>'
        '<line class="lifeline" x1="100" y1="0" x2="100" y2="100"/>'
        '<text x="50" y="50" font-size="12">a label across</text></svg></div>'
        "</article></body></html>",
        encoding="utf-8",
    )
    assert look(browser, tmp_path, WIDE, ["bad.html"], CUT_OFF_JS)
    assert look(browser, tmp_path, WIDE, ["bad.html"], LABELS_ON_LIFELINES_JS)
    (tmp_path / "wide.html").write_text(
        '<html><body><div style="width:900px">wide</div></body></html>', encoding="utf-8"
    )
    assert look(browser, tmp_path, NARROW, ["wide.html"], PAGE_WIDER_JS)
