"""What the reference client shows: the display contract of lab/protocol.json, on a real screen."""

from __future__ import annotations

import re

import pytest
from client_fakes import DISPLAY, ME, Peer, Screen, client_env

BOB = "Боб"
TEXT = "Привет, мир! Ёжик 😀 ок"

# One example of every displayed server message (the timestamp is added by Peer.send).
EXAMPLES = {
    "message": {"from_username": BOB, "message": TEXT},
    "private": {"from_username": BOB, "message": TEXT},
    "system": {
        "event": "join",
        "username": BOB,
        "message": f"{BOB} вошёл в чат",
        "online_users": 2,
    },
    "users_list": {"users": [ME, BOB, "Charlie_1"]},
    "session_request": {
        "from_username": BOB,
        "message": f"{BOB} хочет начать приватную сессию с вами",
    },
    "session_accepted": {
        "from_username": BOB,
        "to_username": ME,
        "message": f"Приватная сессия между {BOB} и {ME} установлена",
    },
    "session_rejected": {
        "from_username": BOB,
        "to_username": ME,
        "message": f"Приватная сессия между {BOB} и {ME} отклонена",
    },
    "session_ended": {
        "from_username": BOB,
        "to_username": ME,
        "reason": "exit",
        "message": f"{BOB} завершил(а) приватную сессию",
    },
    "error": {"code": "unknown_user", "message": "Пользователя Вася нет в чате"},
}


def fill(template: str, fields: dict[str, object]) -> str:
    values = dict(fields, time="14:30:00")
    if isinstance(fields.get("users"), list):
        values.update(count=len(fields["users"]), users=", ".join(fields["users"]))
    return template.format(**values)


