"""What a person sees on a client's screen, and the checks the client scenarios make of it.

The display contract is read from ``lab/protocol.json`` (``client.display``): for each
message, a ``graded`` list of case-insensitive substrings that must all be on ONE screen
line, placeholders filled from the message the client really received.  The waits here
turn a screen that never shows what it should into a :class:`~harness.verdict.Fail` that
carries the screen as it was, and say whether the client is still running.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from harness.protocol import protocol
from harness.terminal import Terminal, TerminalTimeout
from harness.verdict import Fail

WAIT = 3.0  # seconds the screen may take to show what it should
LAST_LOOK = 64 * 1024  # bytes read for a last look at a screen that failed a check
SETTLE = 1.0  # grace for a client that shows its prompt only after the next Enter
TIME_SLACK = 1  # seconds the shown time may differ from the received timestamp (rounding)
TIME_RE = re.compile(r"\b(\d{2}):(\d{2}):(\d{2})\b")

CLIENT = protocol()["client"]
DISPLAY = CLIENT["display"]
NAME_PROMPT = CLIENT["name_prompt"].strip()  # "Введите имя:"
NAME_WORD = "имя"  # enough to know the client asks for the name
GENERAL = DISPLAY["prompt_general"]["graded"]  # ["общий"]
SESSION = DISPLAY["prompt_session"]["graded"]  # ["сесси", "{partner}"]
NEVER = DISPLAY["never_on_screen"]  # ["Traceback"]

REGISTER_HINT = (
    'После ввода имени отправьте {"username": имя} — одна строка JSON в UTF-8 с \\n на конце.'
)
FRAMING_HINT = (
    "Один recv() — не одно сообщение: копите байты в буфере, режьте по b'\\n' "
    "и только потом декодируйте UTF-8 и JSON."
)
TRACEBACK_HINT = (
    "На экране Traceback: клиент упал с исключением. Перехватывайте ошибки сокета "
    "(OSError, ConnectionError) и JSON (ValueError) и сообщайте о них по-человечески."
)


def screens(terms: Sequence[Terminal]) -> str | None:
    """The screens of ``terms`` (each titled with its name when there are several)."""
    shown = []
    for term in terms:
        term.pump(0.0)
        shown.append((term.name, term.screen_text()))
    if len(shown) == 1:
        return shown[0][1]
    return "\n\n".join(f"— {name} —\n{text}" for name, text in shown) or None


def wait_screen(
    term: Terminal,
    predicate: Callable[[Terminal], bool],
    expected: str,
    hint: str,
    timeout: float = WAIT,
) -> None:
    """``term.wait_until`` that fails the scenario with the screen as it was."""
    try:
        term.wait_until(predicate, timeout, expected)
    except TerminalTimeout:
        raise screen_fail(term, expected, hint, timeout) from None


def screen_fail(term: Terminal, expected: str, hint: str, timeout: float = WAIT) -> Fail:
    """A Fail that shows the screen, says whether the client is still running."""
    term.pump(0.0, limit=LAST_LOOK)  # what it printed last (a Traceback, often)
    if term.overflowed:
        got = "клиент напечатал слишком много и был остановлен"
    elif term.eof:
        status = term.wait_exit(0.5)
        got = "клиент завершился" + (f" с кодом {status}" if status is not None else "")
    else:
        got = f"за {timeout:g} с на экране этого нет"
    if any(term.contains(word) for word in NEVER):
        hint = TRACEBACK_HINT + " " + hint
    return Fail(expected, got=got, hint=hint, screen=term.screen_text())


def has_all(line: str, parts: Sequence[str]) -> bool:
    folded = line.casefold()
    return all(part.casefold() in folded for part in parts)


def asks_name(term: Terminal) -> bool:
    """The cursor stands on a line that asks for the name (any wording with «имя»)."""
    return has_all(term.cursor_line(), [NAME_WORD])


def asks_name_again(row: int) -> Callable[[Terminal], bool]:
    """The name question on a line below ``row`` (where the last name was typed)."""
    return lambda term: asks_name(term) and term.row() > row


def at_prompt(term: Terminal) -> bool:
    """The cursor stands on a non-empty line that is not the name question (some prompt)."""
    line = term.cursor_line().strip()
    return bool(line) and not asks_name(term)


def back_at_prompt(term: Terminal, row: int) -> None:
    """Let the client finish with the line typed at ``row``: a prompt below it, or SETTLE.

    A change of mode that arrives while a client is still printing the answer to a command
    and has not yet drawn its next prompt is a race a person never produces by typing.
    """
    term.poll_until(lambda t: at_prompt(t) and t.row() > row, SETTLE)


def check_clean(*terms: Terminal) -> None:
    """No terminal ever showed a Traceback."""
    for term in terms:
        term.pump(0.0)
        for word in NEVER:
            line = term.find_line(word)
            if line is not None:
                raise Fail(
                    f"на экране нет «{word}»",
                    got=line,
                    hint=TRACEBACK_HINT,
                    screen=term.screen_text(),
                )


def clock(timestamp: str) -> str:
    """``2024-01-15T14:30:00`` → ``14:30:00``."""
    return timestamp[11:19]


def seconds_of_day(hms: str) -> int:
    hours, minutes, seconds = (int(x) for x in hms.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def shows_time(line: str, timestamp: str) -> bool:
    """The line has an HH:MM:SS within TIME_SLACK seconds of the server's timestamp."""
    want = seconds_of_day(clock(timestamp))
    for match in TIME_RE.finditer(line):
        diff = abs(seconds_of_day(match.group(0)) - want)
        if min(diff, 86400 - diff) <= TIME_SLACK:
            return True
    return False


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


