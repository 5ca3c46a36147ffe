"""Show the real output of kit commands, produced when the site is built.

```{run-output} python3 kit.py list
```

runs the command in the kit's root and shows ``$ command`` followed by what it printed.
``python3 kit.py VERB`` runs ``python -m harness VERB`` with the interpreter that builds
the docs (the kit is installed there, as in the kit's own ``.venv``); a leading
``python`` means that interpreter too.  Commands run in a pseudo-terminal
``:columns:`` wide (default 88, which fits the page column), so tables come out as a
person sees them in a terminal of that width.  ``:returncode: N`` states the exit
status the page expects (default 0); any other status fails the build, so a page never
shows output that the kit no longer produces.

```{python-run}
print("Привет".encode())
```

runs the block with the same interpreter and shows the code and its output.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import select
import shlex
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

TIMEOUT = 120
COLUMNS = 88  # a terminal this wide fits furo's narrowest desktop column (46em) at its code size
ESCAPES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])")  # ANSI control sequences


def kit_root(directive: SphinxDirective) -> Path:
    return Path(directive.env.app.confdir).parent


def prompt(words: list[str], width: int = COLUMNS) -> str:
    """``$ command`` as a terminal shows it, continued with `` \\`` past ``width`` columns."""
    units: list[str] = []  # an option stays on one line with its value
    for word in words:
        if units and units[-1].startswith("-") and " " not in units[-1] and word[:1] != "-":
            units[-1] += " " + word
        else:
            units.append(word)
    lines = ["$"]
    for word in units:
        if len(lines[-1]) + 1 + len(word) > width - 2 and len(lines[-1]) > 4:
            lines[-1] += " \\"
            lines.append("   ")
        lines[-1] += " " + word
    return "\n".join(lines)


def command_argv(shown: str) -> list[str]:
    """The command a page shows, as the docs build runs it (see the module docstring)."""
    argv = shlex.split(shown)
    if argv[:2] == ["python3", "kit.py"]:
        verb = ["--help"] if argv[2:3] == ["help"] else argv[2:3]  # kit.py help: the verbs
        return [sys.executable, "-m", "harness", *verb, *argv[3:]]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    return argv


def run(
    argv: list[str], cwd: Path, timeout: float, columns: int = COLUMNS
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS=str(columns), NO_COLOR="1", TERM="dumb")
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def terminal_lines(line: str, columns: int) -> list[str]:
    """``line`` as a terminal ``columns`` wide shows it: cut into rows at the last column
    (wide characters, such as most emoji, take two)."""
    rows, row, width = [], "", 0
    for char in line:
        w = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if width + w > columns:
            rows.append(row)
            row, width = "", 0
        row += char
        width += w
    return [*rows, row]


def run_in_terminal(
    argv: list[str], cwd: Path, timeout: float, columns: int = COLUMNS
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a pseudo-terminal ``columns`` wide; stdout and stderr as one text.

    Programs size their tables to a terminal (rich does), not to ``COLUMNS`` in a pipe, so
    this is what a person with a terminal of that width sees.  ``TERM=dumb`` and
    ``NO_COLOR`` keep colours and cursor movement out; any escape left is removed.
    """
    from ptyprocess import PtyProcessUnicode  # the kit's own dependency (pexpect)

    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS=str(columns), NO_COLOR="1", TERM="dumb")
    proc = PtyProcessUnicode.spawn(
        argv, cwd=str(cwd), env=env, dimensions=(50, columns), echo=False
    )
    proc.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    chunks: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(argv, timeout)
            if not select.select([proc.fd], [], [], min(left, 1.0))[0]:
                continue
            try:
                chunks.append(proc.read(65536))
            except EOFError:  # the program ended and its terminal is drained
                break
        proc.wait()
    finally:
        if proc.isalive():
            proc.terminate(force=True)
    text = ESCAPES.sub("", "".join(chunks)).replace("\r\n", "\n").replace("\r", "")
    text = "\n".join(line for raw in text.split("\n") for line in terminal_lines(raw, columns))
    status = proc.exitstatus if proc.exitstatus is not None else 128 + (proc.signalstatus or 0)
    return subprocess.CompletedProcess(argv, status, text, None)


class RunOutput(SphinxDirective):
    """Run one command of the kit at build time and show its real output."""

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {  # noqa: RUF012 (docutils API)
        "returncode": directives.nonnegative_int,
        "timeout": directives.positive_int,
        "cwd": directives.unchanged,
        "columns": directives.positive_int,
    }

    def run(self) -> list[nodes.Node]:
        shown = self.arguments[0]
        argv = command_argv(shown)
        cwd = kit_root(self) / self.options.get("cwd", ".")
        expected = self.options.get("returncode", 0)
        timeout = self.options.get("timeout", TIMEOUT)
        done = run_in_terminal(argv, cwd, timeout, self.options.get("columns", COLUMNS))
        if done.returncode != expected:
            raise self.error(
                f"`{shown}` завершилась с кодом {done.returncode}, а страница ждёт {expected}:\n"
                + done.stdout[-3000:]
            )
        output = done.stdout.replace(f"{kit_root(self)}/", "").rstrip()  # paths as in the kit
        text = f"{prompt(shlex.split(shown))}\n{output}"
        block = nodes.literal_block(text, text, language="console")
        block["classes"].append("run-output")
        return [block]


