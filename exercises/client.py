#!/usr/bin/env python3
# Заготовка лабораторной работы «Многопользовательский чат» (условие: lab/README.md).
# Работайте в своей копии папки exercises/ (см. exercises/README.md): тогда обновления
# набора не тронут вашу работу. Ищите «TODO (часть N)» и дописывайте по частям;
# программа запускается и без них. Всё, что не помечено TODO, уже готово, а раздел
# GIVEN CODE в конце файла для работы читать не обязательно.
# Для преподавателя: создан из reference/client.py и lab/tasks.toml командой
# `python -m harness skeleton`, которая не перезапишет файл, если его правили.
# sha256 без этой строки: 78566b36fd99816b6727ee07c7a8fe77d4865cdba77f1546e602d3f4fed0428c
"""Terminal client of the chat lab (Python 3.6+, standard library only).

Run it as ``python client.py --host 127.0.0.1 --port 8083``.  It asks for a name
(``Введите имя: ``), then every line typed goes to the general chat, or to the
partner while a private session is open.  Commands are listed in COMMANDS and
shown by ``/help``.  The protocol is lab/README.md §5 (machine-readable:
lab/protocol.json): one JSON object per line, UTF-8; what the client shows is §6.

Threads::

    main thread                         receiver thread
    -----------                         ---------------
    Terminal.read_line()  <-- prompt     ChatClient.receive_loop()
    ChatClient.handle_line()              splits bytes on b"\\n", decodes JSON,
      commands, plain lines               calls do_<type>(msg): prints the line,
    ChatClient.send()  ----+----------    updates the mode, answers ping
                           |                  |
                     send_lock (one JSON line at a time on the socket)

Shared state and who guards it:

* ``ChatClient.state_lock`` guards the chat state both threads touch:
  ``username``, ``partner`` (the session partner or None), ``pending`` (session
  requests waiting for y/n, oldest first) and the drain counters.
* ``ChatClient.registration`` (a queue) carries the answer to a name from the
  receiver to the main thread: True for ``welcome``, False for an error.
* ``ChatClient.send_lock`` makes each ``sendall`` of one line atomic: the main
  thread sends what the user types, the receiver sends ``pong``.
* The screen belongs to the Terminal (given code, at the end of this file).
  Everything printed goes through ``Terminal.show()``, from either thread: it
  prints above the prompt and keeps the half-typed line.  The Terminal asks
  ``ChatClient.prompt()`` for the prompt of the current mode; when the mode
  changes while the user types, it draws the new prompt by itself, the typed
  text carried over.  When the server is gone, ``Terminal.wake_main()``
  interrupts the main thread's input with ``ServerGone``.

Behaviour decided here (also told by ``/help``):

* Several session requests: they queue up; ``y``/``n`` answers the oldest, then
  the next question is shown again.  While a question waits, any other line or
  command works as usual.
* ``/exit`` leaves the session at once (the prompt changes on the next line);
  the server's ``session_ended`` confirms it.  ``session_ended`` or the
  partner's departure returns to general mode and redraws the prompt.
* A line starting with ``//`` is sent as text with one ``/`` removed.
* The time shown is HH:MM:SS from the server's ``timestamp``; if it is missing
  or malformed, the local clock is shown instead.
* Control characters in received text are shown as U+FFFD, so nobody can send
  escape sequences to other people's terminals.
* Input not from a terminal (a pipe, a file): no prompt, lines are read as they
  come, end of input means ``/quit``.  Before closing, the client makes one
  marker round trip (a ``users`` request whose answer is not shown), so every
  answer to what was sent before is printed first (lab/README.md §5.10).
* Colours only when stdout is a terminal and NO_COLOR is not set
  (https://no-color.org).

Exit status: 0 after ``/quit``, end of input (Ctrl+D) or Ctrl+C; 1 when the
server cannot be reached or goes away (§5.11).
"""

import argparse
import contextlib
import io
import json
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
import unicodedata
from collections import deque

try:
    import readline
except ImportError:  # Windows and minimal builds: the client works, without redraw
    readline = None
try:
    import termios
except ImportError:  # Windows
    termios = None

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8083
NAME_PROMPT = "Введите имя: "
GENERAL_PROMPT = "[общий]> "
SESSION_PROMPT = "[сессия с {partner}]> "

# Restated from lab/protocol.json (client.commands): the client is standalone.
COMMANDS = (
    ("/users", "", "список пользователей онлайн"),
    ("/private", "ИМЯ ТЕКСТ", "разовое личное сообщение"),
    ("/session", "ИМЯ", "предложить приватную сессию"),
    ("/exit", "", "выйти из приватной сессии"),
    ("/help", "", "подсказка по командам"),
    ("/quit", "", "выйти из чата"),
)
ANSWERS_YES = ("y", "yes", "д", "да")
ANSWERS_NO = ("n", "no", "н", "нет")

CONNECT_TIMEOUT = 10.0  # seconds to wait for the TCP connection
DRAIN_TIMEOUT = 3.0  # seconds to wait for the marker answer before closing
GONE_GRACE = 2.0  # seconds the main thread has to end after the server went away
PROMPT_RETRY = 0.05  # seconds between wake-ups until the main thread shows a new prompt
RECV_BYTES = 65536  # bytes asked from recv() at a time
EXIT_OK = 0
EXIT_SERVER_GONE = 1
SERVER_GONE_TEXT = "Соединение с сервером потеряно."

# Display colours (SGR codes); used only when Terminal.colour is true.
DIM, BOLD, RED, YELLOW, MAGENTA, CYAN = "2", "1", "31", "33", "35", "36"

TIME_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")


