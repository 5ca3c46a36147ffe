#!/bin/bash
# The entrypoint of the chat lab's externally graded question (info.json's
# externalGradingOptions.entrypoint).  PrairieLearn runs it as root in the grading
# container with the job mounted at /grade; this file lives in
# /grade/serverFilesCourse/chatlab/, so the job's root is two folders up (the tests give it
# a stand-in /grade the same way).  It unpacks the bundle's wheels for this container's
# Python and grades /grade/student/ into /grade/results/results.json; nothing is downloaded.

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
mkdir -p "$ROOT/results"

fail() {
    # A results.json PrairieLearn accepts even when Python or the bundle is missing.
    printf '{"gradable": false, "score": 0, "message": "%s", "tests": []}\n' "$1" \
        >"$ROOT/results/results.json"
    echo "run.sh: $1" >&2
    exit 0
}

PYTHON=""
for candidate in /usr/bin/python3 python3 /usr/local/bin/python3; do
    found=$(command -v "$candidate" 2>/dev/null) || continue
    if "$found" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        PYTHON=$found
        break
    fi
done
[ -n "$PYTHON" ] || fail "В образе проверки нет python3 версии 3.9 или новее. Сообщите преподавателю."

if ! errors=$("$PYTHON" -I -S "$HERE/boot.py" install 2>&1); then
    echo "$errors" >&2
    fail "Пакет проверки не запустился в этом образе (подробности в журнале задания). Сообщите преподавателю."
fi
exec "$PYTHON" -I -S -B "$HERE/boot.py" run harness.prairielearn.runtime --root "$ROOT"
