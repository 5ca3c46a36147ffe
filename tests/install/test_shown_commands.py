"""Every command the README, the handout and the docs show works after the Quick start.

After the Quick start a reader has `python3` and the kit's own `.venv/`, nothing else: no
`nox`, no `python`, no harness in the system Python.  So a shown command is either
`python3 kit.py VERB ...` (a nox session of `noxfile.py`, or a grader verb whose arguments
the grader's own parser accepts), `chat-harness VERB ...` (the installed package), or
something that needs no kit at all (`cp`, `nc`, the student's `python3 server.py`).
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

import kit  # the kit's entry script (the kit root is on sys.path: pyproject.toml)
from harness.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]

# Where a reader of this kit finds commands to type (the student edition has its own).
# The READMEs under harness/ are pages of the site too ({include}).
DOCUMENTS = [
    "README.md",
    "exercises/README.md",
    *sorted(
        p.relative_to(ROOT).as_posix()
        for pattern in ("lab/**/README.md", "harness/**/README.md", "docs/**/*.md")
        for p in ROOT.glob(pattern)
        if "_build" not in p.parts
    ),
]
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```", re.M | re.S)
SHELL = {"bash", "sh", "shell", "console"}
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
COMMAND_WORDS = re.compile(r"^(\$ )?(python3?|nox|pip3?|chat-harness|\.venv/bin/\S+|pipx) ")
STUDENT_PROGRAM = re.compile(r"(^|/)(server|client)\.py$")


def shown_commands(text: str) -> list[tuple[str, bool]]:
    """Shell lines of ```bash blocks and {run-output} commands, then inline `commands`
    (each with True: shown in running text)."""
    found = []
    for block in FENCE.finditer(text):
        info = block["info"].strip()
        if info.startswith("{run-output}"):
            found.append((info[len("{run-output}") :].strip(), False))
            continue
        if info not in SHELL:
            continue
        body = re.sub(r"\\\n\s*", " ", block["body"])  # continued lines
        for line in body.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                found.append((line.removeprefix("$ "), False))
    prose = FENCE.sub("", text)
    found += [
        (m.group(1), True) for m in INLINE.finditer(prose) if COMMAND_WORDS.match(m.group(1) + " ")
    ]
    return found


def simple_commands(line: str) -> list[list[str]]:
    """The commands of one shell line (split at &&, ;, |), as words."""
    out = []
    for part in re.split(r"&&|\|\||;|\|", line):
        try:
            words = shlex.split(part)
        except ValueError:  # an unbalanced quote in prose: not a command to check
            continue
        while words and re.match(r"^\w+=", words[0]):  # VAR=value command
            words = words[1:]
        if words:
            out.append(words)
    return out


def grader_refuses(args: list[str]) -> str | None:
    """The grader's parser on ``args``: None when accepted, else what it said."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(args)
    except SystemExit as exc:
        if exc.code:
            return err.getvalue().strip().splitlines()[-1]
    return None


PLACEHOLDER = re.compile(r"^(…|\.\.\.|\[.*\])$")  # `grade ПАПКА …`, `VERB [ARGS]`
METAVAR = re.compile(r"^[A-Z]+$")  # VERB, SESSION: a form, not a command


def grader_verbs() -> set[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if a.choices and a.dest == "command"]
    return set(actions[0].choices)


def problem(words: list[str], sessions: dict[str, set[str]], inline: bool = False) -> str | None:
    """Why ``words`` would not work right after the Quick start, or None.

    ``inline``: a `command` in running text, where `python3 kit.py batch` names the verb
    rather than showing a complete command line.
    """
    words = [w for w in words if not PLACEHOLDER.match(w)]
    head = words[0]
    if head in ("python", "python3") and words[1:2] == ["-m"] and words[2:3]:
        if words[2] in ("harness", "nox", "pip"):
            return f"`{head} -m {words[2]}` is not there after the Quick start: python3 kit.py"
        return None
    if head == "python":  # the student's programs as the grader runs them are fine
        program = next((w for w in words[1:] if not w.startswith("-")), None)
        if program is None or STUDENT_PROGRAM.search(program):
            return None  # `python -I -B -u`: how an interpreter runs, not a command line
        return "no `python` on Debian: python3"
    if head == "nox":
        return "nox is inside the kit's .venv only: python3 kit.py SESSION"
    if words[:2] == ["python3", "kit.py"]:
        if len(words) == 2 or words[2] in ("nox", "help", "-h", "--help"):
            return None
        verb = words[2]
        if METAVAR.match(verb) or (verb in sessions and "harness" not in sessions[verb]):
            return None
        if inline and len(words) == 3:
            return None if verb in grader_verbs() else f"no such verb: {verb}"
        args = kit.command_for(words[2:], sessions)[1:]
        return grader_refuses([str(a) for a in args])
    if head == "chat-harness" or head.endswith("/chat-harness"):
        if len(words) == 1 or METAVAR.match(words[1]):
            return None
        if inline and len(words) == 2:
            return None if words[1] in grader_verbs() else f"no such verb: {words[1]}"
        return grader_refuses(words[1:])
    if head == "bash" and words[1:2] and words[1].startswith("lab/"):
        return None if (ROOT / words[1]).is_file() else f"no file {words[1]}"
    return None


def every_shown_command() -> list[tuple[str, str, bool]]:
    return [
        (name, line, inline)
        for name in DOCUMENTS
        for line, inline in shown_commands((ROOT / name).read_text(encoding="utf-8"))
    ]


def test_the_pages_show_kit_commands_at_all() -> None:
    """The scan below reads what it should (it would pass on pages it cannot parse)."""
    shown = every_shown_command()
    kit_lines = [line for _, line, _ in shown if line.startswith("python3 kit.py")]
    assert len(kit_lines) > 30, kit_lines
    assert ("README.md", "python3 kit.py tests", False) in shown
    assert any(name == "lab/README.md" and "grade" in line for name, line, _ in shown)


def test_every_shown_command_works_right_after_the_quick_start() -> None:
    sessions = kit.nox_sessions()
    problems = []
    for name, line, inline in every_shown_command():
        for words in simple_commands(line):
            why = problem(words, sessions, inline)
            if why:
                problems.append(f"{name}: `{line}`: {why}")
    assert not problems, "commands that fail as written:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("line", "fails"),
    [
        ("python3 kit.py grade my-chat --part 2", False),
        ("python3 kit.py grade --no-such-option", True),
        ("python3 kit.py no-such-verb", True),
        ("python3 kit.py tests -k framing", False),
        ("python3 -m nox -s grade -- exercises", True),
        ("python -m harness list", True),
        ("nox -s docs", True),
        ("python3 server.py --port 8083", False),
        ("chat-harness grade SOME/FOLDER --json report.json", False),
    ],
)
def test_the_check_tells_working_commands_from_broken_ones(line: str, fails: bool) -> None:
    sessions = kit.nox_sessions()
    found = [problem(words, sessions) for words in simple_commands(line)]
    assert any(found) == fails, found