def fill(template: str, message: dict[str, Any]) -> str:
    """A display template with the message's fields (``{users}`` joined with ', ')."""
    values = _Values(message)
    users = message.get("users")
    if isinstance(users, list):
        values["users"] = ", ".join(users)
        values["count"] = len(users)
    return template.format_map(values)


class Shown:
    """What one message must look like on screen (``client.display.messages[kind]``)."""

    def __init__(self, kind: str, message: dict[str, Any]) -> None:
        spec = DISPLAY["messages"][kind]
        self.kind = kind
        self.reference = fill(spec["reference"].replace("{time}", "{timestamp}"), message)
        self.reference = self.reference.replace(message.get("timestamp", "\0"), "ЧЧ:ММ:СС")
        graded = list(spec["graded"])
        self.timestamp = message.get("timestamp") if "{time}" in graded else None
        self.parts = [fill(g, message) for g in graded if g != "{time}"]
        keys = [k for k in ("{message}", "{users}", "{from_username}") if k in graded]
        self.anchor = fill(keys[0], message) if keys else self.parts[0]
        users = message.get("users")
        self.words = [str(w) for w in (users if isinstance(users, list) else [])]
        self.words += [str(message[k]) for k in ("from_username", "message") if k in message]
        self.absent = list(spec.get("graded_absent", []))

    def problems(self, line: str) -> list[str]:
        """What ``line`` lacks (empty when it shows the message as the contract says)."""
        folded = line.casefold()
        missing = [f"«{p}»" for p in self.parts if p.casefold() not in folded]
        if self.timestamp is not None and not shows_time(line, self.timestamp):
            missing.append(f"время сервера {clock(self.timestamp)}")
        missing += [f"без «{a}»" for a in self.absent if a.casefold() in folded]
        return missing

    def found(self, term: Terminal) -> bool:
        return any(not self.problems(line) for line in term.logical_lines())

    def score(self, line: str) -> int:
        folded = line.casefold()
        return sum(word.casefold() in folded for word in self.words)

    def closest(self, term: Terminal) -> tuple[str, list[str]] | None:
        """The line showing the most of the message, with what it lacks.

        Lines with the message's main text (``anchor``) first; failing that, the line with
        the most of its names for a users list, so a reordered list is still shown.
        """
        lines = term.logical_lines()
        best: tuple[str, list[str]] | None = None
        for line in lines:
            if self.anchor.casefold() not in line.casefold():
                continue
            problems = self.problems(line)
            if best is None or len(problems) <= len(best[1]):
                best = (line, problems)
        if best is not None or self.kind != "users_list":
            return best
        score, line = max(((self.score(line), line) for line in lines), default=(0, ""))
        return (line, self.problems(line)) if score else None


def expect_shown(term: Terminal, kind: str, message: dict[str, Any], hint: str = "") -> None:
    """The screen shows ``message`` (as the client received it) the way the contract says."""
    shown = Shown(kind, message)
    if term.poll_until(shown.found, WAIT):
        return
    closest = shown.closest(term)
    expected = f"строка вида «{shown.reference}»"
    if closest is None:
        raise screen_fail(term, expected, hint or f"Покажите сообщение типа {kind}.")
    line, problems = closest
    lacks = ", ".join(problems)
    time_hint = (
        " Время берите из поля timestamp сообщения сервера, а не из часов компьютера."
        if any(p.startswith("время") for p in problems)
        else ""
    )
    raise Fail(
        expected,
        got=f"{line}\n(не хватает: {lacks})",
        hint=(hint + time_hint).strip() or f"Покажите сообщение типа {kind} по образцу.",
        screen=term.screen_text(),
    )


def shows_prompt(parts: Sequence[str]) -> Callable[[Terminal], bool]:
    return lambda term: has_all(term.cursor_line(), parts)


def expect_prompt(term: Terminal, parts: Sequence[str], expected: str, hint: str) -> None:
    """The input line shows ``parts``; a client that redraws only on Enter gets one Enter."""
    if term.poll_until(shows_prompt(parts), SETTLE):
        return
    if not term.cursor_line().strip():
        term.send_line("")  # the prompt may come only with the next input() call
    wait_screen(term, shows_prompt(parts), expected, hint)


def exit_status_text(status: int | None, waited: float = WAIT) -> str:
    """How a client ended, in words (a sandbox reports death by signal N as 128+N)."""
    if status is None:
        return f"клиент всё ещё работает через {waited:g} с"
    if status < 0 or status > 128:
        return f"клиент убит сигналом {-status if status < 0 else status - 128}"
    return f"код выхода {status}"


def screen_fail_status(term: Terminal, expected: str, status: int | None, hint: str) -> Fail:
    """A Fail about how the client exited (or did not), with its screen."""
    got = exit_status_text(status)
    if any(term.contains(word) for word in NEVER):
        hint = TRACEBACK_HINT + " " + hint
    return Fail(expected, got=got, hint=hint, screen=term.screen_text())