class ServerGone(Exception):
    """The connection to the server is lost; the message is already on screen."""


class PromptChanged(Exception):
    """The mode changed while input() waited: ask again with the new prompt."""


# ---------------------------------------------------------------- wire helpers


def encode(message):
    """One protocol line (bytes) for a dict: compact JSON, non-ASCII as is, then b"\\n".

    json.dumps(message, ensure_ascii=False) writes Cyrillic as is and never puts a
    newline inside, so one message is one line (lab/README.md §5.1); the line is
    UTF-8.
    """
    # TODO (часть 1): Верните одну строку протокола (bytes): json.dumps(message, ensure_ascii=False)
    #   — кириллица как есть, переводов строки внутри нет — плюс "\n", всё в UTF-8. Одна строка —
    #   одно сообщение (§5.1 условия).
    return b""


def split_lines(buffer, chunk):
    """Append chunk to buffer (a bytearray); return the complete lines it now holds.

    A line may arrive in pieces, several may arrive at once, and a multi-byte
    character may be cut between two recv() calls: only whole lines are decoded.
    Each line is returned as bytes up to its b"\\n", without the "\\n" and without
    a "\\r" before it, and is removed from the buffer; an incomplete tail stays in
    the buffer, which lives from one call to the next (§5.1).
    """
    # TODO (часть 1): Допишите chunk в конец buffer (bytearray живёт между вызовами) и отрежьте от
    #   его начала все полные строки: всё до b"\n", без самого "\n" и без "\r" перед ним. Верните их
    #   списком bytes; неполный хвост остаётся в buffer до следующего recv(). Не декодируйте здесь:
    #   буква UTF-8 может быть разрезана между двумя кусками.
    return []


def decode(line):
    """The JSON object on one line (bytes), or None if it is not one.

    Decode from UTF-8 and json.loads(); bytes that are not UTF-8
    (UnicodeDecodeError is a ValueError too), text that is not JSON and JSON that
    is not an object all give None.
    """
    # TODO (часть 1): Декодируйте строку из UTF-8 и разберите JSON (json.loads). Верните dict; если
    #   байты не UTF-8, это не JSON или не объект — верните None (UnicodeDecodeError, как и ошибка
    #   json, — подкласс ValueError).
    return None


# ------------------------------------------------------------- display helpers


def clock(timestamp):
    """HH:MM:SS from the server's ISO timestamp; the local time if there is none."""
    found = TIME_RE.search(timestamp) if isinstance(timestamp, str) else None
    return found.group(0) if found else time.strftime("%H:%M:%S")


def clean(value):
    """Text safe to print: control characters (escape sequences too) become U+FFFD.

    Newlines are kept (a multi-line message shows as several lines), tabs become
    spaces.
    """
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n").replace("\t", "    ")
    return "".join(
        "\ufffd" if unicodedata.category(ch) == "Cc" and ch != "\n" else ch for ch in text
    )


def same_name(first, second):
    """Names compare as the server compares them: NFC, then casefold."""
    if not isinstance(first, str) or not isinstance(second, str):
        return False
    fold = unicodedata.normalize
    return fold("NFC", first).casefold() == fold("NFC", second).casefold()


