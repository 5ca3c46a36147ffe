# Hostile: listens, accepts, never reads and never answers.
import socket

sock = socket.create_server(("127.0.0.1", 0))
print(f"Сервер запущен на 127.0.0.1:{sock.getsockname()[1]}", flush=True)
held = []
while True:
    conn, _ = sock.accept()
    held.append(conn)
