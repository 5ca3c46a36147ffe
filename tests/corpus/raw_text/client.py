# Chat client: text lines both ways.
import argparse
import os
import socket
import sys
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8083)
args = parser.parse_args()

sock = socket.create_connection((args.host, args.port))


def listen():
    while True:
        data = sock.recv(4096)
        if not data:
            print("Соединение с сервером потеряно.")
            os._exit(1)
        print(data.decode("utf-8", "replace"), end="", flush=True)


name = input("Введите имя: ")
sock.sendall((name + "\n").encode("utf-8"))
threading.Thread(target=listen, daemon=True).start()
while True:
    try:
        line = input()
    except (EOFError, KeyboardInterrupt):
        break
    if line == "/quit":
        break
    sock.sendall((line + "\n").encode("utf-8"))
sock.close()
sys.exit(0)
