"""Chat server (lab).  A thread per client; every send happens under the server lock, so
that two threads never write into one socket at the same time."""
import argparse
import json
import logging
import re
import signal
import socket
import sys
import threading
import time
import unicodedata
from datetime import datetime

log = logging.getLogger("chat")


class Server:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.users = {}  # name (as registered) -> socket
        self.sessions = {}  # name -> partner name
        self.requests = set()  # (asker, asked)
        self.count = 0

    # -- sending ---------------------------------------------------------------------------
    @staticmethod
    def pack(kind, **fields):
        fields = dict(type=kind, **fields)
        fields["timestamp"] = datetime.now().isoformat(timespec="seconds")
        return (json.dumps(fields, ensure_ascii=False) + "\n").encode("utf-8")

    def send_to(self, sock, kind, **fields):
        with self.lock:
            self._send(sock, self.pack(kind, **fields))

    def _send(self, sock, data):
        try:
            sock.sendall(data)
        except OSError:
            pass

    def broadcast(self, kind, skip=None, **fields):
        data = self.pack(kind, **fields)
        with self.lock:
            for name, sock in self.users.items():
                if name != skip:
                    self._send(sock, data)

    def error(self, sock, code, text, fatal=False):
        extra = {"fatal": True} if fatal else {}
        self.send_to(sock, "error", code=code, message=text, **extra)

    # -- one client --------------------------------------------------------------------------
    def find(self, name):
        """Case-insensitive search, for private messages."""
        want = unicodedata.normalize("NFC", name).casefold()
        for n in self.users:
            if unicodedata.normalize("NFC", n).casefold() == want:
                return n
        return None

    def client(self, sock):
        with self.lock:
            self.count += 1
            full = self.opts.max_clients and self.count > self.opts.max_clients
        name, reason, buf = None, "quit", b""
        if full:
            self.error(sock, "server_full", "Сервер переполнен", fatal=True)
            reason = None
        started, pinged = time.monotonic(), False
        while reason == "quit":
            if name is None:
                sock.settimeout(max(0.0, started + self.opts.register_timeout - time.monotonic()))
            else:
                sock.settimeout(self.opts.ping_timeout if pinged else self.opts.ping_interval)
            try:
                data = sock.recv(4096)
            except socket.timeout:
                if name is None:
                    self.error(sock, "registration_timeout", "Время регистрации истекло", True)
                    break
                if pinged:
                    reason = "timeout"
                    break
                pinged = True
                self.send_to(sock, "ping")
                continue
            except OSError:
                reason = "disconnect"
                break
            if not data:
                break
            pinged = False
            buf += data
            while b"\n" in buf and len(buf.split(b"\n", 1)[0]) <= self.opts.max_line_bytes:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    name = self.line(sock, name, line)
            if len(buf.split(b"\n", 1)[0]) > self.opts.max_line_bytes:
                self.error(sock, "line_too_long", "Строка слишком длинная", fatal=True)
                reason = "error"
        with self.lock:
            self.count -= 1
        sock.close()
        if name:
            self.gone(name, reason)

    def line(self, sock, name, raw):
        try:
            msg = json.loads(raw.decode("utf-8"))
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self.error(sock, "invalid_json", "Ожидался JSON-объект")
        elif "type" not in msg:
            if name:
                self.error(sock, "already_registered", "Вы уже зарегистрированы")
            else:
                return self.register(sock, msg.get("username"))
        elif name is None:
            self.error(sock, "not_registered", "Сначала зарегистрируйтесь")
        else:
            try:
                self.command(sock, name, msg)
            except (KeyError, TypeError):
                self.error(sock, "invalid_message", "Неверные поля сообщения")
        return name

    def register(self, sock, name):
        if not isinstance(name, str) or not re.fullmatch(r"[\w.\-]{1,32}", name):
            self.error(sock, "username_invalid", "Недопустимое имя")
            return None
        with self.lock:
            taken = self.find(name) is not None
            if not taken:
                self.users[name] = sock
            online = len(self.users)
        if taken:
            self.error(sock, "username_taken", "Имя {} уже занято".format(name))
            return None
        log.info("вошёл %s", name)
        self.send_to(sock, "system", event="welcome", username=name, online_users=online,
                     message="Добро пожаловать в чат, {}!".format(name))
        self.broadcast("system", skip=name, event="join", username=name, online_users=online,
                       message="{} вошёл в чат".format(name))
        return name

    def command(self, sock, me, msg):
        kind = msg["type"]
        if kind in ("message", "private"):
            text = msg["message"]
            if not isinstance(text, str):
                raise TypeError
            if not text.strip() or len(text.strip()) > 4096:
                code = "empty_message" if not text.strip() else "message_too_long"
                return self.error(sock, code, "Текст: от 1 до 4096 символов")
        if kind == "message":
            self.broadcast("message", skip=me, from_username=me, message=msg["message"])
        elif kind == "private":
            target = self.find(msg["target_username"])
            if target is None:
                self.error(sock, "unknown_user", "Пользователь не в сети")
            elif target == me:
                self.error(sock, "self_target", "Нельзя писать себе")
            else:
                self.send_to(self.users[target], "private", from_username=me,
                             message=msg["message"])
        elif kind == "users":
            self.send_to(sock, "users_list", users=list(self.users))
        elif kind == "session_request":
            target = msg["target_username"]
            if not isinstance(target, str):
                raise TypeError
            if target not in self.users:
                self.error(sock, "unknown_user", "Пользователь {} не в сети".format(target))
            elif target == me:
                self.error(sock, "self_target", "Нельзя начать сессию с собой")
            elif me in self.sessions or target in self.sessions or (me, target) in self.requests:
                self.error(sock, "busy", "Сессия невозможна: кто-то занят")
            else:
                self.requests.add((me, target))
                self.send_to(self.users[target], "session_request", from_username=me,
                             message="{} хочет начать приватную сессию с вами".format(me))
        elif kind == "session_response":
            asker, yes = msg["target_username"], msg["accepted"]
            if not isinstance(yes, bool) or not isinstance(asker, str):
                raise TypeError
            if (asker, me) not in self.requests:
                return self.error(sock, "no_pending_request", "Запроса нет")
            self.requests.discard((asker, me))
            yes = yes and asker not in self.sessions and me not in self.sessions
            if yes:
                self.sessions[asker], self.sessions[me] = me, asker
            kind = "session_accepted" if yes else "session_rejected"
            text = "Приватная сессия между {} и {} {}".format(
                asker, me, "установлена" if yes else "отклонена")
            for who in (asker, me):
                self.send_to(self.users[who], kind, from_username=asker, to_username=me,
                             message=text)
        elif kind == "session_end":
            self.end_session(me, "exit", sock)
        elif kind != "pong":
            self.error(sock, "unknown_type", "Неизвестный тип сообщения")

    def end_session(self, me, reason, sock=None):
        other = self.sessions.pop(me, None)
        if other is None:
            if sock:
                self.error(sock, "not_in_session", "Вы не в сессии")
            return
        self.sessions.pop(other, None)
        for who in (me, other):
            if who in self.users:
                self.send_to(self.users[who], "session_ended", from_username=me,
                             to_username=other, reason=reason,
                             message="Приватная сессия {} и {} завершена".format(me, other))

    def gone(self, name, reason):
        with self.lock:
            self.users.pop(name, None)
            self.requests = {r for r in self.requests if name not in r}
            online = len(self.users)
        self.end_session(name, "disconnect")
        log.info("вышел %s (%s)", name, reason)
        self.broadcast("system", event="leave", username=name, reason=reason,
                       online_users=online, message="{} вышел из чата".format(name))

    def stop(self):
        for name in list(self.sessions):
            if name in self.sessions:
                other = self.sessions[name]
                for who in (name, other):
                    self.send_to(self.users[who], "session_ended", from_username=name,
                                 to_username=other, reason="shutdown",
                                 message="Сервер остановлен, сессия завершена")
                self.sessions.pop(name)
                self.sessions.pop(other)
        self.broadcast("system", event="shutdown", online_users=len(self.users),
                       message="Сервер завершает работу")
        with self.lock:
            for sock in self.users.values():
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8083)
    ap.add_argument("--register-timeout", type=float, default=30)
    ap.add_argument("--ping-interval", type=float, default=30)
    ap.add_argument("--ping-timeout", type=float, default=10)
    ap.add_argument("--sendq-bytes", type=int, default=1 << 20)
    ap.add_argument("--max-clients", type=int, default=0)
    ap.add_argument("--max-line-bytes", type=int, default=1 << 16)
    opts = ap.parse_args()
    srv = Server(opts)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        lsock.bind((opts.host, opts.port))
    except OSError as e:
        log.error("не могу открыть порт %s: %s", opts.port, e.strerror)
        sys.exit(1)
    lsock.listen()
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    print("[{}] Сервер запущен на {}:{}".format(datetime.now().strftime("%H:%M:%S"), opts.host,
                                                lsock.getsockname()[1]), flush=True)
    try:
        while True:
            sock, _ = lsock.accept()
            threading.Thread(target=srv.client, args=(sock,), daemon=True).start()
    except KeyboardInterrupt:
        lsock.close()
        srv.stop()


if __name__ == "__main__":
    main()
