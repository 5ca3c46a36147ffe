"""Sequence diagrams (harness.diagram): well-formed SVG, labels clear of lifelines and of the
arrow above, long lines wrapped, floods grouped, many rows cut to the last ones."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness import diagram
from harness.diagram import CHAR_W, FONT_PX, Arrow, Note

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def lifelines(root: ET.Element) -> list[float]:
    return [float(e.get("x1", 0)) for e in root.iter(f"{SVG}line") if e.get("class") == "lifeline"]


def arrows(root: ET.Element) -> list[tuple[float, list[tuple[float, float, str]]]]:
    """(y of the arrow, [(x, y, text) of each label line])."""
    out = []
    for g in root.iter(f"{SVG}g"):
        if "arrow" not in (g.get("class") or ""):
            continue
        line = g.find(f"{SVG}line")
        assert line is not None
        spans = [
            (float(t.get("x", 0)), float(t.get("y", 0)), t.text or "")
            for t in g.iter(f"{SVG}tspan")
        ]
        out.append((float(line.get("y1", 0)), spans))
    return out


def assert_readable(svg: str) -> None:
    """No label runs through a lifeline; no label sits on the arrow above its own."""
    root = parse(svg)
    xs = lifelines(root)
    previous = 0.0
    for y, spans in arrows(root):
        for x, line_y, text in spans:
            right = x + len(text) * CHAR_W
            crossed = [lx for lx in xs if x - 1 < lx < right + 1]
            assert not crossed, f"{text!r} runs through the lifeline at {crossed}"
            assert line_y < y
        top = min(line_y for _, line_y, _ in spans) - FONT_PX
        assert top > previous, f"label {spans[0][2]!r} overlaps the arrow above"
        previous = y


def chat(n_clients: int, text: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    names = [f"User{i}" for i in range(n_clients)]
    for name in names:
        events.append({"t": 0.1, "from": name, "to": "сервер", "text": f'{{"username": "{name}"}}'})
        for other in names:
            events.append({"t": 0.2, "from": "сервер", "to": other, "text": text})
    return events


@pytest.mark.parametrize("clients", [1, 2, 3, 6])
@pytest.mark.parametrize("length", [10, 60, 161])
def test_labels_stay_clear_of_lifelines_and_arrows(clients: int, length: int) -> None:
    svg = diagram.wire_diagram(chat(clients, "x" * (length // 2) + " " + "y" * (length // 2)), "t")
    assert_readable(svg)
    root = parse(svg)
    assert float(root.get("width", 0)) <= diagram.WIRE_FITS_PX + 1 or clients > 5


def test_the_hub_goes_second_and_every_actor_once() -> None:
    root = parse(diagram.wire_diagram(chat(3, "hi"), "t"))
    boxes = [
        t.text
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "actor"
        for t in g.iter(f"{SVG}text")
    ]
    assert boxes == ["User0", "сервер", "User1", "User2"]


def test_between_two_equals_the_server_is_the_hub() -> None:
    events = [
        {"t": 0, "from": "клиент", "to": "сервер проверки", "text": "a"},
        {"t": 1, "from": "сервер проверки", "to": "клиент", "text": "b"},
    ]
    assert diagram.wire_actors(diagram.wire_rows(events)) == (
        ["клиент", "сервер проверки"],
        "сервер проверки",
    )


def test_a_flood_is_one_row_and_many_rows_show_the_last() -> None:
    flood = [{"t": i / 100, "from": "сервер", "to": "Bob", "text": "same"} for i in range(500)]
    rows = diagram.wire_rows(flood)
    assert len(rows) == 1 and rows[0].count == 500 and rows[0].label == "1. same × 500"
    many = [{"t": i, "from": "Bob", "to": "сервер", "text": f"line {i}"} for i in range(100)]
    svg = diagram.wire_diagram(many, "t", limit=20)
    assert "100. line 99" in svg and "81. line 80" in svg and "80. line 79" not in svg
    assert "… ещё 80 раньше" in svg
    assert_readable(svg)


def test_long_labels_wrap_and_the_rows_grow() -> None:
    short = parse(diagram.wire_diagram(chat(1, "short"), "t"))
    long = parse(diagram.wire_diagram(chat(1, "word " * 150), "t"))
    assert float(long.get("height", 0)) > float(short.get("height", 0))
    spans = arrows(long)[-1][1]
    assert 1 < len(spans) <= diagram.WIRE_LINES and spans[-1][2].endswith("…")


def test_text_is_escaped_and_there_is_nothing_active() -> None:
    svg = diagram.render(
        'a"<script>',
        ["A&B", "сервер"],
        [Arrow("A&B", "сервер", "</text><script>alert(1)</script>"), Note("сервер", "<b>")],
    )
    root = parse(svg)  # well-formed
    assert not [e for e in root.iter() if e.tag.endswith(("script", "a", "image", "use"))]
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_notes_and_self_arrows_fit() -> None:
    svg = diagram.render(
        "t",
        ["Alice", "сервер"],
        [
            Note("сервер", "SIGINT (Ctrl+C) и длинное пояснение"),
            Arrow("Alice", "Alice", "сам себе"),
        ],
    )
    root = parse(svg)
    width = float(root.get("width", 0))
    for rect in root.iter(f"{SVG}rect"):
        assert (
            float(rect.get("x", 0)) >= 0
            and float(rect.get("x", 0)) + float(rect.get("width", 0)) <= width
        )


def test_wrap_breaks_at_spaces_and_cuts_long_words() -> None:
    assert diagram.wrap("aa bb cc", 5) == ["aa bb", "cc"]
    assert diagram.wrap("abcdefgh", 3) == ["abc", "def", "gh"]
    assert diagram.wrap("a b c d e f", 3, max_lines=2) == ["a b", "c …"]
    assert diagram.wrap("", 5) == [""]
