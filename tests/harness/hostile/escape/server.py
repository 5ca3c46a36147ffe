# Hostile: leaves a child that escapes its process group (setsid), then hangs.
import os
import socket
import time

if os.fork() == 0:
    os.setsid()
    while True:
        time.sleep(1)
sock = socket.create_server(("127.0.0.1", 0))
print(f"Сервер запущен на 127.0.0.1:{sock.getsockname()[1]}", flush=True)
held = []
while True:
    conn, _ = sock.accept()
    held.append(conn)
