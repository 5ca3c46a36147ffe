"""Containment of untrusted student code: what a student program can see, touch and reach.

The protections, each used when this machine allows it (:func:`containment` probes them once
and the report lists what is missing):

- **Its own files only** (bubblewrap, ``bwrap``): a student program sees ``/usr`` read-only,
  its own copy of the submission as ``/submission`` (writable), a private ``/tmp`` and a
  read-only standard-library Python, and nothing else: not the kit, the reference, the
  rubric, the reports, other submissions.  Its own pid namespace hides every other
  process's command line, and when the sandbox ends, everything started inside it ends.
- **Its own uid** (when the harness runs as root): every scenario's programs run as a fresh
  unprivileged uid (no supplementary groups), so ``RLIMIT_NPROC`` binds and every process
  of that uid is killed at the end, including daemons that left their process group.
- **Its own network** (:mod:`harness.netns`, root): every scenario has a loopback-only
  network of its own; fixed ports never collide and nothing leaves the machine.
- **Limits** (always): CPU seconds, address space, file size, open files, processes;
  output volume is capped by the readers (:mod:`harness.process`, :mod:`harness.terminal`).
- **The standard library only** (always): students' programs run on the harness's *base*
  interpreter with ``-I`` (isolated mode), never a venv's: inside bubblewrap every
  site-packages folder is hidden; without it a clean venv with no packages is used.  The same
  policy holds for ``grade``, ``batch`` and every bundle; the report names the interpreter.

Where bubblewrap cannot run, the student's program can read every file the harness user can
read: :meth:`Containment.contained` is False and official gradings (``batch``, the bundles)
refuse to run unless told ``--allow-uncontained``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import netns

MiB = 1024 * 1024
IGNORED_NAMES = ("__pycache__", ".git", ".venv", "venv", ".mypy_cache", ".pytest_cache")
INSIDE = "/submission"  # where a program finds its files inside the sandbox
# Local time of every student process: east of UTC, so a UTC clock cannot pass for it, and
# a POSIX rule, so it needs no time zone database inside the sandbox.
TIME_ZONE = "MSK-3"
TIME_ZONE_HOURS = 3
UID_BASE = 1_000_000


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits for student programs."""

    cpu_seconds: int = 30
    address_space: int = 1024 * MiB
    file_size: int = 16 * MiB
    open_files: int = 256
    processes: int = 128  # threads count too (one per connection in a threaded server)
    output_bytes: int = 2 * MiB  # per stream; more is a verdict, not a bigger buffer
    copy_bytes: int = 20 * MiB  # largest submission folder copied
    scratch_bytes: int = 64 * MiB  # the private /tmp


def running_as_root() -> bool:
    return os.geteuid() == 0


def let_children_see_ctrl_c() -> None:
    """Make sure the programs we start can be interrupted with SIGINT (Ctrl+C).

    A shell starts background jobs (``cmd &``, nohup, many CI runners) with SIGINT ignored,
    an ignored signal stays ignored across ``exec``, and Python then never raises
    KeyboardInterrupt: every Ctrl+C scenario would fail for reasons that are not the
    student's.  A *handled* signal is reset to the default on ``exec``, so installing
    Python's own handler here gives every child a normal SIGINT.  Call from the main thread.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# -- the interpreter student code runs on ---------------------------------------------------


@dataclass(frozen=True)
class StudentPython:
    """The interpreter for student programs and what it takes to run it in a sandbox."""

    executable: str  # path as the program sees it
    version: str  # "3.11.7"
    prefix: str  # its installation, bound read-only into the sandbox
    hidden: tuple[str, ...] = ()  # site-packages folders hidden inside the sandbox

    def describe(self) -> str:
        return f"Python {self.version} ({self.executable}), только стандартная библиотека"


def base_interpreter() -> str:
    """The installation's own interpreter behind ``sys.executable`` (never a venv's)."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (
        Path(sys.base_prefix) / "bin" / version,
        Path(sys.base_prefix) / "bin" / "python3",
        Path(getattr(sys, "_base_executable", sys.executable)),
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return sys.executable


