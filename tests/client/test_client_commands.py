"""Commands, names and private sessions in the reference client, driven as a person would."""

from __future__ import annotations

import importlib.util

import pytest
from client_fakes import CLIENT, ME, PROTOCOL, Peer, Screen

BOB, CAROL = "Боб", "Carol"


def load_client():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("reference_client", CLIENT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_client_restates_commands_answers_and_prompts_of_protocol_json() -> None:
    client = load_client()
    spec = PROTOCOL["client"]
    assert {name: (args, about) for name, args, about in client.COMMANDS} == {
        name: (c["args"], c["ru"]) for name, c in spec["commands"].items()
    }
    assert list(client.ANSWERS_YES) == spec["answers_yes"]
    assert list(client.ANSWERS_NO) == spec["answers_no"]
    assert spec["name_prompt"] == client.NAME_PROMPT
    display = spec["display"]
    assert display["prompt_general"]["reference"] == client.GENERAL_PROMPT
    assert display["prompt_session"]["reference"] == client.SESSION_PROMPT
    assert display["server_gone"]["reference"] == client.SERVER_GONE_TEXT


def prove_nothing_else_sent(screen: Screen, peer: Peer) -> None:
    """A marker line must be the very next thing the server gets (PROTOCOL.md 7)."""
    screen.line("маркер")
    peer.expect(type="message", message="маркер")


def request_session(screen: Screen, peer: Peer, requester: str) -> None:
    peer.send(
        type="session_request",
        from_username=requester,
        message=f"{requester} хочет начать приватную сессию с вами",
    )
    screen.wait_text(f"{requester} хочет начать приватную сессию с вами. Принять? (y/n)")


def session_with(screen: Screen, peer: Peer, partner: str) -> None:
    """Bring the client into a session with partner (the server says it is accepted)."""
    peer.send(
        type="session_accepted",
        from_username=ME,
        to_username=partner,
        message=f"Приватная сессия между {ME} и {partner} установлена",
    )
    screen.wait_prompt(f"[сессия с {partner}]> ")


@pytest.mark.parametrize("code", ["username_taken", "username_invalid"])
def test_refused_name_is_explained_and_asked_again(spawn, code: str) -> None:  # type: ignore[no-untyped-def]
    screen, peer = spawn()
    screen.wait_prompt("Введите имя: ")
    screen.line("Занятое")
    peer.expect(username="Занятое")
    peer.send(type="error", code=code, message="Имя Занятое не подходит")
    row = screen.wait_text("Ошибка: Имя Занятое не подходит")
    screen.wait_prompt("Введите имя: ")
    assert screen.screen.cursor.y == row + 1
    screen.line(ME)
    peer.welcome(ME)
    screen.wait_prompt("[общий]> ")


def test_empty_name_is_not_sent(spawn) -> None:  # type: ignore[no-untyped-def]
    screen, peer = spawn()
    screen.wait_prompt("Введите имя: ")
    screen.line("   ")
    screen.wait_text("Имя не может быть пустым.")
    screen.wait_prompt("Введите имя: ")
    screen.line(ME)
    peer.expect(username=ME)


def test_commands_send_their_protocol_messages(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    screen.line("/users")
    peer.expect(type="users")
    screen.line(f"/private {BOB} тайна 😀 с пробелами")
    peer.expect(type="private", target_username=BOB, message="тайна 😀 с пробелами")
    screen.line(f"/session {BOB}")
    peer.expect(type="session_request", target_username=BOB)
    screen.wait_text(f"Запрос на приватную сессию отправлен пользователю {BOB}.")
    screen.line("просто текст")
    peer.expect(type="message", message="просто текст")
    screen.line("//путь/к/файлу")
    peer.expect(type="message", message="/путь/к/файлу")
    screen.wait_prompt("[общий]> ")


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("/private", "Использование: /private ИМЯ ТЕКСТ"),
        (f"/private {BOB}", "Использование: /private ИМЯ ТЕКСТ"),
        ("/session", "Использование: /session ИМЯ"),
        ("/session a b", "Использование: /session ИМЯ"),
        ("/exit", "Вы не в приватной сессии."),
        ("/шмотки 1 2", "Неизвестная команда /шмотки"),
        ("/", "Неизвестная команда /"),
    ],
)
def test_bad_command_gets_a_local_hint_and_sends_nothing(
    chat: tuple[Screen, Peer], line: str, hint: str
) -> None:
    screen, peer = chat
    screen.line(line)
    screen.wait_text(hint)
    prove_nothing_else_sent(screen, peer)
    assert "Traceback" not in screen.raw


