# Chat server: only --host and --port are options (the rest was not done yet).
import argparse
import json
import re
import socket
import sys
import threading
import unicodedata
from datetime import datetime

users = {}  # name -> (socket, lock)
partner = {}
asked = {}  # who was asked -> list of who asked
lock = threading.Lock()


def same(a, b):
    return unicodedata.normalize("NFC", a).casefold() == unicodedata.normalize("NFC", b).casefold()


def lookup(name):
    return next((n for n in users if isinstance(name, str) and same(n, name)), None)


def out(name_or_sock, **msg):
    msg["timestamp"] = datetime.now().isoformat(timespec="seconds")
    sock = users[name_or_sock] if isinstance(name_or_sock, str) else name_or_sock
    try:
        sock.sendall((json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8"))
    except (OSError, KeyError):
        pass


def everyone(skip=None, **msg):
    with lock:
        names = [n for n in users if n != skip]
    for n in names:
        out(n, **msg)


def serve(sock):
    me, why = None, "quit"
    f = sock.makefile("r", encoding="utf-8", errors="replace")
    try:
        for line in f:
            if not line.strip():
                continue
            try:
                m = json.loads(line)
                assert isinstance(m, dict)
            except (ValueError, AssertionError):
                out(sock, type="error", code="invalid_json", message="Неверный JSON")
                continue
            t = m.get("type")
            if "type" not in m and me is None:
                name = m.get("username")
                if not isinstance(name, str) or not re.fullmatch(r"[\w.\-]{1,32}", name):
                    out(sock, type="error", code="username_invalid", message="Неверное имя")
                    continue
                with lock:
                    free = lookup(name) is None
                    if free:
                        users[name] = sock
                if not free:
                    out(sock, type="error", code="username_taken", message=f"Имя {name} уже занято")
                    continue
                me = name
                out(me, type="system", event="welcome", username=me, online_users=len(users),
                    message=f"Добро пожаловать в чат, {me}!")
                everyone(me, type="system", event="join", username=me, online_users=len(users),
                         message=f"{me} вошёл в чат")
            elif "type" not in m:
                out(sock, type="error", code="already_registered", message="Уже зарегистрированы")
            elif me is None:
                out(sock, type="error", code="not_registered", message="Сначала имя")
            elif t in ("message", "private") and not isinstance(m.get("message"), str):
                out(me, type="error", code="invalid_message", message="Нет message")
            elif t in ("message", "private") and not 1 <= len(m["message"].strip()) <= 4096:
                code = "empty_message" if not m["message"].strip() else "message_too_long"
                out(me, type="error", code=code, message="Текст от 1 до 4096 символов")
            elif t == "message":
                everyone(me, type="message", from_username=me, message=m["message"])
            elif t in ("private", "session_request"):
                target = lookup(m.get("target_username"))
                if not isinstance(m.get("target_username"), str):
                    out(me, type="error", code="invalid_message", message="Нет target_username")
                elif target is None:
                    out(me, type="error", code="unknown_user", message="Нет такого пользователя")
                elif target == me:
                    out(me, type="error", code="self_target", message="Это вы")
                elif t == "private":
                    out(target, type="private", from_username=me, message=m["message"])
                elif me in partner or target in partner or me in asked.get(target, []):
                    out(me, type="error", code="busy", message="Занято")
                else:
                    asked.setdefault(target, []).append(me)
                    out(target, type="session_request", from_username=me,
                        message=f"{me} хочет начать приватную сессию с вами")
            elif t == "session_response":
                who = lookup(m.get("target_username"))
                if not isinstance(m.get("accepted"), bool):
                    out(me, type="error", code="invalid_message", message="accepted: true/false")
                elif who is None or who not in asked.get(me, []):
                    out(me, type="error", code="no_pending_request", message="Нет запроса")
                else:
                    asked[me].remove(who)
                    ok = m["accepted"] and who not in partner and me not in partner
                    if ok:
                        partner[who], partner[me] = me, who
                    kind = "session_accepted" if ok else "session_rejected"
                    for n in (who, me):
                        out(n, type=kind, from_username=who, to_username=me,
                            message=f"Сессия {who} и {me} {'установлена' if ok else 'отклонена'}")
            elif t == "session_end":
                other = partner.pop(me, None)
                if other is None:
                    out(me, type="error", code="not_in_session", message="Вы не в сессии")
                else:
                    partner.pop(other, None)
                    for n in (me, other):
                        out(n, type="session_ended", from_username=me, to_username=other,
                            reason="exit", message=f"{me} завершил(а) приватную сессию")
            elif t == "users":
                out(me, type="users_list", users=list(users))
            elif t != "pong":
                out(me, type="error", code="unknown_type", message="Неизвестный тип")
    except OSError:
        why = "disconnect"
    sock.close()
    if me:
        with lock:
            del users[me]
            asked.pop(me, None)
            for lst in asked.values():
                if me in lst:
                    lst.remove(me)
        other = partner.pop(me, None)
        if other:
            partner.pop(other, None)
            out(other, type="session_ended", from_username=me, to_username=other,
                reason="disconnect", message=f"{me} вышел, сессия завершена")
        everyone(type="system", event="leave", username=me, reason=why, online_users=len(users),
                 message=f"{me} вышел из чата")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8083)
    args = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((args.host, args.port))
    except OSError:
        sys.exit(f"Порт {args.port} занят")
    s.listen()
    print(f"Сервер запущен на {args.host}:{s.getsockname()[1]}", flush=True)
    try:
        while True:
            conn, _ = s.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        everyone(type="system", event="shutdown", online_users=len(users),
                 message="Сервер завершает работу")


if __name__ == "__main__":
    main()
