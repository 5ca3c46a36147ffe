# Hostile: prints its ready line, then 100 MB of output.
import socket
import sys

sock = socket.create_server(("127.0.0.1", 0))
print(f"Сервер запущен на 127.0.0.1:{sock.getsockname()[1]}", flush=True)
chunk = "x" * (1024 * 1024) + "\n"
for _ in range(100):
    sys.stdout.write(chunk)
sys.stdout.flush()
