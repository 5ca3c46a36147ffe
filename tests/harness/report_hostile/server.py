"""A hostile server for the report tests: everything it prints is meant to break a report.

It listens where it is told and prints a ready line, so the harness talks to it; around that
it prints terminal control sequences (clear screen, set the window title, bell), XML and HTML
breakers, rich markup, invalid UTF-8 and a 1 MB line, on stdout and stderr, and its
protocol replies carry the same (as raw bytes and as JSON escapes: NUL, ESC, a lone
surrogate, U+FFFE).  Every report of its grading must still parse and show nothing raw.
"""

import argparse
import socket
import sys
import threading

NASTY = (
    "\x00\x07\x1b[2J\x1b]0;pwned\x07 ]]> </pre><script>alert(1)</script> [bold red]markup[/]"
    " \u202eevil"
)
BAD_BYTES = b"\xff\xfe\xc3(\xed\xa0\x80 \x1b[31mred\x1b[0m \x9b2J"
BIG = "A" * (1024 * 1024)  # the harness stops a program past 2 MB of output


def out(stream, text, raw=b""):
    stream.buffer.write(text.encode("utf-8", "surrogatepass") + raw + b"\n")
    stream.flush()


def serve(conn):
    with conn:
        conn.recv(65536)
        conn.sendall(BAD_BYTES + b"\n")
        welcome = (
            '{"type": "system", "event": "welcome", "username": "\\u0000\\u001b[2J\\ud800\\ufffe'
            ' ]]> </pre><script>x</script> [bold]b[/]", "online_users": 1,'
            ' "message": "\\u001b]0;pwned\\u0007"}\n'
        )
        conn.sendall(welcome.encode("ascii") + b'{"type": "' + BAD_BYTES + b'"}\n')
        conn.sendall(NASTY.encode("utf-8") + b"\n")
        conn.sendall(b'{"type": "message", "message": "' + BIG.encode() + b'"}\n')
        while conn.recv(65536):
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    args, _ = parser.parse_known_args()
    out(sys.stderr, NASTY, BAD_BYTES)
    sock = socket.create_server((args.host, args.port))
    host, port = sock.getsockname()[:2]
    out(sys.stdout, f"Сервер запущен на {host}:{port}")
    out(sys.stdout, NASTY + " \udcff", BAD_BYTES)
    out(sys.stdout, BIG)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
