#!/usr/bin/env python3
# Заготовка лабораторной работы «Многопользовательский чат»: ваш рабочий файл.
# Ищите «TODO (часть N)» и дописывайте по частям (см. exercises/README.md);
# программа запускается и без них. Всё, что не помечено TODO, уже готово.
# Для преподавателя: файл создан из reference/server.py командой `python -m harness skeleton`.
"""Multi-user chat server: the reference answer of the chat lab (protocol v1).

    python3 server.py [--host H] [--port P] [--register-timeout S] [--ping-interval S]
                      [--ping-timeout S] [--sendq-bytes N] [--max-clients N]
                      [--max-line-bytes N]

Standard library only; runs on Python 3.6 and newer. The wire protocol is PROTOCOL.md:
one JSON object per line (NDJSON) over TCP. Texts for people are Russian.

What the pieces are (one concern per class)
-------------------------------------------
    LineReader     framing in: buffers bytes, hands out one protocol line at a time
    encode_line()  encoding out: one dict -> one UTF-8 JSON line, built ONCE per message
    Outbox         the write path of one client: bounded queue, non-blocking sends
    Flusher        the one thread that finishes the sends a client could not take at once
    ClientHandler  one connection: setup() / handle() / finish(), do_<type>() per message
    ChatServer     the listener and the registry: users, sessions, pending requests

Threads
-------
    main thread      ChatServer.serve_forever(): accept() loop. Signals land here too;
                     SIGINT/SIGTERM only set a flag and wake the loop.
    reader threads   one per connection, ClientHandler.run(): wait for input, handle
                     each line, repeat. A reader also keeps its own client's clocks
                     (registration deadline, ping, ping timeout): it waits for input
                     with a timeout, so no extra thread is needed for liveness.
    flusher thread   exactly one, Flusher.run(): poll() on the sockets whose outbox is
                     not empty and send more when the kernel accepts more.

The write path
--------------
Every client socket is non-blocking. A sender (any reader thread) encodes a message once
and calls Outbox.send(data) for each receiver. When the receiver's outbox is empty the
bytes go straight to socket.send(), which never waits; whatever the kernel does not take
stays in the outbox and the Flusher sends it later. If an outbox grows past
--sendq-bytes, that client is dropped (leave reason "overflow"). So a client that stops
reading costs the others nothing: nobody ever waits for it.

System calls, not Python, are the cost of a fan-out, so two kinds of sends are batched.
Broadcasts: while a reader thread still has complete lines buffered, its broadcasts are
only queued; once it has handled them all it pushes each receiver's queue in one call
(ClientHandler.flush_batch). Join/leave announcements: queued with send_later() and
pushed by the Flusher, so a burst of joins costs each client one call per Flusher round.
Bytes for one client always leave in the order they were queued, whoever pushes them.

    reader thread of Alice                                     clients
    ----------------------                                     -------
    line -> do_message()
             |  lock: take the tuple of users, unlock
             |  data = encode_line(...)           (once)
             +--> Outbox(Bob).send(data)   ---- socket.send ----> Bob
             +--> Outbox(Carol).send(data) ---- socket.send ----> Carol (slow)
                        | rest -> Carol's outbox
                        v
                  Flusher thread: poll(POLLOUT) ----- socket.send -----> Carol

Shared state and the locks that guard it
----------------------------------------
    ChatServer.lock        the registry lock: connections, users (in join order),
                           sessions, pending session requests, shutting_down.
                           Held for dictionary work only: never while sending, logging
                           or waiting.
    ChatServer.membership_lock
                           serialises joins and leaves together with their
                           announcements, so every user sees join/leave events (and
                           their online_users) in the order the registry changed.
                           Sending under it is fine: sends never wait.
    Outbox.lock            one per client: its queue, its flags, its socket's
                           shutdown() and close().
    Flusher.lock           the set of outboxes with pending output.

    Lock order (always left before right): membership_lock -> ChatServer.lock
    -> Outbox.lock -> Flusher.lock.

A handler's LineReader and clocks belong to its reader thread alone and need no lock.
Only the reader thread closes its socket; other threads wake it with shutdown(), which
makes a waiting reader see end of input. (Closing a descriptor that another thread may
still use is how descriptor-reuse bugs begin.)

Shutdown
--------
request_shutdown() sets a flag and wakes serve_forever(); shutdown() does the same and
waits for the loop to stop. server_close() closes the listener, tells every user
"shutdown", gives the flusher a moment to deliver, hangs up every connection and joins
the threads. `with ChatServer(...) as server:` calls server_close() on the way out.

Knobs
-----
The options above become ChatServer attributes; the rest are class attributes
(request_queue_size, recv_bytes, linger_seconds, shutdown_flush_seconds, ...).
"""

import argparse
import collections
import contextlib
import errno
import io
import itertools
import json
import logging
import os
import re
import select
import signal
import socket
import sys
import threading
import time
import unicodedata
from datetime import datetime

log = logging.getLogger("chat.server")

# Limits from PROTOCOL.md §1 and §2 (the defaults of the options below).
MAX_LINE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 4096
USERNAME_RE = re.compile(r"[\w.\-]{1,32}")  # \w is Unicode-aware: any script's letters


# ---------------------------------------------------------------------------------------
# Wire helpers: waiting for sockets, framing, encoding
# ---------------------------------------------------------------------------------------


