#!/usr/bin/env bash
# Grade one student repository with the student edition this script sits in (the template's
# .chatlab/).  The GitHub Classroom workflow (classroom.yml) runs exactly this, and so do the
# kit's tests (tests/package/):
#
#   bash .chatlab/grade.sh SUBMISSION [OUT_DIR]
#
# Grades a copy of SUBMISSION without the grader, the workflow and git metadata, with the
# edition's check.py (its own .venv, the visible scenarios only).  Prints the scorecard and
# "Итого: X из Y"; writes OUT_DIR/report.json and report.html (default OUT_DIR:
# chat-lab-report); under GitHub Actions also the job summary ($GITHUB_STEP_SUMMARY) and the
# step output `result` for Classroom's grading reporter ($GITHUB_OUTPUT).  Whatever the
# student's programs print is only ever inside the log: workflow commands are switched off
# while grading runs.  Exits 0 whenever grading ran, whatever the score.
set -euo pipefail

EDITION="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUBMISSION="$(cd "${1:?usage: grade.sh SUBMISSION [OUT_DIR]}" && pwd)"
OUT="${2:-chat-lab-report}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PYTHON="${PYTHON:-python3}"

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
# The student's own files only (a helper module next to server.py comes along).
tar -C "$SUBMISSION" \
    --exclude=./.chatlab --exclude=./.github --exclude=./.git --exclude="./$(basename "$OUT")" \
    -cf - . | tar -C "$STAGE" -xf -

# Install (first run) before switching commands off, so pip's own output is ordinary.
"$PYTHON" "$EDITION/check.py" --list >/dev/null

# A student's program may print "::set-output ...", "::add-mask::" and the like; in the log
# they stay text.  The marker is random, so the program cannot switch commands back on.
MARKER="chatlab-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "::stop-commands::$MARKER"
status=0
"$PYTHON" "$EDITION/check.py" "$STAGE" --json "$OUT/report.json" --html "$OUT/report.html" \
    || status=$?
echo "::$MARKER::"
if [ "$status" -ne 0 ]; then
    echo "grade.sh: the grader failed (exit $status), see above" >&2
    exit "$status"
fi

GRADER="${CHATLAB_PYTHON:-$EDITION/.venv/bin/python}"
"$GRADER" -c 'import sys; sys.path[0] = sys.argv.pop(1); from harness.classroom import main; sys.exit(main())' \
    "$EDITION" "$OUT/report.json"
