"""A correct chat client written differently from reference/client.py (for harness tests).

Other wording and layout everywhere the display contract leaves room, a receiver thread
that erases the input line with ESC [2K and redraws prompt + readline buffer, y/n and
commands handled in one loop.  The harness must give it full marks on client scenarios.
"""

import argparse
import json
import os
import readline
import socket
import sys
import threading

state = {"me": None, "partner": None, "pending": []}  # type: dict
YES = ("y", "yes", "д", "да")
NO = ("n", "no", "н", "нет")
screen_lock = threading.Lock()
send_lock = threading.Lock()


def send(sock, obj):
    with send_lock:
        sock.sendall((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8"))


def prompt():
    if state["partner"]:
        return "(сессия: {}) >> ".format(state["partner"])
    return "общий >> "


def hms(msg):
    return str(msg.get("timestamp", ""))[11:19]


def show(text):
    with screen_lock:
        sys.stdout.write("\r\x1b[2K" + text + "\n" + prompt() + readline.get_line_buffer())
        sys.stdout.flush()


def render(msg):
    kind = msg.get("type")
    if kind == "message":
        return "{} | {}: {}".format(hms(msg), msg["from_username"], msg["message"])
    if kind == "private":
        return "{} | {} (лично): {}".format(hms(msg), msg["from_username"], msg["message"])
    if kind == "system":
        return "{} | {} — онлайн: {}".format(hms(msg), msg["message"], msg["online_users"])
    if kind == "users_list":
        return "Пользователи: " + ", ".join(msg["users"])
    if kind == "session_request":
        state["pending"].append(msg["from_username"])
        return "{} хочет поговорить наедине — ответьте y/n".format(msg["from_username"])
    if kind == "session_accepted":
        a, b = msg["from_username"], msg["to_username"]
        state["partner"] = b if a == state["me"] else a
        return "{} | {}".format(hms(msg), msg["message"])
    if kind in ("session_rejected", "session_ended"):
        if kind == "session_ended":
            state["partner"] = None
        return "{} | {}".format(hms(msg), msg["message"])
    if kind == "error":
        return "{} | ОШИБКА {}".format(hms(msg), msg["message"])
    return None


def receive(sock, reader):
    for raw in reader:
        msg = json.loads(raw.decode("utf-8"))
        if msg.get("type") == "ping":
            send(sock, {"type": "pong"})
            continue
        text = render(msg)
        if text:
            show(text)
    with screen_lock:
        sys.stdout.write("\r\x1b[2KСервер недоступен, выходим.\n")
        sys.stdout.flush()
    os._exit(2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    args = parser.parse_args()
    sock = socket.create_connection((args.host, args.port))
    reader = sock.makefile("rb")
    while True:
        name = input("Введите имя: ").strip()
        send(sock, {"username": name})
        reply = json.loads(reader.readline().decode("utf-8"))
        print(render(reply))
        if reply.get("type") != "error":
            state["me"] = name
            break
    threading.Thread(target=receive, args=(sock, reader), daemon=True).start()
    while True:
        try:
            line = input(prompt()).strip()
        except (EOFError, KeyboardInterrupt):  # Ctrl+D is /quit; Ctrl+C ends quietly too
            print()
            break
        if not line:
            continue
        if state["pending"] and line.lower() in YES + NO:
            answer = {"type": "session_response", "target_username": state["pending"].pop(0)}
            answer["accepted"] = line.lower() in YES
            send(sock, answer)
        elif line == "/quit":
            break
        elif line == "/users":
            send(sock, {"type": "users"})
        elif line == "/help":
            print("/users — кто онлайн\n/private ИМЯ ТЕКСТ\n/session ИМЯ\n/exit\n/quit")
        elif line.split()[0] == "/private":
            words = line.split(None, 2)
            if len(words) < 3:
                print("Как писать лично: /private ИМЯ ТЕКСТ")
                continue
            send(sock, {"type": "private", "target_username": words[1], "message": words[2]})
        elif line.split()[0] == "/session":
            words = line.split()
            if len(words) < 2:
                print("Как начать сессию: /session ИМЯ")
                continue
            send(sock, {"type": "session_request", "target_username": words[1]})
        elif line == "/exit":
            send(sock, {"type": "session_end"})
        elif line.startswith("/"):
            print("Нет такой команды. Наберите /help")
        elif state["partner"]:
            send(sock, {"type": "private", "target_username": state["partner"], "message": line})
        else:
            send(sock, {"type": "message", "message": line})
    sock.close()


if __name__ == "__main__":
    main()
