"""A second correct chat server, written the way a student might: not the reference.

Thread per client for reading (socket timeouts drive the registration and ping clocks),
a writer thread per client fed by a queue whose byte count is the send-queue limit, one
lock over the registry, and every send is an enqueue that never blocks.  The harness must
give it full marks too: its server scenarios may not depend on the reference's design.
"""

import argparse
import contextlib
import json
import queue
import re
import signal
import socket
import sys
import threading
import time
import unicodedata
from datetime import datetime

NAME_RE = re.compile(r"[\w.\-]{1,32}")
MAX_TEXT = 4096


def now():
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


class Client:
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.name = None
        self.key = None
        self.queue = queue.Queue()
        self.queued = 0
        self.qlock = threading.Lock()
        self.open = True
        self.dropped = None
        self.writer = threading.Thread(target=self.write_loop, daemon=True)

    # -- sending: enqueue only ----------------------------------------------------------
    def send(self, kind, **fields):
        message = {"type": kind, **fields, "timestamp": now()}
        data = (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")
        with self.qlock:
            if not self.open:
                return
            self.queued += len(data)
            if self.queued > self.server.sendq:
                self.open = False
                self.dropped = "overflow"
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_RDWR)
                return
        self.queue.put(data)

    def write_loop(self):
        while True:
            data = self.queue.get()
            if data is None:
                return
            try:
                self.sock.sendall(data)
            except OSError:
                return
            with self.qlock:
                self.queued -= len(data)

    def error(self, code, fatal=False):
        extra = {"fatal": True} if fatal else {}
        self.send("error", code=code, message="Ошибка: " + code, **extra)

    # -- reading --------------------------------------------------------------------------
    def run(self):
        self.writer.start()
        server = self.server
        buf = b""
        connected = last = time.monotonic()
        pinged = None
        reason = "quit"
        try:
            while True:
                if self.name is None:
                    deadline = connected + server.register_timeout
                elif pinged is None:
                    deadline = last + server.ping_interval
                else:
                    deadline = pinged + server.ping_timeout
                self.sock.settimeout(max(0.001, deadline - time.monotonic()))
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    if self.name is None:
                        self.error("registration_timeout", fatal=True)
                        reason = "error"
                        break
                    if pinged is None:
                        pinged = time.monotonic()
                        self.send("ping")
                        continue
                    reason = "timeout"
                    break
                except OSError:
                    reason = "disconnect"
                    break
                if not chunk:
                    break
                last, pinged = time.monotonic(), None
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if len(line) > server.max_line:
                        raise ValueError("line_too_long")
                    line = line.rstrip(b"\r")
                    if line.strip():
                        self.handle(line)
                if len(buf) > server.max_line:
                    raise ValueError("line_too_long")
        except ValueError:
            self.error("line_too_long", fatal=True)
            reason = "error"
        finally:
            server.leave(self, self.dropped or reason)

    def handle(self, line):
        try:
            msg = json.loads(line.decode("utf-8"))
        except ValueError:
            return self.error("invalid_json")
        if not isinstance(msg, dict):
            return self.error("invalid_json")
        if self.name is None:
            if "type" in msg:
                return self.error("not_registered")
            name = msg.get("username")
            if not isinstance(name, str):
                return self.error("invalid_message")
            name = unicodedata.normalize("NFC", name)
            if not NAME_RE.fullmatch(name):
                return self.error("username_invalid")
            if not self.server.register(self, name):
                return self.error("username_taken")
            return None
        kind = msg.get("type")
        if kind is None and "username" in msg:
            return self.error("already_registered")
        if not isinstance(kind, str):
            return self.error("invalid_message")
        method = getattr(self, "do_" + kind, None)
        if method is None:
            return self.error("unknown_type")
        try:
            return method(msg)
        except (KeyError, TypeError):
            return self.error("invalid_message")

    def text(self, msg):
        text = msg["message"]
        if not isinstance(text, str):
            raise TypeError
        text = text.strip()
        if not text:
            self.error("empty_message")
            return None
        if len(text) > MAX_TEXT:
            self.error("message_too_long")
            return None
        return text

    def target(self, msg):
        name = msg["target_username"]
        if not isinstance(name, str):
            raise TypeError
        other = self.server.find(name)
        if other is None:
            self.error("unknown_user")
        elif other is self:
            self.error("self_target")
            return None
        return other

    def do_message(self, msg):
        text = self.text(msg)
        if text is not None:
            for other in self.server.others(self):
                other.send("message", from_username=self.name, message=text)

    def do_private(self, msg):
        text = self.text(msg)
        if text is None:
            return
        other = self.target(msg)
        if other is not None:
            other.send("private", from_username=self.name, message=text)

    def do_users(self, msg):
        self.send("users_list", users=self.server.names())

    def do_pong(self, msg):
        pass

    def do_session_request(self, msg):
        other = self.target(msg)
        if other is not None and not self.server.request(self, other):
            self.error("busy")

    def do_session_response(self, msg):
        accepted = msg["accepted"]
        if not isinstance(accepted, bool) or not isinstance(msg["target_username"], str):
            raise TypeError
        code = self.server.answer(self, msg["target_username"], accepted)
        if code:
            self.error(code)

    def do_session_end(self, msg):
        if not self.server.end(self, "exit"):
            self.error("not_in_session")


