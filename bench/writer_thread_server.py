"""A chat server with a writer thread per client, kept for `python -m harness bench`.

The design a careful student reaches after seeing the naive server stall: the reader thread
of the sender encodes a broadcast ONCE and puts the bytes on every receiver's queue; each
client has its own writer thread that takes bytes off its queue and calls sendall(). The
registry lock is held only to copy the list of receivers. A client that stops reading only
blocks its own writer; when its queue holds more than --sendq-bytes it is dropped with leave
reason "overflow".

It is correct and simple, and it is fast with 100 clients. With 1000 clients it has 2000
threads, and every broadcast wakes 1000 writers that all want the GIL at once: measure it
with `python -m harness bench`. Only the options and messages the benchmark needs are
implemented (registration, broadcast, private, users).
"""

import argparse
import contextlib
import json
import queue
import socket
import sys
import threading
import unicodedata
from datetime import datetime

ENCODING = "utf-8"
STOP = b""  # put on a queue to end its writer thread


def now():
    return datetime.now().replace(microsecond=0).isoformat()


def encode(**fields):
    fields["timestamp"] = now()
    return (json.dumps(fields, ensure_ascii=False) + "\n").encode(ENCODING)


def key(name):
    return unicodedata.normalize("NFC", name).casefold()


def valid_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        return False
    return all(ch.isalnum() or ch in "_-." for ch in name)


class Client:
    """One connection: a reader (the handler thread) and a writer thread with its queue."""

    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.name = None
        self.queue = queue.Queue()
        self.queued_bytes = 0
        self.bytes_lock = threading.Lock()
        self.overflowed = False
        self.writer = threading.Thread(target=self.write_loop, daemon=True)

    def send(self, data):
        with self.bytes_lock:
            if self.overflowed:
                return
            self.queued_bytes += len(data)
            if self.queued_bytes > self.server.sendq_bytes:
                self.overflowed = True
                self.queue.put(STOP)
                # shutdown() wakes the reader, which reports "overflow"; OSError: gone already
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_RDWR)
                return
        self.queue.put(data)

    def write_loop(self):
        while True:
            data = self.queue.get()
            if data is STOP:
                return
            with self.bytes_lock:
                self.queued_bytes -= len(data)
            try:
                self.sock.sendall(data)
            except OSError:  # the reader thread notices the broken connection
                return

    def read_loop(self):
        buffer = b""
        reason = "quit"
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        self.handle(line)
        except OSError:
            reason = "disconnect"
        if self.overflowed:
            reason = "overflow"
        self.server.leave(self, reason)
        self.queue.put(STOP)
        self.writer.join(5)
        self.sock.close()

    def handle(self, line):
        try:
            message = json.loads(line.decode(ENCODING))
        except ValueError:
            self.send(encode(type="error", code="invalid_json", message="Некорректный JSON"))
            return
        if not isinstance(message, dict):
            self.send(encode(type="error", code="invalid_json", message="Некорректный JSON"))
        elif self.name is None:
            self.server.register(self, message.get("username"))
        elif message.get("type") == "message":
            text = message.get("message")
            if not isinstance(text, str) or not text.strip():
                self.send(encode(type="error", code="empty_message", message="Пустое сообщение"))
            else:
                data = encode(type="message", from_username=self.name, message=text)
                self.server.broadcast(data, exclude=self)
        elif message.get("type") == "private":
            target = self.server.find(message.get("target_username"))
            if target is None:
                self.send(encode(type="error", code="unknown_user", message="Нет такого"))
            else:
                text = message.get("message")
                target.send(encode(type="private", from_username=self.name, message=text))
        elif message.get("type") == "users":
            self.send(encode(type="users_list", users=self.server.names()))
        elif message.get("type") != "pong":
            self.send(encode(type="error", code="unknown_type", message="Неизвестный тип"))


class Server:
    def __init__(self, sendq_bytes):
        self.sendq_bytes = sendq_bytes
        self.lock = threading.Lock()
        self.users = {}  # key(name) -> Client, in join order

    def register(self, client, name):
        if not valid_name(name):
            client.send(encode(type="error", code="username_invalid", message="Недопустимое имя"))
            return
        with self.lock:
            if key(name) in self.users:
                taken = True
            else:
                taken = False
                client.name = name
                self.users[key(name)] = client
                online = len(self.users)
                others = [c for c in self.users.values() if c is not client]
                welcome = f"Добро пожаловать в чат, {name}!"
                client.send(
                    encode(
                        type="system",
                        event="welcome",
                        username=name,
                        message=welcome,
                        online_users=online,
                    )
                )
        if taken:
            client.send(encode(type="error", code="username_taken", message="Имя занято"))
            return
        join = encode(
            type="system",
            event="join",
            username=name,
            message=f"{name} вошёл в чат",
            online_users=online,
        )
        for other in others:
            other.send(join)

    def leave(self, client, reason):
        if client.name is None:
            return
        with self.lock:
            del self.users[key(client.name)]
            online = len(self.users)
            others = list(self.users.values())
        data = encode(
            type="system",
            event="leave",
            username=client.name,
            reason=reason,
            message=f"{client.name} вышел из чата",
            online_users=online,
        )
        for other in others:
            other.send(data)

    def broadcast(self, data, exclude):
        with self.lock:
            receivers = list(self.users.values())
        for receiver in receivers:
            if receiver is not exclude:
                receiver.send(data)

    def find(self, name):
        if not isinstance(name, str):
            return None
        with self.lock:
            return self.users.get(key(name))

    def names(self):
        with self.lock:
            return [c.name for c in self.users.values()]


def main():
    parser = argparse.ArgumentParser(description="Чат-сервер: поток записи на клиента")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    for option in ("--register-timeout", "--ping-interval", "--ping-timeout"):
        parser.add_argument(option, type=float, default=30)
    parser.add_argument("--sendq-bytes", type=int, default=1024 * 1024)
    for option in ("--max-clients", "--max-line-bytes"):
        parser.add_argument(option, type=int, default=0)
    args = parser.parse_args()

    server = Server(args.sendq_bytes)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.host, args.port))
    except OSError as exc:
        print(f"Не удалось занять порт {args.port}: {exc}", file=sys.stderr)
        sys.exit(1)
    listener.listen(socket.SOMAXCONN)
    host, port = listener.getsockname()[:2]
    print(f"Сервер запущен на {host}:{port}", flush=True)
    try:
        while True:
            sock, _ = listener.accept()
            client = Client(server, sock)
            client.writer.start()
            threading.Thread(target=client.read_loop, daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()


if __name__ == "__main__":
    main()