def wait_for_io(readable=(), writable=(), timeout=None):
    """Wait until one of the sockets is ready; return the set of ready file descriptors.

    `readable` and `writable` are file descriptors (ints); `timeout` is in seconds or None
    for no limit. Uses poll() where the platform has it (no limit on descriptor numbers,
    which matters with thousands of clients) and select() elsewhere (Windows).
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        for fd in readable:
            poller.register(fd, select.POLLIN)
        for fd in writable:
            poller.register(fd, select.POLLOUT)
        millis = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return {fd for fd, _events in poller.poll(millis)}
    read, write, _ = select.select(list(readable), list(writable), [], timeout)
    return set(read) | set(write)


class LineTooLong(Exception):
    """The peer sent more than max_line_bytes without a newline."""


class ReadTimeout(Exception):
    """No complete line arrived before the deadline."""


class LineReader(object):
    """Split a byte stream into protocol lines (PROTOCOL.md §1).

    Never assumes one recv() is one message: bytes are buffered and split on b"\\n", so
    split segments, coalesced messages, one byte at a time and a UTF-8 character cut in
    two all work. A "\\r" before the "\\n" is dropped; empty lines are skipped. Lines
    stay bytes: the caller decodes a line only once it is complete.
    """

    recv_bytes = 64 * 1024  # how much to ask the kernel for at a time

    def __init__(self, sock, max_line_bytes=MAX_LINE_BYTES):
        self.sock = sock
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._scanned = 0  # bytes of _buffer already known to hold no b"\n"

    def readline(self, deadline=None, before_wait=None):
        """Return the next non-empty line without its line ending, or None at end of input.

        `deadline` is a time.monotonic() value or None. Raises ReadTimeout when it passes
        with no complete line (bytes received so far are kept for the next call),
        LineTooLong for an over-long line, and OSError when the connection breaks.
        `before_wait()`, if given, is called each time no complete line is buffered and
        the reader is about to wait for the socket.
        """
        while True:
            line = self._next_buffered_line()
            if line is not None:
                return line
            if before_wait is not None:
                before_wait()
            if not self._wait_readable(deadline):
                raise ReadTimeout()
            try:
                data = self.sock.recv(self.recv_bytes)
            except BlockingIOError:  # readiness was a false alarm: wait again
                continue
            if not data:
                return None
            self._buffer += data

    def discard_until_eof(self, deadline):
        """Read and drop input until the peer closes or `deadline` passes (lingering close)."""
        try:
            while self._wait_readable(deadline):
                try:
                    if not self.sock.recv(self.recv_bytes):
                        return
                except BlockingIOError:  # false alarm: wait again
                    continue
        except OSError:  # the peer reset the connection: nothing left to drain
            return

    def _wait_readable(self, deadline):
        if deadline is None:
            timeout = None
        else:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return False
        return bool(wait_for_io(readable=[self.sock.fileno()], timeout=timeout))

    def _next_buffered_line(self):
        # TODO (часть 1): Отрежьте от начала self._buffer (bytearray: readline() дописывает в него
        #   всё, что вернул recv()) следующую полную строку — всё до b"\n" — и верните её как bytes
        #   без "\n" и без "\r" перед ним. Пустые строки (из одних пробелов) пропускайте. Полной
        #   строки в буфере нет — верните None: readline() дождётся новых байтов. Строка или хвост
        #   без "\n" длиннее self.max_line_bytes — raise LineTooLong() (это проверяет сценарий
        #   части 5). Не декодируйте здесь: буква UTF-8 может быть разрезана между двумя recv().
        #   self._scanned — необязательная оптимизация: сколько байт буфера уже проверено, в них
        #   "\n" нет.
        return None


def timestamp():
    """Local time to the second, ISO 8601: "2024-01-15T14:30:00"."""
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


def encode_line(message_type, **fields):
    """Build one server message as wire bytes: a JSON object, UTF-8, ending in "\\n".

    Every server message has "type" and "timestamp". Cyrillic goes on the wire as is
    (ensure_ascii=False); NaN and Infinity are refused (allow_nan=False). Encode a message
    once and send the same bytes to every receiver.
    """
    # TODO (часть 1): Соберите объект {"type": message_type, ...fields, "timestamp": timestamp()} и
    #   верните его одной строкой протокола (bytes): json.dumps(..., ensure_ascii=False) + "\n" в
    #   UTF-8. Кодируйте сообщение один раз и отправляйте одни и те же байты всем получателям.
    #   (Заглушка возвращает пустую строку протокола.)
    return b"\n"


def user_key(name):
    """The identity of a name: equal for names that differ only in case or Unicode form."""
    # TODO (часть 1): Ключ имени в словаре пользователей: имена, которые отличаются только
    #   регистром (Bob и bob) или формой записи Unicode, дают один ключ —
    #   unicodedata.normalize("NFC", name), затем .casefold().
    return name


SYSTEM_TEXTS = {
    "welcome": "Добро пожаловать в чат, {}!",
    "join": "{} вошёл в чат",
    "leave": "{} вышел из чата",
    "shutdown": "Сервер завершает работу",
}


def system_line(event, online_users, **fields):
    """A "system" message; `fields` are username (and reason) where the event has them."""
    text = SYSTEM_TEXTS[event].format(fields.get("username"))
    return encode_line("system", event=event, message=text, online_users=online_users, **fields)


SESSION_ENDED_TEXTS = {
    "exit": "{} завершил(а) приватную сессию",
    "disconnect": "{} покинул(а) чат, приватная сессия завершена",
    "shutdown": "Приватная сессия с {} завершена: сервер останавливается",
}


def session_ended_line(by, to, reason):
    """session_ended about the session of handlers `by` (who ended it or left) and `to`."""
    return encode_line(
        "session_ended",
        from_username=by.username,
        to_username=to.username,
        reason=reason,
        message=SESSION_ENDED_TEXTS[reason].format(by.username),
    )


# ---------------------------------------------------------------------------------------
# The write path: Outbox (one per client) and the Flusher (one per server)
# ---------------------------------------------------------------------------------------


class Outbox(object):
    """The bounded, never-waiting send queue of one client.

    send() tries the socket at once when nothing is queued; what the kernel does not take
    is queued and handed to the Flusher. More than `limit` queued bytes is an overflow:
    the queue is dropped and the connection shut down (the reader thread then reports
    leave reason "overflow"). All state is guarded by `lock`.

    Two flags: `accepting` turns False after a final message (nothing more is queued,
    what is queued still goes out); `dead` turns True after an overflow, a send error or
    close() (nothing more is sent at all).
    """

    max_batch = 256  # queued chunks handed to one sendmsg() call (IOV_MAX is 1024 on Linux)

    def __init__(self, sock, flusher, limit):
        self.sock = sock
        self.fd = sock.fileno()
        self.flusher = flusher
        self.limit = limit
        self.lock = threading.Lock()
        self._drained = threading.Condition(self.lock)
        self._chunks = collections.deque()
        self._queued_bytes = 0
        self.accepting = True
        self.dead = False
        self.watched = False  # True while the Flusher has this outbox in its set
        self.overflowed = False
        self.hung_up = False  # set by hang_up(): the server is done with this client
        self.closed = False

    def send(self, data, batch=None):
        """Queue `data` and push as much as the socket takes now. Never waits.

        With a `batch` (a set owned by the calling thread) the data is only queued and
        this outbox is added to the batch; the caller calls flush() later, so that many
        messages to one client can leave in one system call.
        """
        with self.lock:
            if self.accepting:
                self._chunks.append(data)
                self._queued_bytes += len(data)
                if batch is not None:
                    batch.add(self)
                    return
                if not self.watched:  # otherwise the Flusher is already on it
                    self._push_locked()
                self._settle_locked()

    def send_later(self, data, last=False):
        """Queue `data` for the Flusher to send on its next round. Never waits.

        For announcements to everyone (join, leave, shutdown): when many come at once,
        each client gets them all in one system call per Flusher round. `last`: accept
        nothing after this message.
        """
        with self.lock:
            if self.accepting:
                self._chunks.append(data)
                self._queued_bytes += len(data)
                self.accepting = not last
                self._settle_locked()

    def send_last(self, data):
        """Send `data` and accept nothing after it (fatal errors, the shutdown notice)."""
        with self.lock:
            if self.accepting:
                self._chunks.append(data)
                self._queued_bytes += len(data)
                self.accepting = False
                if not self.watched:
                    self._push_locked()
                self._settle_locked()

    def queue(self, data):
        """Queue without touching the socket; the next send() or flush() sends it.

        Safe to call while holding ChatServer.lock (no I/O happens here).
        """
        with self.lock:
            if self.accepting:
                self._chunks.append(data)
                self._queued_bytes += len(data)

    def flush(self):
        """Push queued bytes now (the caller's thread); leftovers go to the Flusher."""
        with self.lock:
            if not self.dead and not self.watched:
                self._push_locked()
            self._settle_locked()

    def flush_for_flusher(self):
        """Called by the Flusher when the socket is writable; True when it is done here."""
        with self.lock:
            if not self.dead:
                self._push_locked()
            if self._chunks and not self.dead:
                return False
            self.watched = False
            self.flusher.forget(self)
            self._drained.notify_all()
            return True

    def wait_drained(self, timeout):
        """Wait up to `timeout` seconds until everything queued was handed to the kernel."""
        with self.lock:
            return self._drained.wait_for(lambda: not self._chunks or self.dead, timeout)

    def hang_up(self):
        """The server is done with this client: shutdown() both ways, waking its reader."""
        with self.lock:
            self.hung_up = True
            self._shutdown_locked(socket.SHUT_RDWR)

    def end_output(self):
        """Send FIN after the bytes already handed to the kernel (for a lingering close)."""
        with self.lock:
            self._shutdown_locked(socket.SHUT_WR)

    def close(self):
        """Close the socket. Only the connection's own reader thread calls this."""
        with self.lock:
            self.closed = True
            self.accepting = False
            self.dead = True
            self._chunks.clear()
            self._queued_bytes = 0
            if self.watched:
                self.watched = False
                self.flusher.forget(self)
            self._drained.notify_all()
            self.sock.close()

    # -- helpers; the caller holds self.lock ------------------------------------------

    def _shutdown_locked(self, how):
        if not self.closed:
            with contextlib.suppress(OSError):  # not connected any more: nothing to do
                self.sock.shutdown(how)

    def _push_locked(self):
        while self._chunks:
            try:
                if len(self._chunks) > 1 and hasattr(self.sock, "sendmsg"):
                    sent = self.sock.sendmsg(list(itertools.islice(self._chunks, self.max_batch)))
                else:
                    sent = self.sock.send(self._chunks[0])
            except BlockingIOError:  # the kernel buffer is full: the Flusher takes over
                return
            except OSError:  # the peer is gone; its reader thread will notice and clean up
                self.accepting = False
                self.dead = True
                self._chunks.clear()
                self._queued_bytes = 0
                return
            self._queued_bytes -= sent
            while sent:
                head = self._chunks[0]
                if len(head) <= sent:
                    sent -= len(head)
                    self._chunks.popleft()
                else:
                    self._chunks[0] = memoryview(head)[sent:]
                    sent = 0

    def _settle_locked(self):
        if self._queued_bytes > self.limit:
            self.overflowed = True
            self.accepting = False
            self.dead = True
            self._chunks.clear()
            self._queued_bytes = 0
            self._drained.notify_all()
            self._shutdown_locked(socket.SHUT_RDWR)  # wakes the reader thread
        elif self._chunks and not self.dead and not self.watched:
            self.watched = True
            self.flusher.watch(self)


class Flusher(object):
    """The one thread that sends what clients could not take immediately.

    It keeps a set of outboxes with queued bytes, waits with poll() until one of their
    sockets is writable, and lets that outbox push more. Outbox.send() adds an outbox
    (watch) and wakes this thread through a socket pair; the outbox removes itself
    (forget) once it is empty or closed. Both are called with the outbox's lock held.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self._outboxes = set()
        self._idle = threading.Condition(self.lock)  # notified when _outboxes empties
        self._wake_pending = False
        self._stopping = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.thread = threading.Thread(target=self.run, name="flusher", daemon=True)

    def watch(self, outbox):
        with self.lock:
            self._outboxes.add(outbox)
            wake, self._wake_pending = not self._wake_pending, True
        if wake:  # one wake-up per round is enough: the next round takes a new snapshot
            self._wake()

    def forget(self, outbox):
        with self.lock:
            self._outboxes.discard(outbox)
            if not self._outboxes:
                self._idle.notify_all()

    def wait_idle(self, timeout):
        """Wait up to `timeout` seconds until no outbox has bytes left to send."""
        with self.lock:
            return self._idle.wait_for(lambda: not self._outboxes, max(0.0, timeout))

    def stop(self, timeout):
        with self.lock:
            self._stopping = True
        self._wake()
        self.thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()

    def run(self):
        while True:
            with self.lock:
                if self._stopping:
                    return
                self._wake_pending = False
                outboxes = list(self._outboxes)
            by_fd = {outbox.fd: outbox for outbox in outboxes}
            try:
                ready = wait_for_io(readable=[self._wake_r.fileno()], writable=list(by_fd))
            except (OSError, ValueError):  # a socket closed since the snapshot: take a new one
                continue
            if self._wake_r.fileno() in ready:
                self._drain_wakeups()
            for fd in ready:
                if fd in by_fd:
                    by_fd[fd].flush_for_flusher()

    def _wake(self):
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:  # the pipe is full, so a wake-up is already pending
            pass
        except OSError:  # closed during shutdown: nobody left to wake
            pass

    def _drain_wakeups(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:  # drained
            pass


# ---------------------------------------------------------------------------------------
# One connection: ClientHandler
# ---------------------------------------------------------------------------------------


class BadMessage(Exception):
    """A field is missing or has the wrong type (error code invalid_message)."""


def text_field(message, name):
    """message[name] as a str, or BadMessage. Lone surrogates ("\\ud800") are refused too:
    they cannot be sent on as UTF-8."""
    value = message.get(name)
    if not isinstance(value, str):
        raise BadMessage("поле «{}» должно быть строкой".format(name))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadMessage("поле «{}» содержит недопустимые символы".format(name)) from None
    return value


def bool_field(message, name):
    value = message.get(name)
    if not isinstance(value, bool):
        raise BadMessage("поле «{}» должно быть true или false".format(name))
    return value


class ClientHandler(object):
    """Serve one connection: setup(), then handle() until it ends, then finish().

    Each client message is dispatched by name to do_<type>(message). Registration comes
    first and is handled by register(). Clocks: before registration the reader waits at
    most until the registration deadline; after it, a silent client gets a ping after
    ping_interval and is dropped ping_timeout later if still silent.
    """

    def __init__(self, sock, address, server):
        self.sock = sock
        self.address = address
        self.server = server
        self.reader = LineReader(sock, server.max_line_bytes)
        self.outbox = Outbox(sock, server.flusher, server.sendq_bytes)
        self.username = None  # set by ChatServer.join() once registered
        self.key = None  # user_key(username)
        self.leave_reason = "quit"
        self.linger = False  # True after a fatal error: deliver it, then close gently
        self.stopping = False
        self.batch = set()  # outboxes with broadcasts queued but not pushed yet
        self.admitted = False  # set by the server before the thread starts (--max-clients)
        now = time.monotonic()
        self.connected_at = now
        self.last_heard = now
        self.ping_sent_at = None
        self.thread = threading.Thread(
            target=self.run, name="reader-{}:{}".format(*address[:2]), daemon=True
        )

    # -- lifecycle --------------------------------------------------------------------

    def run(self):
        try:
            if self.setup():
                self.handle()
        except Exception:  # a bug in this handler must not take the server down
            self.handle_error()
        finally:
            self.finish()

    def setup(self):
        if not self.admitted:
            self.fail("server_full", "Сервер заполнен, попробуйте позже")
            return False
        return True

    def handle(self):
        # An outbox that overflowed or was hung up by the server means "stop reading":
        # checked here too because a peer that keeps sending would keep recv() busy.
        while not (self.stopping or self.outbox.overflowed or self.outbox.hung_up):
            try:
                line = self.reader.readline(self.next_deadline(), self.flush_batch)
            except ReadTimeout:
                self.on_deadline()
                continue
            except LineTooLong:
                limit = self.server.max_line_bytes
                self.fail("line_too_long", "Строка длиннее {} байт".format(limit))
                return
            except OSError:  # connection reset or aborted by the peer
                self.leave_reason = "disconnect"
                return
            if line is None:  # end of input
                return
            # TODO (часть 5): Любая строка от клиента (и pong) — признак жизни: self.last_heard =
            #   time.monotonic(), self.ping_sent_at = None.
            pass
            self.handle_line(line)

    def flush_batch(self):
        """Push what this thread's broadcasts queued: one send per receiver per batch.

        Called when no complete line is left in the input buffer, just before waiting.
        """
        for outbox in self.batch:
            outbox.flush()
        self.batch.clear()

    def finish(self):
        # TODO (часть 5): Медленный клиент: если его очередь отправки переполнилась
        #   (self.outbox.overflowed — Outbox выставляет его сам, когда неотправленного больше
        #   --sendq-bytes), уходит он с причиной "overflow".
        pass
        self.server.leave(self, self.leave_reason)
        self.flush_batch()  # this thread's last broadcasts
        if self.linger:
            deadline = time.monotonic() + self.server.linger_seconds
            self.outbox.wait_drained(self.server.linger_seconds)
            self.outbox.end_output()  # our FIN comes after the error
            self.reader.discard_until_eof(deadline)
        self.outbox.close()

    def handle_error(self):
        log.exception("Ошибка при обслуживании %s", self.describe())
        self.leave_reason = "error"

    # -- clocks -----------------------------------------------------------------------

    def next_deadline(self):
        # TODO (часть 5): Когда истекает ближайший таймер этого соединения (значение
        #   time.monotonic()), или None — ждать без срока. До регистрации — connected_at +
        #   register_timeout (0 — без срока). После — если ping ещё не отправлен, last_heard +
        #   ping_interval, иначе ping_sent_at + ping_timeout (ping_interval 0 — без ping). handle()
        #   ждёт строку до этого срока, а потом вызывает on_deadline(). Пишите вместе с
        #   on_deadline(): без неё поток будет крутиться вхолостую.
        return None

    def on_deadline(self):
        # TODO (часть 5): Срок из next_deadline() прошёл. Не зарегистрировался — фатальная ошибка
        #   registration_timeout (self.fail). Ping ещё не отправлен — отправьте {"type": "ping"}
        #   (encode_line("ping")) и запомните self.ping_sent_at = time.monotonic(). Ping уже был, а
        #   клиент молчит — self.leave_reason = "timeout", self.stopping = True.
        pass

    # -- sending helpers ----------------------------------------------------------------

    def send(self, message_type, **fields):
        self.outbox.send(encode_line(message_type, **fields))

    def error(self, code, text):
        log.info("Ошибка %s для %s: %s", code, self.describe(), text)
        self.send("error", code=code, message=text)

    def fail(self, code, text):
        """Send a fatal error, then end the connection (PROTOCOL.md §4: fatal: true)."""
        log.info("Фатальная ошибка %s для %s: %s", code, self.describe(), text)
        self.outbox.send_last(encode_line("error", code=code, message=text, fatal=True))
        self.leave_reason = "error"
        self.linger = True
        self.stopping = True

    def describe(self):
        where = "{}:{}".format(*self.address[:2])
        return "{} ({})".format(self.username, where) if self.username else where

    # -- incoming messages --------------------------------------------------------------

    def handle_line(self, line):
        # TODO (часть 1): line — одна полная строка (bytes) от LineReader. Декодируйте её из UTF-8
        #   и разберите JSON (json.loads). Не UTF-8 или не JSON — message = None (ниже это станет
        #   ошибкой invalid_json); RecursionError тоже ловите: "[[[[..." глубиной в тысячи уровней.
        message = None
        if not isinstance(message, dict):
            self.error("invalid_json", "Ожидается JSON-объект в одной строке")
            return
        try:
            if self.username is None:
                self.register(message)
            else:
                self.dispatch(message)
        except BadMessage as exc:
            self.error("invalid_message", "Неверное сообщение: {}".format(exc))

    def register(self, message):
        # TODO (часть 5): До регистрации любое сообщение с полем type — ошибка not_registered
        #   (соединение остаётся открытым).
        pass
        # TODO (часть 1): Регистрация: первое сообщение — {"username": ИМЯ}. Возьмите имя через
        #   text_field(message, "username") (нет поля или не строка — BadMessage, handle_line()
        #   ответит invalid_message), приведите к NFC и проверьте USERNAME_RE.fullmatch(): не
        #   подходит — ошибка username_invalid (self.error). Иначе займите имя:
        #   self.server.join(self, name); False — имя занято, ошибка username_taken. После ошибки
        #   соединение остаётся открытым: клиент пробует снова.
        pass

    def dispatch(self, message):
        # TODO (часть 5): Сообщение без type: если в нём есть username — это повторная регистрация,
        #   ошибка already_registered; иначе raise BadMessage (handle_line() ответит
        #   invalid_message).
        pass
        message_type = text_field(message, "type")
        method = getattr(self, "do_" + message_type, None)
        if method is None:
            self.error("unknown_type", "Неизвестный тип сообщения: {}".format(message_type))
            return
        method(message)

    def chat_text(self, message):
        """The text of a chat message, stripped; None (after an error) if out of limits."""
        text = text_field(message, "message").strip()
        # TODO (часть 5): Пустой после strip() текст — ошибка empty_message; длиннее MAX_TEXT_CHARS
        #   символов — message_too_long. В обоих случаях верните None: такое сообщение никуда не
        #   уходит.
        pass
        return text

    def do_message(self, message):
        # TODO (часть 2): Общее сообщение: текст — self.chat_text(message) (None значит, что ошибка
        #   уже отправлена), затем self.server.broadcast(self, text).
        pass

    def do_private(self, message):
        # TODO (часть 3): Личное сообщение: имя адресата — text_field(message, "target_username"),
        #   текст — self.chat_text(message) (None — ошибка уже отправлена). Адресата найдите через
        #   self.find_other() (она сама отвечает unknown_user или self_target и тогда возвращает
        #   None) и отправьте только ему: target.send("private", from_username=self.username,
        #   message=text).
        pass

    def do_session_request(self, message):
        # TODO (часть 4): Запрос сессии к target_username: адресат — self.find_other() (она сама
        #   отвечает unknown_user, self_target). Затем self.server.request_session(self, target);
        #   если она вернула текст отказа — ошибка busy с этим текстом.
        pass

    def do_session_response(self, message):
        # TODO (часть 4): Ответ на запрос сессии: target_username — кто просил (text_field),
        #   accepted — bool_field(message, "accepted"). Примените его:
        #   self.server.answer_session(self, имя, accepted); если она вернула пару (code, text) —
        #   отправьте эту ошибку.
        pass

    def do_session_end(self, message):
        # TODO (часть 4): Выход из сессии: self.server.end_session(self, "exit"); если сессии не
        #   было (False) — ошибка not_in_session.
        pass

    def do_users(self, message):
        # TODO (часть 3): Ответьте только спросившему: users_list с именами в порядке входа
        #   (self.server.user_names()).
        pass

    def do_pong(self, message):
        pass  # the sign of life was already recorded in handle()

    def find_other(self, name):
        """The handler of the online user `name`; None after an error if there is none."""
        # TODO (часть 3): Найдите онлайн-пользователя name через self.server.find_user(). Нет
        #   такого — ошибка unknown_user; это вы сами — ошибка self_target; в обоих случаях верните
        #   None.
        return None


# ---------------------------------------------------------------------------------------
# The server: listener + registry
# ---------------------------------------------------------------------------------------


class ChatServer(object):
    """The listener and the registry of users, sessions and pending session requests.

    Intervals are in seconds; register_timeout or ping_interval 0 turns that clock off,
    max_clients 0 means no limit.

    Use it as
        with ChatServer(("127.0.0.1", 0)) as server:
            print(server.address_text)
            server.serve_forever()          # until shutdown() or request_shutdown()
    """

    handler_class = ClientHandler
    request_queue_size = 1024  # listen() backlog: room for many clients connecting at once
    allow_reuse_address = os.name == "posix"  # restart at once; on Windows it means "steal"
    linger_seconds = 1.0  # after a fatal error: how long to wait for the peer to read it
    shutdown_flush_seconds = 0.5  # on shutdown: how long the goodbye may take to deliver
    accept_error_pause = 0.1  # after accept() fails (e.g. out of descriptors)
    # Thread stack size, 0 = the platform default (8 MiB of address space on Linux, of
    # which only the touched pages cost memory: 10 000 readers take ~250 MB in all).
    # Smaller stacks save address space, but json's C parser recurses on a deeply
    # nested hostile line, and Python 3.13 needs about 2 MiB to fail cleanly there.
    reader_stack_bytes = 0

    def __init__(
        self,
        address,
        register_timeout=30.0,
        ping_interval=30.0,
        ping_timeout=10.0,
        sendq_bytes=1024 * 1024,
        max_clients=0,
        max_line_bytes=MAX_LINE_BYTES,
    ):
        self.register_timeout = register_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.sendq_bytes = sendq_bytes
        self.max_clients = max_clients
        self.max_line_bytes = max_line_bytes

        # The registry; guarded by self.lock (see the module docstring).
        self.lock = threading.Lock()
        self.membership_lock = threading.Lock()
        self.connections = set()  # every admitted ClientHandler, registered or not
        self.users = collections.OrderedDict()  # user_key -> ClientHandler, join order
        self.user_tuple = ()  # the same handlers as a tuple, rebuilt on join/leave
        self.sessions = {}  # user_key -> partner's ClientHandler (both directions)
        self.pending = set()  # (requester key, target key) of unanswered requests
        self.shutting_down = False

        self.flusher = Flusher()
        self._stop_requested = False
        self._serving_stopped = threading.Event()
        self._serving_stopped.set()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.listener = self._listen(address)
        self.address_text = format_address(self.listener.getsockname())

    def _listen(self, address):
        host, port = address
        family, kind, proto, _name, sockaddr = socket.getaddrinfo(
            host, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
        try:
            if self.allow_reuse_address:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(sockaddr)
            listener.listen(self.request_queue_size)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        return listener

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.server_close()

    # -- accepting ----------------------------------------------------------------------

    def serve_forever(self):
        """Accept connections until shutdown is requested; one reader thread each."""
        self._serving_stopped.clear()
        if self.reader_stack_bytes:
            threading.stack_size(self.reader_stack_bytes)
        self.flusher.thread.start()
        listen_fd, wake_fd = self.listener.fileno(), self._wake_r.fileno()
        try:
            while not self._stop_requested:
                ready = wait_for_io(readable=[listen_fd, wake_fd])
                if listen_fd in ready and not self._stop_requested:
                    self._accept()
        finally:
            self._serving_stopped.set()

    def _accept(self):
        try:
            sock, address = self.listener.accept()
        except BlockingIOError:  # another wake-up took it
            return
        except OSError as exc:  # e.g. EMFILE: out of descriptors; keep serving the others
            log.error("Не удалось принять подключение: %s", exc)
            time.sleep(self.accept_error_pause)
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        handler = self.handler_class(sock, address, self)
        handler.admitted = self.admit(handler)  # here, so that accept order decides
        handler.thread.start()

    def request_shutdown(self):
        """Ask serve_forever() to return. Safe from signal handlers and any thread."""
        self._stop_requested = True
        with contextlib.suppress(OSError):  # full (a wake-up is pending) or closed
            self._wake_w.send(b"\0")

    def shutdown(self, timeout=None):
        """Stop serve_forever() and wait for it. Do not call it from that same thread."""
        self.request_shutdown()
        self._serving_stopped.wait(timeout)

    def server_close(self):
        """Close the listener, say goodbye to everyone, close all, join the threads."""
        self.request_shutdown()
        self._serving_stopped.wait(self.shutdown_flush_seconds)
        self.listener.close()
        deadline = time.monotonic() + self.shutdown_flush_seconds
        # Only the registry lock: a join or leave that holds membership_lock may still be
        # announcing to thousands; waiting for it could take longer than the 2 seconds
        # we have. Announcements queued after the goodbye are dropped (send_last).
        # TODO (часть 5): Остановка (Ctrl+C). Под self.lock: если self.shutting_down уже True —
        #   верните (второй вызов); иначе выставьте его и возьмите снимки: пользователи, пары
        #   сессий, все соединения (handlers — ниже их закроют). Без блокировки: каждому в сессии —
        #   session_ended_line(собеседник, он, "shutdown"), затем каждому пользователю одно и то же
        #   system с event "shutdown" (system_line) — через outbox.send_later(), прощание с
        #   last=True: после него в очередь ничего не встанет. Доставит их поток Flusher, ниже его
        #   дожидаются.
        handlers = []
        self.flusher.wait_idle(deadline - time.monotonic())
        # Hanging up wakes each reader, and thousands of woken readers compete with this
        # thread for the GIL: stop at the deadline, the process exit closes the rest.
        deadline = time.monotonic() + self.shutdown_flush_seconds
        for handler in handlers:
            if time.monotonic() > deadline:
                break
            handler.outbox.hang_up()
        self.flusher.stop(max(0.0, deadline - time.monotonic()))
        for handler in handlers:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break  # daemon threads: they end with the process
            handler.thread.join(remaining)
        self._wake_r.close()
        self._wake_w.close()
        log.info("Сервер остановлен, закрыто подключений: %d", len(handlers))

    # -- the registry -------------------------------------------------------------------

    def admit(self, handler):
        """Count a new connection in; False if --max-clients is reached or we are stopping."""
        with self.lock:
            full = self.max_clients and len(self.connections) >= self.max_clients
            if full or self.shutting_down:
                return False
            self.connections.add(handler)
            return True

    def join(self, handler, name):
        """Register `handler` as user `name`; False if the name is taken.

        The welcome is queued while the registry lock is held, so it reaches the new user
        before anything another thread sends it after the lock is released.
        """
        # TODO (часть 1): Зарегистрируйте handler под именем name атомарно: проверка «имя свободно»
        #   и занятие — под одним захватом self.lock, иначе два одинаковых имени проскочат
        #   одновременно. Ключ — user_key(name); занято — верните False. Иначе запишите
        #   handler.username и handler.key, добавьте handler в self.users (OrderedDict: порядок
        #   входа) и пересоберите self.user_tuple. Приветствие (system_line с event "welcome" и
        #   online_users) поставьте новичку в очередь ещё под self.lock — handler.outbox.queue(),
        #   там нет ввода-вывода, — чтобы оно пришло раньше всего остального; после блокировки —
        #   handler.outbox.flush(). Остальным — join через self._announce(others, ...). Всё это —
        #   внутри self.membership_lock: тогда все видят входы и выходы в одном порядке. Под
        #   self.lock не отправляйте и не ждите. (Часть 5: если self.shutting_down —
        #   handler.stopping = True и верните True, ничего не занимая.) Верните True и запишите
        #   вход в журнал (log.info).
        return False

    def leave(self, handler, reason):
        """Forget a connection; if it was a user, end its session and announce the leave."""
        with self.membership_lock:
            with self.lock:
                self.connections.discard(handler)
                # TODO (часть 2): Соединение закрылось (вызывает finish() его потока). Если это не
                #   зарегистрированный пользователь (handler.key is None или в self.users под его
                #   ключом другой) — просто верните. Иначе удалите его из self.users и пересоберите
                #   self.user_tuple — всё под self.lock, как в join().
                return
                # TODO (часть 4): Уходящий больше не ждёт ответов и не ждут его: уберите из
                #   self.pending все пары с handler.key. Если он был в сессии, удалите её из
                #   self.sessions в обе стороны и запомните собеседника в partner (иначе partner =
                #   None).
                partner = None
                if self.shutting_down:
                    return
                online = len(self.users)
                others = self.user_tuple
            # TODO (часть 4): Собеседнику (если был) — session_ended с reason "disconnect":
            #   session_ended_line(handler, partner, "disconnect").
            pass
            # TODO (часть 2): Остальным (others, снимок под self.lock) — system с event "leave",
            #   username, reason и online_users: system_line("leave", online, username=...,
            #   reason=reason) через self._announce(). Отправляйте уже без self.lock, но внутри
            #   membership_lock.
            pass
        log.info("Вышел %s (%s), онлайн: %d", handler.describe(), reason, online)

    def find_user(self, name):
        # TODO (часть 3): Обработчик пользователя name или None. Ищите по user_key(name) (без учёта
        #   регистра); словарь читайте под self.lock.
        return None

    def user_names(self):
        # TODO (часть 3): Имена всех пользователей в порядке входа (self.user_tuple); читайте под
        #   self.lock.
        return []

    def broadcast(self, sender, text):
        """Send a chat message to every user but its sender: encoded once, lock not held.

        The bytes join the sender's batch (see ClientHandler.handle): they are queued now
        and pushed when the sender's thread has handled all the lines it has buffered.
        """
        # TODO (часть 2): Разошлите общее сообщение всем пользователям, кроме отправителя. Под
        #   self.lock только возьмите снимок получателей (self.user_tuple — неизменяемый кортеж);
        #   отправляйте уже без блокировки. Закодируйте один раз: encode_line("message",
        #   from_username=sender.username, message=text), и каждому получателю
        #   receiver.outbox.send(data, sender.batch): с batch байты уйдут пачкой, когда поток
        #   отправителя разберёт все принятые строки.
        pass

    @staticmethod
    def _send_all(receivers, data):
        for receiver in receivers:
            receiver.outbox.send(data)

    @staticmethod
    def _announce(receivers, data):
        for receiver in receivers:
            receiver.outbox.send_later(data)

    # -- private sessions (PROTOCOL.md §5) ------------------------------------------------

    def request_session(self, requester, target):
        """Record a request and notify the target; return a refusal text (busy) or None."""
        # TODO (часть 4): Под self.lock: если просящий или адресат уже в сессии (их ключи в
        #   self.sessions) или такой запрос уже ждёт (пара (requester.key, target.key) в
        #   self.pending) — верните текст отказа для ошибки busy. Иначе добавьте пару в
        #   self.pending и, уже без блокировки, отправьте адресату session_request с from_username
        #   и текстом. Верните None.
        return None

    def answer_session(self, responder, requester_name, accepted):
        """Apply an answer; tell both. Return (code, text) when it cannot be applied."""
        # TODO (часть 4): Под self.lock: найдите просящего (self.users по user_key) и проверьте,
        #   что пара (его ключ, responder.key) ждёт в self.pending, иначе верните
        #   ("no_pending_request", текст). При согласии, если кто-то из двоих уже в сессии, верните
        #   ("busy", текст). Уберите запрос из self.pending; при согласии запишите сессию в обе
        #   стороны (self.sessions[ключ одного] = обработчик другого) и уберите встречный запрос.
        #   Без блокировки отправьте обоим одни и те же байты session_accepted или session_rejected
        #   (from_username — просящий, to_username — ответивший) и верните None.
        return None

    def end_session(self, handler, reason):
        """End `handler`'s session and tell both; False if it is in none."""
        # TODO (часть 4): Под self.lock уберите сессию handler из self.sessions в обе стороны;
        #   сессии нет — верните False. Без блокировки отправьте обоим session_ended_line(handler,
        #   partner, reason) и верните True.
        return False


def format_address(sockaddr):
    host, port = sockaddr[:2]
    return "[{}]:{}".format(host, port) if ":" in host else "{}:{}".format(host, port)


# ---------------------------------------------------------------------------------------
# The program
# ---------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Сервер многопользовательского чата")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="адрес для прослушивания")
    add("--port", type=int, default=8083, help="порт (0 — выбрать свободный)")
    add("--register-timeout", type=float, default=30.0, help="сколько секунд ждать регистрации")
    add(
        "--ping-interval",
        type=float,
        default=30.0,
        help="через сколько секунд молчания клиента отправить ping",
    )
    add("--ping-timeout", type=float, default=10.0, help="сколько секунд ждать ответа после ping")
    add(
        "--sendq-bytes",
        type=int,
        default=1024 * 1024,
        help="предел неотправленных данных одному клиенту, байт",
    )
    add(
        "--max-clients",
        type=int,
        default=0,
        help="наибольшее число подключений (0 — без ограничения)",
    )
    add(
        "--max-line-bytes",
        type=int,
        default=MAX_LINE_BYTES,
        help="наибольшая длина строки протокола, байт",
    )
    return parser.parse_args(argv)


def utf8_stream(stream):
    """`stream` itself if it writes UTF-8, else a UTF-8 wrapper (Python 3.6 in a C locale)."""
    if (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8":
        return stream
    return io.TextIOWrapper(stream.buffer, encoding="utf-8", line_buffering=True)


def main(argv=None):
    args = parse_args(argv)
    stdout, stderr = utf8_stream(sys.stdout), utf8_stream(sys.stderr)
    logging.basicConfig(
        stream=stderr,
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    try:
        server = ChatServer(
            (args.host, args.port),
            register_timeout=args.register_timeout,
            ping_interval=args.ping_interval,
            ping_timeout=args.ping_timeout,
            sendq_bytes=args.sendq_bytes,
            max_clients=args.max_clients,
            max_line_bytes=args.max_line_bytes,
        )
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", None)):
            problem = "порт {} уже занят".format(args.port)
        else:
            problem = exc.strerror or str(exc)
        print(
            "Ошибка: не удалось открыть {}:{}: {}".format(args.host, args.port, problem),
            file=stderr,
        )
        return 1
    with server:
        for name in ("SIGINT", "SIGTERM"):
            if hasattr(signal, name):
                signal.signal(
                    getattr(signal, name), lambda signum, frame: server.request_shutdown()
                )
        print("Сервер запущен на {}".format(server.address_text), file=stdout, flush=True)
        log.info("Сервер запущен на %s", server.address_text)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
