# Chat server on socketserver: one handler thread per client, logs printed to the console.
# Style: print() with a clock for every event (the ready line too), no send queue:
# every send is a sendall() under that client's own lock, from the sender's thread.
import argparse
import json
import re
import socketserver
import sys
import threading
import time
import unicodedata
from datetime import datetime


def log(text):
    print("[{}] {}".format(datetime.now().strftime("%H:%M:%S"), text), flush=True)


def key(name):
    return unicodedata.normalize("NFC", name).casefold()


class ChatHandler(socketserver.BaseRequestHandler):
    users = {}  # key(name) -> handler, in the order people joined
    pairs = {}  # key(name) -> partner handler
    waiting = set()  # (key(asker), key(asked))
    lock = threading.Lock()

    def send(self, kind, **fields):
        fields.update(type=kind, timestamp=datetime.now().isoformat(timespec="seconds"))
        try:
            with self.out_lock:
                self.request.sendall((json.dumps(fields, ensure_ascii=False) + "\n").encode())
        except OSError:
            pass

    def tell_all(self, kind, but=None, **fields):
        with self.lock:
            everyone = [h for h in self.users.values() if h is not but]
        for h in everyone:
            h.send(kind, **fields)

    def fail(self, code, text, fatal=False):
        if fatal:
            self.send("error", code=code, message=text, fatal=True)
        else:
            self.send("error", code=code, message=text)

    def handle(self):
        self.name, self.out_lock, buf = None, threading.Lock(), b""
        log("подключение от {}:{}".format(*self.client_address))
        opts, reason = self.server.opts, "quit"
        deadline, pinged = time.monotonic() + opts.register_timeout, False
        while True:
            if self.name is None:
                self.request.settimeout(max(0.01, deadline - time.monotonic()))
            else:
                self.request.settimeout(opts.ping_timeout if pinged else opts.ping_interval)
            try:
                chunk = self.request.recv(4096)
            except OSError as exc:
                if "timed out" not in str(exc):
                    reason = "disconnect"
                    break
                if self.name is None:
                    self.fail("registration_timeout", "Вы не представились вовремя", True)
                    break
                if pinged:
                    reason = "timeout"
                    break
                pinged = True
                self.send("ping")
                continue
            if not chunk:
                break
            pinged, buf = False, buf + chunk
            *lines, buf = buf.split(b"\n")
            if len(buf) > opts.max_line_bytes or any(len(x) > opts.max_line_bytes for x in lines):
                self.fail("line_too_long", "Слишком длинная строка", True)
                reason = "error"
                break
            for line in lines:
                line = line.strip()
                if line:
                    self.on_line(line)
        self.leave(reason)

    def on_line(self, line):
        try:
            msg = json.loads(line.decode("utf-8"))
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            return self.fail("invalid_json", "Это не JSON-объект")
        if "type" not in msg:
            if self.name:
                return self.fail("already_registered", "Вы уже в чате")
            return self.register(msg.get("username"))
        if self.name is None:
            return self.fail("not_registered", "Сначала назовите себя")
        method = getattr(self, "on_" + str(msg["type"]), None)
        if method is None:
            return self.fail("unknown_type", "Неизвестный тип {}".format(msg["type"]))
        try:
            method(msg)
        except (KeyError, TypeError, AttributeError):
            self.fail("invalid_message", "В сообщении не хватает полей")

    def register(self, name):
        if not isinstance(name, str) or not re.fullmatch(r"[\w.\-]{1,32}", name):
            return self.fail("username_invalid", "Имя может содержать буквы, цифры, _ - .")
        with self.lock:
            taken = key(name) in self.users
            if not taken:
                self.users[key(name)] = self
                self.name, count = name, len(self.users)
        if taken:
            return self.fail("username_taken", "Имя {} уже занято".format(name))
        log("{} вошёл в чат".format(name))
        self.send("system", event="welcome", username=name, online_users=count,
                  message="Добро пожаловать в чат, {}!".format(name))
        self.tell_all("system", but=self, event="join", username=name, online_users=count,
                      message="{} вошёл в чат".format(name))

    def text(self, msg):
        text = msg["message"]
        if not isinstance(text, str):
            raise TypeError
        if not text.strip() or len(text.strip()) > 4096:
            code = "message_too_long" if text.strip() else "empty_message"
            self.fail(code, "Текст должен быть от 1 до 4096 символов")
            return None
        return text

    def find(self, msg):
        who = msg["target_username"]
        with self.lock:
            other = self.users.get(key(who))
        if other is None:
            self.fail("unknown_user", "Пользователь {} не в сети".format(who))
        elif other is self:
            self.fail("self_target", "Это вы сами")
        return None if other is self else other

    def on_message(self, msg):
        text = self.text(msg)
        if text:
            self.tell_all("message", but=self, from_username=self.name, message=text)

    def on_private(self, msg):
        text = self.text(msg)
        other = self.find(msg) if text else None
        if other:
            other.send("private", from_username=self.name, message=text)

    def on_users(self, msg):
        with self.lock:
            names = [h.name for h in self.users.values()]
        self.send("users_list", users=names)

    def on_pong(self, msg):
        pass

    def on_session_request(self, msg):
        other = self.find(msg)
        if not other:
            return
        me, it = key(self.name), key(other.name)
        with self.lock:
            busy = me in self.pairs or it in self.pairs or (me, it) in self.waiting
            if not busy:
                self.waiting.add((me, it))
        if busy:
            return self.fail("busy", "Сейчас сессия невозможна")
        other.send("session_request", from_username=self.name,
                   message="{} хочет начать приватную сессию с вами".format(self.name))

    def on_session_response(self, msg):
        if not isinstance(msg["accepted"], bool) or not isinstance(msg["target_username"], str):
            raise TypeError
        me, it = key(self.name), key(msg["target_username"])
        with self.lock:
            asker = self.users.get(it)
            found = (it, me) in self.waiting and asker is not None
            self.waiting.discard((it, me))
            yes = found and msg["accepted"] and me not in self.pairs and it not in self.pairs
            if yes:
                self.pairs[me], self.pairs[it] = asker, self
        if not found:
            return self.fail("no_pending_request", "Этот пользователь вас не звал")
        kind = "session_accepted" if yes else "session_rejected"
        words = "установлена" if yes else "отклонена"
        for h in (asker, self):
            h.send(kind, from_username=asker.name, to_username=self.name,
                   message="Приватная сессия между {} и {} {}".format(asker.name, self.name, words))

    def on_session_end(self, msg, reason="exit"):
        with self.lock:
            other = self.pairs.pop(key(self.name), None)
            if other:
                self.pairs.pop(key(other.name), None)
        if other is None:
            return self.fail("not_in_session", "Вы не в сессии")
        for h in (self, other) if reason == "exit" else (other,):
            h.send("session_ended", from_username=self.name, to_username=other.name,
                   reason=reason, message="{} завершил(а) приватную сессию".format(self.name))

    def leave(self, reason):
        self.request.close()
        if self.name is None:
            return
        with self.lock:
            in_session = key(self.name) in self.pairs
            del self.users[key(self.name)]
            me = key(self.name)
            self.waiting -= {p for p in self.waiting if me in p}
            count = len(self.users)
        if in_session:
            self.on_session_end({}, reason="disconnect")
        log("{} вышел ({})".format(self.name, reason))
        self.tell_all("system", event="leave", username=self.name, reason=reason,
                      online_users=count, message="{} вышел из чата".format(self.name))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8083)
    p.add_argument("--register-timeout", type=float, default=30)
    p.add_argument("--ping-interval", type=float, default=30)
    p.add_argument("--ping-timeout", type=float, default=10)
    p.add_argument("--sendq-bytes", type=int, default=1048576)  # no queue: sendall() instead
    p.add_argument("--max-clients", type=int, default=0)
    p.add_argument("--max-line-bytes", type=int, default=65536)
    opts = p.parse_args()
    try:
        server = Server((opts.host, opts.port), ChatHandler)
    except OSError as exc:
        log("Ошибка: порт {} занят ({})".format(opts.port, exc.strerror))
        sys.exit(1)
    server.opts = opts
    log("Сервер запущен на {}:{}".format(*server.server_address))
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        log("Остановка сервера")
    server.server_close()
    with ChatHandler.lock:
        everyone = list(ChatHandler.users.values())
    for h in everyone:
        h.send("system", event="shutdown", online_users=len(everyone),
               message="Сервер завершает работу")
        h.request.close()


if __name__ == "__main__":
    main()
