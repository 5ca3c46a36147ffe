"""Show the real output of kit commands, produced when the site is built.

```{run-output} python -m harness list
```

runs the command in the kit's root with the interpreter that builds the docs
(a leading ``python`` means ``sys.executable``) and shows ``$ command`` followed
by what it printed. ``:returncode: N`` states the exit status the page expects
(default 0); any other status fails the build, so a page never shows output
that the kit no longer produces.

```{python-run}
print("Привет".encode())
```

runs the block with the same interpreter and shows the code and its output.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

TIMEOUT = 120


def kit_root(directive: SphinxDirective) -> Path:
    return Path(directive.env.app.confdir).parent


def run(
    argv: list[str], cwd: Path, timeout: float, columns: int = 88
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
        argv = shlex.split(shown)
        if argv[0] == "python":
            argv[0] = sys.executable
        cwd = kit_root(self) / self.options.get("cwd", ".")
        expected = self.options.get("returncode", 0)
        done = run(argv, cwd, self.options.get("timeout", TIMEOUT), self.options.get("columns", 88))
        if done.returncode != expected:
            raise self.error(
                f"`{shown}` завершилась с кодом {done.returncode}, а страница ждёт {expected}:\n"
                + done.stdout[-3000:]
            )
        text = f"$ {shown}\n{done.stdout.rstrip()}"
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
        out["classes"].append("run-output")
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
    programs, one of them broken) is graded with ``python -m harness grade``.
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
        source = (root / "reference" / name).read_text(encoding="utf-8")
        self.env.note_dependency(str(root / "reference" / name))
        hits = [line for line in source.splitlines() if line.strip() == old]
        if len(hits) != 1:
            raise self.error(f"строка «{old}» встречается в reference/{name} {len(hits)} раз")
        indent = hits[0][: len(hits[0]) - len(hits[0].lstrip())]
        broken = source.replace(hits[0], indent + new, 1)
        scenarios = self.options["scenarios"].split()
        with tempfile.TemporaryDirectory(prefix="broken-") as tmp:
            folder = Path(tmp) / "submission"
            folder.mkdir()
            for program in ("server.py", "client.py"):
                text = (
                    broken
                    if program == name
                    else (root / "reference" / program).read_text(encoding="utf-8")
                )
                (folder / program).write_text(text, encoding="utf-8")
            argv = [sys.executable, "-m", "harness", "grade", str(folder)]
            for scenario in scenarios:
                argv += ["--scenario", scenario]
            done = run(argv, root, TIMEOUT)
        if done.returncode != 0:
            raise self.error(f"проверка завершилась с кодом {done.returncode}:\n{done.stdout}")
        shown = " ".join(
            ["python -m harness grade submission", *(f"--scenario {s}" for s in scenarios)]
        )
        diff = f"--- reference/{name}\n+++ submission/{name}\n- {hits[0].strip()}\n+ {new}"
        patch = nodes.literal_block(diff, diff, language="diff")
        out = f"$ {shown}\n{done.stdout.replace(str(folder), 'submission').rstrip()}"
        verdict = nodes.literal_block(out, out, language="console")
        verdict["classes"].append("run-output")
        return [patch, verdict]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("run-output", RunOutput)
    app.add_directive("python-run", PythonRun)
    app.add_directive("graded-bug", GradedBug)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
