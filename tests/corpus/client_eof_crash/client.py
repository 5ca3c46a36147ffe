import argparse
import json
import os
import readline
import socket
import sys
import threading

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=8083)
args = p.parse_args()

sock = socket.create_connection((args.host, args.port))
rfile = sock.makefile("rb")
lock = threading.Lock()
me = None
partner = None
waiting = []


def send(**m):
    sock.sendall((json.dumps(m, ensure_ascii=False) + "\n").encode("utf-8"))


def prompt():
    return f"[сессия с {partner}]> " if partner else "[общий]> "


def out(text):
    with lock:
        sys.stdout.write("\r\x1b[K" + text + "\n" + prompt() + readline.get_line_buffer())
        sys.stdout.flush()


def fmt(m):
    global partner
    t = m.get("timestamp", "")[11:19]
    k = m["type"]
    if k == "message":
        return f"[{t}] {m['from_username']}: {m['message']}"
    if k == "private":
        return f"[{t}] [лично] {m['from_username']}: {m['message']}"
    if k == "system":
        return f"[{t}] *** {m['message']} (онлайн: {m['online_users']})"
    if k == "users_list":
        return f"[{t}] *** Онлайн: {', '.join(m['users'])}"
    if k == "session_request":
        waiting.append(m["from_username"])
        return f"[{t}] *** {m['message']}. Принять? (y/n)"
    if k == "error":
        return f"[{t}] Ошибка: {m['message']}"
    if k == "session_accepted":
        partner = m["to_username"] if m["from_username"] == me else m["from_username"]
    if k == "session_ended":
        partner = None
    return f"[{t}] *** {m.get('message', '')}"


def reader():
    for raw in rfile:
        if not raw.strip():
            continue
        m = json.loads(raw)
        if m["type"] == "ping":
            send(type="pong")
        else:
            out(fmt(m))
    out("Соединение с сервером потеряно.")
    os._exit(1)


while me is None:
    name = input("Имя пользователя: ").strip()
    send(username=name)
    reply = json.loads(rfile.readline())
    print(fmt(reply))
    if reply["type"] == "system":
        me = name

threading.Thread(target=reader, daemon=True).start()
while True:
    line = input(prompt()).strip()
    if waiting and line.lower() in ("y", "yes", "д", "да", "n", "no", "н", "нет"):
        send(type="session_response", target_username=waiting.pop(0),
             accepted=line.lower() in ("y", "yes", "д", "да"))
    elif line == "/quit":
        sock.close()
        sys.exit(0)
    elif line == "/users":
        send(type="users")
    elif line == "/help":
        out("Команды: /users, /private ИМЯ ТЕКСТ, /session ИМЯ, /exit, /help, /quit")
    elif line.startswith("/private "):
        parts = line.split(" ", 2)
        if len(parts) < 3 or not parts[2].strip():
            out("Пример: /private Bob привет")
        else:
            send(type="private", target_username=parts[1], message=parts[2])
    elif line.startswith("/private"):
        out("Пример: /private Bob привет")
    elif line.startswith("/session "):
        send(type="session_request", target_username=line.split()[1])
    elif line == "/exit":
        send(type="session_end")
    elif line.startswith("/"):
        out("Неизвестная команда. Список команд: /help")
    elif line:
        if partner:
            send(type="private", target_username=partner, message=line)
        else:
            send(type="message", message=line)