def help_text():
    """What /help prints."""
    lines = ["Команды:"]
    for name, args, about in COMMANDS:
        lines.append("  {:<20} — {}".format((name + " " + args).strip(), about))
    lines += [
        "Обычная строка уходит в общий чат, а в приватной сессии — собеседнику.",
        "Строка, начинающаяся с «//», уходит как текст без первой «/».",
        "На запрос приватной сессии ответьте y (да) или n (нет). Если запросов",
        "несколько, ответ относится к самому раннему, затем вопрос о следующем",
        "показывается снова. Пока вопрос ждёт ответа, остальное работает как обычно.",
        "Выход: /quit, Ctrl+C или Ctrl+D.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------- client


class ChatClient(object):
    """One connection to the chat server: registration, input loop, receiver."""

    def __init__(self, sock, terminal=None):
        self.sock = sock
        self.term = terminal or Terminal(self.prompt)
        self.send_lock = threading.Lock()
        self.state_lock = threading.Lock()
        self.username = None  # set by the welcome message
        self.partner = None  # session partner, or None in general mode
        self.pending = deque()  # (requester, question line), oldest first
        self.registration = queue.Queue()  # True: welcome, False: ask again
        self.closing = False  # we are closing: a closed socket is expected
        self.closed = threading.Event()  # set by close(): the main thread is ending
        self.gone = False  # the loss of the server was reported
        self.users_asked = 0  # users requests sent (main thread only)
        self.users_seen = 0  # users_list answers received
        self.drain_mark = None  # the users request whose answer means "all done"
        self.drained = threading.Event()
        self.receiver = threading.Thread(target=self.receive_loop, name="receiver")
        self.receiver.daemon = True

    def prompt(self):
        """(prompt text, colour) for the current mode; the Terminal calls it.

        Before the name is accepted (self.username is None): NAME_PROMPT and no
        colour. In a private session (self.partner is not None):
        SESSION_PROMPT with the partner's name, MAGENTA. Otherwise GENERAL_PROMPT,
        BOLD (§6). Read the state under self.state_lock: the receiver changes it.
        The Terminal redraws the prompt by itself when the answer changes.
        """
        # TODO (часть 4): Приглашение текущего режима. Пока имя не принято — NAME_PROMPT без цвета
        #   (это уже есть в заглушке). В приватной сессии (self.partner не None) —
        #   «[сессия с ИМЯ]> »: верните SESSION_PROMPT с именем собеседника и цвет MAGENTA, иначе
        #   GENERAL_PROMPT и BOLD. Состояние читайте под self.state_lock; когда режим сменится,
        #   Terminal перерисует приглашение сам.
        with self.state_lock:
            if self.username is None:
                return NAME_PROMPT, None
            return GENERAL_PROMPT, BOLD

    # -- main thread

    def run(self):
        """Register, then handle typed lines until /quit or end of input."""
        self.receiver.start()
        if self.register():
            if self.term.interactive:
                self.note("Пишите сообщения; список команд — /help.")
            while True:
                try:
                    line = self.term.read_line()
                except EOFError:
                    break
                if not self.handle_line(line):
                    break
        self.finish()
        return EXIT_OK

    def register(self):
        """Ask for a name until the server welcomes it; False at end of input (§5.2).

        self.term.read_line() reads the name (the Terminal shows NAME_PROMPT while
        self.username is None) and raises EOFError at end of input. An empty name
        gets a local note and the question again. Otherwise send {"username": NAME}
        and wait for the receiver's verdict on self.registration: True (welcome,
        see do_system) or False (an error, see do_error: ask again).
        """
        # TODO (часть 1): Спрашивайте имя, пока сервер его не примет: self.term.read_line()
        #   (приглашение «Введите имя: » Terminal рисует сам, пока self.username is None; EOFError —
        #   конец ввода, верните False). Пустое имя — self.note(...) и спросить снова. Иначе
        #   отправьте {"username": имя} и ждите ответа из очереди self.registration: поток приёма
        #   кладёт туда True (welcome, do_system) или False (ошибка, do_error). True — верните True,
        #   False — спросите снова.
        return True

    def handle_line(self, line):
        """Act on one typed line; False means quit."""
        text = line.strip()
        if not text:
            return True
        answer = self.answer_of(text)
        if answer is not None and self.answer_request(answer):
            return True  # the answer to a session request, not a chat line (§4)
        if text.startswith("//"):
            return self.say(text[1:])
        if text.startswith("/"):
            name, _, args = text.partition(" ")
            command = getattr(self, "cmd_" + name[1:].lower(), None)
            if command is None:
                self.note("Неизвестная команда {}. Список команд — /help.".format(name))
                return True
            return command(args.strip())
        return self.say(text)

    @staticmethod
    def answer_of(text):
        """True for a yes, False for a no, None for anything else."""
        word = text.casefold()
        if word in ANSWERS_YES:
            return True
        if word in ANSWERS_NO:
            return False
        return None

    def answer_request(self, accepted):
        """Answer the oldest pending session request; False if none is pending (§4).

        Under self.state_lock take the oldest (name, question) pair off
        self.pending; none there: return False, and the y/n line is sent as plain
        text. Lock released: send {"type": "session_response", "target_username":
        NAME, "accepted": accepted}, show the next question again if one waits, and
        return True.
        """
        # TODO (часть 4): Ответ y/n на запрос сессии (handle_line() уже понял, что это y или n). Под
        #   self.state_lock возьмите самый ранний запрос из self.pending (очередь пар (имя, строка
        #   вопроса)); очередь пуста — верните False, и строка уйдёт как обычный текст. Уже без
        #   блокировки отправьте {"type": "session_response", "target_username": имя, "accepted":
        #   accepted} и, если в очереди остался следующий запрос, покажите его вопрос снова
        #   (self.term.show). Верните True.
        return False

    def say(self, text):
        """A plain line: to the session partner, or to everyone."""
        if not self.say_in_session(text):
            self.say_to_everyone(text)
        return True

    def say_to_everyone(self, text):
        """Send a plain line to the general chat: {"type": "message", "message": text}."""
        # TODO (часть 2): Обычная строка в общем режиме: отправьте {"type": "message", "message":
        #   text}.
        pass

    def say_in_session(self, text):
        """In a private session, send a plain line to the partner; False if in none.

        Read self.partner under self.state_lock (the receiver changes it). In a
        session the line goes as {"type": "private", "target_username": PARTNER,
        "message": text} (§4, §5.7 step 5).
        """
        # TODO (часть 4): Прочитайте собеседника self.partner под self.state_lock: его меняет поток
        #   приёма. Не в сессии — верните False (строка уйдёт в общий чат). В сессии обычная строка
        #   уходит собеседнику: {"type": "private", "target_username": partner, "message": text};
        #   верните True.
        return False

    def cmd_users(self, args):
        """/users: ask for the users online; do_users_list() shows the answer.

        Send {"type": "users"} and count it in self.users_asked: finish() sends
        one more ``users`` request as its marker and tells that answer from the
        answers to these by the count. Return True (False would mean quit).
        """
        # TODO (часть 3): Увеличьте self.users_asked на 1 и отправьте {"type": "users"}; ответ
        #   users_list покажет do_users_list(). По этому счётчику finish() отличает свой
        #   запрос-маркер от ваших. Верните True.
        return True

    def cmd_private(self, args):
        """/private NAME TEXT (args: all after the command): a one-off private message.

        Without a name or without text: the usage hint self.usage("/private"),
        nothing sent (§4). Otherwise send {"type": "private", "target_username":
        NAME, "message": TEXT}. Return True.
        """
        # TODO (часть 2): /private ИМЯ ТЕКСТ (args — всё после команды): без имени или без текста —
        #   подсказка self.usage("/private"), на сервер ничего не уходит; иначе отправьте {"type":
        #   "private", "target_username": ИМЯ, "message": ТЕКСТ}. Верните True (False значит
        #   «выйти из программы»). Команда нужна уже в части 2: client_display проверяет показ
        #   ошибки на /private несуществующему пользователю.
        return True

    def cmd_session(self, args):
        """/session NAME: offer NAME a private session (§5.7 step 1).

        Exactly one name, else the usage hint self.usage("/session"). Send
        {"type": "session_request", "target_username": NAME} and tell the user
        (self.note) the request is on its way. Return True.
        """
        # TODO (часть 4): /session ИМЯ: ровно одно имя, иначе подсказка self.usage("/session").
        #   Отправьте {"type": "session_request", "target_username": ИМЯ} и скажите пользователю
        #   (self.note), что запрос отправлен. Верните True.
        return True

    def cmd_exit(self, args):
        """/exit: leave the private session (§5.7 step 6).

        Leave it at once, under self.state_lock (self.partner = None: the next line
        already goes to the general chat), and send {"type": "session_end"}; the
        server confirms with session_ended. Not in a session: a local note, nothing
        sent. Return True.
        """
        # TODO (часть 4): /exit: под self.state_lock выйдите из сессии сразу (self.partner = None:
        #   следующая строка уже уходит в общий чат) и отправьте {"type": "session_end"}; сервер
        #   подтвердит это сообщением session_ended. Если вы не в сессии — self.note("Вы не в
        #   приватной сессии."). Верните True.
        return True

    def cmd_help(self, args):
        """/help: show help_text() with self.term.show(); nothing goes to the server."""
        # TODO (часть 3): Покажите подсказку help_text() через self.term.show(); серверу ничего не
        #   отправляйте. Верните True.
        return True

    def cmd_quit(self, args):
        return False

    def usage(self, command):
        for name, args, about in COMMANDS:
            if name == command:
                self.note("Использование: {} {} — {}.".format(name, args, about))
        return True

    def note(self, text):
        """A local line (not from the server)."""
        self.term.show(self.term.paint(YELLOW, "* " + text))

    def send(self, message):
        """Send one message (a dict) as one line; a dead socket means the server is gone.

        self.sock.sendall(encode(message)) under self.send_lock: two threads use
        the socket (the main thread sends what is typed, the receiver sends pong)
        and their lines must not interleave. On OSError call self.report_gone() and
        raise ServerGone: main() then ends the program with status 1.
        """
        # TODO (часть 1): Отправьте encode(message) целиком: self.sock.sendall() под self.send_lock.
        #   Сокетом пользуются два потока (основной шлёт набранное, поток приёма — pong), и их
        #   строки не должны перемешаться. Если сокет сломан (OSError), вызовите self.report_gone()
        #   и бросьте ServerGone(): main() завершит программу с кодом 1.
        pass

    def finish(self):
        """Quit: when input is a pipe, first let the answers to it arrive, then close."""
        if not self.term.interactive and self.username is not None:
            self.users_asked += 1
            with self.state_lock:
                self.drain_mark = self.users_asked
            self.send({"type": "users"})
            self.drained.wait(DRAIN_TIMEOUT)
        self.close()

    def close(self):
        """Close the connection and wait for the receiver to stop printing."""
        self.closing = True
        self.closed.set()
        with contextlib.suppress(OSError):  # already closed by the server
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if self.receiver.is_alive() and self.receiver is not threading.current_thread():
            self.receiver.join(DRAIN_TIMEOUT)

    def report_gone(self):
        """Say once that the server is gone; True if this call said it."""
        with self.state_lock:
            if self.closing or self.gone:
                return False
            self.gone = True
        self.term.show(self.term.paint(RED, SERVER_GONE_TEXT), final=True)
        return True

    # -- receiver thread

    def receive_loop(self):
        """The receiver thread: handle what the server sends until the connection ends."""
        self.read_messages()
        self.drained.set()
        self.connection_ended()

    def read_messages(self):
        """Read the socket until it closes; dispatch each complete line.

        Read self.sock.recv(RECV_BYTES) into one buffer (a bytearray) until recv()
        returns b"" (the connection is closed; an OSError means the same) and hand
        each non-empty line split_lines() returns to self.dispatch(). One recv() is
        not one message: a line may come in pieces, several lines in one (§5.1).
        """
        # TODO (часть 1): Читайте сокет кусками self.sock.recv(RECV_BYTES) в один buffer =
        #   bytearray(), пока recv() не вернёт b"" (сервер закрыл соединение; OSError — то же
        #   самое). Каждую непустую полную строку из split_lines() отдайте self.dispatch(line). Один
        #   recv() — не одно сообщение: строка может прийти частями, а несколько строк — одним
        #   куском.
        pass

    def connection_ended(self):
        """The connection is over: if the server went away, say so and end the program.

        Unless we closed it ourselves, self.report_gone() prints SERVER_GONE_TEXT and
        returns True; then wake the main thread, self.term.wake_main(lost=True), so
        that its read_line() raises ServerGone and main() returns 1 (§5.11). If the
        main thread has not closed the client (the event self.closed) GONE_GRACE
        seconds later, or cannot be woken at all (wake_main() returned False), end
        the process from here: self.term.hard_exit(EXIT_SERVER_GONE).
        """
        # TODO (часть 5): Соединение закончилось. Если закрыли не мы (self.report_gone() вернул True
        #   — он уже напечатал «Соединение с сервером потеряно.»), разбудите основной поток:
        #   self.term.wake_main(lost=True) — его read_line() бросит ServerGone, и main() вернёт 1.
        #   Если за GONE_GRACE секунд основной поток не закрыл клиент (событие self.closed) или его
        #   нельзя разбудить (wake_main() вернул False), завершите процесс сами:
        #   self.term.hard_exit(EXIT_SERVER_GONE).
        pass

    def dispatch(self, line):
        """Call do_<type>(message) for one received line."""
        message = decode(line)
        if message is None:
            self.note("Сервер прислал строку, которая не является JSON-объектом.")
            return
        handler = getattr(self, "do_" + str(message.get("type")), self.do_unknown)
        handler(message)

    def stamp(self, message):
        return self.term.paint(DIM, "[{}]".format(clock(message.get("timestamp"))))

    def field(self, message, name):
        return clean(message.get(name, "?"))

    def system_line(self, message, text):
        """[time] *** text, the look of every server event."""
        return "{} {}".format(self.stamp(message), self.term.paint(CYAN, "*** " + text))

    def do_message(self, message):
        """A chat message: show "[HH:MM:SS] NAME: TEXT" on one line (§6).

        The time is self.stamp(message) (the server's timestamp, not our clock),
        NAME is from_username, TEXT is message; take fields from the server through
        self.field(message, name), which replaces control characters. Print with
        self.term.show().
        """
        # TODO (часть 2): Покажите общее сообщение одной строкой через self.term.show():
        #   «[ЧЧ:ММ:СС] ИМЯ: ТЕКСТ». Время — self.stamp(message) (из timestamp сервера, не из своих
        #   часов), имя — from_username, текст — message. Поля от сервера берите через
        #   self.field(message, имя): он заменяет управляющие символы.
        pass

    def do_private(self, message):
        """A private message: as do_message(), marked: "[HH:MM:SS] [лично] NAME: TEXT"."""
        # TODO (часть 2): Личное сообщение — как do_message(), но с пометкой:
        #   «[ЧЧ:ММ:СС] [лично] ИМЯ: ТЕКСТ».
        pass

    def do_system(self, message):
        """A server event, "system" with event welcome, join, leave or shutdown (§5.4).

        Under self.state_lock: on welcome remember self.username (the field
        username; the prompt becomes GENERAL_PROMPT); on leave call
        self.forget(username), so the leaver's request and session go. Show
        self.system_line(message, text) with " (онлайн: N)" added when the message
        has online_users. After showing the welcome, put True on self.registration:
        register() in the main thread waits for it.
        """
        # TODO (часть 2): Событие сервера (event: welcome, join, leave, shutdown). Под
        #   self.state_lock: на welcome запомните self.username (поле username) — с этого момента
        #   приглашение «[общий]> »; на leave вызовите self.forget(username) (часть 4: его запрос и
        #   сессия пропадают). Покажите self.system_line(message, текст), добавив « (онлайн: N)»,
        #   если есть online_users. После строки welcome положите True в self.registration: этого
        #   ждёт register() в основном потоке.
        pass

    def do_users_list(self, message):
        with self.state_lock:
            self.users_seen += 1
            marker = self.drain_mark is not None and self.users_seen >= self.drain_mark
        if marker:  # the answer to finish()'s marker request: not for the user
            self.drained.set()
            return
        self.show_users_list(message)

    def show_users_list(self, message):
        """Show the answer to /users: "[HH:MM:SS] *** Онлайн (N): Анна, Борис" (§6).

        The names are message["users"] in the server's order (join order), each
        passed through clean(); show them with self.system_line(message, text).
        """
        # TODO (часть 3): Покажите список users в порядке сервера (это порядок входа):
        #   «[ЧЧ:ММ:СС] *** Онлайн (N): Анна, Борис» — self.system_line(message, текст); имена
        #   пропустите через clean().
        pass

    def do_session_request(self, message):
        """Someone (from_username) offers a session: ask "Принять? (y/n)" (§4, §6).

        Show the message's text with the question (self.system_line) and, under
        self.state_lock, append (name, question line) to self.pending; a new request
        from the same person replaces the old one (compare names with same_name()).
        A y/n answers the oldest request: if this one is not the oldest, say so
        (self.note).
        """
        # TODO (часть 4): Запрос сессии от from_username: покажите его текст с вопросом
        #   «Принять? (y/n)» (self.system_line) и под self.state_lock поставьте пару (имя, строка
        #   вопроса) в конец self.pending; повторный запрос того же человека заменяет прежний (имена
        #   сравнивайте same_name()). Ответ y/n относится к самому раннему запросу: если этот не
        #   первый, скажите об этом (self.note).
        pass

    def do_session_accepted(self, message):
        """The session has begun (§5.7 step 4): enter session mode.

        The partner is whichever of from_username and to_username is not us
        (same_name() with self.username). Under self.state_lock set self.partner
        and drop the partner's request from self.pending; then show the message's
        text. The Terminal redraws the prompt ("[сессия с ИМЯ]> ") by itself.
        """
        # TODO (часть 4): Сессия началась. Собеседник — тот из from_username и to_username, кто не
        #   вы (same_name() с self.username). Под self.state_lock запишите его в self.partner и
        #   уберите его запрос из self.pending; покажите текст сообщения. Приглашение
        #   «[сессия с ИМЯ]> » Terminal перерисует сам.
        pass

    def do_session_rejected(self, message):
        """A session request was turned down: forget it and show the message's text.

        Under self.state_lock self.forget(from_username); then show the text.
        """
        # TODO (часть 4): Отказ от сессии: под self.state_lock забудьте запрос
        #   (self.forget(from_username)) и покажите текст сообщения.
        pass

    def do_session_ended(self, message):
        """The session is over (the partner's /exit, their leaving, a shutdown).

        Under self.state_lock self.partner = None: general mode again; then show
        the message's text.
        """
        # TODO (часть 4): Сессия закончилась (/exit собеседника, его уход или остановка сервера):
        #   под self.state_lock self.partner = None — снова общий режим; покажите текст сообщения.
        pass

    def forget(self, name):
        """Drop name's pending request and session (call with state_lock held).

        Remove name's request from self.pending and, if name is the partner, end the
        session (self.partner = None). Compare names with same_name().
        """
        # TODO (часть 4): Вызывается под self.state_lock: уберите из self.pending запрос от name и,
        #   если name — ваш собеседник, закончите сессию (self.partner = None). Имена сравнивайте
        #   same_name().
        pass

    def do_error(self, message):
        """An error from the server: show "[HH:MM:SS] Ошибка: TEXT" (§6).

        TEXT is the field message. While the name is not accepted yet
        (self.username is None, read under self.state_lock) the error answers the
        registration (username_taken, username_invalid): put False on
        self.registration, so that register() asks for a name again.
        """
        # TODO (часть 1): Покажите «[ЧЧ:ММ:СС] Ошибка: ТЕКСТ» (текст — поле message). Если имя ещё
        #   не принято (self.username is None; читайте под self.state_lock), это ответ на
        #   регистрацию (username_taken, username_invalid): положите False в self.registration,
        #   чтобы register() спросил имя снова.
        pass

    def do_ping(self, message):
        """Answer {"type": "pong"} at once and show nothing (§5.8).

        Send it under self.send_lock directly, not through self.send(): the receiver
        thread needs no ServerGone. Ignore OSError: the receive loop sees the closed
        socket by itself.
        """
        # TODO (часть 2): Сразу ответьте {"type": "pong"} и ничего не показывайте. Отправьте сами
        #   под self.send_lock, а не через self.send(): в потоке приёма ServerGone не нужен —
        #   OSError пропустите, цикл приёма сам увидит закрытый сокет.
        pass

    def do_unknown(self, message):
        """A type this client does not know: show its text, if it has one."""
        if isinstance(message.get("message"), str):
            self.term.show(self.system_line(message, clean(message["message"])))


# ------------------------------------------------------------------------ main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Клиент многопользовательского чата.",
        epilog=help_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="показать эту справку и выйти")
    parser.add_argument("--host", default=DEFAULT_HOST, help="адрес сервера")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="порт сервера")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("порт должен быть от 1 до 65535")
    return args


