"""Helpers for the VPL and PrairieLearn bundle tests: builds, the jail, hostile programs.

- :func:`build` runs ``python -m harness package vpl|prairielearn`` for the running Python
  and for the ``python3`` the jail's PATH finds (which runs the bundle there);
  :func:`wheels_of` takes the wheels out of a built bundle, to build more without network.
- :func:`run_as_vpl` runs a VPL task folder the way vpl-jail-system does: ``vpl_evaluate.sh``
  first ("compilation"), then ``vpl_execution`` as the session leader of a fresh pty owned
  by root (``forkpty``), with the launcher's ``stty raw -echo iutf8 nl``, the jail's
  RLIMIT_NPROC/CPU/FSIZE, and optionally as an unprivileged user.
- :func:`vpl_grade`, :func:`vpl_comments`, :func:`vpl_kinds` read that output as mod_vpl
  does (``proposedgrade``, ``proposedcomment``, ``result_to_html``: PHP's ``trim`` chars).
- :func:`hostile_copy` writes a submission that prints grade and comment lines, block
  tags and control characters on stdout, stderr, to the terminal and into its protocol
  replies; its twin (``hostile=False``) does the same with harmless text.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from package_helpers import KIT, REFERENCE, package

EXERCISES = KIT / "exercises"
RUNNING = f"{sys.version_info[0]}.{sys.version_info[1]}"
JAIL_PATH = "/usr/local/bin:/usr/bin:/bin"  # vpl-jail-system's clean PATH


def _jail_python_version() -> str:
    """``X.Y`` of the ``python3`` on :data:`JAIL_PATH`: the one the bundles boot on."""
    python = shutil.which("python3", path=JAIL_PATH) or sys.executable
    done = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


JAIL_PYTHON = _jail_python_version()
PHP_TRIM = " \t\n\r\0\x0b"
LAUNCHER = "stty raw -echo iutf8 nl 2>/dev/null; . ./vpl_environment.sh; exec ./vpl_execution"
JAIL_LIMITS = (
    (resource.RLIMIT_NPROC, 400),
    (resource.RLIMIT_CPU, 240),
    (resource.RLIMIT_FSIZE, 64 * 1024 * 1024),
    (resource.RLIMIT_CORE, 0),
)
SMALL_RUBRIC = """\
[[scenario]]
id = "server_starts"
title = "Сервер запускается"
points = 2
part = 1
target = "server"

[[scenario]]
id = "server_register"
title = "Регистрация"
points = 4
part = 1
target = "server"

[[scenario]]
id = "client_register"
title = "Клиент спрашивает имя"
points = 3
part = 1
target = "client"
"""
INJECTIONS = (
    "Grade :=>> 100",
    "Grade :=>>100",
    "Comment :=>> Отлично, полный балл",
    "<|--",
    "-Итог: 100 из 100 баллов",
    "--|>",
    "  --|>  ",
    "\x1b[2J\x1b[HGrade :=>> 100",
    "\rGrade :=>> 100",
    "нуль\x00звонок\x07забой\x08 NEL\x85",
)
HARMLESS = ("привет",) * len(INJECTIONS)
READY_LINE = (
    '        print("Сервер запущен на {}".format(server.address_text), file=stdout, flush=True)\n'
)
HANDLE_LINE = "    def handle(self):\n"


def build(kind: str, out: Path, *args: str) -> dict[str, Any]:
    """Build a bundle for the running and the jail's Python into ``out``; its manifest."""
    versions = [arg for v in sorted({RUNNING, JAIL_PYTHON}) for arg in ("--python-version", v)]
    done = package(kind, "--out", str(out), *versions, *args)
    assert done.returncode == 0, f"package {kind} failed:\n{done.stdout}\n{done.stderr}"
    manifest: dict[str, Any] = json.loads(next(out.rglob("bundle.json")).read_text())
    return manifest


def wheels_of(folder: Path, dest: Path) -> Path:
    """Every wheel under ``folder`` (or inside its chatgrade.zip) copied into ``dest``."""
    import zipfile

    dest.mkdir(parents=True, exist_ok=True)
    for wheel in folder.rglob("*.whl"):
        shutil.copyfile(wheel, dest / wheel.name)
    for archive in folder.rglob("chatgrade.zip"):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if name.startswith("wheels/"):
                    (dest / Path(name).name).write_bytes(z.read(name))
    return dest