def test_every_server_message_type_has_an_example() -> None:
    shown = {kind for kind, rule in DISPLAY["messages"].items() if rule["reference"]}
    assert shown == set(EXAMPLES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_message_is_shown_exactly_as_the_display_contract_says(
    chat: tuple[Screen, Peer], kind: str
) -> None:
    screen, peer = chat
    fields = EXAMPLES[kind]
    peer.send(type=kind, **fields)
    expected = fill(DISPLAY["messages"][kind]["reference"], fields)
    row = screen.wait_text(expected)
    line = screen.lines()[row].casefold()
    assert screen.lines()[row] == expected
    for part in DISPLAY["messages"][kind]["graded"]:
        assert fill(part, fields).casefold() in line
    for part in DISPLAY["messages"][kind].get("graded_absent", []):
        assert part.casefold() not in line
    screen.wait_prompt("[общий]> " if kind != "session_accepted" else f"[сессия с {BOB}]> ")


def test_time_shown_is_the_server_timestamp_not_the_local_clock(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    peer.send(type="message", from_username=BOB, message="раз", timestamp="2030-12-31T23:59:58")
    row = screen.wait_text("раз")
    assert screen.lines()[row] == f"[23:59:58] {BOB}: раз"


@pytest.mark.parametrize("timestamp", ["вчера", "", 12345, None])
def test_malformed_timestamp_falls_back_to_the_local_time(
    chat: tuple[Screen, Peer], timestamp: object
) -> None:
    screen, peer = chat
    peer.send(type="message", from_username=BOB, message="два", timestamp=timestamp)
    row = screen.wait_text("два")
    line = screen.lines()[row]
    assert re.fullmatch(rf"\[\d\d:\d\d:\d\d\] {BOB}: два", line), line
    screen.wait_prompt("[общий]> ")


def test_ping_is_answered_with_pong_and_not_shown(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    before = screen.text()
    peer.send(type="ping")
    peer.expect(type="pong")
    peer.send(type="message", from_username=BOB, message="после пинга")
    screen.wait_text("после пинга")
    assert screen.text().replace(f"\n[14:30:00] {BOB}: после пинга", "") == before


def test_message_arriving_while_typing_goes_above_the_half_typed_line(
    chat: tuple[Screen, Peer],
) -> None:
    screen, peer = chat
    screen.type("полстроки 😀 и ещё")
    screen.wait_prompt("[общий]> ", "полстроки 😀 и ещё")
    for n in range(3):
        peer.send(type="message", from_username=BOB, message=f"входящее {n}")
        row = screen.wait_text(f"входящее {n}")
        screen.wait_prompt("[общий]> ", "полстроки 😀 и ещё")
        assert screen.lines()[row] == f"[14:30:00] {BOB}: входящее {n}"
        assert row == screen.screen.cursor.y - 1, screen.text()
    assert screen.text().count("[общий]> полстроки") == 1, screen.text()
    screen.type(" — конец\r")
    peer.expect(type="message", message="полстроки 😀 и ещё — конец")


def test_cursor_stays_where_the_user_moved_it_when_a_message_arrives(
    chat: tuple[Screen, Peer],
) -> None:
    screen, peer = chat
    screen.type("абвгд\x1b[D\x1b[D")  # two Left arrows: the cursor is before "г"
    at = len("[общий]> абв")
    screen.wait(lambda s: s.screen.cursor.x == at, "the cursor after 'абв'")
    peer.send(type="private", from_username=BOB, message="отвлекаю")
    screen.wait_text("отвлекаю")
    screen.wait(
        lambda s: s.cursor_line() == "[общий]> абвгд" and s.screen.cursor.x == at,
        "the typed line redrawn with the cursor after 'абв'",
    )
    screen.type("Ж\r")
    peer.expect(type="message", message="абвЖгд")


def test_long_typed_line_that_wraps_survives_a_message(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    typed = "длинная строка " * 14  # wraps past the 160 columns
    screen.type(typed)
    screen.wait(lambda s: s.screen.cursor.y == (s.row_of("[общий]> длинная") or 0) + 1, "a wrap")
    peer.send(type="message", from_username=BOB, message="сквозь перенос")
    row = screen.wait_text("сквозь перенос")
    screen.wait(
        lambda s: (
            s.row_of("[общий]> длинная") == row + 1
            and "".join(s.screen.display[row + 1 : row + 3]).rstrip()
            == "[общий]> " + typed.rstrip()
        ),
        "the wrapped line redrawn below the message",
    )
    assert screen.text().count("[общий]> длинная") == 1, screen.text()
    screen.type("!\r")
    peer.expect(type="message", message=(typed + "!").strip())


def test_text_split_across_reads_and_joined_in_one_read_is_shown(
    chat: tuple[Screen, Peer],
) -> None:
    screen, peer = chat
    one = '{"type":"message","from_username":"Боб","message":"по байту 😀","timestamp":"%s"}\n'
    data = (one % "2024-01-15T10:00:01").encode("utf-8")
    for i in range(len(data)):  # one byte at a time: multi-byte letters are cut
        peer.send_raw(data[i : i + 1])
    screen.wait_text("[10:00:01] Боб: по байту 😀")
    two = (one % "2024-01-15T10:00:02" + one % "2024-01-15T10:00:03").encode("utf-8")
    peer.send_raw(two.replace(b"\n", b"\r\n", 1))
    screen.wait_text("[10:00:03] Боб: по байту 😀")
    assert screen.row_of("[10:00:02]") == screen.row_of("[10:00:03]") - 1


def test_control_characters_from_the_server_are_not_executed(chat: tuple[Screen, Peer]) -> None:
    screen, peer = chat
    peer.send(type="message", from_username=BOB, message="чисто\x1b[2J\x1b[H\x07конец")
    screen.wait_text("конец")
    assert screen.row_of("Добро пожаловать") is not None, "the screen was cleared"
    assert (
        screen.lines()[screen.row_of("конец")]
        == f"[14:30:00] {BOB}: чисто\ufffd[2J\ufffd[H\ufffdконец"
    )


def test_garbage_from_the_server_is_a_plain_notice_not_a_traceback(
    chat: tuple[Screen, Peer],
) -> None:
    screen, peer = chat
    peer.send_raw(b"not json\n[1, 2]\n\xff\xfe\n")
    peer.send(type="message", from_username=BOB)  # no text
    peer.send(type="surprise", message="новый тип")
    peer.send(type="message", from_username=BOB, message="живой")
    screen.wait_text("живой")
    assert screen.text().count("не является JSON-объектом") == 3
    assert f"[14:30:00] {BOB}: ?" in screen.lines()
    assert "[14:30:00] *** новый тип" in screen.lines()
    assert "Traceback" not in screen.raw
    screen.wait_prompt("[общий]> ")


def test_colours_only_on_a_terminal_without_no_color(spawn, server) -> None:  # type: ignore[no-untyped-def]
    for no_color, coloured in (("1", False), (None, True)):
        screen, peer = spawn(env=client_env(NO_COLOR=no_color))
        screen.wait_prompt("Введите имя: ")
        screen.line(ME)
        peer.welcome(ME)
        peer.send(type="error", code="busy", message="занято")
        row = screen.wait_text("Ошибка: занято")
        cells = screen.screen.buffer[row]
        colours = {cells[x].fg for x in range(len(screen.lines()[row]))}
        assert (colours != {"default"}) is coloured, (no_color, colours)
        assert ("\x1b[31m" in screen.raw) is coloured
        screen.close()
