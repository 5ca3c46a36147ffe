"""Tiny programs with distinctive prompts for testing harness.terminal (pexpect's own style).

Run as ``python toy.py MODE``; each mode exercises one behaviour of a real terminal.
"""

import os
import signal
import sys
import time


def echo() -> None:
    """Ask a name, greet, then a prompt loop until `quit` (exit 0) or `fail` (exit 3)."""
    name = input("Кто там? ")
    print(f"привет, {name}")
    while True:
        line = input("toy> ")
        if line == "quit":
            sys.exit(0)
        if line == "fail":
            sys.exit(3)
        print(f"эхо: {line}")


def scroll() -> None:
    """Print more lines than the screen has, then a prompt."""
    for i in range(150):
        print(f"строка номер {i:03d}")
    input("done> ")


def split_utf8() -> None:
    """Write Cyrillic and an emoji one byte at a time."""
    out = sys.stdout.buffer
    for byte in "Ёжик 🦔 в тумане\n".encode():
        out.write(bytes([byte]))
        out.flush()
    input("split> ")


def garbage() -> None:
    """Write random bytes (malformed escape sequences included), then a prompt."""
    import random

    rng = random.Random(209)
    out = sys.stdout.buffer
    for _ in range(40):
        out.write(bytes(rng.randrange(256) for _ in range(2000)))
        out.flush()
    # Sequences pyte's parser dies on (selectel/pyte#209), each in a write of its own.
    for crasher in ("\x1b[?5L", "\x1b[\u00b3m"):
        out.write(crasher.encode())
        out.flush()
    out.write(b"\x1b[0m\x1bc")  # reset attributes and the terminal
    out.flush()
    input("после мусора> ")


def flood() -> None:
    """Write without end."""
    chunk = "x" * 1000 + "\n"
    while True:
        sys.stdout.write(chunk)


def grandchild() -> None:
    """Leave a grandchild running and report its pid."""
    pid = os.fork()
    if pid == 0:
        signal.pause()
        os._exit(0)
    print(f"внук {pid}", flush=True)
    input("gc> ")


def cursor_query() -> None:
    """Ask the terminal where the cursor is (ESC [ 6 n), as line editors do."""
    import termios
    import tty

    old = termios.tcgetattr(0)
    tty.setraw(0)
    try:
        os.write(1, b"abc\x1b[6n")
        reply = b""
        while not reply.endswith(b"R"):
            reply += os.read(0, 1)
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, old)
    print(f"\r\nответ {reply[1:].decode()}", flush=True)
    input("cq> ")


def killed() -> None:
    """Die by SIGTERM."""
    print("умираю", flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)


def stdin_kind() -> None:
    """Report whether stdin is a tty and what reading it gives."""
    print(f"stdin tty: {os.isatty(0)}", flush=True)
    data = sys.stdin.read()
    print(f"прочитано {len(data)}", flush=True)


def interrupt() -> None:
    """Wait at a prompt; Ctrl+C prints a farewell and exits 130."""
    try:
        input("ctrl> ")
    except KeyboardInterrupt:
        print("\nпрервано", flush=True)
        sys.exit(130)


if __name__ == "__main__":
    globals()[sys.argv[1]]()