def connect_error(error):
    """Why the connection failed, in plain Russian."""
    if isinstance(error, ConnectionRefusedError):
        return "сервер не принимает подключения (соединение отклонено)"
    if isinstance(error, socket.gaierror):
        return "неизвестный адрес сервера"
    if isinstance(error, socket.timeout):
        return "сервер не ответил вовремя"
    return error.strerror or str(error)


def main(argv=None):
    args = parse_args(argv)
    sys.stdout = _utf8(sys.stdout)
    sys.stdin = _utf8(sys.stdin)
    try:
        sock = socket.create_connection((args.host, args.port), timeout=CONNECT_TIMEOUT)
    except OSError as error:
        print(
            "Не удалось подключиться к {}:{}: {}.".format(
                args.host, args.port, connect_error(error)
            )
        )
        return EXIT_SERVER_GONE
    sock.settimeout(None)
    client = ChatClient(sock)
    try:
        return client.run()
    except KeyboardInterrupt:  # Ctrl+C: a normal way to leave
        client.close()
        return EXIT_OK
    except ServerGone:
        client.close()
        return EXIT_SERVER_GONE


# =======================================================================================
# GIVEN CODE: the terminal (Terminal and its helpers).
#
# The lab does not ask you to change this section, or even to read it. The code above
# uses it through Terminal.read_line(), show(), paint(), wake_main() and hard_exit():
# the prompt stays the last line and keeps what is being typed, whatever arrives
# meanwhile. How it works, in Russian: docs/student/given-code.md.
# =======================================================================================


