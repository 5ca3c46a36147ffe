# Chat server: plain text lines, no JSON.  The first line from a client is its name.
import argparse
import socket
import sys
import threading
import time

clients = {}
lock = threading.Lock()


def say_all(text, but=None):
    line = "[" + time.strftime("%H:%M:%S") + "] " + text + "\n"
    with lock:
        targets = [s for s in clients if s is not but]
    for s in targets:
        try:
            s.sendall(line.encode("utf-8"))
        except OSError:
            pass


def client(sock):
    f = sock.makefile("r", encoding="utf-8", errors="replace")
    sock.sendall("Введите имя: ".encode("utf-8"))
    name = f.readline().strip()
    if not name:
        sock.close()
        return
    with lock:
        clients[sock] = name
    sock.sendall(("Привет, " + name + "! В чате: " + ", ".join(clients.values()) + "\n").encode("utf-8"))
    say_all(name + " вошёл в чат", but=sock)
    for line in f:
        line = line.strip()
        if line.startswith("@"):  # @name text - a private message
            to, _, text = line[1:].partition(" ")
            for s, n in list(clients.items()):
                if n == to:
                    s.sendall(("[лично] " + name + ": " + text + "\n").encode("utf-8"))
        elif line:
            say_all(name + ": " + line, but=sock)
    with lock:
        del clients[sock]
    sock.close()
    say_all(name + " вышел из чата")


parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8083)
args, _ = parser.parse_known_args()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    srv.bind((args.host, args.port))
except OSError:
    print("Порт занят", file=sys.stderr)
    sys.exit(1)
srv.listen()
print("Сервер запущен на %s:%d" % srv.getsockname(), flush=True)
try:
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()
except KeyboardInterrupt:
    say_all("Сервер завершает работу")
