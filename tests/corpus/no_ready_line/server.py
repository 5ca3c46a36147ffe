"""Lab 3: TCP chat server.

Readers: one thread per connection.  Writer: ONE thread for all connections, which
select()s the sockets that have something queued and sends what fits (non-blocking).
Everything is logged with logging (stderr).
"""
import argparse
import json
import logging
import re
import select
import signal
import socket
import sys
import threading
import time
import unicodedata
from datetime import datetime

logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S")
log = logging.getLogger()

LOCK = threading.RLock()
USERS = {}  # folded name -> Peer (insertion order = join order)
PEERS = set()
CLOSING = set()  # dropped, but a last message (a fatal error) still to send
PENDING = {}  # folded asked -> list of folded askers
PAIRS = {}  # folded name -> folded partner
OPT = None
WAKE_R, WAKE_W = socket.socketpair()


def fold(s):
    return unicodedata.normalize("NFC", s).casefold()


class Peer:
    def __init__(self, sock):
        self.sock, self.name, self.out, self.dead = sock, None, bytearray(), False
        self.close_after_flush = False
        sock.setblocking(False)

    def send(self, kind, **f):
        f.update(type=kind, timestamp=datetime.now().isoformat(timespec="seconds"))
        with LOCK:
            if self.dead:
                return
            self.out += (json.dumps(f, ensure_ascii=False) + "\n").encode()
            overflow = len(self.out) > OPT.sendq_bytes
        if overflow:
            drop(self, "overflow")
        WAKE_W.send(b"x")


def writer():
    while True:
        with LOCK:
            busy = [p for p in PEERS | CLOSING if p.out]
        _, ready, _ = select.select([WAKE_R], [p.sock for p in busy], [], 0.5)
        try:
            WAKE_R.recv(4096)
        except BlockingIOError:
            pass
        for p in busy:
            if p.sock not in ready:
                continue
            with LOCK:
                try:
                    n = p.sock.send(p.out)
                    del p.out[:n]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    p.out.clear()
                done = p.close_after_flush and not p.out
            if done:
                CLOSING.discard(p)
                p.sock.close()


def all_users():
    with LOCK:
        return list(USERS.values())


def drop(p, reason):
    with LOCK:
        if p.dead:
            return
        p.dead = True
        PEERS.discard(p)
        if reason == "overflow":
            p.out.clear()
        p.close_after_flush = True
        if p.out:
            CLOSING.add(p)
        else:
            p.sock.close()
        if p.name is None:
            return
        me = fold(p.name)
        del USERS[me]
        PENDING.pop(me, None)
        partner = PAIRS.pop(me, None)
        PAIRS.pop(partner, None)
        n = len(USERS)
    if partner in USERS:
        USERS[partner].send("session_ended", from_username=p.name, to_username=USERS[partner].name,
                            reason="disconnect", message=p.name + " покинул(а) чат")
    log.info("%s ушёл (%s)", p.name, reason)
    for u in all_users():
        u.send("system", event="leave", username=p.name, reason=reason, online_users=n,
               message=p.name + " вышел из чата")


def fail(p, code, text, fatal=False):
    if fatal:
        p.send("error", code=code, message=text, fatal=True)
    else:
        p.send("error", code=code, message=text)


def register(p, m):
    name = m.get("username")
    if not isinstance(name, str) or not re.fullmatch(r"[\w.\-]{1,32}", name):
        return fail(p, "username_invalid", "Недопустимое имя")
    with LOCK:
        if fold(name) in USERS:
            return fail(p, "username_taken", "Имя " + name + " уже занято")
        USERS[fold(name)] = p
        p.name, n = name, len(USERS)
    log.info("%s вошёл", name)
    p.send("system", event="welcome", username=name, online_users=n,
           message="Добро пожаловать в чат, " + name + "!")
    for u in all_users():
        if u is not p:
            u.send("system", event="join", username=name, online_users=n,
                   message=name + " вошёл в чат")


def valid_text(p, m):
    t = m["message"]
    if not isinstance(t, str):
        raise TypeError
    if not t.strip():
        fail(p, "empty_message", "Пустой текст")
    elif len(t.strip()) > 4096:
        fail(p, "message_too_long", "Текст длиннее 4096 символов")
    else:
        return True
    return False


def target_of(p, m):
    name = m["target_username"]
    with LOCK:
        u = USERS.get(fold(name))
    if u is None:
        fail(p, "unknown_user", "Пользователь " + name + " не в сети")
    elif u is p:
        fail(p, "self_target", "Нельзя выбрать себя")
    else:
        return u
    return None


def do_message(p, m):
    if valid_text(p, m):
        for u in all_users():
            if u is not p:
                u.send("message", from_username=p.name, message=m["message"])


def do_private(p, m):
    u = valid_text(p, m) and target_of(p, m)
    if u:
        u.send("private", from_username=p.name, message=m["message"])


def do_session_request(p, m):
    u = target_of(p, m)
    if not u:
        return
    me, it = fold(p.name), fold(u.name)
    with LOCK:
        busy = me in PAIRS or it in PAIRS or me in PENDING.get(it, [])
        if not busy:
            PENDING.setdefault(it, []).append(me)
    if busy:
        return fail(p, "busy", "Кто-то из вас занят")
    u.send("session_request", from_username=p.name,
           message=p.name + " хочет начать приватную сессию с вами")


