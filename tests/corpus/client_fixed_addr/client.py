# Chat client.  Connects to the server of the lab (127.0.0.1:8083).
import json
import os
import readline
import socket
import sys
import threading

HOST = "127.0.0.1"
PORT = 8083

state = {"name": None, "peer": None, "asks": []}
screen = threading.Lock()


def prompt():
    if state["peer"]:
        return "[сессия с " + state["peer"] + "]> "
    return "[общий]> "


def show(line):
    with screen:
        sys.stdout.write("\r\033[2K" + line + "\n" + prompt() + readline.get_line_buffer())
        sys.stdout.flush()


def send(sock, msg):
    sock.sendall((json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8"))


def hhmmss(msg):
    return msg.get("timestamp", "")[11:19]


def render(msg):
    t = msg.get("type")
    when = "[" + hhmmss(msg) + "] "
    if t == "message":
        return when + msg["from_username"] + ": " + msg["message"]
    if t == "private":
        return when + "[лично] " + msg["from_username"] + ": " + msg["message"]
    if t == "system":
        return when + "*** " + msg["message"] + " (онлайн: " + str(msg["online_users"]) + ")"
    if t == "users_list":
        return when + "*** Онлайн: " + ", ".join(msg["users"])
    if t == "session_request":
        state["asks"].append(msg["from_username"])
        return when + "*** " + msg["message"] + ". Принять? (y/n)"
    if t == "session_accepted":
        state["peer"] = msg["to_username"] if msg["from_username"] == state["name"] else msg["from_username"]
    if t == "session_ended":
        state["peer"] = None
    if t == "error":
        return when + "Ошибка: " + msg["message"]
    return when + "*** " + msg.get("message", "")


def receive(sock, buf):
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            msg = json.loads(line.decode("utf-8"))
            if msg.get("type") == "ping":
                send(sock, {"type": "pong"})
            else:
                show(render(msg))
        try:
            data = sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            show("Соединение с сервером потеряно.")
            os._exit(1)
        buf += data


def read_reply(sock, buf):
    while b"\n" not in buf:
        data = sock.recv(4096)
        if not data:
            print("Соединение с сервером потеряно.")
            sys.exit(1)
        buf += data
    line, buf = buf.split(b"\n", 1)
    return json.loads(line.decode("utf-8")), buf


def main():
    try:
        sock = socket.create_connection((HOST, PORT))
    except OSError:
        print("Сервер недоступен")
        sys.exit(1)
    buf = b""
    try:
        while state["name"] is None:
            name = input("Введите имя: ").strip()
            send(sock, {"username": name})
            reply, buf = read_reply(sock, buf)
            print(render(reply))
            if reply.get("type") == "system":
                state["name"] = name
        threading.Thread(target=receive, args=(sock, buf), daemon=True).start()
        while True:
            line = input(prompt()).strip()
            if not line:
                continue
            if state["asks"] and line.lower() in ("y", "yes", "д", "да", "n", "no", "н", "нет"):
                who = state["asks"].pop(0)
                send(sock, {"type": "session_response", "target_username": who,
                            "accepted": line.lower() in ("y", "yes", "д", "да")})
                continue
            if not line.startswith("/"):
                if state["peer"]:
                    send(sock, {"type": "private", "target_username": state["peer"], "message": line})
                else:
                    send(sock, {"type": "message", "message": line})
                continue
            parts = line.split(" ", 2)
            cmd = parts[0]
            if cmd == "/quit":
                break
            elif cmd == "/users":
                send(sock, {"type": "users"})
            elif cmd == "/help":
                show("Команды: /users, /private ИМЯ ТЕКСТ, /session ИМЯ, /exit, /help, /quit")
            elif cmd == "/private" and len(parts) == 3 and parts[2].strip():
                send(sock, {"type": "private", "target_username": parts[1], "message": parts[2]})
            elif cmd == "/private":
                show("Использование: /private ИМЯ ТЕКСТ")
            elif cmd == "/session" and len(parts) >= 2:
                send(sock, {"type": "session_request", "target_username": parts[1]})
            elif cmd == "/session":
                show("Использование: /session ИМЯ")
            elif cmd == "/exit":
                send(sock, {"type": "session_end"})
            else:
                show("Неизвестная команда: " + cmd + ". Список команд: /help")
    except (EOFError, KeyboardInterrupt):
        pass
    sock.close()
    print()
    sys.exit(0)


main()