class PythonRun(SphinxDirective):
    """Run a Python snippet at build time; show the code and its real output."""

    has_content = True
    option_spec = {"returncode": directives.nonnegative_int}  # noqa: RUF012

    def run(self) -> list[nodes.Node]:
        source = "\n".join(self.content)
        done = run([sys.executable, "-c", source], kit_root(self), TIMEOUT)
        expected = self.options.get("returncode", 0)
        if done.returncode != expected:
            raise self.error(
                f"пример завершился с кодом {done.returncode}, ожидался {expected}:\n"
                + done.stdout[-3000:]
            )
        code = nodes.literal_block(source, source, language="python")
        out = nodes.literal_block(done.stdout, done.stdout.rstrip(), language="text")
        out["classes"] += ["run-output", "python-output"]
        caption = nodes.paragraph(text="Вывод при сборке этой страницы:")
        return [code, caption, out]


class GradedBug(SphinxDirective):
    """Break one line of a reference program, grade the copy, show the diff and the verdict.

    ```{graded-bug} server.py
    :scenarios: server_starts server_register server_broadcast
    - if receiver is not sender:
    + if True:  # bug: the sender gets an echo
    ```

    The ``-`` line (indentation ignored) must occur exactly once in ``reference/FILE``;
    it is replaced by the ``+`` line with the same indentation. The copy (both reference
    programs, one of them broken) is graded with ``python3 kit.py grade`` (the harness).
    """

    required_arguments = 1
    has_content = True
    option_spec = {"scenarios": directives.unchanged_required}  # noqa: RUF012

    def run(self) -> list[nodes.Node]:
        root = kit_root(self)
        name = self.arguments[0]
        lines = [line for line in self.content if line.strip()]
        if len(lines) != 2 or not (lines[0].startswith("- ") and lines[1].startswith("+ ")):
            raise self.error("нужны ровно две строки: «- было» и «+ стало»")
        old, new = lines[0][2:].strip(), lines[1][2:].strip()
        self.env.note_dependency(str(root / "reference" / name))
        scenarios = self.options["scenarios"].split()
        with tempfile.TemporaryDirectory(prefix="broken-") as tmp:
            folder = Path(tmp) / "submission"
            try:
                was = broken_copy(root, folder, name, old, new)
            except ValueError as error:
                raise self.error(str(error)) from None
            argv = [sys.executable, "-m", "harness", "grade", str(folder)]
            for scenario in scenarios:
                argv += ["--scenario", scenario]
            done = run_in_terminal(argv, root, TIMEOUT)
        if done.returncode != 0:
            raise self.error(f"проверка завершилась с кодом {done.returncode}:\n{done.stdout}")
        shown = prompt(
            ["python3", "kit.py", "grade", "submission", *(f"--scenario {s}" for s in scenarios)]
        )
        diff = f"--- reference/{name}\n+++ submission/{name}\n- {was}\n+ {new}"
        patch = nodes.literal_block(diff, diff, language="diff")
        out = f"{shown}\n{done.stdout.replace(str(folder), 'submission').rstrip()}"
        verdict = nodes.literal_block(out, out, language="console")
        verdict["classes"].append("run-output")
        return [patch, verdict]


def broken_copy(root: Path, folder: Path, name: str, old: str, new: str) -> str:
    """Copy both reference programs to ``folder`` with one line of ``name`` replaced.

    ``old`` (indentation ignored) must occur exactly once; ``new`` keeps its indentation.
    Returns the replaced line, stripped.
    """
    source = (root / "reference" / name).read_text(encoding="utf-8")
    hits = [line for line in source.splitlines() if line.strip() == old]
    if len(hits) != 1:
        raise ValueError(f"строка «{old}» встречается в reference/{name} {len(hits)} раз")
    indent = hits[0][: len(hits[0]) - len(hits[0].lstrip())]
    folder.mkdir(parents=True)
    for program in ("server.py", "client.py"):
        text = (root / "reference" / program).read_text(encoding="utf-8")
        if program == name:
            text = text.replace(hits[0], indent + new, 1)
        (folder / program).write_text(text, encoding="utf-8")
    return hits[0].strip()


