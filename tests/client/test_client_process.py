"""How the reference client starts and ends: exit statuses, pipes, no readline, Python 3.6,
and two clients through the reference server."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from client_fakes import (
    ME,
    PROTOCOL,
    SERVER,
    TIMEOUT,
    FakeServer,
    Peer,
    Screen,
    client_env,
    piped_client,
)

from harness.pythons import find_python

GONE = PROTOCOL["client"]["display"]["server_gone"]["reference"]


def assert_clean_exit(screen: Screen, status: int) -> None:
    assert status == 0, screen.text()
    assert "Traceback" not in screen.raw


def test_quit_closes_the_connection_and_exits_0(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    screen.line("/quit")
    peer.expect_closed()
    assert_clean_exit(screen, screen.wait_exit())


@pytest.mark.parametrize("key", ["\x03", "\x04"], ids=["ctrl-c", "ctrl-d"])
def test_ctrl_c_or_ctrl_d_at_the_chat_prompt_exits_0(chat: tuple[Screen, Peer], key: str) -> None:
    screen, peer = chat
    screen.type("наполовину" if key == "\x03" else "")
    screen.wait_prompt("[общий]> ", "наполовину" if key == "\x03" else "")
    screen.type(key)
    peer.expect_closed()
    assert_clean_exit(screen, screen.wait_exit())
    assert GONE not in screen.text()


@pytest.mark.parametrize("key", ["\x03", "\x04"], ids=["ctrl-c", "ctrl-d"])
def test_ctrl_c_or_ctrl_d_at_the_name_prompt_exits_0(spawn, key: str) -> None:  # type: ignore[no-untyped-def]
    screen, peer = spawn()
    screen.wait_prompt("Введите имя: ")
    screen.type(key)
    assert peer.expect_closed() == []
    assert_clean_exit(screen, screen.wait_exit())


def test_ctrl_c_while_waiting_for_the_welcome_exits_0(spawn) -> None:  # type: ignore[no-untyped-def]
    screen, peer = spawn()
    screen.wait_prompt("Введите имя: ")
    screen.line(ME)
    peer.expect(username=ME)  # and no answer: the client waits
    screen.type("\x03")
    assert_clean_exit(screen, screen.wait_exit())


def test_server_gone_is_reported_and_exits_non_zero(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    screen.type("не успел")
    screen.wait_prompt("[общий]> ", "не успел")
    peer.close()
    row = screen.wait_text(GONE)
    status = screen.wait_exit()
    assert status != 0
    assert screen.lines()[row] == GONE
    assert "Traceback" not in screen.raw


def test_server_gone_at_the_name_prompt_exits_non_zero(spawn) -> None:  # type: ignore[no-untyped-def]
    screen, peer = spawn()
    screen.wait_prompt("Введите имя: ")
    peer.send(
        type="error", code="registration_timeout", message="Время на вход истекло", fatal=True
    )
    peer.close()
    screen.wait_text("Ошибка: Время на вход истекло")
    screen.wait_text(GONE)
    assert screen.wait_exit() != 0
    assert "Traceback" not in screen.raw


def test_unreachable_server_is_one_plain_line_and_exit_1() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens here once it is closed
    screen = Screen(port)
    try:
        screen.wait_text("Не удалось подключиться к 127.0.0.1")
        assert screen.wait_exit() == 1
        assert "Traceback" not in screen.raw
    finally:
        screen.close()


# ------------------------------------------------------------------ stdin not a tty


def finish_piped(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.wait(timeout=TIMEOUT)  # the output is small: it fits in the pipes
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:
        out, err = proc.stdout.read(), proc.stderr.read()
    assert "Traceback" not in out + err, out + err
    return proc.returncode, out


def test_piped_input_is_sent_and_answers_arrive_before_the_client_quits(
    server: FakeServer,
) -> None:
    proc = piped_client(server.port, [ME, "привет 😀", "/users", "", "/private Боб тс"])
    peer = server.accept()
    peer.welcome(ME)
    peer.expect(type="message", message="привет 😀")
    peer.expect(type="users")
    peer.expect(type="private", target_username="Боб", message="тс")
    peer.send(type="users_list", users=[ME, "Боб"])  # the answer to /users
    peer.expect(type="users")  # end of input: the client's marker request
    peer.send(type="message", from_username="Боб", message="успел")
    peer.send(type="users_list", users=[ME, "Боб"])  # the marker's answer
    peer.expect_closed()
    status, out = finish_piped(proc)
    assert status == 0
    lines = out.splitlines()
    assert f"[14:30:00] *** Добро пожаловать в чат, {ME}! (онлайн: 1)" in lines
    assert lines.count(f"[14:30:00] *** Онлайн (2): {ME}, Боб") == 1  # the marker is not shown
    assert "[14:30:00] Боб: успел" in lines
    assert "[общий]" not in out and "\x1b" not in out


def test_piped_quit_stops_reading_input(server: FakeServer) -> None:
    proc = piped_client(server.port, [ME, "до", "/quit", "после"])
    peer = server.accept()
    peer.welcome(ME)
    peer.expect(type="message", message="до")
    peer.expect(type="users")
    peer.send(type="users_list", users=[ME])
    assert peer.expect_closed() == []
    assert finish_piped(proc)[0] == 0


def test_piped_name_retry_and_server_gone(server: FakeServer) -> None:
    proc = piped_client(server.port, ["Занят", ME, "раз"])
    peer = server.accept()
    peer.expect(username="Занят")
    peer.send(type="error", code="username_taken", message="Имя Занят уже занято")
    peer.welcome(ME)
    peer.expect(type="message", message="раз")
    peer.close()
    status, out = finish_piped(proc)
    assert status != 0
    assert "Ошибка: Имя Занят уже занято" in out
    assert out.rstrip().endswith(GONE)


# --------------------------------------------------------------- other terminals


@pytest.fixture
def no_readline(tmp_path: Path) -> dict[str, str]:
    """An environment in which `import readline` fails, as on Windows."""
    (tmp_path / "readline.py").write_text('raise ImportError("no readline here")\n')
    return client_env(PYTHONPATH=str(tmp_path))


def test_without_readline_messages_still_show_and_typed_text_is_kept(
    spawn, no_readline: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    screen, peer = spawn(env=no_readline)
    screen.wait_prompt("Введите имя: ")
    screen.line(ME)
    peer.welcome(ME)
    screen.wait_prompt("[общий]> ")
    screen.type("начало ")
    screen.wait_prompt("[общий]> ", "начало ")
    peer.send(type="message", from_username="Боб", message="вклинился")
    row = screen.wait_text("[14:30:00] Боб: вклинился")
    screen.wait_prompt("[общий]> ")  # the prompt again, below the message
    assert screen.screen.cursor.y == row + 1
    screen.line("конец")
    peer.expect(type="message", message="начало конец")
    screen.line("/quit")
    assert_clean_exit(screen, screen.wait_exit())


def test_server_gone_ends_the_client_where_input_cannot_be_interrupted(
    spawn, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Without signal.pthread_kill (as on Windows) the receiver ends the process itself.
    (tmp_path / "sitecustomize.py").write_text("import signal\ndel signal.pthread_kill\n")
    screen, peer = spawn(env=client_env(PYTHONPATH=str(tmp_path)))
    screen.wait_prompt("Введите имя: ")
    screen.line(ME)
    peer.welcome(ME)
    screen.type("висит")
    screen.wait_prompt("[общий]> ", "висит")
    peer.close()
    screen.wait_text(GONE)
    assert screen.wait_exit() == 1
    assert "Traceback" not in screen.raw


def test_client_runs_on_python_3_6(spawn) -> None:  # type: ignore[no-untyped-def]
    python = find_python("3.6")
    if python is None:
        pytest.skip("no working python3.6 here")
    screen, peer = spawn(python=python)
    screen.wait_prompt("Введите имя: ")
    screen.line(ME)
    peer.welcome(ME)
    screen.type("пишу")
    peer.send(type="private", from_username="Боб", message="из 3.6 😀")
    screen.wait_text("[14:30:00] [лично] Боб: из 3.6 😀")
    screen.wait_prompt("[общий]> ", "пишу")
    screen.line("")
    peer.expect(type="message", message="пишу")
    peer.close()
    screen.wait_text(GONE)
    assert screen.wait_exit() != 0
    assert "Traceback" not in screen.raw


# ------------------------------------------------- end to end: the reference server


@pytest.fixture
def reference_server() -> Iterator[int]:
    """The reference server on a free port; skip if it is not there or does not start."""
    if not SERVER.exists():
        pytest.skip("reference/server.py does not exist yet")
    proc = subprocess.Popen(
        [sys.executable, "-u", str(SERVER), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline()  # the server prints it once it listens, or exits
    found = re.search(PROTOCOL["transport"]["ready_line_regex"], ready)
    try:
        if found is None:
            pytest.skip(f"reference/server.py did not start: {ready!r}")
        yield int(found.group("port"))
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        proc.wait(timeout=TIMEOUT)
        proc.stdout.close()


def join(port: int, name: str) -> Screen:
    screen = Screen(port)
    screen.wait_prompt("Введите имя: ")
    screen.line(name)
    screen.wait_prompt("[общий]> ")
    return screen


def test_two_clients_chat_and_hold_a_session_through_the_reference_server(
    reference_server: int,
) -> None:
    alice = join(reference_server, "Алиса")
    bob = join(reference_server, "Боб")
    try:
        alice.wait_text("Боб вошёл")
        alice.type("печатаю")
        bob.line("Привет, Алиса 😀")
        alice.wait_text("Боб: Привет, Алиса 😀")
        alice.wait_prompt("[общий]> ", "печатаю")
        alice.type("\x15/users\r")
        alice.wait_text("Онлайн (2): Алиса, Боб")

        alice.line("/session боб")
        bob.wait_text("Принять? (y/n)")
        bob.line("д")
        alice.wait_prompt("[сессия с Боб]> ")
        bob.wait_prompt("[сессия с Алиса]> ")
        bob.line("секрет")
        alice.wait_text("[лично] Боб: секрет")
        alice.line("/exit")
        bob.wait_prompt("[общий]> ")
        alice.wait_prompt("[общий]> ")

        bob.line("/quit")
        assert_clean_exit(bob, bob.wait_exit())
        alice.wait_text("Боб вышел")
        alice.line("/quit")
        assert_clean_exit(alice, alice.wait_exit())
    finally:
        alice.close()
        bob.close()


def test_name_taken_on_the_reference_server_is_asked_again(reference_server: int) -> None:
    first = join(reference_server, "Вера")
    second = Screen(reference_server)
    try:
        second.wait_prompt("Введите имя: ")
        second.line("ВЕРА")
        second.wait_text("Ошибка:")
        second.wait_prompt("Введите имя: ")
        second.line("Вера2")
        second.wait_prompt("[общий]> ")
    finally:
        first.close()
        second.close()
