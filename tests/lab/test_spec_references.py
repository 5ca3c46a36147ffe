"""The product cites its own spec: lab/README.md (with lab/protocol.json), by sections it has.

The kit once pointed at a PROTOCOL.md that is not part of it.  Every text of the product
(handout, protocol, skeletons, reference, harness, docs, README) now cites the handout, and
every section number it cites ("§5.10", "раздел 5.10 условия", "handout §5.1") is a
heading of the handout.
"""

from __future__ import annotations

import re
from pathlib import Path

from lab_markdown import HANDOUT

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["lab", "exercises", "reference", "harness", "docs", "README.md"]
SKIP_PARTS = {"_build", "__pycache__"}
TEXT_SUFFIXES = {".md", ".py", ".json", ".toml", ".txt", ".sh", ".yml", ".html", ".css", ""}
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\. ", re.M)
# "§5.10", "§ 5", "раздел 5.10 условия", "разделе 6 условия", "handout §5.1",
# "section 5 of the handout"; and in the handout itself, "(5.9)"-style cross-references.
CITATION = re.compile(
    r"§\s?(?P<a>\d+(?:\.\d+)?)"
    r"|раздел\w*\s+(?P<b>\d+(?:\.\d+)?)\s+условия"
    r"|section\s+(?P<c>\d+(?:\.\d+)?)\s+of\s+the\s+handout"
)
SELF_REFERENCE = re.compile(r"\((?P<a>\d\.\d{1,2})\)")


def product_files() -> list[Path]:
    files = []
    for name in PRODUCT:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        files += [
            p
            for p in candidates
            if p.is_file()
            and p.suffix in TEXT_SUFFIXES
            and not SKIP_PARTS & set(p.relative_to(ROOT).parts)
        ]
    return files


def handout_sections() -> set[str]:
    return set(HEADING.findall(HANDOUT.read_text(encoding="utf-8")))


def cited_sections(text: str, handout: bool = False) -> list[str]:
    found = [next(g for g in m.groups() if g) for m in CITATION.finditer(text)]
    if handout:
        found += SELF_REFERENCE.findall(text)
    return found


def test_the_handout_numbers_its_protocol_sections_5_1_to_5_11() -> None:
    sections = handout_sections()
    assert {f"5.{n}" for n in range(1, 12)} <= sections, sorted(sections)
    assert {str(n) for n in range(1, 10)} <= sections, sorted(sections)


def test_no_text_of_the_product_cites_a_protocol_md_it_does_not_have() -> None:
    assert not (ROOT / "PROTOCOL.md").exists()
    citing = [
        p.relative_to(ROOT).as_posix()
        for p in product_files()
        if "PROTOCOL.md" in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert not citing, "these cite PROTOCOL.md (the spec is lab/README.md):\n" + "\n".join(citing)


def test_every_section_the_product_cites_is_a_section_of_the_handout() -> None:
    sections = handout_sections()
    wrong = []
    for path in product_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number in cited_sections(text, handout=path == HANDOUT):
            if number not in sections:
                wrong.append(f"{path.relative_to(ROOT)}: section {number}")
    assert not wrong, "citations of sections the handout does not have:\n" + "\n".join(wrong)


def test_the_citation_scan_reads_the_forms_the_kit_uses() -> None:
    text = "(handout §5.10) раздел 5.2 условия, разделе 6 условия; section 5 of the handout"
    assert cited_sections(text) == ["5.10", "5.2", "6", "5"]
    assert cited_sections("очередь (5.9)", handout=True) == ["5.9"]
