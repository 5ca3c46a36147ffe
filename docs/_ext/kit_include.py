"""Show parts of the kit's files on a page without retyping them.

A section of a module docstring (underlined heading), as a literal block::

    ```{docstring-section} reference/server.py
    Threads
    ```

The build fails if the file or the heading is gone.

A Markdown file of the kit that may not exist yet, or what produces it:

    ```kit-include bench/results/latest.md
    Fallback Markdown, shown while the file does not exist.
    ```

Before MyST parses the page, the block is replaced by the file's text (path relative
to the kit's root) with its headings moved two levels down and its relative links and
images rewritten to point at the file's folder; without the file, by the fallback.
The page is rebuilt when the file appears or changes (Sphinx treats a
missing dependency as changed).
"""

from __future__ import annotations

import ast
import os
import re
import textwrap
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

FENCE = re.compile(
    r"^```kit-include[ \t]+(?P<path>\S+)[ \t]*\n(?P<fallback>.*?)^```[ \t]*$", re.M | re.S
)
LINK = re.compile(r"(?P<head>!?\[[^\]]*\]\()(?P<target>[^)\s]+)(?P<tail>[^)]*\))")
HEADING_SHIFT = "##"


def shift_headings(text: str) -> str:
    """``# Title`` becomes ``### Title``; code blocks are left alone."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,4} ", line):
            line = HEADING_SHIFT + line
        out.append(line)
    return "\n".join(out)


def rebase_links(text: str, source_dir: Path, doc_dir: Path) -> str:
    """Relative links and images of the included file, made relative to the page."""

    def fix(m: re.Match[str]) -> str:
        target = m["target"]
        if re.match(r"^([a-z]+:|#|/)", target):
            return m.group(0)
        rebased = os.path.relpath(source_dir / target, doc_dir)
        return f"{m['head']}{Path(rebased).as_posix()}{m['tail']}"

    return LINK.sub(fix, text)


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if "```kit-include" not in source[0]:
        return
    root = Path(app.confdir).parent
    doc_dir = (Path(app.srcdir) / docname).parent

    def include(m: re.Match[str]) -> str:
        path = root / m["path"]
        app.env.note_dependency(str(path))
        if not path.is_file():
            return m["fallback"]
        text = path.read_text(encoding="utf-8")
        return shift_headings(rebase_links(text, path.parent, doc_dir)) + "\n"

    source[0] = FENCE.sub(include, source[0])


def docstring_section(path: Path, title: str) -> str:
    """The body of the section ``title`` (a line underlined with dashes) of the docstring."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    lines = doc.splitlines()
    heading = [
        i
        for i in range(len(lines) - 1)
        if lines[i + 1].strip() and set(lines[i + 1].strip()) == {"-"}
    ]
    for n, i in enumerate(heading):
        if lines[i].strip() == title:
            end = heading[n + 1] if n + 1 < len(heading) else len(lines)
            return textwrap.dedent("\n".join(lines[i + 2 : end])).strip("\n")
    raise LookupError(f"в строке документации {path.name} нет раздела «{title}»")


class DocstringSection(SphinxDirective):
    """A section of a module's docstring, shown as it is written."""

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        path = Path(self.env.app.confdir).parent / self.arguments[0]
        self.env.note_dependency(str(path))
        try:
            text = docstring_section(path, "\n".join(self.content).strip())
        except (OSError, LookupError) as error:
            raise self.error(str(error)) from None
        return [nodes.literal_block(text, text, language="text")]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("docstring-section", DocstringSection)
    app.connect("source-read", on_source_read)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
