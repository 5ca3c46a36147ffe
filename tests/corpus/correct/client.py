"""Chat client: module-level state, a reader thread, readline for the typed line."""
import argparse
import collections
import json
import os
import readline
import socket
import sys
import threading

me = None
partner = None
asks = collections.deque()  # who asked us for a session, oldest first
paint_lock = threading.Lock()
YES, NO = ("y", "yes", "д", "да"), ("n", "no", "н", "нет")
HELP = ("Команды: /users — кто онлайн; /private ИМЯ ТЕКСТ — личное; /session ИМЯ — "
        "сессия; /exit — выйти из сессии; /help — эта подсказка; /quit — выход")


def prompt():
    return "<сессия: {}> ".format(partner) if partner else "<общий> "


def paint(text):
    """Print text above the input line, then redraw the prompt and what is typed."""
    with paint_lock:
        sys.stdout.write("\r\x1b[K" + text + "\n" + prompt() + readline.get_line_buffer())
        sys.stdout.flush()


def talk(sock, **msg):
    sock.sendall((json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8"))


def lines(sock, buf):
    while True:
        while b"\n" in buf:
            raw, _, buf[:] = bytes(buf).partition(b"\n")
            raw = raw.strip()
            if raw:
                yield json.loads(raw.decode("utf-8"))
        chunk = sock.recv(4096)
        if not chunk:
            return
        buf += chunk


def describe(m):
    global partner
    t, kind = str(m.get("timestamp", ""))[11:19], m.get("type")
    if kind == "message":
        return "{} <{}> {}".format(t, m["from_username"], m["message"])
    if kind == "private":
        return "{} <{}> (лично) {}".format(t, m["from_username"], m["message"])
    if kind == "system":
        return "{} -- {} [онлайн: {}]".format(t, m["message"], m["online_users"])
    if kind == "users_list":
        return "{} -- в чате {} чел.: {}".format(t, len(m["users"]), ", ".join(m["users"]))
    if kind == "session_request":
        asks.append(m["from_username"])
        return "{} -- {} зовёт вас в сессию. Согласны? (y/n)".format(t, m["from_username"])
    if kind == "session_accepted":
        partner = m["to_username"] if m["from_username"] == me else m["from_username"]
    elif kind == "session_ended":
        partner = None
    elif kind == "error":
        return "{} !! Ошибка: {}".format(t, m["message"])
    return "{} -- {}".format(t, m.get("message", ""))


def reader(sock, buf):
    try:
        for m in lines(sock, buf):
            if m.get("type") == "ping":
                talk(sock, type="pong")
            else:
                paint(describe(m))
    except (OSError, ValueError):
        pass
    with paint_lock:
        sys.stdout.write("\r\x1b[KСоединение с сервером потеряно.\n")
        sys.stdout.flush()
    os._exit(1)


def command(sock, line):
    word, _, rest = line.partition(" ")
    if word == "/users":
        talk(sock, type="users")
    elif word == "/help":
        paint(HELP)
    elif word == "/private":
        who, _, text = rest.strip().partition(" ")
        if who and text.strip():
            talk(sock, type="private", target_username=who, message=text.strip())
        else:
            paint("Как писать лично: /private ИМЯ ТЕКСТ")
    elif word == "/session" and rest.strip():
        talk(sock, type="session_request", target_username=rest.strip())
    elif word == "/session":
        paint("Как позвать в сессию: /session ИМЯ")
    elif word == "/exit":
        talk(sock, type="session_end")
    else:
        paint("Нет команды {}. Список команд: /help".format(word))


def main():
    global me
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8083)
    args = ap.parse_args()
    try:
        sock = socket.create_connection((args.host, args.port))
    except OSError as exc:
        print("Не удалось подключиться к {}:{}: {}".format(args.host, args.port, exc))
        sys.exit(1)
    buf = bytearray()
    incoming = lines(sock, buf)
    try:
        while me is None:
            name = input("Введите имя: ").strip()
            talk(sock, username=name)
            reply = next(incoming, None)
            if reply is None:
                print("Соединение с сервером потеряно.")
                sys.exit(1)
            print(describe(reply))
            if reply.get("type") != "error":
                me = name
        threading.Thread(target=reader, args=(sock, buf), daemon=True).start()
        while True:
            line = input(prompt()).strip()
            if asks and line.lower() in YES + NO:
                talk(sock, type="session_response", target_username=asks.popleft(),
                     accepted=line.lower() in YES)
            elif line == "/quit":
                break
            elif line.startswith("/"):
                command(sock, line)
            elif line and partner:
                talk(sock, type="private", target_username=partner, message=line)
            elif line:
                talk(sock, type="message", message=line)
    except (EOFError, KeyboardInterrupt):
        print()
    sock.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
