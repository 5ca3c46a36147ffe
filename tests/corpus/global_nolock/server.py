import argparse
import json
import re
import socket
import threading
import unicodedata
from datetime import datetime

clients = []  # every connected socket
names = {}  # socket -> name


def ts():
    return datetime.now().isoformat(timespec="seconds")


def send(conn, msg):
    msg["timestamp"] = ts()
    conn.sendall((json.dumps(msg, ensure_ascii=False) + "\n").encode())


def broadcast(msg, sender=None):
    for c in clients:
        if c != sender:
            try:
                send(c, dict(msg))
            except OSError:
                pass


def error(conn, code, text):
    send(conn, {"type": "error", "code": code, "message": text})


def norm(name):
    return unicodedata.normalize("NFC", name).casefold()


def by_name(name):
    for c, n in names.items():
        if norm(n) == norm(name):
            return c
    return None


def client_thread(conn):
    reason = "quit"
    try:
        for line in conn.makefile("rb"):
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line.decode("utf-8"))
                assert isinstance(data, dict)
            except (ValueError, AssertionError):
                error(conn, "invalid_json", "Некорректный JSON")
                continue
            if "type" not in data:
                if conn in names:
                    error(conn, "already_registered", "Вы уже вошли")
                    continue
                name = data.get("username")
                if not isinstance(name, str) or not re.fullmatch(r"[\w.\-]{1,32}", name):
                    error(conn, "username_invalid", "Недопустимое имя")
                elif by_name(name) is not None:
                    error(conn, "username_taken", f"Имя {name} уже занято")
                else:
                    names[conn] = name
                    send(conn, {"type": "system", "event": "welcome", "username": name,
                                "message": f"Добро пожаловать в чат, {name}!", "online_users": len(names)})
                    broadcast({"type": "system", "event": "join", "username": name,
                               "message": f"{name} вошёл в чат", "online_users": len(names)}, conn)
                continue
            if conn not in names:
                error(conn, "not_registered", "Сначала введите имя")
                continue
            me = names[conn]
            kind = data["type"]
            if kind == "users":
                send(conn, {"type": "users_list", "users": list(names.values())})
            elif kind == "pong":
                pass
            elif kind in ("message", "private"):
                text = data.get("message")
                if not isinstance(text, str):
                    error(conn, "invalid_message", "Нет поля message")
                elif not text.strip():
                    error(conn, "empty_message", "Пустое сообщение")
                elif len(text.strip()) > 4096:
                    error(conn, "message_too_long", "Слишком длинное сообщение")
                elif kind == "message":
                    broadcast({"type": "message", "from_username": me, "message": text}, conn)
                else:
                    target = data.get("target_username")
                    other = by_name(target) if isinstance(target, str) else None
                    if not isinstance(target, str):
                        error(conn, "invalid_message", "Нет поля target_username")
                    elif other is None:
                        error(conn, "unknown_user", f"Пользователь {target} не в сети")
                    elif other is conn:
                        error(conn, "self_target", "Нельзя писать самому себе")
                    else:
                        send(other, {"type": "private", "from_username": me, "message": text})
            else:
                error(conn, "unknown_type", f"Неизвестный тип {kind}")
    except OSError:
        reason = "disconnect"
    clients.remove(conn)
    conn.close()
    if conn in names:
        name = names.pop(conn)
        print(f"{name} вышел из чата")
        broadcast({"type": "system", "event": "leave", "username": name, "reason": reason,
                   "message": f"{name} вышел из чата", "online_users": len(names)})


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

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen()
print(f"Сервер запущен на {args.host}:{server.getsockname()[1]}", flush=True)
try:
    while True:
        conn, addr = server.accept()
        clients.append(conn)
        threading.Thread(target=client_thread, args=(conn,), daemon=True).start()
except KeyboardInterrupt:
    broadcast({"type": "system", "event": "shutdown", "message": "Сервер завершает работу",
               "online_users": len(names)})
    for c in clients:
        c.close()
    server.close()