def test_help_lists_every_command(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    screen.line("/help")
    for name, command in PROTOCOL["client"]["commands"].items():
        row = screen.wait_text(command["ru"])
        assert name in screen.lines()[row]
    screen.wait_prompt("[общий]> ")
    prove_nothing_else_sent(screen, peer)


@pytest.mark.parametrize("answer", ["y", "Да", "yes", "д"])
def test_yes_accepts_a_session_and_plain_lines_go_to_the_partner(
    chat: tuple[Screen, Peer], answer: str
) -> None:
    screen, peer = chat
    request_session(screen, peer, BOB)
    screen.line(answer)
    peer.expect(type="session_response", target_username=BOB, accepted=True)
    peer.send(
        type="session_accepted",
        from_username=BOB,
        to_username=ME,
        message=f"Приватная сессия между {BOB} и {ME} установлена",
    )
    screen.wait_prompt(f"[сессия с {BOB}]> ")
    screen.line("только тебе")
    peer.expect(type="private", target_username=BOB, message="только тебе")
    screen.line("/users")  # commands still work in a session
    peer.expect(type="users")
    screen.line("/exit")
    peer.expect(type="session_end")
    screen.wait_prompt("[общий]> ")
    screen.line("всем")
    peer.expect(type="message", message="всем")


@pytest.mark.parametrize("answer", ["n", "НЕТ", "no"])
def test_no_rejects_a_session_and_the_mode_stays_general(
    chat: tuple[Screen, Peer], answer: str
) -> None:
    screen, peer = chat
    request_session(screen, peer, BOB)
    screen.line(answer)
    peer.expect(type="session_response", target_username=BOB, accepted=False)
    screen.wait_prompt("[общий]> ")
    prove_nothing_else_sent(screen, peer)


def test_several_requests_are_answered_oldest_first_and_the_next_is_asked_again(
    chat: tuple[Screen, Peer],
) -> None:
    screen, peer = chat
    request_session(screen, peer, BOB)
    request_session(screen, peer, CAROL)
    screen.wait_text(f"Сначала ответ на запрос от {BOB}")
    screen.line("n")
    peer.expect(type="session_response", target_username=BOB, accepted=False)
    question = f"{CAROL} хочет начать приватную сессию с вами. Принять? (y/n)"
    screen.wait(lambda s: s.text().count(question) == 2, "Carol's question asked again")
    screen.line("y")
    peer.expect(type="session_response", target_username=CAROL, accepted=True)
    screen.line("y")  # nothing pending any more: an ordinary chat line
    peer.expect(type="message", message="y")


def test_other_lines_while_a_question_waits_work_as_usual(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    request_session(screen, peer, BOB)
    screen.line("может быть")
    peer.expect(type="message", message="может быть")
    screen.line("/users")
    peer.expect(type="users")
    screen.line("y")
    peer.expect(type="session_response", target_username=BOB, accepted=True)


def test_request_from_someone_who_left_is_forgotten(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    request_session(screen, peer, BOB)
    peer.send(
        type="system",
        event="leave",
        username=BOB,
        reason="quit",
        message=f"{BOB} вышел из чата",
        online_users=1,
    )
    screen.wait_text(f"{BOB} вышел из чата (онлайн: 1)")
    screen.line("y")
    peer.expect(type="message", message="y")


@pytest.mark.parametrize("reason", ["exit", "disconnect"])
def test_session_ended_by_the_partner_returns_to_general_mode_keeping_typed_text(
    chat: tuple[Screen, Peer], reason: str
) -> None:
    screen, peer = chat
    session_with(screen, peer, BOB)
    screen.type("недописанное")
    screen.wait_prompt(f"[сессия с {BOB}]> ", "недописанное")
    peer.send(
        type="session_ended",
        from_username=BOB,
        to_username=ME,
        reason=reason,
        message=f"{BOB} завершил(а) приватную сессию",
    )
    row = screen.wait_text(f"{BOB} завершил(а) приватную сессию")
    screen.wait_prompt("[общий]> ", "недописанное")
    assert screen.screen.cursor.y == row + 1
    assert "[сессия с" not in screen.cursor_line()
    screen.type(" всем\r")
    peer.expect(type="message", message="недописанное всем")


def test_partner_leaving_the_chat_ends_the_session(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    session_with(screen, peer, BOB)
    peer.send(
        type="system",
        event="leave",
        username=BOB,
        reason="disconnect",
        message=f"{BOB} вышел из чата",
        online_users=1,
    )
    screen.wait_prompt("[общий]> ")
    screen.line("снова всем")
    peer.expect(type="message", message="снова всем")


def test_session_prompt_shows_the_partner_on_the_requesting_side(
    chat: tuple[Screen, Peer],
) -> None:
    screen, peer = chat
    screen.line(f"/session {CAROL}")
    peer.expect(type="session_request", target_username=CAROL)
    session_with(screen, peer, CAROL)
    screen.line("привет")
    peer.expect(type="private", target_username=CAROL, message="привет")


def test_mode_flipping_while_typing_fast_loses_no_key_and_glues_no_line(
    chat: tuple[Screen, Peer],
) -> None:
    screen, peer = chat
    typed = ""
    for i in range(30):
        screen.type("абвгдежзий"[i % 10])
        typed += "абвгдежзий"[i % 10]
        if i % 2 == 0:
            peer.send(type="session_accepted", from_username=ME, to_username=BOB, message=f"с{i}")
        else:
            peer.send(
                type="session_ended",
                from_username=BOB,
                to_username=ME,
                reason="exit",
                message=f"к{i}",
            )
    screen.wait_prompt("[общий]> ", typed)
    events = [
        line for line in screen.lines() if line.startswith("[14:30:00] *** ") and "(" not in line
    ]
    expected = [f"[14:30:00] *** {'с' if i % 2 == 0 else 'к'}{i}" for i in range(30)]
    assert events == expected, screen.text()
    assert screen.text().count("]> ") == 1, screen.text()  # no prompt left behind
    screen.type("\r")
    peer.expect(type="message", message=typed)
