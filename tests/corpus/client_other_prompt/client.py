"""TCP chat client.  Output format of my own: «Alice (14:30:00) >> text»."""
import argparse
import codecs
import json
import os
import readline
import socket
import sys
import threading

ME = {"name": None, "mate": None}
QUEUE = []  # session invitations, oldest first
TTY = threading.Lock()


def where():
    return "сессия·{} > ".format(ME["mate"]) if ME["mate"] else "общий > "


def draw(text):
    TTY.acquire()
    try:
        sys.stdout.write("\r\x1b[K" + text + "\r\n" + where() + readline.get_line_buffer())
        sys.stdout.flush()
    finally:
        TTY.release()


def put(sock, obj):
    sock.sendall(json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n")


class Lines:
    """Decode the stream incrementally and cut it into lines."""

    def __init__(self, sock):
        self.sock, self.dec, self.text = sock, codecs.getincrementaldecoder("utf-8")(), ""

    def get(self):
        while "\n" not in self.text:
            data = self.sock.recv(2048)
            if not data:
                return None
            self.text += self.dec.decode(data)
        line, self.text = self.text.split("\n", 1)
        return json.loads(line) if line.strip() else self.get()


def nice(m):
    t = m.get("timestamp", "")[11:19]
    kind = m.get("type")
    if kind == "message":
        return "{} ({}) >> {}".format(m["from_username"], t, m["message"])
    if kind == "private":
        return "{} ({}) >> лично вам: {}".format(m["from_username"], t, m["message"])
    if kind == "system":
        return "({}) ~ {} ~ онлайн: {}".format(t, m["message"], m["online_users"])
    if kind == "users_list":
        return "({}) Пользователи: {}".format(t, ", ".join(m["users"]))
    if kind == "session_request":
        QUEUE.append(m["from_username"])
        return "({}) {} приглашает вас в приватную сессию, ответьте y/n".format(t, m["from_username"])
    if kind == "session_accepted":
        ME["mate"] = m["from_username"] if m["from_username"] != ME["name"] else m["to_username"]
    elif kind == "session_ended":
        ME["mate"] = None
    elif kind == "error":
        return "({}) ОШИБКА: {}".format(t, m["message"])
    return "({}) ~ {}".format(t, m.get("message", ""))


def listener(sock, lines):
    try:
        m = lines.get()
        while m is not None:
            if m.get("type") == "ping":
                put(sock, {"type": "pong"})
            else:
                draw(nice(m))
            m = lines.get()
    except (OSError, ValueError):
        pass
    draw("Связь с сервером потеряна, выхожу.")
    os._exit(3)


def handle(sock, line):
    low = line.lower()
    if QUEUE and low in ("y", "yes", "д", "да", "n", "no", "н", "нет"):
        put(sock, {"type": "session_response", "target_username": QUEUE.pop(0),
                   "accepted": low in ("y", "yes", "д", "да")})
    elif line == "/users":
        put(sock, {"type": "users"})
    elif line == "/help":
        draw("/users — список, /private ИМЯ ТЕКСТ — лично, /session ИМЯ — сессия, "
             "/exit — из сессии, /quit — выход")
    elif line.split(" ")[0] == "/private":
        bits = line.split(" ", 2)
        if len(bits) == 3 and bits[2].strip():
            put(sock, {"type": "private", "target_username": bits[1], "message": bits[2]})
        else:
            draw("Не хватает аргументов: /private ИМЯ ТЕКСТ")
    elif line.split(" ")[0] == "/session":
        bits = line.split()
        if len(bits) == 2:
            put(sock, {"type": "session_request", "target_username": bits[1]})
        else:
            draw("Не хватает аргументов: /session ИМЯ")
    elif line == "/exit":
        put(sock, {"type": "session_end"})
    elif line.startswith("/"):
        draw("Такой команды нет, наберите /help")
    elif ME["mate"]:
        put(sock, {"type": "private", "target_username": ME["mate"], "message": line})
    else:
        put(sock, {"type": "message", "message": line})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8083)
    opt = ap.parse_args()
    try:
        sock = socket.create_connection((opt.host, opt.port), timeout=5)
        sock.settimeout(None)
    except OSError as e:
        print("Нет связи с сервером:", e)
        return 1
    lines = Lines(sock)
    try:
        while ME["name"] is None:
            name = input("Ваше имя: ").strip()
            put(sock, {"username": name})
            m = lines.get()
            if m is None:
                print("Связь с сервером потеряна, выхожу.")
                return 3
            print(nice(m))
            if m.get("type") == "system":
                ME["name"] = name
        threading.Thread(target=listener, args=(sock, lines), daemon=True).start()
        while True:
            line = input(where()).strip()
            if line == "/quit":
                break
            if line:
                handle(sock, line)
    except (EOFError, KeyboardInterrupt):
        sys.stdout.write("\n")
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
