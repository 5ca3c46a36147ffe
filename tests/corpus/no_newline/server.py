"""Chat server (classes, a writer thread per client).

Written the way the original assignment's program was: every message is sent as one
json.dumps() with nothing after it, back to back.  Reading is buffered and cut at b"\\n".
"""
import argparse
import json
import queue
import re
import select
import signal
import socket
import sys
import threading
import time
import unicodedata
from datetime import datetime


class Client:
    def __init__(self, server, sock):
        self.server, self.sock, self.name = server, sock, None
        self.partner = None
        self.requests_from = []  # names (folded) that asked this client for a session
        self.out = queue.Queue()
        self.queued = 0
        self.alive = True
        threading.Thread(target=self.writer, daemon=True).start()

    def send(self, **msg):
        msg["timestamp"] = datetime.now().isoformat(timespec="seconds")
        data = json.dumps(msg, ensure_ascii=False).encode("utf-8")
        with self.server.lock:
            self.queued += len(data)
            over = self.queued > self.server.args.sendq_bytes
        if over:
            self.server.disconnect(self, "overflow")
        else:
            self.out.put(data)

    def writer(self):
        while True:
            data = self.out.get()
            if data is None:
                break
            try:
                self.sock.sendall(data)
            except OSError:
                break
            with self.server.lock:
                self.queued -= len(data)
        self.sock.close()

    def error(self, code, text, fatal=False):
        extra = {"fatal": True} if fatal else {}
        self.send(type="error", code=code, message=text, **extra)


