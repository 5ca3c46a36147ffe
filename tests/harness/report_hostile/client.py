"""A hostile client for the report tests: its screen is meant to break a report.

It connects, asks for a name, registers, and then shows every line from the server after terminal
control sequences (clear screen, window title, bell), HTML and rich markup; what the user
types is sent as raw text, not JSON, so the client scenarios fail with its screen shown.
"""

import argparse
import json
import socket
import sys
import threading

NASTY = "\x1b]0;pwned\x07\x07</pre><script>alert(1)</script> [bold red]markup[/] \x00"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    args, _ = parser.parse_known_args()
    sock = socket.create_connection((args.host, args.port))
    print("\x1b[2J\x1b[H\x1b]0;pwned\x07[bold red]markup[/] </pre><script>alert(1)</script>")
    name = input("Введите имя: ")
    sock.sendall(json.dumps({"username": name}).encode() + b"\n")

    def show():
        for line in sock.makefile("rb"):
            shown = b"\x1b[1m" + line.rstrip(b"\n") + b"\xff\xfe " + NASTY.encode()
            sys.stdout.buffer.write(shown + b"\n")
            sys.stdout.flush()

    threading.Thread(target=show, daemon=True).start()
    print("\x1b[31m[bold]готово[/]\x1b[0m ]]>")
    for line in sys.stdin:
        sock.sendall(line.encode())


if __name__ == "__main__":
    main()