class Server:
    def __init__(self, args):
        self.sendq = args.sendq_bytes
        self.max_line = args.max_line_bytes
        self.register_timeout = args.register_timeout
        self.ping_interval = args.ping_interval
        self.ping_timeout = args.ping_timeout
        self.lock = threading.Lock()
        self.users = {}  # key -> Client, in join order
        self.sessions = {}  # key -> partner Client
        self.pending = set()  # (requester key, target key)
        self.clients = set()
        self.stopping = False

    @staticmethod
    def key(name):
        return unicodedata.normalize("NFC", name).casefold()

    def register(self, client, name):
        with self.lock:
            key = self.key(name)
            if key in self.users:
                return False
            client.name, client.key = name, key
            self.users[key] = client
            count = len(self.users)
            client.send(
                "system", event="welcome", username=name, online_users=count,
                message=f"Добро пожаловать в чат, {name}!",
            )  # fmt: skip
            for other in self.users.values():
                if other is not client:
                    other.send(
                        "system", event="join", username=name, online_users=count,
                        message=f"{name} вошёл в чат",
                    )  # fmt: skip
        return True

    def find(self, name):
        with self.lock:
            return self.users.get(self.key(name))

    def others(self, client):
        with self.lock:
            return [c for c in self.users.values() if c is not client]

    def names(self):
        with self.lock:
            return [c.name for c in self.users.values()]

    def request(self, client, other):
        with self.lock:
            pair = (client.key, other.key)
            busy = client.key in self.sessions or other.key in self.sessions
            if busy or pair in self.pending:
                return False
            self.pending.add(pair)
            other.send(
                "session_request", from_username=client.name,
                message=f"{client.name} предлагает приватную сессию",
            )  # fmt: skip
        return True

    def answer(self, client, requester_name, accepted):
        with self.lock:
            requester = self.users.get(self.key(requester_name))
            pair = (requester.key if requester else None, client.key)
            if pair not in self.pending:
                return "no_pending_request"
            if accepted and (requester.key in self.sessions or client.key in self.sessions):
                return "busy"
            self.pending.discard(pair)
            kind = "session_accepted" if accepted else "session_rejected"
            if accepted:
                self.sessions[requester.key] = client
                self.sessions[client.key] = requester
            for who in (requester, client):
                who.send(
                    kind, from_username=requester.name, to_username=client.name,
                    message=f"Сессия {requester.name} и {client.name}: {kind}",
                )  # fmt: skip
        return None

    def end(self, client, reason):
        with self.lock:
            partner = self.sessions.pop(client.key, None)
            if partner is None:
                return False
            self.sessions.pop(partner.key, None)
            for who in (client, partner):
                who.send(
                    "session_ended", from_username=client.name, to_username=partner.name,
                    reason=reason, message=f"{client.name} завершил сессию",
                )  # fmt: skip
        return True

    def sessions_of(self):
        """(client, partner) of every session (call with the lock held)."""
        return [(self.users[key], partner) for key, partner in self.sessions.items()]

    def full(self, limit):
        with self.lock:
            return bool(limit) and len(self.clients) >= limit

    def leave(self, client, reason):
        if client.name is not None and not self.stopping:
            with self.lock:
                registered = self.users.get(client.key) is client
            if registered:
                partner = self.sessions.get(client.key)
                if partner is not None:
                    with self.lock:
                        self.sessions.pop(client.key, None)
                        self.sessions.pop(partner.key, None)
                    partner.send(
                        "session_ended", from_username=client.name, to_username=partner.name,
                        reason="disconnect", message=f"{client.name} покинул чат",
                    )  # fmt: skip
                with self.lock:
                    del self.users[client.key]
                    self.pending = {p for p in self.pending if client.key not in p}
                    count = len(self.users)
                    for other in self.users.values():
                        other.send(
                            "system", event="leave", username=client.name, reason=reason,
                            online_users=count, message=f"{client.name} вышел из чата",
                        )  # fmt: skip
        with client.qlock:
            client.open = False
        client.queue.put(None)
        client.writer.join(1)
        client.sock.close()
        with self.lock:
            self.clients.discard(client)

    def shutdown(self):
        with self.lock:
            self.stopping = True
            clients = list(self.clients)
            count = len(self.users)
            pairs = {frozenset((c.key, p.key)): (c, p) for c, p in self.sessions_of()}
            self.sessions.clear()
        for a, b in pairs.values():
            for who in (a, b):
                who.send(
                    "session_ended", from_username=a.name, to_username=b.name,
                    reason="shutdown", message="Сервер завершает работу, сессия окончена",
                )  # fmt: skip
        for client in clients:
            if client.name is not None:
                client.send(
                    "system", event="shutdown", online_users=count,
                    message="Сервер завершает работу",
                )  # fmt: skip
            client.queue.put(None)
        for client in clients:
            client.writer.join(0.5)
            with contextlib.suppress(OSError):
                client.sock.shutdown(socket.SHUT_RDWR)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--register-timeout", type=float, default=30)
    parser.add_argument("--ping-interval", type=float, default=30)
    parser.add_argument("--ping-timeout", type=float, default=10)
    parser.add_argument("--sendq-bytes", type=int, default=1024 * 1024)
    parser.add_argument("--max-clients", type=int, default=0)
    parser.add_argument("--max-line-bytes", type=int, default=65536)
    args = parser.parse_args()
    server = Server(args)
    try:
        listener = socket.create_server((args.host, args.port))
    except OSError as exc:
        print(f"Не могу слушать {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        sys.exit(1)
    print("Сервер запущен на {}:{}".format(*listener.getsockname()[:2]), flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        while True:
            sock, _ = listener.accept()
            if server.full(args.max_clients):
                refusal = {"type": "error", "code": "server_full", "fatal": True}
                refusal.update(message="Сервер заполнен", timestamp=now())
                with contextlib.suppress(OSError):
                    sock.sendall((json.dumps(refusal, ensure_ascii=False) + "\n").encode())
                sock.close()
                continue
            client = Client(server, sock)
            with server.lock:
                server.clients.add(client)
            threading.Thread(target=client.run, daemon=True).start()
    except KeyboardInterrupt:
        listener.close()
        server.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