def _ask(python: str, code: str) -> object:
    out = subprocess.run(
        [python, "-I", "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(out.stdout)


def describe_python(executable: str) -> StudentPython:
    """Version, prefix and site-packages folders of ``executable``."""
    info = _ask(
        executable,
        "import json, platform, site, sys; print(json.dumps([platform.python_version(), "
        "sys.prefix, site.getsitepackages() + [site.getusersitepackages()]]))",
    )
    assert isinstance(info, list)
    version, prefix, sites = info
    hidden = tuple(sorted({s for s in sites if os.path.isdir(s)}))
    return StudentPython(executable, version, prefix, hidden)


def usable_by_others(path: str) -> bool:
    """True when a user with no special rights can reach and execute ``path``."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & 0o001:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in real.parents)
    except OSError:
        return False


def clean_venv(base: str, folder: Path) -> str:
    """A venv of ``base`` with nothing installed (no pip): the standard library only."""
    subprocess.run(
        [base, "-I", "-m", "venv", "--without-pip", str(folder)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    folder.chmod(0o755)
    return str(folder / "bin" / "python3")


# -- what this machine allows ------------------------------------------------------------------


@dataclass
class Containment:
    """The protections this machine gives student programs (probed once per process)."""

    bwrap: str | None  # bubblewrap that really ran a sandbox here
    setpriv: str | None  # to drop to the scenario's uid inside the sandbox (root)
    root: bool
    network: bool  # a private network per scenario
    python: StudentPython
    problems: list[str] = field(default_factory=list)  # why a protection is missing

    @property
    def contained(self) -> bool:
        """The student's program sees only its own files (the minimum for an official grade)."""
        return self.bwrap is not None

    @property
    def separate_uid(self) -> bool:
        return self.root and (self.bwrap is None or self.setpriv is not None)

    def missing(self) -> list[str]:
        """The protections that are missing, as sentences for the report."""
        out = list(self.problems)
        if not self.separate_uid:
            out.append(
                "студенческие программы работают от пользователя проверяющего: "
                "нет отдельного uid, число процессов ограничено только вместе с его процессами"
            )
        return out

    def describe(self) -> dict[str, str]:
        """What the report says about the containment of this grading."""
        return {
            "python": self.python.describe(),
            "files": (
                "изолированы: программа видит только свою копию решения, /usr и Python"
                if self.contained
                else "НЕ изолированы: программа видит все файлы, доступные проверяющему"
            ),
            "processes": (
                "отдельное пространство процессов и отдельный uid на сценарий"
                if self.contained and self.separate_uid
                else "отдельное пространство процессов"
                if self.contained
                else "отдельный uid на сценарий"
                if self.separate_uid
                else "НЕ изолированы: программа работает от пользователя проверяющего"
            ),
            "network": (
                "своя сеть на каждый сценарий (только loopback)"
                if self.network
                else "НЕ изолирована: общая сеть машины, сценарии идут по одному"
            ),
            "time_zone": f"TZ={TIME_ZONE} (UTC+{TIME_ZONE_HOURS}) у всех программ",
        }


@functools.cache
def containment(use_bwrap: bool = True) -> Containment:
    """Probe once what this machine allows (see the module docstring)."""
    root = running_as_root()
    problems: list[str] = []
    network_problem = netns.available() if root else "отдельная сеть на сценарий нужна root"
    if network_problem:
        problems.append(network_problem)
    base = base_interpreter()
    bwrap = shutil.which("bwrap") if use_bwrap else None
    setpriv = shutil.which("setpriv") if root else None
    python: StudentPython | None = None
    if bwrap is not None and root and setpriv is None:
        problems.append("нет setpriv (util-linux): песочница не может сменить uid")
        bwrap = None
    elif bwrap is None:
        problems.append(
            "bubblewrap (bwrap) не установлен: программы студентов видят файлы машины"
            if use_bwrap
            else "bubblewrap отключён"
        )
    else:
        python = describe_python(base)
        trial = _try_bwrap(bwrap, setpriv, python)
        if trial:
            problems.append(f"bubblewrap не смог создать песочницу: {trial}")
            bwrap = None
            python = None
    if python is None:  # no sandbox: a clean venv keeps site-packages out
        if root and not usable_by_others(base):
            fallback = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
            base = fallback if fallback and usable_by_others(fallback) else base
        folder = Path(tempfile.mkdtemp(prefix="chatgrade-python-"))
        folder.chmod(0o755)
        python = describe_python(clean_venv(base, folder / "venv"))
    return Containment(
        bwrap=bwrap,
        setpriv=setpriv if bwrap else None,
        root=root,
        network=network_problem is None,
        python=python,
        problems=problems,
    )


def _try_bwrap(bwrap: str, setpriv: str | None, python: StudentPython) -> str:
    """Run ``python -c pass`` in a sandbox as it will be run; "" when it works, else why."""
    work = Path(tempfile.mkdtemp(prefix="chatgrade-probe-"))
    try:
        (work / "submission").mkdir()
        uid = UID_BASE + 63 if setpriv else None
        if uid is not None:
            os.chown(work / "submission", uid, uid)
        argv = _bwrap_argv(bwrap, setpriv, python, work, uid, tty=False)
        argv += [python.executable, "-I", "-c", "import sys; sys.exit(7)"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if proc.returncode != 7:
            return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "ошибка"
        return ""
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _parents_open(path: str) -> list[str]:
    """``--dir`` (0755) for every folder above ``path``: bwrap copies modes (/root is 0700)."""
    out: list[str] = []
    for parent in reversed(Path(path).parents):
        if str(parent) not in ("/", "/usr") and not str(parent).startswith("/usr/"):
            out += ["--perms", "0755", "--dir", str(parent)]
    return out


def _bwrap_argv(
    bwrap: str,
    setpriv: str | None,
    python: StudentPython,
    work: Path,
    uid: int | None,
    *,
    tty: bool,
) -> list[str]:
    """The bubblewrap command line up to (not including) the program's own argv."""
    argv = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    argv += ["--die-with-parent", "--hostname", "sandbox"]
    if not tty:
        argv.append("--new-session")  # a program with a terminal keeps it as its own
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    if not python.prefix.startswith("/usr"):
        argv += [*_parents_open(python.prefix), "--ro-bind", python.prefix, python.prefix]
    for hidden in python.hidden:
        argv += ["--tmpfs", hidden]
    etc = work / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "hosts").write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
    shown = uid if uid is not None else os.getuid()
    (etc / "passwd").write_text(f"student:x:{shown}:{shown}::{INSIDE}:/bin/sh\n")
    (etc / "group").write_text(f"student:x:{shown}:\n")
    for name in ("hosts", "passwd", "group"):
        argv += ["--ro-bind", str(etc / name), f"/etc/{name}"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", str(Limits.scratch_bytes), "--tmpfs", "/tmp"]
    argv += ["--bind", str(work / "submission"), INSIDE, "--chdir", INSIDE]
    if uid is not None and setpriv is not None:
        argv += ["--", setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        argv += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    argv.append("--")
    return argv


# -- one scenario's sandbox --------------------------------------------------------------------

_uid_counter = itertools.count()
_uid_lock = threading.Lock()


def _allocate_uid() -> int:
    """A uid no other concurrent grading (thread or process) on this machine uses."""
    with _uid_lock:
        slot = next(_uid_counter) % 63  # slot 63 belongs to the containment probe
    return UID_BASE + (os.getpid() % 100_000) * 64 + slot


# In a terminal, bubblewrap stays in the terminal's process group, and Ctrl+C would kill it
# (and with it the sandbox).  The program therefore makes its own group the terminal's
# foreground group first, then becomes the student's program (exec: nothing of this stays).
FOREGROUND = (
    "import os, signal, sys; os.setpgid(0, 0); signal.signal(signal.SIGTTOU, signal.SIG_IGN); "
    "os.tcsetpgrp(0, os.getpgrp()); signal.signal(signal.SIGTTOU, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


@dataclass(frozen=True)
class Launch:
    """How to start one student program: plain values for Popen or pexpect."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    preexec_fn: Callable[[], None]
    shown: str  # the command as the student would type it, for transcripts


class Sandbox:
    """Containment for one scenario run: a copy of the submission, a uid, a network."""

    def __init__(self, limits: Limits | None = None, protections: Containment | None = None):
        self.limits = limits or Limits()
        self.protections = protections or containment()
        self.uid: int | None = _allocate_uid() if self.protections.separate_uid else None
        self.network: netns.Network | None = netns.Network() if self.protections.network else None
        self._lock = threading.Lock()
        self._launched: list[int] = []
        self._work = Path(tempfile.mkdtemp(prefix="chatgrade-"))
        self._work.chmod(0o711)
        self.submission = self._work / "submission"

    # -- files -----------------------------------------------------------------------------
    def copy_submission(self, source: Path) -> Path:
        """Copy the student's folder into the sandbox (the programs run on the copy)."""
        copy_tree(source, self.submission, self.limits.copy_bytes)
        if self.uid is not None:
            for path in [self.submission, *self.submission.rglob("*")]:
                os.lchown(path, self.uid, self.uid)
        return self.submission

    # -- starting programs -----------------------------------------------------------------
    def launch(self, program: str, args: list[str], *, tty: bool = False) -> Launch:
        """How to run ``python program args`` from the submission under containment."""
        prot = self.protections
        inside = INSIDE if prot.contained else str(self.submission)
        python = [prot.python.executable, "-I", "-B", "-u", f"{inside}/{program}"]
        argv: list[str] = []
        if prot.contained:
            assert prot.bwrap is not None
            argv = _bwrap_argv(prot.bwrap, prot.setpriv, prot.python, self._work, self.uid, tty=tty)
            if tty:
                argv += [prot.python.executable, "-I", "-c", FOREGROUND]
        return Launch(
            argv=argv + python + list(args),
            env=self.env(inside, tty=tty),
            cwd=str(self.submission),
            preexec_fn=self._preexec(),
            shown=" ".join(["python3", "-u", program, *args]),
        )

    def env(self, home: str, *, tty: bool) -> dict[str, str]:
        """A small, predictable environment for student programs (same on every machine)."""
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": TIME_ZONE,
            "TERM": "xterm-256color" if tty else "dumb",
            "MALLOC_ARENA_MAX": "2",  # keep threads' malloc arenas inside RLIMIT_AS
        }

    def _preexec(self) -> Callable[[], None]:
        """What a child runs before ``exec``: join the network, lower the limits, drop uid."""
        limits = self.limits
        network = self.network
        uid = self.uid if self.protections.bwrap is None else None  # setpriv drops it inside
        processes = limits.processes
        if not self.protections.root:  # RLIMIT_NPROC counts all processes of this user
            processes += count_tasks(os.getuid())

        def apply() -> None:
            if network is not None:
                network.join()
            for res, value in (
                (resource.RLIMIT_CPU, limits.cpu_seconds),
                (resource.RLIMIT_AS, limits.address_space),
                (resource.RLIMIT_FSIZE, limits.file_size),
                (resource.RLIMIT_NOFILE, limits.open_files),
                (resource.RLIMIT_NPROC, processes),
                (resource.RLIMIT_CORE, 0),
            ):
                resource.setrlimit(res, (value, value))
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)

        return apply

    def started(self, pid: int) -> None:
        """Remember a launched program (a process group leader) to kill at cleanup."""
        with self._lock:
            self._launched.append(pid)

    # -- the harness's side --------------------------------------------------------------------
    def socket(self, family: int = socket.AF_INET) -> socket.socket:
        """A TCP socket in the scenario's network (for probes, proxies, the scripted server)."""
        if self.network is None:
            return socket.socket(family, socket.SOCK_STREAM)
        return self.network.socket(family, socket.SOCK_STREAM)

    def program_pids(self, launched: int) -> list[int]:
        """The live processes of the program started as ``launched`` (bubblewrap excluded)."""
        tree = descendants(launched)
        if self.protections.bwrap is None:
            return [launched, *tree]
        return [pid for pid in tree if not _is_bwrap(pid)]

    def signal(self, launched: int, sig: int) -> None:
        """Send ``sig`` as a terminal's Ctrl+C would: to the program's process group."""
        pids = self.program_pids(launched)
        if not pids:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):  # exited meanwhile
            os.killpg(os.getpgid(pids[0]), sig)

    def listening(self, launched: int) -> list[tuple[str, int]]:
        """(host, port) of every TCP socket the program listens on."""
        inodes = set()
        for pid in self.program_pids(launched):
            inodes |= socket_inodes(pid)
        found = []
        for name in ("tcp", "tcp6"):
            try:
                if self.network is not None:
                    table = self.network.read_proc(name)
                else:
                    table = Path(f"/proc/self/net/{name}").read_text(encoding="ascii")
            except OSError:  # no IPv6 here
                continue
            found += [(host, port) for host, port, inode in listeners(table) if inode in inodes]
        return sorted(set(found))

    # -- the end ---------------------------------------------------------------------------
    def kill_all(self) -> None:
        """Kill every launched program's group and, with a sandbox uid, every process of it."""
        with self._lock:
            launched = list(self._launched)
        for pid in launched:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
                os.killpg(pid, signal.SIGKILL)
        if self.uid is not None:
            kill_uid(self.uid)

    def cleanup(self) -> None:
        """Kill what is left, drop the network and remove the copy."""
        self.kill_all()
        if self.network is not None:
            self.network.close()
        shutil.rmtree(self._work, ignore_errors=True)


# -- /proc -------------------------------------------------------------------------------------


def _ppids() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
            out[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):  # ended while we looked
            continue
    return out


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, parents before children."""
    children: dict[int, list[int]] = {}
    for child, parent in _ppids().items():
        children.setdefault(parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        for child in sorted(children.get(todo.pop(0), [])):
            out.append(child)
            todo.append(child)
    return out


def _is_bwrap(pid: int) -> bool:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "bwrap"
    except OSError:
        return False


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets ``pid`` holds open."""
    found = set()
    with contextlib.suppress(OSError):  # gone, or not ours to look at
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    found.add(int(target[8:-1]))
    return found


def listeners(table: str) -> list[tuple[str, int, int]]:
    """(host, port, inode) of the LISTEN sockets in a ``/proc/net/tcp[6]`` table."""
    out = []
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != "0A":  # 0A = TCP_LISTEN
            continue
        address, port = fields[1].split(":")
        out.append((_address(address), int(port, 16), int(fields[9])))
    return out


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def _uid_of(pid: str) -> tuple[int, bool] | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["Uid"].split()[1]), fields["State"].split()[0] == "Z"
    except (OSError, ValueError, IndexError, KeyError):  # ended while we looked
        return None


def _pids_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _uid_of(entry)
            if found is not None and found[0] == uid and not found[1]:  # zombies are dead
                pids.append(int(entry))
    return pids


def count_tasks(uid: int) -> int:
    """Processes and threads of ``uid`` (what RLIMIT_NPROC counts)."""
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _uid_of(entry)
            if found is not None and found[0] == uid:
                with contextlib.suppress(OSError):
                    total += len(os.listdir(f"/proc/{entry}/task"))
    return total


def kill_uid(uid: int, timeout: float = 3.0) -> bool:
    """SIGKILL every process of ``uid`` (fork bombs included); True when none is left."""
    deadline = time.monotonic() + timeout
    while True:
        pids = _pids_of_uid(uid)
        if not pids:
            return True
        if time.monotonic() > deadline:
            return False
        # kill(-1) as that uid hits all its processes at once, faster than a fork bomb forks.
        with contextlib.suppress(OSError, subprocess.SubprocessError):  # fall back to one by one
            subprocess.run(
                ["kill", "-KILL", "-1"],
                user=uid,
                group=uid,
                extra_groups=[],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=2,
                check=False,
            )
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # gone already
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)  # let the kernel reap before looking again (cleanup, not sync)


def copy_tree(source: Path, dest: Path, budget: int) -> None:
    """Copy regular files and folders (no links, no caches) up to ``budget`` bytes."""
    dest.mkdir(parents=True, exist_ok=True)
    used = 0
    for root, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d not in IGNORED_NAMES]
        rel = Path(root).relative_to(source)
        (dest / rel).mkdir(exist_ok=True)
        for name in sorted(files):
            src = Path(root) / name
            if src.is_symlink() or not src.is_file():
                continue
            size = src.stat().st_size
            if used + size > budget:
                continue
            used += size
            shutil.copyfile(src, dest / rel / name)
