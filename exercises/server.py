#!/usr/bin/env python3
# Заготовка лабораторной работы «Многопользовательский чат» (условие: lab/README.md).
# Работайте в своей копии папки exercises/ (см. exercises/README.md): тогда обновления
# набора не тронут вашу работу. Ищите «TODO (часть N)» и дописывайте по частям;
# программа запускается и без них. Всё, что не помечено TODO, уже готово, а раздел
# GIVEN CODE в конце файла для работы читать не обязательно.
# Для преподавателя: создан из reference/server.py и lab/tasks.toml командой
# `python -m harness skeleton`, которая не перезапишет файл, если его правили.
# sha256 без этой строки: 06ee7a46f8da5dd473cf7b6c0315e67ddbc1f7dfa358bda4093250df4a4d9839
"""Multi-user chat server of the chat lab (protocol v1).

    python3 server.py [--host H] [--port P] [--register-timeout S] [--ping-interval S]
                      [--ping-timeout S] [--sendq-bytes N] [--max-clients N]
                      [--max-line-bytes N]

Standard library only; runs on Python 3.6 and newer. The protocol is lab/README.md §5
(machine-readable: lab/protocol.json): one JSON object per line (NDJSON) over TCP.
Texts for people are Russian.

What the pieces are (one concern per class)
-------------------------------------------
    LineReader     framing in: buffers bytes, hands out one protocol line at a time
    encode_line()  encoding out: one dict -> one UTF-8 JSON line, built ONCE per message
    ClientHandler  one connection: setup() / handle() / finish(), do_<type>() per message
    ChatServer     the listener and the registry: users, sessions, pending requests
    Outbox         the write path of one client: bounded queue, non-blocking sends
    Flusher        the one thread that finishes the sends a client could not take at once

Outbox and Flusher are given code, fenced off at the end of this file. The rest of the
program queues bytes for a client through its outbox (send, send_later, send_last,
queue, flush) and never waits for a client.

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
--sendq-bytes, that client is dropped (leave reason "overflow", §5.9). So a client that
stops reading costs the others nothing: nobody ever waits for it.

System calls, not Python, are the cost of a fan-out, so two kinds of sends are batched.
Broadcasts: while a reader thread still has complete lines buffered, its broadcasts are
only queued; once it has handled them all it pushes each receiver's queue in one call
(ClientHandler.flush_batch). Join/leave announcements: queued with send_later() and
pushed by the Flusher, so a burst of joins costs each client one call per Flusher round.
Bytes for one client always leave in the order they were queued, whoever pushes them
(§5.10).

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

# Limits from lab/README.md §5.1 and §5.2 (the defaults of the options below).
MAX_LINE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 4096
USERNAME_RE = re.compile(r"[\w.\-]{1,32}")  # \w is Unicode-aware: any script's letters


# ---------------------------------------------------------------------------------------
# Wire helpers: framing, encoding
# ---------------------------------------------------------------------------------------


class LineTooLong(Exception):
    """The peer sent more than max_line_bytes without a newline."""


class ReadTimeout(Exception):
    """No complete line arrived before the deadline."""


class LineReader(object):
    """Split a byte stream into protocol lines (lab/README.md §5.1).

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
        """Cut the next complete line off the front of self._buffer; None if there is none.

        readline() appends whatever recv() returned to self._buffer (a bytearray) and
        calls this before it waits for more. Return the bytes up to the first b"\\n",
        without the "\\n" and without a "\\r" right before it, and remove them (with the
        "\\n") from the buffer. Skip lines that are empty or only whitespace. Raise
        LineTooLong as soon as a line, or a tail still without "\\n", is longer than
        self.max_line_bytes (§5.1: the server must not buffer an endless line). Never
        decode here: a UTF-8 character may be cut between two recv() calls.
        self._scanned is an optional speed-up: how many bytes at the front of the buffer
        are already known to hold no "\\n".
        """
        # TODO (часть 1): Отрежьте от начала self._buffer (bytearray: readline() дописывает в него
        #   всё, что вернул recv()) следующую полную строку — всё до b"\n" — и верните её как bytes
        #   без "\n" и без "\r" перед ним. Пустые строки (из одних пробелов) пропускайте. Полной
        #   строки в буфере нет — верните None: readline() дождётся новых байтов. Строка или хвост
        #   без "\n" длиннее self.max_line_bytes — raise LineTooLong() (это проверяет сценарий части
        #   5). Не декодируйте здесь: буква UTF-8 может быть разрезана между двумя recv().
        #   self._scanned — необязательная оптимизация: сколько байт буфера уже проверено, в них
        #   "\n" нет.
        return None