def display_width(text):
    """Terminal columns text takes: wide (CJK, emoji) 2, combining marks 0, others 1."""
    width = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _readline_point():
    """GNU readline's cursor offset ``rl_point`` (a ctypes int, in bytes) or None.

    The readline module does not expose where the cursor is in the typed line;
    without it the redraw puts the cursor at the end of the line.
    """
    if readline is None or "libedit" in (readline.__doc__ or ""):
        return None
    try:
        import ctypes

        return ctypes.c_int.in_dll(ctypes.CDLL(readline.__file__), "rl_point")
    except (ImportError, OSError, ValueError, AttributeError):  # not GNU readline here
        return None


def _tty_settings(stream):
    """The terminal's settings (termios), to put back if the process must end hard."""
    if termios is None:
        return None
    try:
        return termios.tcgetattr(stream.fileno())
    except (termios.error, OSError, ValueError):  # not a terminal after all
        return None


def _utf8(stream):
    """stream, or a UTF-8 copy of it if its encoding cannot even write Cyrillic.

    Python 3.6 in the C locale reads and writes ASCII only; terminals are UTF-8
    nearly everywhere, so UTF-8 (with "?" for bytes that are not) beats a crash.
    """
    try:
        "ё".encode(stream.encoding or "ascii")
        return stream
    except (LookupError, UnicodeError):
        return io.TextIOWrapper(
            stream.buffer, encoding="utf-8", errors="replace", line_buffering=True
        )