def do_session_response(p, m):
    asker, yes = m["target_username"], m["accepted"]
    if not isinstance(yes, bool):
        raise TypeError
    me, it = fold(p.name), fold(asker)
    with LOCK:
        if it not in PENDING.get(me, []) or it not in USERS:
            return fail(p, "no_pending_request", "Нет запроса от " + asker)
        PENDING[me].remove(it)
        yes = yes and me not in PAIRS and it not in PAIRS
        if yes:
            PAIRS[me], PAIRS[it] = it, me
        a = USERS[it]
    word = "установлена" if yes else "отклонена"
    for u in (a, p):
        u.send("session_accepted" if yes else "session_rejected", from_username=a.name,
               to_username=p.name, message="Приватная сессия между %s и %s %s" % (a.name, p.name, word))


def do_session_end(p, m):
    with LOCK:
        it = PAIRS.pop(fold(p.name), None)
        PAIRS.pop(it, None)
        other = USERS.get(it)
    if other is None:
        return fail(p, "not_in_session", "Вы не в сессии")
    for u in (p, other):
        u.send("session_ended", from_username=p.name, to_username=other.name, reason="exit",
               message=p.name + " завершил(а) приватную сессию")


HANDLERS = {
    "message": do_message,
    "private": do_private,
    "users": lambda p, m: p.send("users_list", users=[u.name for u in all_users()]),
    "session_request": do_session_request,
    "session_response": do_session_response,
    "session_end": do_session_end,
    "pong": lambda p, m: None,
}


def dispatch(p, line):
    try:
        m = json.loads(line.decode("utf-8"))
    except ValueError:
        m = None
    if not isinstance(m, dict):
        return fail(p, "invalid_json", "Строка не JSON-объект")
    if "type" not in m:
        return fail(p, "already_registered", "Вы уже в чате") if p.name else register(p, m)
    if p.name is None:
        return fail(p, "not_registered", "Сначала зарегистрируйтесь")
    handler = HANDLERS.get(m["type"]) if isinstance(m["type"], str) else None
    if handler is None:
        return fail(p, "unknown_type", "Неизвестный type")
    try:
        handler(p, m)
    except (KeyError, TypeError):
        fail(p, "invalid_message", "Не хватает полей или неверный тип")


def reader(p):
    buf, born, heard, pinged = b"", time.monotonic(), time.monotonic(), None
    while not p.dead:
        try:
            r, _, _ = select.select([p.sock], [], [], 0.1)
        except (OSError, ValueError):  # closed by drop()
            return
        now = time.monotonic()
        if not r:
            if p.name is None and now - born > OPT.register_timeout:
                fail(p, "registration_timeout", "Не зарегистрировались вовремя", True)
                return drop(p, "error")
            if p.name and pinged and now - pinged > OPT.ping_timeout:
                return drop(p, "timeout")
            if p.name and not pinged and now - heard > OPT.ping_interval:
                pinged = now
                p.send("ping")
            continue
        try:
            data = p.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            return drop(p, "disconnect")
        if not data:
            return drop(p, "quit")
        heard, pinged = now, None
        buf += data
        while b"\n" in buf and not p.dead:
            line, buf = buf.split(b"\n", 1)
            if len(line) > OPT.max_line_bytes:
                buf = line
                break
            if line.strip():
                dispatch(p, line.strip())
        if len(buf) > OPT.max_line_bytes and not p.dead:
            fail(p, "line_too_long", "Строка слишком длинная", True)
            return drop(p, "error")


def main():
    global OPT
    ap = argparse.ArgumentParser(description="Чат-сервер")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8083)
    ap.add_argument("--register-timeout", type=float, default=30)
    ap.add_argument("--ping-interval", type=float, default=30)
    ap.add_argument("--ping-timeout", type=float, default=10)
    ap.add_argument("--sendq-bytes", type=int, default=1048576)
    ap.add_argument("--max-clients", type=int, default=0)
    ap.add_argument("--max-line-bytes", type=int, default=65536)
    OPT = ap.parse_args()
    WAKE_R.setblocking(False)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        srv.bind((OPT.host, OPT.port))
    except OSError as e:
        log.error("порт %d недоступен: %s", OPT.port, e.strerror)
        sys.exit(1)
    srv.listen(50)
    log.info("жду подключений, порт %d", srv.getsockname()[1])
    threading.Thread(target=writer, daemon=True).start()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            sock, addr = srv.accept()
            p = Peer(sock)
            with LOCK:
                PEERS.add(p)
                full = OPT.max_clients and len(PEERS) > OPT.max_clients
            if full:
                fail(p, "server_full", "Сервер переполнен", True)
                drop(p, "error")
                continue
            threading.Thread(target=reader, args=(p,), daemon=True).start()
    except KeyboardInterrupt:
        log.info("остановка")
    srv.close()
    for u in all_users():
        with LOCK:
            partner = USERS.get(PAIRS.get(fold(u.name)))
        if partner:
            u.send("session_ended", from_username=u.name, to_username=partner.name,
                   reason="shutdown", message="Сервер останавливается")
        u.send("system", event="shutdown", online_users=len(USERS), message="Сервер завершает работу")
    deadline = time.monotonic() + 1
    while any(u.out for u in all_users()) and time.monotonic() < deadline:
        time.sleep(0.02)


if __name__ == "__main__":
    main()
