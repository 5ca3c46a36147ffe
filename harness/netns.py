"""A private network per scenario: a Linux network namespace with only loopback up.

Every scenario gets its own :class:`Network`, so a server that ignores ``--port`` and binds
8083 finds 8083 free in every scenario, two scenarios running at once never see each
other's servers, and nothing a submission starts can reach the machine's network.  The
student's programs join it before ``exec`` (:meth:`Network.join`, from ``preexec_fn``);
the harness's own sockets are created inside it (:meth:`Network.socket`) and used from
the harness's threads as usual.

A namespace is made by a short-lived thread that ``unshare(CLONE_NEWNET)``s itself (a
network namespace is a property of a thread, so the rest of the process stays where it
was), brings ``lo`` up and keeps a descriptor of the namespace; the namespace lives as long
as that descriptor or any process in it.  Needs CAP_SYS_ADMIN (root); :func:`available`
says whether this machine allows it.  Linux only; standard library (ctypes) only.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import os
import socket
import struct
import threading
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
THREAD_NETNS = "/proc/thread-self/ns/net"


class NetworkError(OSError):
    """A namespace could not be made or entered."""


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetworkError(err, f"setns: {os.strerror(err)}")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


# TCP buffers of a private network: loopback normally lets the kernel buffer megabytes for a
# client that does not read, so how soon a server's own send queue overflows would depend on
# how fast the machine is.  With small kernel buffers it depends on the server alone.
TCP_BUFFERS = "4096 16384 131072"


def _small_buffers() -> None:
    """Cap the kernel's TCP buffers in the calling thread's network (per-namespace sysctls)."""
    for name in ("tcp_rmem", "tcp_wmem"):
        try:
            with open(f"/proc/sys/net/ipv4/{name}", "w", encoding="ascii") as f:
                f.write(TCP_BUFFERS)
        except OSError:  # an old kernel without per-namespace buffers: the default stays
            continue


class Network:
    """One private loopback-only network (see the module docstring)."""

    def __init__(self) -> None:
        result: dict[str, object] = {}

        def make() -> None:
            home = os.open(THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc().unshare(CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    result["error"] = NetworkError(err, f"unshare: {os.strerror(err)}")
                    return
                try:
                    _loopback_up()
                    _small_buffers()
                    result["fd"] = os.open(THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
                finally:
                    _setns(home)  # the thread ends anyway; leave it where it came from
            except OSError as exc:
                result["error"] = exc
            finally:
                os.close(home)

        maker = threading.Thread(target=make, name="netns")
        maker.start()
        maker.join()
        if "error" in result:
            raise NetworkError(str(result["error"]))
        fd = result["fd"]
        assert isinstance(fd, int)
        self.fd: int | None = fd
        # A child that closed its inherited descriptors (pexpect does, before preexec_fn)
        # can still reach the namespace through the harness's own descriptor.
        self.path = f"/proc/{os.getpid()}/fd/{fd}"

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Run the body in this network (the current thread only), then come back."""
        if self.fd is None:
            raise NetworkError("сеть сценария уже закрыта")
        home = os.open(THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(self.fd)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A socket that lives in this network (usable from any thread afterwards)."""
        with self.entered():
            return socket.socket(family, kind)

    def join(self) -> None:
        """Move the calling process into this network (for ``preexec_fn``, before ``exec``)."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)

    def read_proc(self, name: str) -> str:
        """``/proc/net/<name>`` as this network sees it (``tcp``, ``tcp6``)."""
        with self.entered(), open(f"/proc/thread-self/net/{name}", encoding="ascii") as f:
            return f.read()

    def close(self) -> None:
        """Let the namespace go (it ends when its last process is gone, too)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@functools.cache
def available() -> str | None:
    """None when this machine allows private networks, else why not (Russian, for reports)."""
    try:
        net = Network()
    except OSError as exc:
        return f"отдельная сеть на сценарий недоступна ({exc})"
    try:
        with net.socket() as s:
            s.bind(("127.0.0.1", 0))
    except OSError as exc:
        return f"в отдельной сети не работает loopback ({exc})"
    finally:
        net.close()
    return None
