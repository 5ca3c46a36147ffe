"""A real terminal for a student's client: a pty driven by pexpect, rendered by pyte.

The harness grades what a person would see, not the bytes a program writes.
A :class:`Terminal` starts a program in a pseudo-terminal (with the tty's normal
echo, as an interactive shell would have it), feeds everything the program writes
into a :class:`pyte.Screen`, and lets a scenario type, press Enter or Ctrl+C, and
wait until the rendered screen shows something::

    with Terminal.spawn([sys.executable, "-u", "client.py", "--port", "8083"]) as term:
        term.wait_until(lambda t: t.cursor_line().endswith("Введите имя:"), 5, "вопрос имени")
        term.send_line("alice")
        term.wait_until(lambda t: t.find_line("общий") is not None, 5, "приглашение")

Reading is driven by the waits: ``wait_until`` reads the pty with a select timeout
until the predicate holds or its deadline passes; nothing here sleeps.

Screen model.  The screen is ``rows`` x ``columns`` (40 x 200 by default, so chat
lines do not wrap).  The last ``SCROLLBACK`` lines that scrolled off the top are kept
so that :meth:`Terminal.all_lines` and :meth:`Terminal.find_line` still see them, and
:meth:`Terminal.row` numbers lines so that scrolling does not move them.  The
terminal answers cursor-position and status queries (``ESC [ 6 n``), which line
editors such as prompt_toolkit send.  pyte's parser crashes on a few malformed
sequences; output is fed one escape sequence at a time so that only the bad sequence
is lost.

Containment.  The program runs in its own session (pexpect makes the child a
session leader), so :meth:`Terminal.close` kills the whole process group.  Output
beyond ``output_cap`` bytes kills the program; the transcript of raw output keeps
its start and its end with timestamps (:class:`harness.process.Transcript`).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import select
import signal
import time
import warnings
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable

import pexpect
import pyte
from pyte.screens import Margins
from wcwidth import wcwidth

from harness.transcript import Transcript
from harness.verdict import printable

ROWS = 40
COLUMNS = 200
# Bytes a program may write before it is killed.  pyte renders about 0.3-0.5 MB/s, and a
# chat client in one scenario prints a few KB, so more than this is a runaway program.
OUTPUT_CAP = 256 * 1024
SCROLLBACK = 5000  # lines kept after they scroll off the top
READ_CHUNK = 65536
CLOSE_WAIT = 2.0  # seconds for a SIGKILLed program to be reaped at close
POLL = 0.05  # longest single select(); predicates are re-checked at least this often

TERMINAL_ENV = {
    "TERM": "xterm-256color",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
}

ESC_SPLIT = re.compile(r"(?=\x1b)")
# An escape sequence up to its final byte (CSI), or ESC and one character.
BAD_SEQUENCE = re.compile(r"\x1b(?:\[[^\x40-\x7e]*[\x40-\x7e]?|.)", re.DOTALL)

# transcript stream names
OUTPUT = "tty"
KEYS = "keys"
EVENT = "harness"

Predicate = Callable[["Terminal"], bool]


class TerminalTimeout(AssertionError):
    """``wait_until`` gave up: ``expected`` never showed on the screen in time."""

    def __init__(self, expected: str, screen: str, exited: bool) -> None:
        self.expected = expected
        self.screen = screen
        self.exited = exited
        super().__init__(f"timed out waiting for: {expected}")


def render_line(line: Mapping[int, Any], columns: int) -> str:
    """One pyte buffer line as text, trailing blanks removed.

    Like ``pyte.Screen.display`` but without its assertion on combining
    characters, which a program's odd output must not turn into a crash.
    """
    if not line:
        return ""
    out = []
    skip = False
    for x in range(min(columns, max(line) + 1)):  # pyte lines are sparse dicts
        if skip:
            skip = False
            continue
        data = line[x].data
        out.append(data)
        if data and wcwidth(data[0]) == 2:
            skip = True  # the next cell is the stub of a wide character
    return "".join(out).rstrip()


def runs_on(line: Mapping[int, Any], columns: int) -> bool:
    """True when text fills the last column: the terminal wrapped it onto the next row."""
    cell = line.get(columns - 1) if line else None
    return cell is not None and cell.data.strip() != ""


def join_wrapped(rows: list[tuple[str, bool]]) -> list[str]:
    """Physical rows (text, runs on) joined into the lines a program printed."""
    out: list[str] = []
    carry = ""
    for text, full in rows:
        carry += text
        if not full:
            out.append(carry)
            carry = ""
    if carry:
        out.append(carry)
    return out


class _Screen(pyte.Screen):
    """pyte screen that keeps lines scrolled off the top and answers queries."""

    def __init__(self, columns: int, lines: int, reply: Callable[[str], None], keep: int) -> None:
        # Lines that scrolled off the top.  They are rendered only when asked for (a flood
        # of output stays cheap): pyte drops the line object from its buffer and never
        # touches it again, so keeping the object is safe.
        self._keep = keep
        self._unrendered: list[Mapping[int, Any]] = []
        self._scrolled: deque[str] = deque(maxlen=keep)
        self._scrolled_full: deque[bool] = deque(maxlen=keep)
        self._reply = reply
        self.scrolled_count = 0  # lines that ever scrolled off (the kept ones are the last)
        super().__init__(columns, lines)

    def index(self) -> None:
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0:
            self.scrolled_count += 1
            self._unrendered.append(self.buffer[top])
            if len(self._unrendered) > 2 * self._keep:
                del self._unrendered[: self._keep]
        super().index()

    @property
    def scrolled(self) -> list[str]:
        """The lines that scrolled off the top (oldest first, at most ``keep``)."""
        for line in self._unrendered:
            self._scrolled.append(render_line(line, self.columns))
            self._scrolled_full.append(runs_on(line, self.columns))
        self._unrendered.clear()
        return list(self._scrolled)

    @property
    def scrolled_rows(self) -> list[tuple[str, bool]]:
        """The scrolled lines with whether each ran on into the next."""
        texts = self.scrolled
        return list(zip(texts, self._scrolled_full))

    def write_process_input(self, data: str) -> None:
        self._reply(data)


class Terminal:
    """A program running in a real pty, seen through a rendered screen."""

    def __init__(
        self,
        child: pexpect.spawn,
        *,
        name: str = "terminal",
        rows: int = ROWS,
        columns: int = COLUMNS,
        output_cap: int = OUTPUT_CAP,
        transcript: Transcript | None = None,
    ) -> None:
        self.child = child
        self.name = name
        self.output_cap = output_cap
        self.transcript = transcript or Transcript(name)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.screen = _Screen(columns, rows, self._answer_query, keep=SCROLLBACK)
        self.stream = pyte.Stream(self.screen)  # fed text decoded once in _feed
        self.output_bytes = 0
        self.overflowed = False
        self.eof = False
        self.exit_status: int | None = None
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):  # Linux >= 5.3 only
            self._pidfd = os.pidfd_open(self.pid)

    # -- starting and stopping -----------------------------------------------------------

    @classmethod
    def spawn(
        cls,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
        rows: int = ROWS,
        columns: int = COLUMNS,
        output_cap: int = OUTPUT_CAP,
        preexec_fn: Callable[[], None] | None = None,
        transcript: Transcript | None = None,
        stdin_tty: bool = True,
    ) -> Terminal:
        """Start ``argv`` in a new pty of ``rows`` x ``columns``.

        ``env`` is added to a small clean environment (PATH, HOME); the terminal's own
        variables in ``TERMINAL_ENV`` (TERM, UTF-8 locale, unbuffered Python) always win.
        With ``stdin_tty=False`` the program's stdin is an empty pipe (end of input at
        once) while its output still goes to the terminal.
        """
        full_env = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR") if k in os.environ}
        full_env.update(env or {})
        full_env.update(TERMINAL_ENV)
        argv = list(argv)
        name = name or os.path.basename(argv[-1])
        if not stdin_tty:
            argv = ["/bin/sh", "-c", 'exec "$@" </dev/null', "sh", *argv]
        with warnings.catch_warnings():
            # Python 3.12+ warns on forkpty() in a threaded process; the child only runs
            # preexec_fn (setuid, setrlimit) and exec, which is safe.
            warnings.filterwarnings(
                "ignore", r"This process .* is multi-threaded", DeprecationWarning
            )
            child = pexpect.spawn(
                argv[0],
                argv[1:],
                cwd=cwd,
                env=full_env,
                echo=True,
                encoding=None,
                dimensions=(rows, columns),
                preexec_fn=preexec_fn,
                timeout=None,
            )
        term = cls(
            child,
            name=name,
            rows=rows,
            columns=columns,
            output_cap=output_cap,
            transcript=transcript,
        )
        term.transcript.add(EVENT, f"$ {' '.join(argv)}   (pid {child.pid}, pty {rows}x{columns})")
        return term

    @property
    def pid(self) -> int:
        pid = self.child.pid
        assert pid is not None, "spawned without a process"
        return pid

    def close(self) -> None:
        """Kill the program's whole process group and release the pty."""
        self.kill()
        self.wait_exit(CLOSE_WAIT)  # reaped here, so ptyprocess need not sleep and retry
        self.child.ptyproc.delayafterclose = 0.0  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, pexpect.ExceptionPexpect):
            self.child.close(force=True)
        self._reap()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keyboard ------------------------------------------------------------------------

    def type(self, text: str) -> None:
        """Type ``text`` without pressing Enter."""
        self._send(text)

    def send_line(self, text: str) -> None:
        """Type ``text`` and press Enter (a real Enter key sends CR)."""
        self._send(text + "\r")

    def ctrl_c(self) -> None:
        self._send("\x03")

    def ctrl_d(self) -> None:
        self._send("\x04")

    def _send(self, text: str) -> None:
        self.transcript.add(KEYS, printable(text))
        try:
            self.child.send(text.encode("utf-8"))
        except OSError as exc:  # the program is gone; the next wait reports it
            self.transcript.add(EVENT, f"ввод не доставлен: {exc}")

    def _answer_query(self, data: str) -> None:
        with contextlib.suppress(OSError):
            self.child.send(data.encode("utf-8"))

    # -- reading -------------------------------------------------------------------------

    def pump(self, timeout: float = 0.0, limit: int | None = None) -> bool:
        """Read what the program wrote within ``timeout`` seconds; False once at EOF.

        ``limit``: read at most about that many bytes (a program that floods the terminal
        is not rendered to its output cap just to take a last look at the screen).
        """
        if self.eof:
            return False
        wait = max(0.0, timeout)
        budget = limit
        while budget is None or budget > 0:
            try:
                data = self.child.read_nonblocking(READ_CHUNK, timeout=wait)
            except pexpect.TIMEOUT:
                return True
            except (pexpect.EOF, OSError):
                self.eof = True
                self.transcript.add(EVENT, "конец вывода")
                return False
            self._feed(data)
            if self.overflowed:
                return False
            if budget is not None:
                budget -= len(data)
            wait = 0.0  # drain whatever else is already there, without waiting again
        return True

    def _feed(self, data: bytes) -> None:
        self.output_bytes += len(data)
        text = self._decoder.decode(data)
        if text:
            self.transcript.add(OUTPUT, printable(text))
        if self.output_bytes > self.output_cap:
            self.overflowed = True
            self.transcript.add(EVENT, f"вывод больше {self.output_cap} байт: процесс остановлен")
            self.kill()
            self.eof = True
            return
        self._render(text)

    def _render(self, text: str) -> None:
        """Feed pyte one escape sequence at a time, surviving sequences that crash it.

        pyte's parser dies on some malformed sequences (selectel/pyte#209: ValueError,
        TypeError).  Cut before every ESC, a crash can only come from the sequence that
        starts a piece: that sequence is dropped, a fresh parser takes the rest.
        """
        for piece in ESC_SPLIT.split(text):
            try:
                self.stream.feed(piece)
            except Exception as exc:  # any crash of pyte's parser, see above
                self.transcript.add(EVENT, f"эмулятор не разобрал {piece[:12]!r}: {exc!r}")
                self.stream = pyte.Stream(self.screen)
                with contextlib.suppress(Exception):  # a second crash: drop the piece
                    self.stream.feed(BAD_SEQUENCE.sub("", piece, count=1))

    def wait_until(
        self,
        predicate: Predicate,
        timeout: float,
        describe: str,
    ) -> None:
        """Read the pty until ``predicate(self)`` holds; raise TerminalTimeout after ``timeout``.

        ``describe`` says in the student's words what should have appeared.
        """
        if not self.poll_until(predicate, timeout):
            raise TerminalTimeout(describe, self.screen_text(), self.eof)

    def poll_until(self, predicate: Predicate, timeout: float) -> bool:
        """Like ``wait_until`` but answer True/False instead of raising."""
        deadline = time.monotonic() + timeout
        self.pump(0.0)
        while True:
            if predicate(self):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not self.pump(min(POLL, remaining)):
                if predicate(self):
                    return True
                if self.eof:
                    return False

    def wait_exit(self, timeout: float) -> int | None:
        """Wait for the program to exit; its status (``-N`` for signal N) or None on timeout.

        All output up to the exit is rendered on the screen first.
        """
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self.pump(min(POLL, max(0.0, deadline - time.monotonic())))
        while self.exit_status is None:
            if self._reap():
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if self._pidfd is not None:
                select.select([self._pidfd], [], [], min(POLL, remaining))
            else:  # no pidfd: poll, exit is not an event we can wait on
                time.sleep(min(0.01, remaining))
        return self.exit_status

    def _reap(self) -> bool:
        if self.exit_status is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # already reaped by pexpect
            self.exit_status = self._pexpect_status()
            return self.exit_status is not None
        if pid == 0:
            return False
        if os.WIFSIGNALED(status):
            self.exit_status = -os.WTERMSIG(status)
        else:
            self.exit_status = os.WEXITSTATUS(status)
        self.child.terminated = True
        self.transcript.add(EVENT, f"процесс завершился, код {self.exit_status}")
        return True

    def _pexpect_status(self) -> int | None:
        if self.child.signalstatus is not None:
            return -int(self.child.signalstatus)
        if self.child.exitstatus is not None:
            return int(self.child.exitstatus)
        return None

    # -- what the screen shows -----------------------------------------------------------

    def lines(self) -> list[str]:
        """The visible screen lines, trailing spaces removed."""
        columns = self.screen.columns
        return [render_line(self.screen.buffer[y], columns) for y in range(self.screen.lines)]

    def all_lines(self) -> list[str]:
        """Lines that scrolled off the top, then the visible screen."""
        return [*self.screen.scrolled, *self.lines()]

    def rows(self) -> list[tuple[str, bool]]:
        """Every physical row (scrolled and visible) with whether it wraps onto the next."""
        columns = self.screen.columns
        buffer = self.screen.buffer
        visible = [
            (render_line(buffer[y], columns), runs_on(buffer[y], columns))
            for y in range(self.screen.lines)
        ]
        return [*self.screen.scrolled_rows, *visible]

    def logical_lines(self) -> list[str]:
        """The lines as the program printed them: rows the terminal wrapped are joined."""
        return join_wrapped(self.rows())

    def cursor_line(self) -> str:
        """The line the cursor is on (where the user is typing), wrapped rows joined.

        On a narrow terminal a long prompt with typed text takes several rows; this is the
        whole of it, as the user reads it.
        """
        columns = self.screen.columns
        buffer = self.screen.buffer
        y = self.screen.cursor.y
        text = render_line(buffer[y], columns)
        while y > 0 and runs_on(buffer[y - 1], columns):
            y -= 1
            text = render_line(buffer[y], columns) + text
        return text

    @property
    def cursor(self) -> tuple[int, int]:
        """(row, column) of the cursor on the visible screen."""
        return self.screen.cursor.y, self.screen.cursor.x

    def row(self) -> int:
        """The cursor line's index in :meth:`all_lines` (stays valid as lines scroll off).

        Take it before typing a command; :meth:`lines_below` then gives what came after.
        """
        return self.screen.scrolled_count + self.screen.cursor.y

    def lines_below(self, row: int) -> list[str]:
        """The lines after ``row`` (a value of :meth:`row`), cursor line included."""
        lines = self.all_lines()
        forgotten = self.screen.scrolled_count - len(self.screen.scrolled)
        return lines[max(0, row + 1 - forgotten) :]

    def lines_above_cursor(self) -> list[str]:
        """Scrolled lines and the visible lines above the cursor line."""
        return [*self.screen.scrolled, *self.lines()[: self.screen.cursor.y]]

    def find_line(self, *substrings: str, lines: Iterable[str] | None = None) -> str | None:
        """The last line containing every substring (case-insensitive), or None."""
        wanted = [s.casefold() for s in substrings]
        candidates = self.logical_lines() if lines is None else list(lines)
        for line in reversed(candidates):
            folded = line.casefold()
            if all(w in folded for w in wanted):
                return line
        return None

    def count_lines(self, *substrings: str) -> int:
        """How many lines (scrolled ones included) contain every substring."""
        wanted = [s.casefold() for s in substrings]
        return sum(all(w in line.casefold() for w in wanted) for line in self.logical_lines())

    def contains(self, text: str) -> bool:
        """Whether ``text`` is anywhere on the screen or in the scrolled lines."""
        folded = text.casefold()
        return any(folded in line.casefold() for line in self.logical_lines())

    def screen_text(self, last: int = 30) -> str:
        """The screen as a person sees it (for feedback): up to ``last`` lines, cursor marked.

        Blank lines at the bottom are left out; the cursor line is marked with ``▸``.
        """
        scrolled = self.screen.scrolled
        visible = self.lines()
        cursor_y = self.screen.cursor.y
        end = max(cursor_y + 1, *(i + 1 for i, line in enumerate(visible) if line), 0)
        rows = [(False, line) for line in scrolled]
        rows += [(i == cursor_y, line) for i, line in enumerate(visible[:end])]
        rows = rows[-last:]
        return "\n".join(("▸ " if mark else "  ") + line for mark, line in rows)
