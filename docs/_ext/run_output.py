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


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("run-output", RunOutput)
    app.add_directive("python-run", PythonRun)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
