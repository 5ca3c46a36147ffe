"""Run the kit with nothing but Python 3.9+: ``python3 kit.py VERB [ARGS]``.

The first run makes the kit's own virtual environment ``.venv/`` (with the Python that
runs this script) and installs nox and the kit into it, so it works where ``pip install``
outside a venv is refused (PEP 668 "externally managed" system Pythons).  Later runs
reuse it; it is rebuilt when that Python or the kit's requirements change.

Then:

- ``python3 kit.py grade [FOLDER] [OPTIONS]`` grades FOLDER (default ``reference``);
- ``python3 kit.py list|batch|package|skeleton|load|bench|flake|... ARGS`` runs that
  verb of the grader, exactly ``chat-harness VERB ARGS`` (``.venv/bin/chat-harness``);
- ``python3 kit.py tests|lint|typecheck|compat|docs|floor|... ARGS`` runs that nox session
  with ARGS passed to it, exactly ``nox -s SESSION -- ARGS``;
- ``python3 kit.py nox ARGS`` runs nox itself (``python3 kit.py nox -l``);
- ``python3 kit.py help`` lists the grader's verbs, ``python3 kit.py --help`` this script's.

Which words are nox sessions is read from ``noxfile.py``; sessions tagged ``harness``
only wrap a grader verb and go straight to the grader.  Standard library only.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_BIN = VENV / "bin"
VENV_PYTHON = VENV_BIN / "python"
STAMP = VENV / "kit-stamp.json"
NOXFILE = ROOT / "noxfile.py"
FLOOR = (3, 9)
# nox.project.dependency_groups (read by noxfile.py) needs nox 2025.02.09 or newer.
REQUIREMENTS = ["nox>=2025.2.9"]
# What the environment is built from: a change here rebuilds it.
INPUTS = ["pyproject.toml", "setup.py", "kit.py"]
HELP = (["-h"], ["--help"])
USAGE = """\
использование: python3 kit.py КОМАНДА [ПАРАМЕТРЫ]

  grade [ПАПКА] [ключи]   проверить решение (по умолчанию reference/) и показать оценку
  list, batch, package, skeleton, load, bench, flake, ...
                          команды проверяющей программы, как chat-harness КОМАНДА ...
                          (все команды: python3 kit.py help; ключи: python3 kit.py grade --help)
  {sessions}
                          сессии nox: аргументы после имени идут в сессию
  nox [ключи nox]         сам nox, например python3 kit.py nox -l

Первый запуск создаёт окружение .venv/ в папке набора и ставит в него nox и набор.
"""


def say(text: str) -> None:
    print(f"kit.py: {text}", file=sys.stderr, flush=True)


def nox_sessions(noxfile: Path = NOXFILE) -> dict[str, set[str]]:
    """Session name -> its tags, read from ``noxfile.py`` without importing nox."""
    sessions: dict[str, set[str]] = {}
    tree = ast.parse(noxfile.read_text(encoding="utf-8"))
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if not (isinstance(target, ast.Attribute) and target.attr == "session"):
                continue
            name, tags = node.name, set()
            for keyword in call.keywords if call else []:
                value = keyword.value
                if keyword.arg == "name" and isinstance(value, ast.Constant):
                    name = str(value.value)
                elif keyword.arg == "tags" and isinstance(value, (ast.List, ast.Tuple)):
                    tags = {str(e.value) for e in value.elts if isinstance(e, ast.Constant)}
            sessions[name] = tags
    return sessions


def command_for(argv: list[str], sessions: dict[str, set[str]]) -> list[str]:
    """The command line (after the kit's Python) that ``python3 kit.py ARGV`` runs."""
    word, rest = argv[0], argv[1:]
    if word == "nox":
        return ["-m", "nox", "-f", str(NOXFILE), *rest]
    if word in sessions and "harness" not in sessions[word]:
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return ["-m", "nox", "-f", str(NOXFILE), "-s", word, *(["--", *rest] if rest else [])]
    if word == "help":  # the grader's own list of verbs
        return [str(VENV_BIN / "chat-harness"), "--help", *rest]
    if word == "grade" and (not rest or rest[0].startswith("-")) and rest[:1] not in HELP:
        rest = [str(ROOT / "reference"), *rest]  # like `nox -s grade`: the reference by default
    return [str(VENV_BIN / "chat-harness"), word, *rest]


def wanted_state() -> dict[str, str]:
    """What ``.venv`` must have been built from to be reused."""
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return {
        "python": os.path.realpath(sys.base_prefix),
        "version": ".".join(map(str, sys.version_info[:3])),
        "inputs": digest.hexdigest(),
    }


def current_state() -> dict[str, str] | None:
    try:
        state = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no environment yet, or one left half-made
        return None
    if not VENV_PYTHON.exists():
        return None
    return state if isinstance(state, dict) else None


def running_in_kit_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv() -> None:
    """Create or refresh ``.venv`` so that it matches this Python and the kit's files."""
    wanted, have = wanted_state(), current_state()
    if have == wanted:
        return
    version = wanted["version"]
    if running_in_kit_venv():
        say("обновляю зависимости в .venv")
    else:
        if have and (have.get("python"), have.get("version")) != (wanted["python"], version):
            say(f"окружение .venv сделано другим Python ({have.get('version')}): пересоздаю")
        say(f"создаю окружение .venv на Python {version} ({sys.executable}) и ставлю в него набор")
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=False)
        if made.returncode != 0 or not (VENV_BIN / "pip").exists():
            sys.exit(
                "kit.py: не удалось создать виртуальное окружение .venv.\n"
                "На Debian и Ubuntu модуль venv — отдельный пакет: "
                "sudo apt install python3-venv, затем запустите команду снова."
            )
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    installed = subprocess.run([*pip, *REQUIREMENTS, "-e", f"{ROOT}[similarity]"], check=False)
    if installed.returncode != 0:
        sys.exit("kit.py: pip не смог поставить nox и набор в .venv (вывод pip выше).")
    STAMP.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if sys.version_info < FLOOR:
        floor = ".".join(map(str, FLOOR))
        print(f"kit.py: нужен Python {floor} или новее, а это {sys.version.split()[0]}.")
        return 2
    sessions = nox_sessions()
    if not argv or argv[0] in {"-h", "--help"}:
        own = sorted(name for name, tags in sessions.items() if "harness" not in tags)
        print(USAGE.format(sessions=", ".join(own)), end="")
        return 0 if argv else 2
    ensure_venv()
    command = command_for(argv, sessions)
    if command[0] == "-m":
        command = [str(VENV_PYTHON), *command]
    sys.stdout.flush()
    os.execv(command[0], command)
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
