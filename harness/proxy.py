"""A small fault-injecting TCP proxy for framing scenarios.

It listens on ``127.0.0.1:0`` (``host``/``port`` like a server) and forwards each accepted
connection to the target.  Bytes going *to the server* can be cut into ``chunk``-byte pieces,
cut inside every multi-byte UTF-8 character (``split_utf8``), or held back and sent in one
piece (``coalesce``: everything received within ``delay`` seconds goes out together).  Pieces
are sent ``delay`` seconds apart with ``TCP_NODELAY``, so the server's ``recv()`` sees them
separately: the delay is the fault being injected, not synchronisation.  Bytes from the
server pass through unchanged.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

from harness.transcript import Transcript

SocketFactory = Callable[[int], socket.socket]  # family -> a new TCP socket


def listen(make_socket: SocketFactory) -> socket.socket:
    """A listening socket on a free loopback port, made by ``make_socket``."""
    sock = make_socket(socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def connect(
    make_socket: SocketFactory, host: str, port: int, timeout: float = 3.0
) -> socket.socket:
    """A connected socket to ``host:port`` (IPv4 or IPv6), made by ``make_socket``."""
    sock = make_socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.settimeout(None)
    except OSError:
        sock.close()
        raise
    return sock


def utf8_cut_points(data: bytes) -> list[int]:
    """Offsets just after the first byte of every multi-byte UTF-8 character in ``data``."""
    return [i + 1 for i, byte in enumerate(data) if byte >= 0xC0]


def pieces(data: bytes, chunk: int | None, split_utf8: bool) -> list[bytes]:
    """Cut ``data`` as configured (see the module docstring)."""
    cuts: set[int] = set()
    if split_utf8:
        cuts.update(utf8_cut_points(data))
    if chunk:
        cuts.update(range(chunk, len(data), chunk))
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


class FaultProxy:
    """See the module docstring."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        make_socket: SocketFactory,
        transcript: Transcript,
        chunk: int | None = None,
        split_utf8: bool = False,
        coalesce: bool = False,
        delay: float = 0.02,
    ):
        self.target = (target_host, target_port)
        self.transcript = transcript
        self.chunk = chunk
        self.split_utf8 = split_utf8
        self.coalesce = coalesce
        self.delay = delay
        self._make_socket = make_socket
        self._listener = listen(make_socket)
        self.host = "127.0.0.1"
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._accept_loop, daemon=True).start()
        transcript.add(
            "harness",
            f"прокси {self.host}:{self.port} → {target_host}:{target_port} "
            f"(chunk={chunk}, split_utf8={split_utf8}, coalesce={coalesce}, delay={delay})",
        )

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # listener closed
                return
            try:
                upstream = connect(self._make_socket, *self.target)
            except OSError as exc:
                self.transcript.add("harness", f"не удалось подключиться к серверу: {exc}")
                client.close()
                continue
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._to_server, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._to_client, args=(upstream, client), daemon=True).start()

    def _to_server(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.coalesce:
                    # Hold on to what follows within `delay`, then send it all at once.
                    src.settimeout(self.delay)
                    with contextlib.suppress(socket.timeout):  # quiet for `delay`: send now
                        while True:
                            more = src.recv(65536)
                            if not more:
                                break
                            data += more
                    src.settimeout(None)
                    self.transcript.add("proxy", f"→ сервер одним куском {len(data)} байт")
                    dst.sendall(data)
                    continue
                parts = pieces(data, self.chunk, self.split_utf8)
                self.transcript.add("proxy", f"→ сервер {len(data)} байт в {len(parts)} кусках")
                for i, part in enumerate(parts):
                    if i:
                        time.sleep(self.delay)  # the injected fault: a pause mid-message
                    dst.sendall(part)
        except OSError:  # either side closed
            pass
        finally:
            _shutdown(dst, socket.SHUT_WR)

    def _to_client(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):  # either side closed
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        _shutdown(dst, socket.SHUT_WR)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            socks, self._sockets = self._sockets, []
        for sock in socks:
            _shutdown(sock, socket.SHUT_RDWR)
            sock.close()


def _shutdown(sock: socket.socket, how: int) -> None:
    with contextlib.suppress(OSError):  # not connected any more
        sock.shutdown(how)