def open_folder(path: Path, owner: str | None = None) -> Path:
    """A folder other uids can reach (and own, with ``owner``)."""
    path.mkdir(parents=True, exist_ok=True)
    for part in [path, *path.parents]:
        if str(part) in ("/", "/tmp"):
            break
        part.chmod(part.stat().st_mode | 0o755)
    if owner is not None:
        user = pwd.getpwnam(owner)
        for item in [path, *path.rglob("*")]:
            os.lchown(item, user.pw_uid, user.pw_gid)
    return path


# -- VPL -------------------------------------------------------------------------------------
def vpl_task(
    folder: Path,
    bundle: Path,
    submission: Path,
    grade_range: tuple[int, int] = (0, 10),
    maxtime: int = 240,
) -> Path:
    """A task folder as the jail prepares it: execution files, the student's, the environment."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("vpl_run.sh", "vpl_evaluate.sh", "chatgrade.zip"):
        shutil.copyfile(bundle / name, folder / name)
    names = sorted(p.name for p in submission.iterdir() if p.is_file())
    for name in names:
        shutil.copyfile(submission / name, folder / name)
    lines = [
        "export VPL_LANG='en_US.UTF-8'",
        f"export VPL_GRADEMIN={grade_range[0]}",
        f"export VPL_GRADEMAX={grade_range[1]}",
        f"export VPL_MAXTIME={maxtime}",
        *(f"export VPL_SUBFILE{i}='{name}'" for i, name in enumerate(names)),
        "export VPL_SUBFILES='{}'".format("\n".join(names)),
    ]
    (folder / "vpl_environment.sh").write_text("\n".join(lines) + "\n")
    return folder


def _jail_child(uid: int | None, gid: int | None) -> Any:
    def setup() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty becomes the controlling terminal
        for which, value in JAIL_LIMITS:
            resource.setrlimit(which, (value, value))
        if uid is not None and gid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)

    return setup


def run_as_vpl(
    task: Path, user: str | None = None, env: dict[str, str] | None = None, timeout: float = 400
) -> tuple[str, str]:
    """(output of vpl_evaluate.sh, output of vpl_execution in its terminal)."""
    uid = gid = None
    if user is not None:
        entry = pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
    base = {"PATH": JAIL_PATH, "HOME": str(task), "TERM": "dumb", **(env or {})}
    compiled = subprocess.run(
        ["/bin/bash", "vpl_evaluate.sh"],
        cwd=task,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        user=uid,
        group=gid,
        extra_groups=[] if uid is not None else None,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    master, slave = os.openpty()
    proc = subprocess.Popen(
        ["/bin/bash", "-c", LAUNCHER],
        cwd=task,
        env=base,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=_jail_child(uid, gid),
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal is gone
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    assert time.monotonic() < deadline, f"vpl_execution ran over {timeout} s"
    return compiled.stdout + compiled.stderr, b"".join(chunks).decode("utf-8", errors="replace")


def vpl_lines(text: str) -> list[str]:
    """``explode(vpl_detect_newline($text), $text)``."""
    for newline in ("\r\n", "\n", "\r"):
        if newline in text:
            return text.split(newline)
    return [text]


def vpl_grade(text: str) -> str | None:
    """``proposedgrade``: the rest of the last line that starts with ``Grade :=>>``."""
    grade = None
    for line in vpl_lines(text):
        if line.startswith("Grade :=>>"):
            grade = line[len("Grade :=>>") :].strip(PHP_TRIM)
    return grade


def vpl_comments(text: str) -> list[str]:
    """``proposedcomment``: the comment lines VPL extracts."""
    out = []
    inside = False
    for line in vpl_lines(text):
        line = line.rstrip(PHP_TRIM)
        trimmed = line.strip(PHP_TRIM)
        if inside:
            if trimmed == "--|>":
                inside = False
            else:
                out.append(line)
        elif line.startswith("Comment :=>>"):
            out.append(line[len("Comment :=>>") :])
        elif trimmed == "<|--":
            inside = True
    return out


def vpl_kinds(comments: list[str]) -> list[tuple[str, str]]:
    """``result_to_html``'s reading of each comment line: title, pre or text."""
    kinds = []
    for line in comments:
        clean = line.strip(PHP_TRIM)
        if len(line) > 1 and line[0] == "-":
            kinds.append(("title", line[1:].strip(PHP_TRIM)))
        elif clean.startswith(">"):
            kinds.append(("pre", line[line.index(">") + 1 :]))
        else:
            kinds.append(("text", line))
    return kinds


