#!/usr/bin/env bash
# Grade one student repository with the kit this script belongs to.  The GitHub Classroom
# workflow (classroom.yml) runs exactly this, and so does tests/package/:
#
#   bash KIT/lab/github-classroom/grade.sh SUBMISSION [OUT_DIR]
#
# Prints the scorecard and "Итого: X из Y"; writes OUT_DIR/report.json and report.html
# (default OUT_DIR: chat-lab-report); under GitHub Actions also the job summary
# ($GITHUB_STEP_SUMMARY) and the step output `result` for Classroom's grading reporter
# ($GITHUB_OUTPUT).  Exits 0 whenever grading ran, whatever the score.
set -euo pipefail

KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SUBMISSION="$(cd "${1:?usage: grade.sh SUBMISSION [OUT_DIR]}" && pwd)"
OUT="${2:-chat-lab-report}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PYTHON="${PYTHON:-python3}"

cd "$KIT"
"$PYTHON" -m harness grade "$SUBMISSION" --json "$OUT/report.json" --html "$OUT/report.html"
"$PYTHON" -m harness.classroom "$OUT/report.json"
