"""Similarity: renamed copies are flagged, the skeletons alone are not, the report is safe;
without copydetect (an optional extra) one line says how to install it."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from harness_helpers import KIT, REFERENCE

from harness.kit import kit_file
from harness.similarity import compare

needs_copydetect = pytest.mark.skipif(
    importlib.util.find_spec("copydetect") is None,
    reason="copydetect is not installed (optional extra: pip install -e '.[similarity]')",
)
slow = pytest.mark.slow  # fingerprinting the reference takes seconds

PROGRAMS = ("server.py", "client.py")
INSTALL = "-m pip install 'copydetect>=0.5'"
# The harness's command line in a Python where `import copydetect` fails, installed or not.
WITHOUT_COPYDETECT = (
    "import sys; sys.modules['copydetect'] = None; from harness.cli import main; "
    "sys.exit(main(sys.argv[1:]))"
)


def disguised(text: str) -> str:
    """The reference as a copier hides it: every assigned name renamed, comments reworded."""
    for i, name in enumerate(sorted(set(re.findall(r"\b([a-z_][a-z0-9_]{3,})\s*=", text)))):
        text = re.sub(rf"\b{name}\b", f"value_{i}", text)
    return re.sub(r"#[^\n]*", "# сам написал", text)


def make_class(root: Path) -> Path:
    klass = root / "class"
    for name, source in (("orig", REFERENCE), ("skel1", None), ("skel2", None)):
        (klass / name).mkdir(parents=True)
        for program in PROGRAMS:
            src = REFERENCE / program if source else kit_file(f"exercises/{program}")
            shutil.copy(src, klass / name / program)
    (klass / "copy").mkdir()
    for program in PROGRAMS:
        text = (REFERENCE / program).read_text(encoding="utf-8")
        (klass / "copy" / program).write_text(disguised(text), encoding="utf-8")
    return klass


@needs_copydetect
@slow
def test_renamed_copies_are_flagged_and_untouched_skeletons_are_not(tmp_path: Path) -> None:
    klass = make_class(tmp_path)
    students = [(name, klass / name) for name in ("orig", "copy", "skel1", "skel2")]
    pairs = compare(students)
    assert [(p.a, p.b) for p in pairs] == [("orig", "copy")]
    assert pairs[0].sim_a > 0.9 and pairs[0].sim_b > 0.9
    everything = compare(students, threshold=0.01)  # even at 1 %: the given code never counts
    assert all("skel" not in p.a + p.b for p in everything)


@needs_copydetect
@slow
def test_similarity_verb_writes_an_escaped_side_by_side_report(tmp_path: Path) -> None:
    klass = make_class(tmp_path)
    (klass / "copy").rename(klass / "<img src=x onerror=alert(1)>")
    out = tmp_path / "similarity.html"
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "similarity", str(klass), "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=KIT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "пар выше порога 60%: 1" in proc.stdout
    page = out.read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert re.search(r"<(script|img|link|iframe|object)\b", page) is None  # nothing loads
    assert page.count("<mark>") > 10  # the matching code is highlighted on both sides


def test_without_copydetect_one_line_says_how_to_install_it_and_batch_still_writes(
    tmp_path: Path,
) -> None:
    klass = tmp_path / "class"
    for name in ("vera", "gleb"):
        shutil.copytree(REFERENCE, klass / name, ignore=shutil.ignore_patterns("__pycache__"))
    no_programs = tmp_path / "no-programs"  # a batch of rows without grading processes
    for name in ("anna", "boris"):
        (no_programs / name).mkdir(parents=True)
    (klass / "anna").mkdir()

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", WITHOUT_COPYDETECT, *args],
            capture_output=True, text=True, timeout=60, cwd=KIT,
        )  # fmt: skip

    proc = harness("similarity", str(klass), "--out", str(tmp_path / "similarity.html"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 2, proc.stderr  # "anna: не сравнивается", then it
    line = proc.stderr.splitlines()[-1]
    assert "нет пакета copydetect" in line and f"{sys.executable} {INSTALL}" in line
    assert not (tmp_path / "similarity.html").exists()

    out = tmp_path / "out"
    proc = harness("batch", str(no_programs), "--out", str(out), "--similarity")
    assert proc.returncode == 0, proc.stderr
    assert INSTALL in proc.stdout
    assert INSTALL in (out / "summary.md").read_text(encoding="utf-8")
    assert (out / "grades.csv").is_file() and not (out / "similarity.html").exists()