def timestamp():
    """Local time to the second, ISO 8601: "2024-01-15T14:30:00"."""
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


def encode_line(message_type, **fields):
    """Build one server message as wire bytes: a JSON object, UTF-8, ending in "\\n".

    The object is {"type": message_type, **fields, "timestamp": timestamp()}: every
    server message has "type" and "timestamp" (§5.4). Cyrillic goes on the wire as is
    (ensure_ascii=False), NaN and Infinity are refused (allow_nan=False), and the JSON
    holds no newline, so one message is one line (§5.1). Encode a message once and
    send the same bytes to every receiver.
    """
    # TODO (часть 1): Соберите объект {"type": message_type, ...fields, "timestamp": timestamp()} и
    #   верните его одной строкой протокола (bytes): json.dumps(..., ensure_ascii=False) + "\n" в
    #   UTF-8. Кодируйте сообщение один раз и отправляйте одни и те же байты всем получателям.
    #   (Заглушка возвращает пустую строку протокола.)
    return b"\n"


def user_key(name):
    """The identity of a name: equal for names that differ only in case or Unicode form.

    Alice, alice and ALICE are one name (§5.2): the key is the name in Unicode form NFC,
    then casefold(). The registry (ChatServer.users) is keyed by it.
    """
    # TODO (часть 1): Ключ имени в словаре пользователей: имена, которые отличаются только регистром
    #   (Bob и bob) или формой записи Unicode, дают один ключ — unicodedata.normalize("NFC", name),
    #   затем .casefold().
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

    Everything here runs in the connection's own reader thread, and a handler's state
    belongs to that thread. Other threads only send to it (send() and its outbox) and
    read username and key, which are set once, under ChatServer.lock.
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
            self.heard_from_client()
            self.handle_line(line)

    def flush_batch(self):
        """Push what this thread's broadcasts queued: one send per receiver per batch.

        Called when no complete line is left in the input buffer, just before waiting.
        """
        for outbox in self.batch:
            outbox.flush()
        self.batch.clear()

    def finish(self):
        self.server.leave(self, self.final_leave_reason())
        self.flush_batch()  # this thread's last broadcasts
        if self.linger:
            deadline = time.monotonic() + self.server.linger_seconds
            self.outbox.wait_drained(self.server.linger_seconds)
            self.outbox.end_output()  # our FIN comes after the error
            self.reader.discard_until_eof(deadline)
        self.outbox.close()

    def final_leave_reason(self):
        """The reason in the leave notice once the connection has ended (§5.6).

        finish() calls this after handle() returned. self.leave_reason holds the reason
        handle() and on_deadline() decided ("quit", "disconnect", "timeout", "error").
        A client that read too slowly overrides it: when its outbox overflowed
        (self.outbox.overflowed, set by the Outbox once more than --sendq-bytes were
        waiting), the reason is "overflow" (§5.9).
        """
        # TODO (часть 5): Медленный клиент: если его очередь отправки переполнилась
        #   (self.outbox.overflowed — Outbox выставляет его сам, когда неотправленного больше
        #   --sendq-bytes), верните "overflow"; иначе — self.leave_reason.
        return self.leave_reason

    def handle_error(self):
        log.exception("Ошибка при обслуживании %s", self.describe())
        self.leave_reason = "error"

    # -- clocks (§5.2 registration timeout, §5.8 ping) -----------------------------------

    def heard_from_client(self):
        """Note a sign of life: handle() calls this for every line the client sends.

        Any message counts, not only pong (§5.8): set self.last_heard to
        time.monotonic() and forget an unanswered ping (self.ping_sent_at = None).
        """
        # TODO (часть 5): Любая строка от клиента (и pong) — признак жизни: self.last_heard =
        #   time.monotonic(), self.ping_sent_at = None.
        pass

    def next_deadline(self):
        """When this connection's next clock runs out: a time.monotonic() value, or None.

        handle() waits for a line until then and calls on_deadline() when it passes;
        None means wait without a limit. Before registration: connected_at +
        register_timeout (0 turns the clock off). After it: last_heard + ping_interval
        while no ping is out, ping_sent_at + ping_timeout once one is (ping_interval 0
        turns pings off). The intervals are attributes of self.server, in seconds.
        """
        # TODO (часть 5): Когда истекает ближайший таймер этого соединения (значение
        #   time.monotonic()), или None — ждать без срока. До регистрации — connected_at +
        #   register_timeout (0 — без срока). После — если ping ещё не отправлен, last_heard +
        #   ping_interval, иначе ping_sent_at + ping_timeout (ping_interval 0 — без ping). handle()
        #   ждёт строку до этого срока, а потом вызывает on_deadline(). Пишите вместе с
        #   on_deadline(): без неё поток будет крутиться вхолостую.
        return None

    def on_deadline(self):
        """The deadline next_deadline() gave has passed with no line from the client.

        Not registered yet: the fatal error registration_timeout (self.fail(), §5.2).
        No ping out yet: send {"type": "ping"} and remember when (self.ping_sent_at).
        A ping is out and still no answer: the client is gone (§5.8): set
        self.leave_reason = "timeout" and self.stopping = True, so handle() returns.
        """
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
        """Send a fatal error, then end the connection (§5.5: "fatal": true)."""
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
        """Act on one complete line: a registration first, then messages by type."""
        message = self.parse_line(line)
        if not isinstance(message, dict):
            self.error("invalid_json", "Ожидается JSON-объект в одной строке")
            return
        try:
            if self.username is not None:
                self.dispatch(message)
            elif self.is_registration(message):
                self.register(message)
        except BadMessage as exc:
            self.error("invalid_message", "Неверное сообщение: {}".format(exc))

    @staticmethod
    def parse_line(line):
        """The JSON value on one line (bytes from LineReader, without "\\n"); None if bad.

        Decode the whole line from UTF-8, then json.loads() it. Bytes that are not UTF-8
        or text that is not JSON give None, and so does a line nested thousands of levels
        deep ("[[[[...": json raises RecursionError). handle_line() turns None, and any
        value that is not an object, into the error invalid_json (§5.3).
        """
        # TODO (часть 1): line — одна полная строка (bytes) от LineReader. Декодируйте её из UTF-8 и
        #   разберите JSON (json.loads); верните результат. Не UTF-8 или не JSON — верните None
        #   (handle_line() ответит ошибкой invalid_json); RecursionError тоже ловите: "[[[[..."
        #   глубиной в тысячи уровней.
        return None

    def is_registration(self, message):
        """Whether a message that came before registration may be one (§5.2).

        A registration, {"username": NAME}, has no "type". A message with a "type" gets
        the non-fatal error not_registered: return False, and the connection waits for a
        registration still.
        """
        # TODO (часть 5): До регистрации любое сообщение с полем type — ошибка not_registered
        #   (соединение остаётся открытым): отправьте её и верните False. Без type — это
        #   регистрация, верните True.
        return True

    def register(self, message):
        """Register this connection under the name in `message` (§5.2).

        The name is text_field(message, "username") (missing or not a string:
        BadMessage, which handle_line() answers with invalid_message), put in Unicode
        form NFC. A name USERNAME_RE does not fullmatch() gets the error
        username_invalid; a name self.server.join() finds taken gets username_taken.
        Neither error is fatal: the client may try another name.
        """
        # TODO (часть 1): Регистрация: первое сообщение — {"username": ИМЯ}. Возьмите имя через
        #   text_field(message, "username") (нет поля или не строка — BadMessage, handle_line()
        #   ответит invalid_message), приведите к NFC и проверьте USERNAME_RE.fullmatch(): не
        #   подходит — ошибка username_invalid (self.error). Иначе займите имя:
        #   self.server.join(self, name); False — имя занято, ошибка username_taken. После ошибки
        #   соединение остаётся открытым: клиент пробует снова.
        pass

    def dispatch(self, message):
        message_type = self.message_type(message)
        if message_type is None:
            return
        method = getattr(self, "do_" + message_type, None)
        if method is None:
            self.error("unknown_type", "Неизвестный тип сообщения: {}".format(message_type))
            return
        method(message)

    def message_type(self, message):
        """The "type" of a message from a registered user; None once answered otherwise.

        A message without "type" is either a second registration, {"username": ...},
        which gets the error already_registered (return None), or malformed: raise
        BadMessage, and handle_line() answers invalid_message (§5.3, §5.5). A "type"
        that is not a string is malformed too (text_field() raises BadMessage).
        """
        # TODO (часть 5): Сообщение без type: если в нём есть username — это повторная регистрация,
        #   ошибка already_registered, верните None; иначе raise BadMessage (handle_line() ответит
        #   invalid_message). С type — верните text_field(message, "type").
        return text_field(message, "type")

    def chat_text(self, message):
        """The text of a chat message, stripped; None (after an error) if out of limits.

        The text is text_field(message, "message") with whitespace stripped at both
        ends. Empty after that: the error empty_message; longer than MAX_TEXT_CHARS
        characters: message_too_long (§5.1). Neither is fatal, and such a message goes
        nowhere.
        """
        # TODO (часть 5): Текст — text_field(message, "message") без пробелов по краям (strip).
        #   Пустой после strip() текст — ошибка empty_message; длиннее MAX_TEXT_CHARS символов —
        #   message_too_long. В обоих случаях верните None: такое сообщение никуда не уходит. Иначе
        #   верните текст.
        return text_field(message, "message").strip()

    def do_message(self, message):
        """{"type": "message", "message": TEXT}: to every other user (§5.3).

        The text comes from self.chat_text() (None: the error is already sent); the
        server's broadcast() sends it on.
        """
        # TODO (часть 2): Общее сообщение: текст — self.chat_text(message) (None значит, что ошибка
        #   уже отправлена), затем self.server.broadcast(self, text).
        pass

    def do_private(self, message):
        """{"type": "private", "target_username": NAME, "message": TEXT}: to NAME only.

        The text comes from self.chat_text() (None: the error is already sent), the
        target from self.find_other() (None: unknown_user or self_target already sent).
        The target gets "private" with from_username (this user) and message (§5.3).
        """
        # TODO (часть 3): Личное сообщение: имя адресата — text_field(message, "target_username"),
        #   текст — self.chat_text(message) (None — ошибка уже отправлена). Адресата найдите через
        #   self.find_other() (она сама отвечает unknown_user или self_target и тогда возвращает
        #   None) и отправьте только ему: target.send("private", from_username=self.username,
        #   message=text).
        pass

    def do_session_request(self, message):
        """{"type": "session_request", "target_username": NAME}: offer NAME a session.

        The target comes from self.find_other() (unknown_user, self_target);
        self.server.request_session() records the request and tells the target, or
        returns the (code, text) of the error to send instead (§5.7 step 1).
        """
        # TODO (часть 4): Запрос сессии к target_username: адресат — self.find_other() (она сама
        #   отвечает unknown_user, self_target). Затем self.server.request_session(self, target);
        #   если она вернула пару (code, text) — отправьте эту ошибку (self.error).
        pass

    def do_session_response(self, message):
        """{"type": "session_response", "target_username": NAME, "accepted": BOOL}.

        NAME is who asked (text_field), accepted is bool_field(message, "accepted") (not
        a bool: BadMessage, so invalid_message). self.server.answer_session() applies
        the answer, or returns the (code, text) of the error to send (§5.7 step 3-4).
        """
        # TODO (часть 4): Ответ на запрос сессии: target_username — кто просил (text_field),
        #   accepted — bool_field(message, "accepted"). Примените его:
        #   self.server.answer_session(self, имя, accepted); если она вернула пару (code, text) —
        #   отправьте эту ошибку.
        pass

    def do_session_end(self, message):
        """{"type": "session_end"}: leave the session (§5.7 step 6).

        self.server.end_session(self, "exit") ends it and tells both; when this user is
        in no session it returns False, and the answer is the error not_in_session.
        """
        # TODO (часть 4): Выход из сессии: self.server.end_session(self, "exit"); если сессии не
        #   было (False) — ошибка not_in_session.
        pass

    def do_users(self, message):
        """{"type": "users"}: answer this user only with "users_list" (§5.4).

        The field users lists the names in join order: self.server.user_names().
        """
        # TODO (часть 3): Ответьте только спросившему: users_list с именами в порядке входа
        #   (self.server.user_names()).
        pass

    def do_pong(self, message):
        pass  # the sign of life was already recorded in handle()

    def find_other(self, name):
        """The handler of the online user `name`; None after an error if there is none.

        Look the name up with self.server.find_user() (case-insensitive). Nobody online
        by that name: the error unknown_user; the name is this user's own: self_target.
        Return None in both cases.
        """
        # TODO (часть 3): Найдите онлайн-пользователя name через self.server.find_user(). Нет такого
        #   — ошибка unknown_user; это вы сами — ошибка self_target; в обоих случаях верните None.
        #   Иначе верните его обработчик.
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
        handlers = self.begin_shutdown()
        if handlers is None:
            return  # called before: the goodbye has been said
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

    def begin_shutdown(self):
        """Mark the registry as stopping and queue the goodbyes; return whom to hang up.

        server_close() calls this once the listener is closed, then waits for the Flusher
        to deliver and hangs up every connection this returns (a list of handlers,
        registered or not). Under self.lock: if self.shutting_down is already True, return
        None (a second call); else set it and take snapshots of the users, the session
        pairs and all connections. Lock released: each user in a session gets
        session_ended with reason "shutdown" about its partner, then every user gets the
        same "system" event "shutdown" (§5.7, §5.11). Queue both with outbox.send_later()
        (the Flusher sends them), the goodbye with last=True: nothing is queued after it.
        """
        # TODO (часть 5): Остановка (Ctrl+C). Под self.lock: если self.shutting_down уже True —
        #   верните None (второй вызов); иначе выставьте его и возьмите снимки: пользователи, пары
        #   сессий, все соединения (self.connections — их вернёте, server_close() их закроет). Без
        #   блокировки: каждому в сессии — session_ended_line(собеседник, он, "shutdown"), затем
        #   каждому пользователю одно и то же system с event "shutdown" (system_line) — через
        #   outbox.send_later(), прощание с last=True: после него в очередь ничего не встанет.
        #   Доставит их поток Flusher, server_close() его дождётся.
        return []

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
        """Register `handler` as user `name`; False if the name is taken (§5.2).

        Checking that user_key(name) is free and taking it happen under one hold of
        self.lock, or two clients with the same name could both pass the check. Taking
        it means: handler.username and handler.key set, handler added to self.users (in
        join order) and self.user_tuple rebuilt. The newcomer's welcome ("system" event
        "welcome" with online_users) is queued while self.lock is held
        (handler.outbox.queue() does no I/O), so it reaches the new user before anything
        another thread sends it after the lock is released; handler.outbox.flush() sends
        it once the lock is let go. Everyone else gets the event "join" through
        self._announce(). All of it inside self.membership_lock, so every user sees
        joins and leaves in the same order. While the server is stopping, nobody is
        registered: handler.stopping is set and the answer is True (no error).
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
        #   handler.stopping = True и верните True, ничего не занимая.) Верните True и запишите вход
        #   в журнал (log.info).
        return False

    def leave(self, handler, reason):
        """Forget a connection; if it was a user, end its session and announce the leave."""
        with self.membership_lock:
            with self.lock:
                self.connections.discard(handler)
                if not self.remove_user(handler):
                    return  # never registered: it leaves silently (§5.6)
                partner = self.drop_sessions(handler)
                if self.shutting_down:
                    return  # everyone gets the shutdown notice instead
                online = len(self.users)
                others = self.user_tuple
            if partner is not None:
                partner.outbox.send(session_ended_line(handler, partner, "disconnect"))
            leave_line = system_line("leave", online, username=handler.username, reason=reason)
            self._announce(others, leave_line)
        log.info("Вышел %s (%s), онлайн: %d", handler.describe(), reason, online)

    def remove_user(self, handler):
        """Take a leaving handler out of the registry; False if it was not a user.

        Called by leave() with self.lock held (so no other lock may be taken here, and
        nothing sent). A connection that never registered (handler.key is None), or whose
        key now belongs to another handler, is not a user: return False. Otherwise
        delete it from self.users, rebuild self.user_tuple, as join() does, and return
        True; leave() then tells the others (§5.6).
        """
        # TODO (часть 2): Соединение закрылось; leave() вызывает эту функцию, уже держа self.lock
        #   (здесь его не берите и ничего не отправляйте). Если это не зарегистрированный
        #   пользователь (handler.key is None или в self.users под его ключом другой) — верните
        #   False. Иначе удалите его из self.users, пересоберите self.user_tuple и верните True:
        #   остальным leave() разошлёт уведомление сам.
        return False

    def drop_sessions(self, handler):
        """Forget a leaving user's session requests and session; return its partner or None.

        Called by leave() with self.lock held, right after remove_user(). Every pending
        request to or from the user goes (pairs in self.pending that hold handler.key):
        a user who joins later under the same name must not inherit them (§5.6). If the
        user was in a session, remove it from self.sessions in both directions and return
        the partner's handler; leave() sends the partner session_ended with reason
        "disconnect" (§5.7 step 6).
        """
        # TODO (часть 4): Вызывается из leave() под self.lock. Уходящий больше не ждёт ответов и не
        #   ждут его: уберите из self.pending все пары с handler.key (вошедший потом под тем же
        #   именем не должен получить чужие запросы). Если он был в сессии, удалите её из
        #   self.sessions в обе стороны и верните собеседника (leave() отправит ему session_ended с
        #   reason "disconnect"); иначе верните None.
        return None

    def find_user(self, name):
        """The handler of the online user `name`, or None.

        Look it up by user_key(name), so case and Unicode form do not matter (§5.2);
        read self.users under self.lock.
        """
        # TODO (часть 3): Обработчик пользователя name или None. Ищите по user_key(name) (без учёта
        #   регистра); словарь читайте под self.lock.
        return None

    def user_names(self):
        """The names of all users online, in join order (the users field of users_list).

        Read self.user_tuple under self.lock.
        """
        # TODO (часть 3): Имена всех пользователей в порядке входа (self.user_tuple); читайте под
        #   self.lock.
        return []

    def broadcast(self, sender, text):
        """Send a chat message to every user but its sender: encoded once, lock not held.

        Under self.lock take only the snapshot of receivers (self.user_tuple, an immutable
        tuple); send after the lock is released. Encode once, encode_line("message",
        from_username=..., message=text), and hand the same bytes to each receiver's
        receiver.outbox.send(data, sender.batch): with the batch they are queued now and
        pushed when the sender's thread has handled all the lines it has buffered (see
        ClientHandler.flush_batch). No echo to the sender (§5.3).
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

    # -- private sessions (lab/README.md §5.7) -------------------------------------------

    def request_session(self, requester, target):
        """Record a session request and tell its target; None, or the (code, text) of an error.

        Both are handlers of users (ClientHandler.find_other() found the target). Under
        self.lock: refuse with "busy" when either of them is in a session (its key in
        self.sessions) or the same request already waits ((requester.key, target.key) in
        self.pending), and with "unknown_user" when the target has left since it was
        found: its requests were dropped with it and must not come back. Otherwise add
        the pair to self.pending. Lock released: send the target "session_request" with
        from_username and a text (§5.7 step 1-2).
        """
        # TODO (часть 4): Под self.lock: если адресата уже нет среди пользователей
        #   (self.users.get(target.key) is not target — он вышел, пока его искали) — верните
        #   ("unknown_user", текст). Если просящий или адресат уже в сессии (их ключи в
        #   self.sessions) или такой запрос уже ждёт (пара (requester.key, target.key) в
        #   self.pending) — верните ("busy", текст). Иначе добавьте пару в self.pending и, уже без
        #   блокировки, отправьте адресату session_request с from_username и текстом. Верните None.
        return None

    def answer_session(self, responder, requester_name, accepted):
        """Apply an answer to a session request; None, or the (code, text) of an error.

        Under self.lock: find the requester (self.users by user_key(requester_name)) and
        check that (its key, responder.key) waits in self.pending, else
        "no_pending_request". A yes while either of them is in a session is "busy".
        Otherwise the request leaves self.pending; a yes records the session in both
        directions (self.sessions[one's key] = the other's handler) and drops the
        opposite request, if any. Lock released: both get the same bytes,
        "session_accepted" or "session_rejected" with from_username (who asked) and
        to_username (who answered) (§5.7 step 3-4).
        """
        # TODO (часть 4): Под self.lock: найдите просящего (self.users по user_key) и проверьте, что
        #   пара (его ключ, responder.key) ждёт в self.pending, иначе верните ("no_pending_request",
        #   текст). При согласии, если кто-то из двоих уже в сессии, верните ("busy", текст).
        #   Уберите запрос из self.pending; при согласии запишите сессию в обе стороны
        #   (self.sessions[ключ одного] = обработчик другого) и уберите встречный запрос. Без
        #   блокировки отправьте обоим одни и те же байты session_accepted или session_rejected
        #   (from_username — просящий, to_username — ответивший) и верните None.
        return None

    def end_session(self, handler, reason):
        """End `handler`'s session and tell both; False if it is in none.

        Under self.lock remove the session from self.sessions in both directions. Lock
        released: both get the same session_ended_line(handler, partner, reason) (§5.7
        step 6).
        """
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


# =======================================================================================
# GIVEN CODE: the write path (wait_for_io, Outbox, Flusher).
#
# The lab does not ask you to change this section, or even to read it. The code above
# uses it through a few calls on a client's outbox: send(), send_later(), send_last(),
# queue(), flush(). Each one queues bytes for that one client and never waits for it.
# How it works, in Russian: docs/student/given-code.md.
# =======================================================================================


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


if __name__ == "__main__":
    sys.exit(main())
