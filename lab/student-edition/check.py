#!/usr/bin/env python3
"""Self-check of the chat lab (the student edition): ``python3 check.py FOLDER [OPTIONS]``.

- ``python3 check.py my-chat`` grades the folder with ``server.py`` and/or ``client.py`` on
  the visible scenarios; every option of ``python -m harness grade`` works (``--part 2``,
  ``--scenario ID``, ``--html report.html``, ``--repeat 5``, ``--json FILE``);
- ``python3 check.py --list`` lists the scenarios, their points and dependencies.

The first run makes ``.venv/`` next to this file (with the Python that runs it) and installs
the grader's packages there: from ``wheels/`` when the edition has them (no network), else
from PyPI.  ``CHATLAB_PYTHON=/path/to/python`` uses that interpreter instead (it must have
the packages of ``requirements.txt``).  The student's programs never run with those packages:
the grader runs them on the base interpreter, standard library only.  Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / "chatlab-stamp.json"
REQUIREMENTS = ROOT / "requirements.txt"
WHEELS = ROOT / "wheels"
FLOOR = (3, 9)
USAGE = """\
использование: python3 check.py ПАПКА [ключи]    проверить решение в ПАПКЕ
               python3 check.py --list           сценарии, баллы, зависимости

  ключи: --part N, --scenario ID, --html ФАЙЛ, --json ФАЙЛ, --repeat K
  (все ключи: python3 check.py --help-grade)
"""
# Run the harness of this edition whatever the current folder holds (a harness/ or rich/ of
# its own): this folder replaces the current one ("" for -c) on sys.path.
LAUNCH = "import sys; sys.path[0] = sys.argv.pop(1); from harness.cli import main; sys.exit(main())"


def say(text: str) -> None:
    print(f"check.py: {text}", file=sys.stderr, flush=True)


def wanted_state() -> dict[str, str]:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    return {
        "python": os.path.realpath(sys.base_prefix),
        "version": ".".join(map(str, sys.version_info[:3])),
        "requirements": digest.hexdigest(),
    }


def ensure_venv() -> str:
    """The interpreter that runs the grader: ``.venv``'s, made or refreshed when needed."""
    chosen = os.environ.get("CHATLAB_PYTHON")
    if chosen:
        return chosen
    wanted = wanted_state()
    try:
        have = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        have = None
    if have == wanted and VENV_PYTHON.exists():
        return str(VENV_PYTHON)
    say(f"создаю окружение .venv на Python {wanted['version']} и ставлю пакеты проверки")
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=False)
    if made.returncode != 0 or not VENV_PYTHON.exists():
        sys.exit(
            "check.py: не удалось создать виртуальное окружение .venv.\n"
            "На Debian и Ubuntu модуль venv — отдельный пакет: "
            "sudo apt install python3-venv, затем запустите команду снова."
        )
    source = ["-r", str(REQUIREMENTS)]
    if any(WHEELS.glob("*.whl")):
        source = ["--no-index", "--find-links", str(WHEELS), *source]
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if subprocess.run([*pip, *source], check=False).returncode != 0:
        sys.exit(
            "check.py: pip не смог поставить пакеты проверки (вывод pip выше). "
            "Нужен доступ к PyPI или папка wheels/ от преподавателя."
        )
    STAMP.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")
    return str(VENV_PYTHON)


def main(argv: list[str]) -> int:
    if sys.version_info < FLOOR:
        floor = ".".join(map(str, FLOOR))
        print(f"check.py: проверке нужен Python {floor} или новее, а это {sys.version.split()[0]}.")
        print("(Ваши server.py и client.py могут работать и на Python 3.6.)")
        return 2
    if not sys.platform.startswith("linux"):
        print(
            "check.py: проверка работает в Linux (в Windows — в WSL 2): она запускает программы "
            "в псевдотерминалах и читает /proc."
        )
        return 2
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    if argv[0] == "--list":
        command = ["list", *argv[1:]]
    elif argv[0] == "--help-grade":
        command = ["grade", "--help"]
    else:
        command = ["grade", *argv]
    python = ensure_venv()
    sys.stdout.flush()
    # The grader replaces this process: Ctrl+C reaches it alone, and it cleans up after itself.
    os.execv(python, [python, "-c", LAUNCH, str(ROOT), *command])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
