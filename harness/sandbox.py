"""Containment of untrusted student code.

What is done, and where it is not possible:

- Every scenario works on its own temporary copy of the submission (``copy_submission``).
- Every student process is started in a new session (so its own process group) with
  ``preexec_fn`` from :meth:`Sandbox.preexec_fn`, which sets rlimits: CPU seconds, address
  space, file size, open files and processes.
- When the harness runs as root, student processes run as a fresh unprivileged uid/gid per
  scenario (no supplementary groups): ``RLIMIT_NPROC`` only binds non-root users, and at the
  end of the scenario *every* process of that uid is killed, also ones that escaped their
  process group with ``setsid``.  As a normal user, students run as that user, ``RLIMIT_NPROC``
  counts all of that user's processes, and only the process groups are killed.
- Output volume is capped by the readers in :mod:`harness.process` (kill on excess).
- :func:`isolate_network` moves the whole grading process into a new network namespace with
  only ``lo`` up (needs root or CAP_SYS_ADMIN); where that fails the report says so and the
  student programs share the machine's network.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import itertools
import os
import resource
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IGNORED_NAMES = ("__pycache__", ".git", ".venv", "venv", ".mypy_cache", ".pytest_cache")


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


_uid_counter = itertools.count()
_uid_lock = threading.Lock()
UID_BASE = 1_000_000


def _allocate_uid() -> int:
    """A uid no other concurrent grading (thread or process) on this machine uses."""
    with _uid_lock:
        slot = next(_uid_counter) % 64
    return UID_BASE + (os.getpid() % 100_000) * 64 + slot


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


def usable_by_others(path: str) -> bool:
    """True when a user with no special rights can reach and execute ``path``."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in real.parents)
    except OSError:
        return False


@functools.cache
def sandbox_python() -> str | None:
    """A Python interpreter an unprivileged uid can run (with its standard library).

    ``sys.executable`` when it lives somewhere world-readable; otherwise (e.g. pyenv under a
    ``0700`` ``/root``) the system's ``python3``; None when there is none.
    """
    if usable_by_others(sys.executable) and usable_by_others(sys.base_prefix):
        return sys.executable
    minor = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for name in (minor, "python3"):
            candidate = os.path.join(folder, name)
            if os.path.exists(candidate) and usable_by_others(candidate):
                return candidate
    return None


class Sandbox:
    """Containment for one scenario run: a uid, a work folder and process cleanup."""

    def __init__(self, limits: Limits | None = None, *, drop_privileges: bool | None = None):
        self.limits = limits or Limits()
        if drop_privileges is None:
            drop_privileges = running_as_root() and sandbox_python() is not None
        self.uid: int | None = _allocate_uid() if drop_privileges else None
        self._groups: list[int] = []
        self._lock = threading.Lock()
        self._work_dirs: list[Path] = []

    # -- processes -------------------------------------------------------------------------
    def python(self, trusted: bool = False) -> str:
        """The interpreter for a program: ``sys.executable``, or one the sandbox uid can run."""
        if trusted or self.uid is None:
            return sys.executable
        return sandbox_python() or sys.executable

    def preexec_fn(self, trusted: bool = False) -> Callable[[], None]:
        """What a child runs before ``exec``: drop to the sandbox uid, then lower rlimits.

        ``trusted`` (reference programs) keeps the harness's uid and only sets the limits.
        """
        limits = self.limits
        uid = None if trusted else self.uid

        def apply() -> None:
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            for res, value in (
                (resource.RLIMIT_CPU, limits.cpu_seconds),
                (resource.RLIMIT_AS, limits.address_space),
                (resource.RLIMIT_FSIZE, limits.file_size),
                (resource.RLIMIT_NOFILE, limits.open_files),
                (resource.RLIMIT_NPROC, limits.processes),
                (resource.RLIMIT_CORE, 0),
            ):
                resource.setrlimit(res, (value, value))

        return apply

    def env(self, home: Path | None = None) -> dict[str, str]:
        """A small, predictable environment for student programs."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MALLOC_ARENA_MAX": "2",  # keep threads' malloc arenas inside RLIMIT_AS
            "TERM": "xterm",
        }
        if home is not None:
            env["HOME"] = str(home)
        return env

    def track_group(self, pgid: int) -> None:
        """Remember a process group to kill at cleanup."""
        with self._lock:
            self._groups.append(pgid)

    def kill_all(self) -> None:
        """Kill every tracked process group and, with a sandbox uid, every process of it."""
        with self._lock:
            groups = list(self._groups)
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
                os.killpg(pgid, signal.SIGKILL)
        if self.uid is not None:
            kill_uid(self.uid)

    # -- files -----------------------------------------------------------------------------
    def copy_submission(self, source: Path) -> Path:
        """A private copy of ``source`` that the sandbox uid owns."""
        work = Path(tempfile.mkdtemp(prefix="chatgrade-"))
        with self._lock:
            self._work_dirs.append(work)
        dest = work / "submission"
        copy_tree(source, dest, self.limits.copy_bytes)
        if self.uid is not None:
            for path in [work, *work.rglob("*")]:
                os.lchown(path, self.uid, self.uid)
        return dest

    def cleanup(self) -> None:
        """Kill what is left and remove the work folders."""
        self.kill_all()
        with self._lock:
            dirs, self._work_dirs = self._work_dirs, []
        for work in dirs:
            shutil.rmtree(work, ignore_errors=True)


def copy_tree(source: Path, dest: Path, budget: int) -> None:
    """Copy regular files and folders (no links, no caches) up to ``budget`` bytes."""
    dest.mkdir(parents=True)
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


def _pids_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if fields["State"].split()[0] == "Z":  # dead, waits for its parent to reap it
                continue
            if int(fields["Uid"].split()[1]) == uid:
                pids.append(int(entry))
        except (OSError, ValueError, IndexError, KeyError):  # ended while we looked
            continue
    return pids


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


_isolation_status: str | None = None


def isolate_network() -> str:
    """Enter a new network namespace with only loopback up; returns a status sentence.

    Must be called before any thread starts (namespaces are per thread; new threads inherit).
    """
    global _isolation_status
    if _isolation_status is not None:
        return _isolation_status
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        _isolation_status = (
            f"сеть не изолирована: unshare(CLONE_NEWNET) не разрешён ({os.strerror(err)}); "
            "студенческие программы видят сеть машины"
        )
        return _isolation_status
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack("16sh22x", b"lo", 0)
            flags = struct.unpack("16sh22x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))
    except OSError as exc:
        _isolation_status = f"сеть изолирована, но loopback не поднят: {exc}"
        return _isolation_status
    _isolation_status = "сеть изолирована: отдельное сетевое пространство, только loopback"
    return _isolation_status


def isolation_status() -> str:
    """What :func:`isolate_network` achieved in this process (or that it was not tried)."""
    return _isolation_status or "сеть не изолирована: изоляция не запрашивалась"