class BatchDemo(SphinxDirective):
    """Grade a tiny class (the reference and an echoing copy) with ``batch`` at build time."""

    def run(self) -> list[nodes.Node]:
        root = kit_root(self)
        with tempfile.TemporaryDirectory(prefix="class-") as tmp:
            base = Path(tmp)
            broken_copy(root, base / "submissions" / "ivanova", "server.py", ECHO_OLD, ECHO_OLD)
            broken_copy(root, base / "submissions" / "petrov", "server.py", ECHO_OLD, ECHO_NEW)
            argv = [sys.executable, "-m", "harness", "batch", "submissions", "--jobs", "2"]
            argv += ["--out", "grades", "--part", "2"]
            done = run_in_terminal(argv, base, TIMEOUT)
            if done.returncode != 0:
                raise self.error(f"batch завершился с кодом {done.returncode}:\n{done.stdout}")
            files = {
                name: (base / "grades" / name).read_text(encoding="utf-8")
                for name in ("grades.csv", "summary.md")
            }
        out = "$ python3 kit.py batch submissions --jobs 2 --out grades --part 2\n"
        out += done.stdout.rstrip()
        blocks: list[nodes.Node] = [nodes.literal_block(out, out, language="console")]
        for name, text in files.items():
            blocks.append(nodes.paragraph(text=f"grades/{name}:"))
            lang = "text" if name.endswith(".csv") else "markdown"
            block = nodes.literal_block(text, text.rstrip(), language=lang)
            block["classes"].append("wrapped")  # wide rows wrap instead of running off
            blocks.append(block)
        return blocks


ECHO_OLD = "if receiver is not sender:"
ECHO_NEW = "if True:  # ошибка: эхо отправителю"


class ReportSamples(SphinxDirective):
    """Grade the echoing copy with every report written; show each report as it is.

    Long texts inside the reports are cut for the page (and say so); the HTML report is
    published next to the page as ``sample-report.html``.
    """

    def run(self) -> list[nodes.Node]:
        root = kit_root(self)
        scenarios = ["server_starts", "server_register", "server_broadcast"]
        with tempfile.TemporaryDirectory(prefix="reports-") as tmp:
            base = Path(tmp)
            broken_copy(root, base / "submission", "server.py", ECHO_OLD, ECHO_NEW)
            argv = [sys.executable, "-m", "harness", "grade", "submission", "--quiet"]
            argv += [a for s in scenarios for a in ("--scenario", s)]
            argv += ["--json", "report.json", "--junit", "junit.xml"]
            argv += ["--gradescope", "results.json", "--html", "report.html"]
            done = run(argv, base, TIMEOUT)
            if done.returncode != 0:
                raise self.error(f"проверка завершилась с кодом {done.returncode}:\n{done.stdout}")
            texts = {
                name: (base / name).read_text(encoding="utf-8")
                for name in ("results.json", "junit.xml", "report.json", "report.html")
            }
        self.env.kit_sample_report = texts["report.html"].replace(str(base) + "/", "")  # type: ignore[attr-defined]
        shown = prompt(
            [
                *["python3", "kit.py", "grade", "submission"],
                *(f"--scenario {s}" for s in scenarios),
                *("--json report.json", "--junit junit.xml"),
                *("--gradescope results.json", "--html report.html"),
            ]
        )
        out: list[nodes.Node] = [nodes.literal_block(shown, shown, language="console")]
        gradescope = cut_strings(json.loads(texts["results.json"]), 160)
        report = cut_strings(json.loads(texts["report.json"]), 100)
        for title, text, lang in (
            (
                "results.json (Gradescope):",
                json.dumps(gradescope, ensure_ascii=False, indent=2),
                "json",
            ),
            ("junit.xml:", cut_xml(texts["junit.xml"]), "xml"),
            ("report.json:", json.dumps(report, ensure_ascii=False, indent=2), "json"),
        ):
            out.append(nodes.paragraph(text=title))
            block = nodes.literal_block(text, text.replace(str(root) + "/", ""), language=lang)
            block["classes"].append("wrapped")  # long strings wrap instead of running off (kit.css)
            out.append(block)
        return out


CUT = " … [обрезано для показа]"


def cut_strings(value: Any, limit: int) -> Any:
    """The same JSON with long strings cut (the page shows the shape, not every byte)."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + CUT
    if isinstance(value, list):
        return [cut_strings(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: cut_strings(v, limit) for k, v in value.items()}
    return value


def cut_xml(text: str, limit: int = 400) -> str:
    """JUnit XML with each long element text cut."""

    def cut(m: re.Match[str]) -> str:
        body = m.group(2)
        return m.group(1) + (body if len(body) <= limit else body[:limit] + CUT) + m.group(3)

    return re.sub(
        r"(<(?:failure|system-out)[^>]*>)(.*?)(</(?:failure|system-out)>)", cut, text, flags=re.S
    )


def publish_sample_report(app: Sphinx, exception: Exception | None) -> None:
    html = getattr(app.env, "kit_sample_report", None)
    if exception is None and html and app.builder.format == "html":
        target = Path(app.outdir) / "instructor" / "sample-report.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("run-output", RunOutput)
    app.add_directive("python-run", PythonRun)
    app.add_directive("graded-bug", GradedBug)
    app.add_directive("batch-demo", BatchDemo)
    app.add_directive("report-samples", ReportSamples)
    app.connect("build-finished", publish_sample_report)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