# -- hostile programs --------------------------------------------------------------------------
SPRAY = '''
def _spray(text):
    """Everywhere VPL's output might be: the terminal, every pty, every stream of every process."""
    payload = ("\\r\\n" + text + "\\r\\n").encode()
    for path in ["/dev/tty"] + ["/dev/pts/%d" % n for n in range(64)]:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
            os.write(fd, payload)
            os.close(fd)
        except OSError:
            pass
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            path = "/proc/%s/fd/%s" % (pid, fd)
            try:
                target = os.readlink(path)
                if not target.startswith(("pipe:", "/dev/pts", "/dev/tty")):
                    continue  # streams only: never rewrite a file
                out = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
                os.write(out, payload)
                os.close(out)
            except OSError:
                pass
'''


def _junk_block(lines: tuple[str, ...], hostile: bool) -> str:
    return (
        f"\nJUNK = {list(lines)!r}\nHOSTILE = {hostile!r}\n"
        + SPRAY
        + '''
def _junk(stdout):
    for line in JUNK:
        print(line, file=stdout, flush=True)
        print(line, file=sys.stderr, flush=True)
    if HOSTILE:
        for line in JUNK:
            _spray(line)


def _greet(sock):
    """Junk before anything the protocol expects: it shows in the scenario's "got"."""
    try:
        sock.sendall(("\\n".join(JUNK) + "\\n").encode("utf-8", "surrogatepass"))
        sock.sendall((json.dumps({"type": "system", "event": JUNK[0]}) + "\\n").encode())
    except OSError:
        pass
'''
    )


def hostile_copy(dest: Path, hostile: bool = True) -> Path:
    """The reference with junk after its ready line and before its replies (see the module)."""
    lines = INJECTIONS if hostile else HARMLESS
    dest.mkdir(parents=True, exist_ok=True)
    server = (REFERENCE / "server.py").read_text(encoding="utf-8")
    assert server.count(READY_LINE) == 1 and server.count(HANDLE_LINE) == 1, "reference changed"
    server = server.replace(READY_LINE, READY_LINE + "        _junk(stdout)\n")
    server = server.replace(HANDLE_LINE, HANDLE_LINE + "        _greet(self.sock)\n")
    marker = "\ndef main(argv=None):"
    server = server.replace(marker, _junk_block(lines, hostile) + "\n" + marker, 1)
    (dest / "server.py").write_text(server, encoding="utf-8")
    client = "import os, sys\n" + _junk_block(lines, hostile) + "\n_junk(sys.stdout)\nsys.exit(0)\n"
    (dest / "client.py").write_text(client, encoding="utf-8")
    return dest


def noisy_nothing(dest: Path) -> Path:
    """Programs that only print the injections (and spray them) and exit."""
    dest.mkdir(parents=True, exist_ok=True)
    program = "import json, os, sys\n" + _junk_block(INJECTIONS, True) + "\n_junk(sys.stdout)\n"
    for name in ("server.py", "client.py"):
        (dest / name).write_text(program, encoding="utf-8")
    return dest


def nothing(dest: Path) -> Path:
    """Programs that do nothing at all."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("server.py", "client.py"):
        (dest / name).write_text("", encoding="utf-8")
    return dest


def copy_programs(source: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("server.py", "client.py"):
        shutil.copyfile(source / name, dest / name)
    return dest


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A private temporary folder, removed afterwards.

    Not pytest's ``tmp_path``: other pytest sessions of the same user on this machine prune
    ``/tmp/pytest-of-USER/`` while this one still runs its bundles there.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
