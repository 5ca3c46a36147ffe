import argparse
import json
import re
import socket
import threading
import unicodedata
from datetime import datetime

clients = {}  # name -> socket
sessions = {}  # name -> name
requests = []  # [from, to]
lock = threading.Lock()


def now():
    return datetime.now().isoformat(timespec="seconds")


def send(conn, data):
    data["timestamp"] = now()
    try:
        conn.sendall((json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8"))
    except OSError:
        pass


def err(conn, code, text):
    send(conn, {"type": "error", "code": code, "message": text})


def find(name):
    for n in clients:
        if unicodedata.normalize("NFC", n).casefold() == unicodedata.normalize("NFC", name).casefold():
            return n
    return None


def broadcast(data, skip=None):
    with lock:
        targets = [c for n, c in clients.items() if n != skip]
    for c in targets:
        send(c, dict(data))


def handle(conn, args):
    name = None
    conn.settimeout(args.register_timeout)
    reason = "quit"
    while True:
        try:
            data = conn.recv(1024)
        except socket.timeout:
            send(conn, {"type": "error", "code": "registration_timeout", "message": "Таймаут", "fatal": True})
            break
        except OSError:
            reason = "disconnect"
            break
        if not data:
            break
        try:
            msg = json.loads(data.decode("utf-8"))
        except ValueError:
            err(conn, "invalid_json", "Неверный JSON")
            continue
        if not isinstance(msg, dict):
            err(conn, "invalid_json", "Неверный JSON")
            continue
        t = msg.get("type")
        if t is None:
            if name:
                err(conn, "already_registered", "Вы уже зарегистрированы")
                continue
            u = msg.get("username")
            if not isinstance(u, str) or not re.fullmatch(r"[\w.\-]{1,32}", u):
                err(conn, "username_invalid", "Недопустимое имя")
                continue
            with lock:
                ok = find(u) is None
                if ok:
                    clients[u] = conn
                    count = len(clients)
            if not ok:
                err(conn, "username_taken", "Имя " + u + " уже занято")
                continue
            name = u
            conn.settimeout(None)
            print(name, "подключился")
            send(conn, {"type": "system", "event": "welcome", "username": name, "online_users": count, "message": "Добро пожаловать в чат, " + name + "!"})
            broadcast({"type": "system", "event": "join", "username": name, "online_users": count, "message": name + " вошёл в чат"}, skip=name)
            continue
        if name is None:
            err(conn, "not_registered", "Сначала зарегистрируйтесь")
            continue
        if t in ("message", "private"):
            text = msg.get("message")
            if not isinstance(text, str) or (t == "private" and not isinstance(msg.get("target_username"), str)):
                err(conn, "invalid_message", "Нет нужных полей")
            elif not text.strip():
                err(conn, "empty_message", "Пустое сообщение")
            elif len(text.strip()) > 4096:
                err(conn, "message_too_long", "Слишком длинное сообщение")
            elif t == "message":
                broadcast({"type": "message", "from_username": name, "message": text}, skip=name)
            else:
                target = find(msg["target_username"])
                if target is None:
                    err(conn, "unknown_user", "Пользователь " + msg["target_username"] + " не в сети")
                elif target == name:
                    err(conn, "self_target", "Нельзя писать самому себе")
                else:
                    send(clients[target], {"type": "private", "from_username": name, "message": text})
        elif t == "users":
            with lock:
                names = list(clients)
            send(conn, {"type": "users_list", "users": names})
        elif t == "session_request":
            if not isinstance(msg.get("target_username"), str):
                err(conn, "invalid_message", "Нет target_username")
                continue
            target = find(msg["target_username"])
            if target is None:
                err(conn, "unknown_user", "Пользователь не в сети")
            elif target == name:
                err(conn, "self_target", "Нельзя с самим собой")
            elif name in sessions or target in sessions or [name, target] in requests:
                err(conn, "busy", "Занято")
            else:
                requests.append([name, target])
                send(clients[target], {"type": "session_request", "from_username": name, "message": name + " хочет начать приватную сессию с вами"})
        elif t == "session_response":
            who = find(msg.get("target_username") or "")
            if not isinstance(msg.get("accepted"), bool):
                err(conn, "invalid_message", "Нет accepted")
            elif who is None or [who, name] not in requests:
                err(conn, "no_pending_request", "Нет запроса")
            else:
                requests.remove([who, name])
                if msg["accepted"]:
                    sessions[who], sessions[name] = name, who
                    kind, word = "session_accepted", "установлена"
                else:
                    kind, word = "session_rejected", "отклонена"
                for c in (clients[who], conn):
                    send(c, {"type": kind, "from_username": who, "to_username": name, "message": "Приватная сессия между " + who + " и " + name + " " + word})
        elif t == "session_end":
            if name not in sessions:
                err(conn, "not_in_session", "Вы не в сессии")
                continue
            other = sessions.pop(name)
            sessions.pop(other, None)
            for c in (conn, clients[other]):
                send(c, {"type": "session_ended", "from_username": name, "to_username": other, "reason": "exit", "message": name + " завершил(а) приватную сессию"})
        elif t == "pong":
            pass
        else:
            err(conn, "unknown_type", "Неизвестный тип")
    conn.close()
    if name:
        with lock:
            del clients[name]
            count = len(clients)
            for r in [r for r in requests if name in r]:
                requests.remove(r)
        other = sessions.pop(name, None)
        if other:
            sessions.pop(other, None)
            send(clients[other], {"type": "session_ended", "from_username": name, "to_username": other, "reason": "disconnect", "message": name + " вышел, сессия завершена"})
        print(name, "отключился")
        broadcast({"type": "system", "event": "leave", "username": name, "reason": reason, "online_users": count, "message": name + " вышел из чата"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--register-timeout", type=float, default=30)
    parser.add_argument("--ping-interval", type=float, default=30)
    parser.add_argument("--ping-timeout", type=float, default=10)
    parser.add_argument("--sendq-bytes", type=int, default=1048576)
    parser.add_argument("--max-clients", type=int, default=0)
    parser.add_argument("--max-line-bytes", type=int, default=65536)
    args = parser.parse_args()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.host, args.port))
    server.listen(5)
    print("Сервер запущен на %s:%d" % server.getsockname(), flush=True)
    try:
        while True:
            conn, addr = server.accept()
            threading.Thread(target=handle, args=(conn, args), daemon=True).start()
    except KeyboardInterrupt:
        broadcast({"type": "system", "event": "shutdown", "online_users": len(clients), "message": "Сервер завершает работу"})
        for c in list(clients.values()):
            c.close()
        server.close()


main()