class Terminal(object):
    """The screen and the keyboard: prompt, input, output, colours.

    ChatClient uses read_line() (main thread), show() and paint() (any thread),
    wake_main() and hard_exit() (receiver thread). Three ways to work, chosen once:

    * ``redraw``: stdin and stdout are terminals and readline is there; incoming
      lines go above the prompt and the half-typed line is redrawn below;
    * interactive without readline: the prompt is printed again after a message;
    * not ``interactive`` (stdin is a pipe or a file): no prompt at all.

    Redraw.  ``lock`` guards the screen.  While input() waits, ``shown`` holds
    the prompt on screen; show() then erases the prompt line (``\\r\\x1b[J``,
    after going up if the typed text wraps), prints the message, and redraws the
    prompt with ``readline.get_line_buffer()``, the cursor put back where it was
    (GNU readline's ``rl_point``, read with ctypes; else at the end).  readline
    draws the prompt itself, between its startup hook and its pre-input hook, so
    the lock is held across that drawing (``_PromptHold``): no message can land
    in the middle of a prompt being drawn.

    Mode changes and a lost server interrupt the main thread: the receiver sends
    SIGUSR1 to the main thread (``signal.pthread_kill``).  The handler runs in
    the main thread inside ``input()``; readline restores the terminal and
    ``input()`` raises.  ``PromptChanged`` makes read_line() ask again with the
    new prompt, the typed text carried over; ``ServerGone`` ends the program with
    status 1.  Three details make this safe: the handler blocks SIGUSR1 until
    read_line() has caught its exception (``input()`` checks for signals once
    more while it unwinds); a signal that lands while readline is busy with a key
    is sent again every PROMPT_RETRY seconds until the new prompt is drawn; and
    keys echoed while no prompt is drawn are erased before the next line is
    printed.  If the main thread cannot be interrupted at all (no
    ``pthread_kill`` on Windows) or does not end in time, hard_exit() puts the
    terminal settings saved at start back and ends the process with
    ``os._exit``.
    """

    def __init__(self, prompt_source, stdin=None, stdout=None, environ=None):
        self.stdin = stdin or sys.stdin
        self.out = stdout or sys.stdout
        environ = os.environ if environ is None else environ
        self.prompt_source = prompt_source  # () -> (prompt text, colour or None)
        self.interactive = self.stdin.isatty()
        posix_tty = self.out.isatty() and os.name != "nt"
        self.redraw = readline is not None and self.interactive and posix_tty
        self.colour = posix_tty and not environ.get("NO_COLOR")
        self.lock = threading.Lock()
        self.shown = None  # the prompt text on screen while input() waits
        self.carry = ""  # typed text to put back after PromptChanged
        self.reading = False  # readline waits for keys, the prompt drawn
        self.lost = False
        self._prompt_hold = _PromptHold(self.lock)  # readline's prompt drawn under the lock
        self._restarting = False  # the prompt is drawn again after PromptChanged
        self._woken = False  # _on_wake() raised PromptChanged, not yet caught
        self._saved_tty = _tty_settings(self.stdin) if self.interactive else None
        self._point = _readline_point() if self.redraw else None
        self._main = threading.current_thread().ident
        self._prompt_drawing = None
        can_wake = hasattr(signal, "pthread_kill") and hasattr(signal, "SIGUSR1")
        self._wake_signal = signal.SIGUSR1 if can_wake else None
        if self._wake_signal is not None:
            signal.signal(self._wake_signal, self._on_wake)
        self._hooks = self.redraw and hasattr(readline, "set_pre_input_hook")
        if self._hooks:
            readline.set_startup_hook(self._before_prompt)
            readline.set_pre_input_hook(self._after_prompt)

    # -- colours

    def paint(self, code, text):
        """text in colour code (an SGR number), or plain text without colours."""
        if not self.colour or not text:
            return text
        return "\x1b[{}m{}\x1b[0m".format(code, text)

    def _prompt_for_input(self, text, code):
        """The prompt given to input(); readline needs \\x01..\\x02 around escapes."""
        if not self.colour or code is None:
            return text
        head, sep, tail = text.rpartition("]")
        if not sep:
            return text
        start, end = "\x1b[1;{}m".format(code), "\x1b[0m"
        if self.redraw:
            start, end = "\x01" + start + "\x02", "\x01" + end + "\x02"
        return start + head + sep + end + tail

    # -- input (main thread only)

    def read_line(self):
        """One line typed (or piped), without the newline; EOFError at end of input.

        Raises KeyboardInterrupt on Ctrl+C and ServerGone when the receiver
        reports a lost server.
        """
        if not self.interactive:
            line = self.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\r\n")
        while True:
            if self.lost:  # reported while the prompt was being changed
                raise ServerGone
            text, code = self.prompt_source()
            try:
                return self._input(text, code)
            except PromptChanged:
                # readline keeps the typed line until it starts again: carry it over.
                self.carry = readline.get_line_buffer()
                self._woken = False
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [self._wake_signal])
            except (EOFError, KeyboardInterrupt):
                self.write("\n")  # leave the prompt line, so the shell starts clean
                raise

    def _input(self, text, code):
        self._prompt_drawing = text
        if not self._hooks:
            with self.lock:
                self._clear_stray_keys()
                self.shown = text
            self.reading = True
        try:
            return input(self._prompt_for_input(text, code))
        finally:
            self.reading = False
            self._prompt_hold.release()  # if input() ended between the two hooks
            with self.lock:
                self.shown = None

    # readline calls the two hooks below around its drawing of the prompt: the
    # startup hook, then the prompt (with the text the hook inserted), then the
    # pre-input hook. The screen lock is held from the first to the second.
    # readline ignores exceptions raised in a hook, so _on_wake() raises nothing
    # while a hook runs (self.reading is false until the last line of the second).

    def _before_prompt(self):
        """readline startup hook (main thread): take the screen, restore typed text."""
        self._prompt_hold.acquire()
        self._clear_stray_keys()
        if self.carry:
            readline.insert_text(self.carry)
            self.carry = ""

    def _clear_stray_keys(self):
        """Before a prompt is drawn again: erase keys readline echoed meanwhile."""
        if self._restarting:
            self._restarting = False
            self._write("\r\x1b[K")

    def _after_prompt(self):
        """readline pre-input hook: the prompt is on screen; let messages in."""
        self.shown = self._prompt_drawing
        self._prompt_hold.release()
        self.reading = True

    def _on_wake(self, signum, frame):
        """SIGUSR1 handler, runs in the main thread (see the module docstring)."""
        if not (self.lost or (self.reading and self.redraw)):
            return  # nothing to interrupt: the next input() shows the new prompt
        # input() checks for signals once more while this exception unwinds; a
        # handler run then would find an exception already set (SystemError).
        # So no SIGUSR1 until read_line() has caught the exception.
        signal.pthread_sigmask(signal.SIG_BLOCK, [signum])
        self._woken = True
        if self.lost:
            raise ServerGone
        self._restarting = True
        raise PromptChanged

    # -- output (any thread)

    def write(self, text):
        with self.lock:
            self._write(text)

    def _write(self, text):
        self.out.write(text)
        self.out.flush()

    def show(self, text, final=False):
        """Print text (one or more lines) above the prompt, keeping the typed line.

        final: the program is ending, so the prompt is not drawn again.
        """
        with self.lock:
            restart = self._show(text, final)
        if restart:
            self._ask_for_prompt()

    def _show(self, text, final):
        """show() with self.lock held; True if the main thread must redraw the prompt."""
        if self.shown is None:
            # While a new prompt is awaited, keys typed are echoed on this row
            # (by readline, or by the terminal between two input() calls).
            stray = "\r\x1b[K" if self.redraw and (self.reading or self._restarting) else ""
            self._write(stray + text + "\n")
            return False
        prompt, code = self.prompt_source()
        if not self.redraw:
            # No way to redraw what was typed: print the prompt again below.
            self._write("\n" + text + "\n" + ("" if final else prompt))
            return False
        out = self._erase_input() + text + "\n"
        if final or prompt != self.shown:
            # The typed line is kept by readline; the main thread draws the new
            # prompt with it (PromptChanged), or the program ends.
            self.shown = None
            self._write(out)
            return not final
        self._write(out + self._redraw_input(self._prompt_for_input(prompt, code)))
        return False

    def _typed(self):
        """The typed line split at the cursor: (before, after)."""
        line = readline.get_line_buffer()
        if self._point is None:
            return line, ""
        raw = line.encode("utf-8", "replace")
        point = max(0, min(self._point.value, len(raw)))
        before = raw[:point].decode("utf-8", "ignore")
        return before, line[len(before) :]

    def _columns(self):
        try:
            return max(1, os.get_terminal_size(self.out.fileno()).columns)
        except (OSError, ValueError):  # not a terminal after all
            return 80

    def _erase_input(self):
        """Go to the first row of the prompt and clear from there down."""
        before, _ = self._typed()
        row = (display_width(self.shown) + display_width(before)) // self._columns()
        return ("\x1b[{}A".format(row) if row else "") + "\r\x1b[J"

    def _redraw_input(self, prompt):
        """Prompt and typed text again, the cursor back where it was."""
        before, after = self._typed()
        columns = self._columns()
        cursor = display_width(self.shown) + display_width(before)
        end = cursor + display_width(after)
        out = prompt.replace("\x01", "").replace("\x02", "") + before + after
        if end % columns == 0:
            out += " \b"  # leave the pending-wrap state: go to the next row
        if end != cursor:
            up = end // columns - cursor // columns
            out += "\x1b[{}A".format(up) if up else ""
            out += "\r" + ("\x1b[{}C".format(cursor % columns) if cursor % columns else "")
        return out

    def _ask_for_prompt(self):
        """Wake the main thread to draw the new prompt; again until it has.

        A signal that lands while readline is busy with a key (not waiting in
        select()) or inside a hook is not seen at once, so it is sent again.
        """
        with self.lock:
            waiting = self.reading and self.shown is None and not self._woken
        if waiting and self.wake_main():
            retry = threading.Timer(PROMPT_RETRY, self._ask_for_prompt)
            retry.daemon = True
            retry.start()

    def wake_main(self, lost=False):
        """Interrupt the main thread's input (receiver thread); False if impossible."""
        if lost:
            self.lost = True
        if self._wake_signal is None:
            return False
        with contextlib.suppress(OSError, ValueError):  # main thread already gone
            signal.pthread_kill(self._main, self._wake_signal)
        return True

    def hard_exit(self, status):
        """End the process from any thread: terminal settings back, then os._exit."""
        if self._saved_tty is not None:
            with contextlib.suppress(termios.error):  # the terminal is gone too
                termios.tcsetattr(self.stdin.fileno(), termios.TCSADRAIN, self._saved_tty)
        with contextlib.suppress(OSError, ValueError):
            self.out.flush()
        os._exit(status)


class _PromptHold(object):
    """Terminal.lock held while readline draws the prompt: taken in one hook, let go in another.

    readline has no call that draws the prompt under a lock of ours. It calls the
    startup hook, draws the prompt, then calls the pre-input hook; so the first hook
    acquires, the second releases, and Terminal._input() releases on its way out in
    case input() ended between the two (a signal, Ctrl+C). Main thread only;
    release() without a hold does nothing.
    """

    def __init__(self, lock):
        self._lock = lock
        self._held = False

    def acquire(self):
        self._lock.acquire()
        self._held = True

    def release(self):
        if self._held:
            self._held = False
            self._lock.release()


if __name__ == "__main__":
    sys.exit(main())
