"""Chat server: one thread, one selector, non-blocking sockets.

Every connection has an input buffer (cut at b"\\n") and an output buffer; what does not
fit into the socket waits in the output buffer, whose size is the send-queue limit.
Timers (registration, ping) are checked after every select() round.
"""
import argparse
import json
import re
import selectors
import signal
import socket
import sys
import time
import unicodedata
from datetime import datetime

NAME = re.compile(r"[\w.\-]{1,32}")
opts = None
sel = selectors.DefaultSelector()
conns = {}  # socket -> dict(state of that connection)
users = {}  # folded name -> connection state, in join order


def fold(name):
    return unicodedata.normalize("NFC", name).casefold()


def stamp():
    return datetime.now().isoformat(timespec="seconds")


def push(c, kind, **fields):
    if c["dead"]:
        return
    fields["type"] = kind
    fields["timestamp"] = stamp()
    c["out"] += (json.dumps(fields, ensure_ascii=False) + "\n").encode("utf-8")
    flush(c)
    if len(c["out"]) > opts.sendq_bytes:
        drop(c, "overflow")


def flush(c):
    try:
        sent = c["sock"].send(c["out"])
        del c["out"][:sent]
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        drop(c, "disconnect")
        return
    mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if c["out"] else 0)
    if not c["dead"]:
        sel.modify(c["sock"], mask, c)


def system(event, text, **extra):
    for u in list(users.values()):
        push(u, "system", event=event, message=text, online_users=len(users), **extra)


def drop(c, reason):
    if c["dead"]:
        return
    c["dead"] = True
    sel.unregister(c["sock"])
    del conns[c["sock"]]
    c["sock"].close()
    if c["name"] is None:
        return
    del users[fold(c["name"])]
    for u in list(users.values()):
        u["asks"].discard(fold(c["name"]))
    mate = c["mate"]
    if mate is not None:
        mate["mate"] = None
        push(mate, "session_ended", from_username=c["name"], to_username=mate["name"],
             reason="disconnect", message="{} покинул(а) чат, сессия завершена".format(c["name"]))
    system("leave", "{} вышел из чата".format(c["name"]), username=c["name"], reason=reason)


def fatal(c, code, text, reason):
    push(c, "error", code=code, message=text, fatal=True)
    if not c["dead"]:
        c["sock"].setblocking(True)
        c["sock"].settimeout(0.5)
        try:
            c["sock"].sendall(c["out"])
        except OSError:
            pass
        drop(c, reason)


def error(c, code, text):
    push(c, "error", code=code, message=text)


def register(c, msg):
    name = msg.get("username")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return error(c, "username_invalid", "Недопустимое имя: 1–32 буквы, цифры, _ - .")
    if fold(name) in users:
        return error(c, "username_taken", "Имя {} уже занято".format(name))
    c["name"] = name
    users[fold(name)] = c
    push(c, "system", event="welcome", username=name, online_users=len(users),
         message="Добро пожаловать в чат, {}!".format(name))
    for u in list(users.values()):
        if u is not c:
            push(u, "system", event="join", username=name, online_users=len(users),
                 message="{} вошёл в чат".format(name))


def text_ok(c, msg):
    text = msg.get("message")
    if not text.strip():
        error(c, "empty_message", "Пустое сообщение")
    elif len(text.strip()) > 4096:
        error(c, "message_too_long", "Сообщение длиннее 4096 символов")
    else:
        return True
    return False


def target(c, msg):
    other = users.get(fold(msg["target_username"]))
    if other is None:
        error(c, "unknown_user", "Пользователь {} не в сети".format(msg["target_username"]))
    elif other is c:
        error(c, "self_target", "Нельзя выбрать самого себя")
    else:
        return other
    return None


NEEDS = {"message": {"message": str}, "private": {"target_username": str, "message": str},
         "session_request": {"target_username": str}, "users": {}, "pong": {}, "session_end": {},
         "session_response": {"target_username": str, "accepted": bool}}


def handle(c, msg):
    kind = msg.get("type")
    me = c["name"]
    if kind not in NEEDS:
        return error(c, "unknown_type", "Неизвестный тип сообщения: {}".format(kind))
    if any(not isinstance(msg.get(k), t) for k, t in NEEDS[kind].items()):
        return error(c, "invalid_message", "Не хватает полей или у поля неверный тип")
    if kind == "message" and text_ok(c, msg):
        for u in list(users.values()):
            if u is not c:
                push(u, "message", from_username=me, message=msg["message"])
    elif kind == "private" and text_ok(c, msg):
        other = target(c, msg)
        if other:
            push(other, "private", from_username=me, message=msg["message"])
    elif kind == "users":
        push(c, "users_list", users=[u["name"] for u in users.values()])
    elif kind == "session_request":
        other = target(c, msg)
        if other and (c["mate"] or other["mate"] or fold(me) in other["asks"]):
            error(c, "busy", "Кто-то из вас уже в сессии или запрос уже ждёт ответа")
        elif other:
            other["asks"].add(fold(me))
            push(other, "session_request", from_username=me,
                 message="{} хочет начать приватную сессию с вами".format(me))
    elif kind == "session_response":
        asker = users.get(fold(msg["target_username"]))
        if asker is None or fold(asker["name"]) not in c["asks"]:
            return error(c, "no_pending_request", "Нет запроса от этого пользователя")
        c["asks"].discard(fold(asker["name"]))
        ok = msg["accepted"] and not c["mate"] and not asker["mate"]
        if ok:
            c["mate"], asker["mate"] = asker, c
        verb = "установлена" if ok else "отклонена"
        for u in (asker, c):
            push(u, "session_accepted" if ok else "session_rejected", from_username=asker["name"],
                 to_username=me, message="Приватная сессия между {} и {} {}".format(
                     asker["name"], me, verb))
    elif kind == "session_end":
        mate = c["mate"]
        if mate is None:
            return error(c, "not_in_session", "Вы не в сессии")
        c["mate"] = mate["mate"] = None
        for u in (c, mate):
            push(u, "session_ended", from_username=me, to_username=mate["name"], reason="exit",
                 message="{} завершил(а) приватную сессию".format(me))


