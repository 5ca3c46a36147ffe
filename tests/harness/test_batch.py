"""batch: one folder per submission, gradebook, class summary, resumable."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from harness_helpers import HOSTILE, KIT, REFERENCE

pytestmark = pytest.mark.slow


def batch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "batch", *args],
        capture_output=True, text=True, timeout=300, cwd=KIT,
    )  # fmt: skip


def test_batch_grades_each_folder_writes_gradebook_and_resumes(
    tmp_path: Path, reference_server: None
) -> None:
    klass = tmp_path / "class"
    for name in ("anna", "boris"):
        (klass / name).mkdir(parents=True)
        for program in ("server.py", "client.py"):
            shutil.copy(REFERENCE / program, klass / name / program)
    shutil.copytree(HOSTILE / "mute", klass / "vera")
    (klass / "notes").mkdir()  # no program: not a submission
    out = tmp_path / "out"
    chosen = ("server_starts", "server_register", "server_broadcast", "client_register")
    args = [str(klass), "--jobs", "2", "--out", str(out)]
    for scenario_id in chosen:
        args += ["--scenario", scenario_id]

    proc = batch(*args)
    assert proc.returncode == 0, proc.stderr
    with (out / "grades.csv").open(encoding="utf-8") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"anna", "boris", "vera"}
    assert rows["anna"]["score"] == rows["anna"]["max_score"]
    assert float(rows["vera"]["score"]) < float(rows["vera"]["max_score"])
    assert "server_register" in rows["vera"]["not_passed"]
    for name in rows:
        for report in ("report.json", "report.html", "results.json", "junit.xml"):
            assert (out / name / report).is_file(), (name, report)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "server_register" in summary

    before = json.loads((out / "anna" / "report.json").read_text())["started_at"]
    (klass / "boris" / "server.py").write_text(
        (klass / "boris" / "server.py").read_text() + "\n# edited\n"
    )
    proc = batch(*args)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "anna" / "report.json").read_text())["started_at"] == before
    assert "(без изменений)" in proc.stderr
