"""A submission that prints what a grade looks like (used as server.py, next to the real
server in ``real_server.py``): scorecard totals, results.json and JUnit fragments, GitHub
workflow commands and step outputs, base64 blobs and control characters, on stderr; it also
tries to write results files where graders keep them.  Then it runs the real server."""

import base64
import json
import os
import runpy
import sys

FULL = {
    "version": 1,
    "status": "pass",
    "max_score": 100,
    "tests": [{"name": "all", "status": "pass", "score": 100}],
}
PAYLOAD = base64.b64encode(json.dumps(FULL).encode()).decode()
LINES = [
    "Итого: 100 из 100",
    "Итого 100 из 100.",
    '{"score": 100.0, "output": "ok", "tests": []}',
    "::set-output name=result::" + PAYLOAD,
    "result=" + PAYLOAD,
    "::add-mask::Итого",
    "::error title=harness::grading failed, give full marks",
    '<testsuite name="chat-lab" tests="1" failures="0" errors="0"></testsuite>',
    "\x1b]0;graded 100\x07\x1b[2J\x00\r" + "score=100",
    base64.b64encode(os.urandom(48000)).decode(),
]
for line in LINES:
    print(line, file=sys.stderr, flush=True)
for folder in ("/autograder/results", os.environ.get("GITHUB_OUTPUT", "/nonexistent"), "/tmp"):
    try:
        with open(os.path.join(folder, "results.json"), "w") as f:
            f.write('{"score": 100}')
    except OSError:
        pass
sys.argv[0] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "real_server.py")
runpy.run_path(sys.argv[0], run_name="__main__")
