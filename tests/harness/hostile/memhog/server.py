# Hostile: prints its ready line, then eats memory without bound.
import socket

sock = socket.create_server(("127.0.0.1", 0))
print(f"Сервер запущен на 127.0.0.1:{sock.getsockname()[1]}", flush=True)
hog = []
while True:
    hog.append(bytearray(10 * 1024 * 1024))
