"""Every verb of the kit is a nox session: `nox -l` lists them, `nox -s NAME -- ARGS` runs one."""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent))
from harness.pythons import find_python  # standard library only

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck", "compat", "docs"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
STUDENT_CODE = ["reference", "exercises"]


def install(session: nox.Session, *groups: str, kit: bool = True) -> None:
    """Install the kit (harness and its dependencies) plus the named dependency groups."""
    deps = [dep for group in groups for dep in nox.project.dependency_groups(PYPROJECT, group)]
    if kit:
        deps += ["-e", "."]
    if deps:
        session.install(*deps)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (real servers, real terminals); extra args go to pytest."""
    install(session, "test", "docs")  # the docs tests build the site
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff: lint rules and formatting."""
    install(session, "lint", kit=False)
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the harness with mypy."""
    install(session, "typecheck")
    session.run("mypy", *session.posargs)


@nox.session
def compat(session: nox.Session) -> None:
    """Prove reference/ and exercises/ run on Python 3.6 (vermin; also 3.6 itself if present)."""
    install(session, "compat", kit=False)
    session.run(
        "vermin",
        "--target=3.6-",
        "--no-tips",
        "--violations",
        "--eval-annotations",
        *STUDENT_CODE,
        *session.posargs,
    )
    py36 = find_python("3.6")
    files = [str(p) for d in STUDENT_CODE for p in sorted(Path(d).glob("*.py"))]
    if py36:
        session.run(py36, "-m", "py_compile", *files, external=True)
    else:
        session.log("python3.6 not found: only the static vermin check ran")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx site with warnings as errors into docs/_build/html."""
    install(session, "docs")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session
def grade(session: nox.Session) -> None:
    """Grade a submission: `nox -s grade -- PATH [options]`; with no args grades reference/."""
    install(session)
    args = session.posargs or ["reference"]
    if args[0].startswith("-"):
        args = ["reference", *args]
    session.run("python", "-m", "harness", "grade", *args)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmark the reference server's fan-out against the naive design (slow)."""
    install(session)
    session.run("python", "-m", "harness", "bench", *session.posargs)


@nox.session(default=False)
def flake(session: nox.Session) -> None:
    """Grade the reference many times with both cores loaded; any failure is a flake."""
    install(session)
    session.run("python", "-m", "harness", "flake", *session.posargs)
