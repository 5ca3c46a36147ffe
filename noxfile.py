"""Every verb of the kit is a nox session: `nox -l` lists them, `nox -s NAME -- ARGS` runs one.

`python3 kit.py NAME ARGS` runs the same session from the kit's own venv (no nox needed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent))
from harness.pythons import find_python  # standard library only

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck", "compat", "docs", "floor"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
STUDENT_CODE = ["reference", "exercises"]
# The harness's floor (requires-python), the newest release it is known to run on, and the
# releases to look for (oldest first): the suite runs on the newest one found.
FLOOR = "3.9"
NEWEST_KNOWN = "3.13"
PYTHONS = [f"3.{minor}" for minor in range(9, 16)]
FLOOR_PYTHON = find_python(FLOOR)
NEWEST = next(
    ((version, path) for version in reversed(PYTHONS) if (path := find_python(version))),
    None,
)


def install(session: nox.Session, *groups: str, kit: bool = True) -> None:
    """Install the kit (harness and its dependencies) plus the named dependency groups."""
    deps = [dep for group in groups for dep in nox.project.dependency_groups(PYPROJECT, group)]
    if kit:
        deps += ["-e", ".[similarity]"]
    if deps:
        session.install(*deps)


@nox.session(python=NEWEST[1] if NEWEST else None)
def tests(session: nox.Session) -> None:
    """Run the test suite on the newest Python found (3.9-3.15); extra args go to pytest."""
    if not NEWEST:
        session.warn(f"no python3.X on PATH or in pyenv: the suite runs on {sys.executable}")
    elif PYTHONS.index(NEWEST[0]) < PYTHONS.index(NEWEST_KNOWN):
        session.warn(f"Python {NEWEST_KNOWN} not found: the suite runs on {NEWEST[0]} only")
    install(session, "test", "docs")  # the docs tests build the site
    session.run("python", "--version")
    session.run("pytest", *session.posargs)


@nox.session(python=FLOOR_PYTHON, venv_backend="venv" if FLOOR_PYTHON else "none")
def floor(session: nox.Session) -> None:
    """Grade reference/ on Python 3.9, the harness's floor; anything short of 100% fails."""
    if not FLOOR_PYTHON:
        session.skip(f"Python {FLOOR} not found (PATH, pyenv): the floor was not checked")
    install(session)
    report = Path(session.create_tmp()) / "floor.json"
    session.run("chat-harness", "grade", "reference", "--json", str(report), *session.posargs)
    result = json.loads(report.read_text(encoding="utf-8"))
    if result["score"] != result["max_score"]:
        session.error(f"reference/ on Python {FLOOR}: {result['score']}/{result['max_score']}")
    session.log(f"reference/ on Python {FLOOR}: {result['score']}/{result['max_score']}")


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


# Sessions tagged "harness" only wrap a verb of the grader: `python3 kit.py VERB` runs that
# verb from the kit's venv directly, without a session venv of its own.


@nox.session(tags=["harness"])
def grade(session: nox.Session) -> None:
    """Grade a submission: `nox -s grade -- PATH [options]`; with no args grades reference/."""
    install(session)
    args = session.posargs or ["reference"]
    if args[0].startswith("-") and args[0] not in ("-h", "--help"):
        args = ["reference", *args]
    session.run("chat-harness", "grade", *args)


@nox.session(default=False)
def harness(session: nox.Session) -> None:
    """Any verb of the grader: `nox -s harness -- VERB ARGS` (list, batch, package, ...)."""
    install(session)
    session.run("chat-harness", *(session.posargs or ["--help"]))


@nox.session(default=False, tags=["harness"])
def bench(session: nox.Session) -> None:
    """Benchmark the reference server's fan-out against the naive design (slow)."""
    install(session)
    session.run("chat-harness", "bench", *session.posargs)


@nox.session(default=False, tags=["harness"])
def flake(session: nox.Session) -> None:
    """Grade the reference many times with both cores loaded; any failure is a flake."""
    install(session)
    session.run("chat-harness", "flake", *session.posargs)