class ChatServer:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.users = {}  # folded name -> Client
        self.conns = []

    @staticmethod
    def fold(name):
        return unicodedata.normalize("NFC", name).casefold()

    def others(self, client):
        with self.lock:
            return [c for c in self.users.values() if c is not client]

    def system(self, event, text, skip=None, **extra):
        for c in self.others(skip):
            c.send(type="system", event=event, message=text, online_users=len(self.users), **extra)

    def disconnect(self, client, reason):
        with self.lock:
            if not client.alive:
                return
            client.alive = False
            self.conns.remove(client)
            registered = client.name is not None and self.users.pop(self.fold(client.name), None)
            for c in self.users.values():
                if client.name and self.fold(client.name) in c.requests_from:
                    c.requests_from.remove(self.fold(client.name))
            partner, client.partner = client.partner, None
            if partner:
                partner.partner = None
        client.out.put(None)
        try:
            client.sock.shutdown(socket.SHUT_RDWR if reason == "overflow" else socket.SHUT_RD)
        except OSError:
            pass
        if partner:
            partner.send(type="session_ended", from_username=client.name, to_username=partner.name,
                         reason="disconnect", message=client.name + " покинул(а) чат")
        if registered:
            self.system("leave", client.name + " вышел из чата", username=client.name, reason=reason)

    def serve(self, sock):
        client = Client(self, sock)
        with self.lock:
            self.conns.append(client)
            full = self.args.max_clients and len(self.conns) > self.args.max_clients
        if full:
            client.error("server_full", "Сервер переполнен", fatal=True)
            return self.disconnect(client, "error")
        buf, line, started, pinged = b"", b"", time.monotonic(), None
        last = started
        reason = "quit"
        while client.alive:
            try:
                ready = select.select([sock], [], [], 0.1)[0]
                data = sock.recv(8192) if ready else None
            except OSError:
                data, reason = b"", "disconnect"
            if data is None:
                now = time.monotonic()
                if client.name is None and now - started > self.args.register_timeout:
                    client.error("registration_timeout", "Регистрация не выполнена вовремя", True)
                    reason = "error"
                    break
                if client.name and pinged is None and now - last > self.args.ping_interval:
                    pinged = now
                    client.send(type="ping")
                elif pinged is not None and now - pinged > self.args.ping_timeout:
                    reason = "timeout"
                    break
                continue
            if not data:
                break
            last, pinged = time.monotonic(), None
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if len(line) > self.args.max_line_bytes:
                    break
                if line.strip():
                    self.on_line(client, line.strip())
            if len(buf) > self.args.max_line_bytes or len(line) > self.args.max_line_bytes:
                client.error("line_too_long", "Слишком длинная строка", fatal=True)
                reason = "error"
                break
        self.disconnect(client, reason)

    def on_line(self, client, line):
        try:
            msg = json.loads(line.decode("utf-8"))
            if not isinstance(msg, dict):
                raise ValueError
        except ValueError:
            return client.error("invalid_json", "Ошибка разбора JSON")
        if client.name is None:
            if "type" in msg:
                return client.error("not_registered", "Вы ещё не зарегистрированы")
            return self.register(client, msg.get("username"))
        if "type" not in msg:
            return client.error("already_registered", "Вы уже зарегистрированы")
        handler = getattr(self, "do_" + str(msg["type"]), None)
        if handler is None:
            return client.error("unknown_type", "Неизвестный тип сообщения")
        try:
            handler(client, msg)
        except (KeyError, TypeError, ValueError):
            client.error("invalid_message", "Неверное сообщение")

    def register(self, client, name):
        if not isinstance(name, str) or not re.fullmatch(r"[\w.\-]{1,32}", name):
            return client.error("username_invalid", "Недопустимое имя")
        with self.lock:
            if self.fold(name) in self.users:
                return client.error("username_taken", "Имя %s уже занято" % name)
            self.users[self.fold(name)] = client
            client.name = name
        client.send(type="system", event="welcome", username=name, online_users=len(self.users),
                    message="Добро пожаловать в чат, %s!" % name)
        self.system("join", name + " вошёл в чат", skip=client, username=name)

    def text_of(self, client, msg):
        text = msg["message"]
        if not isinstance(text, str):
            raise TypeError
        if not text.strip():
            client.error("empty_message", "Пустое сообщение")
        elif len(text.strip()) > 4096:
            client.error("message_too_long", "Сообщение слишком длинное")
        else:
            return text
        return None

    def target(self, client, msg):
        name = msg["target_username"]
        other = self.users.get(self.fold(name))
        if other is None:
            client.error("unknown_user", "Пользователь %s не в сети" % name)
        elif other is client:
            client.error("self_target", "Нельзя выбрать себя")
        else:
            return other
        return None

    def do_message(self, client, msg):
        text = self.text_of(client, msg)
        for c in self.others(client) if text else ():
            c.send(type="message", from_username=client.name, message=text)

    def do_private(self, client, msg):
        text = self.text_of(client, msg)
        other = text and self.target(client, msg)
        if other:
            other.send(type="private", from_username=client.name, message=text)

    def do_users(self, client, msg):
        with self.lock:
            client.send(type="users_list", users=[c.name for c in self.users.values()])

    def do_pong(self, client, msg):
        pass

    def do_session_request(self, client, msg):
        with self.lock:
            other = self.target(client, msg)
            if not other:
                return
            me = self.fold(client.name)
            if client.partner or other.partner or me in other.requests_from:
                return client.error("busy", "Сессия сейчас невозможна")
            other.requests_from.append(me)
        other.send(type="session_request", from_username=client.name,
                   message=client.name + " хочет начать приватную сессию с вами")

    def do_session_response(self, client, msg):
        who, accepted = self.fold(msg["target_username"]), msg["accepted"]
        if not isinstance(accepted, bool):
            raise TypeError
        with self.lock:
            asker = self.users.get(who)
            if asker is None or who not in client.requests_from:
                return client.error("no_pending_request", "Запроса от этого пользователя нет")
            client.requests_from.remove(who)
            accepted = accepted and not client.partner and not asker.partner
            if accepted:
                asker.partner, client.partner = client, asker
        kind = "session_accepted" if accepted else "session_rejected"
        text = "Приватная сессия между %s и %s %s" % (
            asker.name, client.name, "установлена" if accepted else "отклонена")
        for c in (asker, client):
            c.send(type=kind, from_username=asker.name, to_username=client.name, message=text)

    def do_session_end(self, client, msg):
        with self.lock:
            partner = client.partner
            if partner is None:
                return client.error("not_in_session", "Вы не в сессии")
            client.partner = partner.partner = None
        for c in (client, partner):
            c.send(type="session_ended", from_username=client.name, to_username=partner.name,
                   reason="exit", message=client.name + " завершил(а) приватную сессию")

    def shutdown(self):
        with self.lock:
            everyone = list(self.users.values())
        for c in everyone:
            if c.partner:
                c.send(type="session_ended", from_username=c.name, to_username=c.partner.name,
                       reason="shutdown", message="Сервер останавливается")
            c.send(type="system", event="shutdown", message="Сервер завершает работу",
                   online_users=len(everyone))
            c.out.put(None)
        deadline = time.monotonic() + 1.0
        while any(not c.out.empty() for c in everyone) and time.monotonic() < deadline:
            time.sleep(0.05)


def main():
    p = argparse.ArgumentParser(description="Сервер чата")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8083)
    p.add_argument("--register-timeout", type=float, default=30.0)
    p.add_argument("--ping-interval", type=float, default=30.0)
    p.add_argument("--ping-timeout", type=float, default=10.0)
    p.add_argument("--sendq-bytes", type=int, default=1048576)
    p.add_argument("--max-clients", type=int, default=0)
    p.add_argument("--max-line-bytes", type=int, default=65536)
    args = p.parse_args()
    chat = ChatServer(args)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.host, args.port))
    except OSError:
        print("Порт %d занят, сервер не запущен" % args.port, file=sys.stderr)
        sys.exit(1)
    listener.listen(16)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print("Сервер запущен на %s:%d" % listener.getsockname(), flush=True)
    try:
        while True:
            sock, _ = listener.accept()
            threading.Thread(target=chat.serve, args=(sock,), daemon=True).start()
    except KeyboardInterrupt:
        listener.close()
        chat.shutdown()


if __name__ == "__main__":
    main()
