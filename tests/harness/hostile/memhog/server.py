# Hostile: prints its ready line, then eats memory without bound.
import socket
import sys


def listen() -> socket.socket:
    """The --port it is told, bound as a correct server binds it (a busy port: one line,
    code 1), so that only this server's hostility below is graded."""
    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    try:
        return socket.create_server(("127.0.0.1", port))
    except OSError as exc:
        print(f"Порт {port} занят: {exc.strerror}", file=sys.stderr)
        sys.exit(1)


sock = listen()
print(f"Сервер запущен на 127.0.0.1:{sock.getsockname()[1]}", flush=True)
hog = []
while True:
    hog.append(bytearray(10 * 1024 * 1024))
