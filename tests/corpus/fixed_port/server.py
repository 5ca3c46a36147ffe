#!/usr/bin/env python3
# Chat server, lab work.  Port 8083 as the assignment says; listens on all interfaces so
# that classmates can connect.  The options are parsed, but HOST and PORT are constants.
import argparse
import json
import re
import signal
import socket
import sys
import threading
import time
import unicodedata
from datetime import datetime

HOST = "0.0.0.0"
PORT = 8083

state_lock = threading.Lock()
people = []  # registered users, in order of joining
conns = []  # every open connection


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.name = None
        self.peer = None  # session partner (Conn)
        self.invited_by = []  # Conn objects waiting for our answer
        self.opened = self.heard = time.time()
        self.pinged = 0
        self.gone = False
        self.pending = bytearray()
        self.wake = threading.Condition()
        threading.Thread(target=self.pump, daemon=True).start()

    def key(self):
        return unicodedata.normalize("NFC", self.name).casefold()

    def put(self, **msg):
        msg["timestamp"] = datetime.now().isoformat(timespec="seconds")
        data = (json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8")
        with self.wake:
            self.pending += data
            too_much = len(self.pending) > ARGS.sendq_bytes
            self.wake.notify()
        if too_much:
            self.close("overflow")

    def pump(self):
        while True:
            with self.wake:
                while not self.pending and not self.gone:
                    self.wake.wait()
                if not self.pending:
                    break
                data, self.pending = bytes(self.pending), bytearray()
            try:
                self.sock.sendall(data)
            except OSError:
                break
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def oops(self, code, text, fatal=False):
        if fatal:
            self.put(type="error", code=code, message=text, fatal=True)
            self.close("error")
        else:
            self.put(type="error", code=code, message=text)

    def close(self, reason):
        with state_lock:
            if self.gone:
                return
            self.gone = True
            conns.remove(self)
            was_user = self in people
            if was_user:
                people.remove(self)
            for p in people:
                if self in p.invited_by:
                    p.invited_by.remove(self)
            peer, self.peer = self.peer, None
            if peer:
                peer.peer = None
            left = list(people)
        if reason == "overflow":
            self.sock.shutdown(socket.SHUT_RDWR)
        with self.wake:
            self.wake.notify()
        if peer:
            peer.put(type="session_ended", from_username=self.name, to_username=peer.name,
                     reason="disconnect", message=self.name + " вышел, сессия завершена")
        if was_user:
            for p in left:
                p.put(type="system", event="leave", username=self.name, reason=reason,
                      online_users=len(left), message=self.name + " вышел из чата")


def lookup(name):
    k = unicodedata.normalize("NFC", name).casefold()
    with state_lock:
        for p in people:
            if p.key() == k:
                return p
    return None


def everyone_but(c):
    with state_lock:
        return [p for p in people if p is not c]


def on_register(c, msg):
    name = msg.get("username")
    if not isinstance(name, str) or not re.fullmatch(r"[\w.\-]{1,32}", name):
        return c.oops("username_invalid", "Имя: 1-32 символа, буквы, цифры, _ . -")
    with state_lock:
        k = unicodedata.normalize("NFC", name).casefold()
        if any(p.key() == k for p in people):
            taken = True
        else:
            taken = False
            c.name = name
            people.append(c)
            n = len(people)
    if taken:
        return c.oops("username_taken", "Имя {} уже занято".format(name))
    c.put(type="system", event="welcome", username=name, online_users=n,
          message="Добро пожаловать в чат, {}!".format(name))
    for p in everyone_but(c):
        p.put(type="system", event="join", username=name, online_users=n,
              message="{} вошёл в чат".format(name))


def get_text(c, msg):
    text = msg.get("message")
    if not isinstance(text, str):
        c.oops("invalid_message", "Нет текста сообщения")
    elif not text.strip():
        c.oops("empty_message", "Пустое сообщение")
    elif len(text.strip()) > 4096:
        c.oops("message_too_long", "Не больше 4096 символов")
    else:
        return text
    return None


def get_target(c, msg):
    name = msg.get("target_username")
    if not isinstance(name, str):
        c.oops("invalid_message", "Нет target_username")
        return None
    other = lookup(name)
    if other is None:
        c.oops("unknown_user", "Пользователь {} не в сети".format(name))
    elif other is c:
        c.oops("self_target", "Это вы")
    else:
        return other
    return None


def on_command(c, msg):
    t = msg["type"]
    if t == "message":
        text = get_text(c, msg)
        if text:
            for p in everyone_but(c):
                p.put(type="message", from_username=c.name, message=text)
    elif t == "private":
        text = get_text(c, msg)
        other = get_target(c, msg) if text else None
        if other:
            other.put(type="private", from_username=c.name, message=text)
    elif t == "users":
        with state_lock:
            names = [p.name for p in people]
        c.put(type="users_list", users=names)
    elif t == "session_request":
        other = get_target(c, msg)
        if other is None:
            return
        with state_lock:
            busy = c.peer or other.peer or c in other.invited_by
            if not busy:
                other.invited_by.append(c)
        if busy:
            return c.oops("busy", "Сессия сейчас невозможна")
        other.put(type="session_request", from_username=c.name,
                  message="{} хочет начать приватную сессию с вами".format(c.name))
    elif t == "session_response":
        if not isinstance(msg.get("target_username"), str) or not isinstance(msg.get("accepted"), bool):
            return c.oops("invalid_message", "Нужны target_username и accepted")
        asker = lookup(msg["target_username"])
        with state_lock:
            found = asker is not None and asker in c.invited_by
            if found:
                c.invited_by.remove(asker)
                ok = msg["accepted"] and not c.peer and not asker.peer
                if ok:
                    c.peer, asker.peer = asker, c
        if not found:
            return c.oops("no_pending_request", "Запроса от этого пользователя нет")
        kind = "session_accepted" if ok else "session_rejected"
        text = "Приватная сессия между {} и {} {}".format(
            asker.name, c.name, "установлена" if ok else "отклонена")
        for p in (asker, c):
            p.put(type=kind, from_username=asker.name, to_username=c.name, message=text)
    elif t == "session_end":
        with state_lock:
            peer = c.peer
            if peer:
                c.peer = peer.peer = None
        if not peer:
            return c.oops("not_in_session", "Вы не в сессии")
        for p in (c, peer):
            p.put(type="session_ended", from_username=c.name, to_username=peer.name,
                  reason="exit", message="{} завершил(а) приватную сессию".format(c.name))
    elif t != "pong":
        c.oops("unknown_type", "Неизвестный тип: {}".format(t))


def on_line(c, line):
    try:
        msg = json.loads(line)
    except ValueError:
        msg = None
    if not isinstance(msg, dict):
        c.oops("invalid_json", "Не JSON-объект")
    elif "type" in msg:
        if c.name is None:
            c.oops("not_registered", "Сначала зарегистрируйтесь")
        else:
            on_command(c, msg)
    elif c.name is not None:
        c.oops("already_registered", "Вы уже зарегистрированы")
    else:
        on_register(c, msg)


def reader(c):
    buf = b""
    reason = "quit"
    while not c.gone:
        try:
            chunk = c.sock.recv(4096)
        except OSError:
            reason = "disconnect"
            break
        if not chunk:
            break
        c.heard, c.pinged = time.time(), 0
        buf += chunk
        lines = buf.split(b"\n")
        buf = lines.pop()
        for line in lines:
            if len(line) > ARGS.max_line_bytes:
                buf = line
                break
            line = line.rstrip(b"\r")
            if line.strip() and not c.gone:
                on_line(c, line.decode("utf-8", "replace"))
        if len(buf) > ARGS.max_line_bytes:
            return c.oops("line_too_long", "Строка слишком длинная", fatal=True)
    c.close(reason)


def watchdog():
    while True:
        time.sleep(0.1)
        now = time.time()
        with state_lock:
            snapshot = list(conns)
        for c in snapshot:
            if c.name is None and now - c.opened > ARGS.register_timeout:
                c.oops("registration_timeout", "Вы не зарегистрировались вовремя", fatal=True)
            elif c.name and c.pinged and now - c.pinged > ARGS.ping_timeout:
                c.close("timeout")
            elif c.name and not c.pinged and now - c.heard > ARGS.ping_interval:
                c.pinged = now
                c.put(type="ping")


def main():
    global ARGS
    ap = argparse.ArgumentParser(description="Сервер чата")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8083)
    ap.add_argument("--register-timeout", type=float, default=30)
    ap.add_argument("--ping-interval", type=float, default=30)
    ap.add_argument("--ping-timeout", type=float, default=10)
    ap.add_argument("--sendq-bytes", type=int, default=1024 * 1024)
    ap.add_argument("--max-clients", type=int, default=0)
    ap.add_argument("--max-line-bytes", type=int, default=64 * 1024)
    ARGS = ap.parse_args()

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        srv.bind((HOST, PORT))
    except OSError:
        print("Ошибка: порт {} уже занят".format(PORT), file=sys.stderr)
        sys.exit(1)
    srv.listen()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print("Сервер запущен на {}:{}".format(HOST, PORT), flush=True)
    threading.Thread(target=watchdog, daemon=True).start()
    try:
        while True:
            sock, addr = srv.accept()
            c = Conn(sock)
            with state_lock:
                conns.append(c)
                full = ARGS.max_clients and len(conns) > ARGS.max_clients
            if full:
                c.oops("server_full", "Сервер переполнен", fatal=True)
            else:
                threading.Thread(target=reader, args=(c,), daemon=True).start()
    except KeyboardInterrupt:
        srv.close()
        with state_lock:
            snapshot = list(people)
        for p in snapshot:
            if p.peer:
                p.put(type="session_ended", from_username=p.name, to_username=p.peer.name,
                      reason="shutdown", message="Сервер останавливается, сессия завершена")
            p.put(type="system", event="shutdown", online_users=len(snapshot),
                  message="Сервер завершает работу")
            p.gone = True
            with p.wake:
                p.wake.notify()
        time.sleep(0.3)


if __name__ == "__main__":
    main()
