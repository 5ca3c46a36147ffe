"""A deliberately naive chat server, kept only as the baseline for `python -m harness bench`.

This is the server a typical student writes first, and it works: names are checked,
broadcasts reach everyone else, private messages and the user list work, framing is right.
What makes it slow and fragile under load is its write path:

* one thread per client (fine), one global lock around the dict of clients (fine), but
* `broadcast()` holds that lock while it calls `sendall()` on every other client, so
* every sender waits for every delivery of every other sender, and one client that stops
  reading blocks `sendall()` and with it the whole chat (there is no send queue to overflow);
* the message is encoded with `json.dumps()` once per recipient instead of once in total.

Sessions, ping/pong and most limits are not implemented; the options are accepted so the
harness can start it exactly like the reference. Do not copy this file: read
`reference/server.py` for the right design and `bench/README.md` for the numbers.
"""

import argparse
import contextlib
import datetime
import json
import socket
import sys
import threading
import unicodedata

ENCODING = "utf-8"

clients = {}  # username -> socket, in join order
lock = threading.Lock()


def now():
    return datetime.datetime.now().replace(microsecond=0).isoformat()


def send_json(sock, message):
    sock.sendall((json.dumps(message, ensure_ascii=False) + "\n").encode(ENCODING))


def broadcast(message, exclude=None):
    message["timestamp"] = now()
    with lock:
        for name, sock in clients.items():
            if name == exclude:
                continue
            # The reader thread of a broken client notices and cleans up; sendall()
            # blocks while the lock is held.
            with contextlib.suppress(OSError):
                send_json(sock, message)


def error(sock, code, text):
    send_json(sock, {"type": "error", "code": code, "message": text, "timestamp": now()})


def valid_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        return False
    return all(ch.isalnum() or ch in "_-." for ch in name)


def key(name):
    return unicodedata.normalize("NFC", name).casefold()


def register(sock, message):
    name = message.get("username")
    if not valid_name(name):
        error(sock, "username_invalid", "Недопустимое имя")
        return None
    with lock:
        if any(key(other) == key(name) for other in clients):
            taken = True
        else:
            taken = False
            clients[name] = sock
            online = len(clients)
    if taken:
        error(sock, "username_taken", f"Имя {name} уже занято")
        return None
    welcome = {"type": "system", "event": "welcome", "username": name, "online_users": online}
    welcome["message"] = f"Добро пожаловать в чат, {name}!"
    welcome["timestamp"] = now()
    send_json(sock, welcome)
    join = {"type": "system", "event": "join", "username": name, "online_users": online}
    join["message"] = f"{name} вошёл в чат"
    broadcast(join, exclude=name)
    print(f"{name} вошёл в чат", file=sys.stderr)
    return name


def handle_message(sock, name, message):
    kind = message.get("type")
    if kind == "message":
        text = message.get("message")
        if not isinstance(text, str) or not text.strip():
            error(sock, "empty_message", "Пустое сообщение")
            return
        broadcast({"type": "message", "from_username": name, "message": text}, exclude=name)
    elif kind == "private":
        target = message.get("target_username")
        text = message.get("message")
        with lock:
            target_sock = clients.get(target)
        if target_sock is None:
            error(sock, "unknown_user", f"Пользователь {target} не в сети")
            return
        reply = {"type": "private", "from_username": name, "message": text, "timestamp": now()}
        send_json(target_sock, reply)
    elif kind == "users":
        with lock:
            names = list(clients)
        send_json(sock, {"type": "users_list", "users": names, "timestamp": now()})
    elif kind == "pong":
        pass
    else:
        error(sock, "unknown_type", "Неизвестный тип сообщения")


def handle_client(sock):
    name = None
    buffer = b""
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    message = json.loads(line.decode(ENCODING))
                except ValueError:
                    error(sock, "invalid_json", "Некорректный JSON")
                    continue
                if not isinstance(message, dict):
                    error(sock, "invalid_json", "Некорректный JSON")
                elif name is None:
                    if "username" in message:
                        name = register(sock, message)
                    else:
                        error(sock, "not_registered", "Сначала зарегистрируйтесь")
                else:
                    handle_message(sock, name, message)
    except OSError:
        pass  # connection lost
    finally:
        if name is not None:
            with lock:
                del clients[name]
                online = len(clients)
            leave = {"type": "system", "event": "leave", "username": name, "reason": "quit"}
            leave["message"] = f"{name} вышел из чата"
            leave["online_users"] = online
            broadcast(leave)
            print(f"{name} вышел из чата", file=sys.stderr)
        sock.close()


def main():
    parser = argparse.ArgumentParser(description="Наивный чат-сервер (для сравнения)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    for option in ("--register-timeout", "--ping-interval", "--ping-timeout"):
        parser.add_argument(option, type=float, default=30)
    for option in ("--sendq-bytes", "--max-clients", "--max-line-bytes"):
        parser.add_argument(option, type=int, default=0)
    args = parser.parse_args()

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((args.host, args.port))
    except OSError as exc:
        print(f"Не удалось занять порт {args.port}: {exc}", file=sys.stderr)
        sys.exit(1)
    server.listen()
    host, port = server.getsockname()[:2]
    print(f"Сервер запущен на {host}:{port}", flush=True)
    try:
        while True:
            sock, _ = server.accept()
            threading.Thread(target=handle_client, args=(sock,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
