"""harness.terminal against tiny helper programs: what a person would see in a real terminal."""

from __future__ import annotations

import os
import select
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from harness.terminal import Terminal, TerminalTimeout

TOY = Path(__file__).with_name("toy.py")
WAIT = 10.0

Spawn = Callable[..., Terminal]


@pytest.fixture
def toy() -> Iterator[Spawn]:
    started: list[Terminal] = []

    def spawn(mode: str, **options: object) -> Terminal:
        term = Terminal.spawn([sys.executable, "-u", str(TOY), mode], **options)  # type: ignore[arg-type]
        started.append(term)
        return term

    yield spawn
    for term in started:
        term.close()


def shows(text: str) -> Callable[[Terminal], bool]:
    return lambda t: t.find_line(text) is not None


def prompt_shown(prompt: str) -> Callable[[Terminal], bool]:
    return lambda t: t.cursor_line() == prompt.rstrip()


def test_typed_text_is_echoed_on_the_prompt_line_like_a_real_terminal(toy: Spawn) -> None:
    term = toy("echo")
    term.wait_until(prompt_shown("Кто там? "), WAIT, "вопрос имени")
    term.type("Вася")
    term.wait_until(lambda t: t.cursor_line() == "Кто там? Вася", WAIT, "набранное имя")
    term.send_line("")
    term.wait_until(lambda t: t.find_line("привет, вася") is not None, WAIT, "приветствие")
    term.wait_until(prompt_shown("toy> "), WAIT, "приглашение toy>")
    assert term.cursor[0] == 2


@pytest.mark.parametrize(("command", "status"), [("fail", 3), ("quit", 0)])
def test_exit_status_is_reported(toy: Spawn, command: str, status: int) -> None:
    term = toy("echo")
    term.wait_until(prompt_shown("Кто там? "), WAIT, "вопрос имени")
    term.send_line("x")
    term.wait_until(prompt_shown("toy> "), WAIT, "приглашение")
    term.send_line(command)
    assert term.wait_exit(WAIT) == status
    assert term.find_line(f"toy> {command}") is not None


def test_death_by_signal_is_a_negative_status(toy: Spawn) -> None:
    term = toy("killed")
    assert term.wait_exit(WAIT) == -15
    assert term.find_line("умираю") is not None


def test_lines_scrolled_off_the_top_are_still_found(toy: Spawn) -> None:
    term = toy("scroll", rows=24)
    term.wait_until(prompt_shown("done> "), WAIT, "приглашение done>")
    assert term.find_line("строка номер 000") == "строка номер 000"
    assert term.count_lines("строка номер") == 150
    assert "строка номер 000" not in term.lines()
    assert term.all_lines()[-1] == "done>"


def test_utf8_written_byte_by_byte_renders_whole_characters(toy: Spawn) -> None:
    term = toy("split_utf8")
    term.wait_until(prompt_shown("split> "), WAIT, "приглашение split>")
    assert term.find_line("Ёжик 🦔 в тумане") == "Ёжик 🦔 в тумане"
    assert "\ufffd" not in "".join(term.all_lines())


def test_random_garbage_does_not_break_the_screen(toy: Spawn) -> None:
    term = toy("garbage")
    term.wait_until(prompt_shown("после мусора> "), WAIT, "приглашение после мусора")
    term.send_line("да")
    assert term.wait_exit(WAIT) == 0
    assert "не разобрал" in term.transcript.text()


def test_flood_of_output_is_killed_at_the_cap(toy: Spawn) -> None:
    term = toy("flood", output_cap=200_000)
    status = term.wait_exit(WAIT)
    assert status is not None and status < 0
    assert term.overflowed
    assert "процесс остановлен" in term.transcript.text()


def test_close_kills_the_whole_process_group(toy: Spawn) -> None:
    term = toy("grandchild")
    term.wait_until(prompt_shown("gc> "), WAIT, "приглашение gc>")
    line = term.find_line("внук")
    assert line is not None
    grandchild = os.pidfd_open(int(line.split()[1]))
    try:
        term.close()
        ready, _, _ = select.select([grandchild], [], [], WAIT)
        assert ready, "the grandchild survived close()"
    finally:
        os.close(grandchild)


def test_terminal_answers_cursor_position_queries(toy: Spawn) -> None:
    term = toy("cursor_query")
    term.wait_until(prompt_shown("cq> "), WAIT, "приглашение cq>")
    assert term.find_line("ответ [1;4R") is not None


def test_ctrl_c_interrupts_the_program(toy: Spawn) -> None:
    term = toy("interrupt")
    term.wait_until(prompt_shown("ctrl> "), WAIT, "приглашение ctrl>")
    term.ctrl_c()
    assert term.wait_exit(WAIT) == 130
    assert term.find_line("прервано") is not None


def test_stdin_can_be_an_empty_pipe_while_output_is_a_terminal(toy: Spawn) -> None:
    term = toy("stdin_kind", stdin_tty=False)
    assert term.wait_exit(WAIT) == 0
    assert term.find_line("stdin tty: False") is not None
    assert term.find_line("прочитано 0") is not None


def test_timeout_names_what_was_expected_and_shows_the_screen(toy: Spawn) -> None:
    term = toy("echo")
    term.wait_until(prompt_shown("Кто там? "), WAIT, "вопрос имени")
    with pytest.raises(TerminalTimeout) as caught:
        term.wait_until(lambda t: t.find_line("никогда") is not None, 0.3, "слово «никогда»")
    assert caught.value.expected == "слово «никогда»"
    assert "▸ Кто там?" in caught.value.screen
    assert not caught.value.exited


def test_wait_on_an_exited_program_ends_at_once(toy: Spawn) -> None:
    term = toy("killed")
    with pytest.raises(TerminalTimeout) as caught:
        term.wait_until(lambda t: t.find_line("никогда") is not None, 30, "слово «никогда»")
    assert caught.value.exited


def test_lines_below_a_row_stay_found_after_scrolling(toy: Spawn) -> None:
    term = toy("echo", rows=5)
    term.wait_until(prompt_shown("Кто там? "), WAIT, "вопрос имени")
    term.send_line("x")
    term.wait_until(prompt_shown("toy> "), WAIT, "приглашение")
    row = term.row()
    for word in ("один", "два", "три", "четыре", "пять", "шесть"):
        term.send_line(word)
        term.wait_until(shows(f"эхо: {word}"), WAIT, word)
    below = term.lines_below(row)
    assert below[0] == "эхо: один"
    assert "toy> шесть" in below
    assert len(term.screen.scrolled) > 0


def test_transcript_shows_keys_and_control_characters_readably(toy: Spawn) -> None:
    term = toy("cursor_query")
    term.wait_until(prompt_shown("cq> "), WAIT, "приглашение cq>")
    term.send_line("ok")
    assert term.wait_exit(WAIT) == 0
    text = term.transcript.text()
    assert "keys| ok␍" in text
    assert "tty| abc␛[6n" in text
    assert "\x1b" not in text


def test_row_numbers_survive_a_scrollback_that_forgets_old_lines(toy: Spawn) -> None:
    term = toy("scroll", rows=24)
    term.screen._scrolled = deque(maxlen=50)  # a short memory, as after a long session
    row = term.row()
    term.wait_until(prompt_shown("done> "), WAIT, "приглашение done>")
    below = term.lines_below(row)
    assert below[-1] == "done>"
    assert below[-2] == "строка номер 149"
    assert len(term.screen.scrolled) == 50
