#!/bin/bash
# VPL runs this when the student presses "Run": it writes vpl_execution, which VPL starts in
# the browser console (a real terminal).  The student's server starts in the background on
# a free port (--port 0; its output goes to server.log), the student's client starts in the
# console connected to it, and when the client ends the server is stopped and the end of
# its log is shown.  Only server.py: the server runs in the console.  Standard library only,
# the same Python and -I as the grading; nothing of the grader is needed here.

cat >.chatgrade_run.py <<'CHATGRADE_PY'
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time

READY = re.compile(@READY_LINE_REGEX@)
HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 3.0
LOG = "server.log"
PYTHON = [sys.executable, "-I", "-u"]


def say(text):
    print(text, flush=True)


def log_tail(lines=15):
    try:
        with open(LOG, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


def start_server():
    """The server on a free port; (process, port) once its ready line is out, else None."""
    log = open(LOG, "wb")
    proc = subprocess.Popen(
        [*PYTHON, "server.py", "--host", HOST, "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    buffer = b""
    port = None
    while port is None and time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        log.write(chunk)
        log.flush()
        buffer += chunk
        for line in buffer.decode("utf-8", errors="replace").splitlines():
            found = READY.search(line)
            if found:
                port = int(found.group("port"))
                break
    selector.close()
    if port is None:
        stop(proc)
        return None

    def copy_rest():
        for chunk in iter(lambda: os.read(proc.stdout.fileno(), 4096), b""):
            log.write(chunk)
            log.flush()

    threading.Thread(target=copy_rest, daemon=True).start()
    return proc, port


def stop(proc):
    """Ctrl+C for the server's process group, then SIGKILL if it does not end."""
    for sig, wait in ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


def main():
    has_server = os.path.isfile("server.py")
    has_client = os.path.isfile("client.py")
    if not has_server:
        say("Нет server.py: клиенту не к чему подключиться. Загрузите server.py и client.py.")
        return 0
    if not has_client:
        say("Нет client.py: запускаю только сервер (Ctrl+C — остановить).")
        os.execv(sys.executable, [*PYTHON, "server.py", "--host", HOST, "--port", "0"])
    started = start_server()
    if started is None:
        say(f"Сервер не напечатал строку готовности за {START_TIMEOUT:g} с. Конец server.log:")
        say(log_tail())
        return 0
    server, port = started
    say(f"Сервер запущен на {HOST}:{port} (его журнал — server.log). Запускаю клиент.")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the client's
    try:
        subprocess.call([*PYTHON, "client.py", "--host", HOST, "--port", str(port)])
    finally:
        signal.signal(signal.SIGINT, previous)
        stop(server)
    say("")
    say("Клиент завершился, сервер остановлен. Конец server.log:")
    say(log_tail())
    return 0


sys.exit(main())
CHATGRADE_PY

PYTHON=""
for candidate in python3 /usr/bin/python3 /usr/local/bin/python3; do
    PYTHON=$(command -v "$candidate" 2>/dev/null) && break
done
if [ -z "$PYTHON" ]; then
    echo "В песочнице VPL нет python3."
    exit 0
fi
cat >vpl_execution <<EOF
#!/bin/bash
exec "$PYTHON" -I .chatgrade_run.py
EOF
chmod +x vpl_execution