def line_in(c, raw):
    c["heard"], c["pinged"] = time.monotonic(), None
    raw = raw.rstrip(b"\r")
    if not raw.strip():
        return
    try:
        msg = json.loads(raw.decode("utf-8"))
    except ValueError:
        msg = None
    if not isinstance(msg, dict):
        return error(c, "invalid_json", "Строка не является JSON-объектом")
    if "type" in msg:
        if c["name"] is None:
            return error(c, "not_registered", "Сначала зарегистрируйтесь")
        return handle(c, msg)
    if c["name"] is not None:
        return error(c, "already_registered", "Вы уже зарегистрированы")
    if "username" not in msg:
        return error(c, "invalid_message", "Нет поля username")
    register(c, msg)


def readable(c):
    try:
        data = c["sock"].recv(65536)
    except (BlockingIOError, InterruptedError):
        return
    except OSError:
        return drop(c, "disconnect")
    if not data:
        return drop(c, "quit")
    c["inp"] += data
    too_long = False
    while b"\n" in c["inp"] and not c["dead"] and not too_long:
        raw, _, rest = bytes(c["inp"]).partition(b"\n")
        c["inp"] = bytearray(rest)
        too_long = len(raw) > opts.max_line_bytes
        if not too_long:
            line_in(c, raw)
    if (too_long or len(c["inp"]) > opts.max_line_bytes) and not c["dead"]:
        fatal(c, "line_too_long", "Строка длиннее {} байт".format(opts.max_line_bytes), "error")


def accept(listener):
    sock, _ = listener.accept()
    sock.setblocking(False)
    now = time.monotonic()
    c = {"sock": sock, "inp": bytearray(), "out": bytearray(), "name": None, "mate": None,
         "asks": set(), "born": now, "heard": now, "pinged": None, "dead": False}
    conns[sock] = c
    sel.register(sock, selectors.EVENT_READ, c)
    if opts.max_clients and len(conns) > opts.max_clients:
        fatal(c, "server_full", "Сервер переполнен", "error")


def timers():
    now = time.monotonic()
    for c in list(conns.values()):
        if c["name"] is None and now - c["born"] > opts.register_timeout:
            fatal(c, "registration_timeout", "Время на регистрацию вышло", "error")
        elif c["name"] and c["pinged"] and now - c["pinged"] > opts.ping_timeout:
            drop(c, "timeout")
        elif c["name"] and not c["pinged"] and now - c["heard"] > opts.ping_interval:
            c["pinged"] = now
            push(c, "ping")


def stop(*_):
    raise KeyboardInterrupt


def main():
    global opts
    p = argparse.ArgumentParser(description="Сервер чата")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8083)
    for flag, default in (("--register-timeout", 30), ("--ping-interval", 30),
                          ("--ping-timeout", 10)):
        p.add_argument(flag, type=float, default=default)
    for flag, default in (("--sendq-bytes", 1048576), ("--max-clients", 0),
                          ("--max-line-bytes", 65536)):
        p.add_argument(flag, type=int, default=default)
    opts = p.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((opts.host, opts.port))
    except OSError as exc:
        print("Не удалось занять {}:{}: {}".format(opts.host, opts.port, exc.strerror),
              file=sys.stderr)
        sys.exit(1)
    listener.listen()
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, None)
    signal.signal(signal.SIGTERM, stop)
    print("Сервер запущен на {}:{}".format(*listener.getsockname()[:2]), flush=True)
    try:
        while True:
            for key, events in sel.select(timeout=0.05):
                c = key.data
                if c is None:
                    accept(listener)
                elif c["dead"]:
                    continue
                elif events & selectors.EVENT_READ:
                    readable(c)
                elif events & selectors.EVENT_WRITE:
                    flush(c)
            timers()
    except KeyboardInterrupt:
        listener.close()
        for c in list(users.values()):
            if c["mate"]:
                push(c, "session_ended", from_username=c["name"], to_username=c["mate"]["name"],
                     reason="shutdown", message="Сервер останавливается, сессия завершена")
        system("shutdown", "Сервер завершает работу")
        for c in list(conns.values()):
            c["sock"].setblocking(True)
            c["sock"].settimeout(0.3)
            try:
                c["sock"].sendall(c["out"])
            except OSError:
                pass
            c["sock"].close()
        print("Сервер остановлен", file=sys.stderr)


if __name__ == "__main__":
    main()
