"""The student edition: what it holds, what it never holds, and that its self-check grades
the visible scenarios exactly as the full grader does."""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from package_helpers import (
    KIT,
    OFFLINE_PIP,
    REFERENCE,
    echo_to_sender,
    grade,
    leaks,
    not_passed,
    package,
    text_of,
)

from harness.cli import build_parser
from harness.package import EDITION_NAME, strip_scenarios
from harness.rubric import load_rubric

RUBRIC = load_rubric()
HIDDEN = [e for e in RUBRIC if e.hidden]
VISIBLE = [e for e in RUBRIC if not e.hidden]


def scenario_ids_in(edition: Path) -> set[str]:
    """The ids of every ``@scenario`` function in the edition's scenario modules."""
    ids = set()
    for module in (edition / "harness" / "scenarios").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "scenario":
                ids.add(node.args[0].value)  # type: ignore[attr-defined]
    return ids


def self_check(edition: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """``python3 check.py ARGS`` in the edition, as its README says."""
    return subprocess.run(
        [sys.executable, str(edition / "check.py"), *args],
        cwd=edition,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "student"
    zipped = out.with_name("student.zip")
    done = package("student", "--out", str(out), "--zip", str(zipped))
    assert done.returncode == 0, done.stderr
    return out


# -- what it holds ---------------------------------------------------------------------------
def test_edition_has_the_handout_skeletons_docs_protocol_and_a_self_check(edition: Path) -> None:
    for name in (
        "README.md",
        "check.py",
        "requirements.txt",
        "edition.json",
        "lab/README.md",
        "lab/protocol.json",
        "lab/rubric.toml",
        "exercises/README.md",
        "exercises/server.py",
        "exercises/client.py",
        "docs/index.md",
        "docs/self-check.md",
        "harness/cli.py",
        "harness/scenarios/server.py",
    ):
        assert (edition / name).is_file(), name
    for name in ("server.py", "client.py"):
        assert (edition / "exercises" / name).read_bytes() == (
            KIT / "exercises" / name
        ).read_bytes()
    assert (edition / "lab" / "protocol.json").read_bytes() == (
        KIT / "lab/protocol.json"
    ).read_bytes()
    assert (edition / "check.py").stat().st_mode & 0o111
    manifest = json.loads((edition / "edition.json").read_text(encoding="utf-8"))
    assert manifest["scenarios"] == len(VISIBLE)
    assert manifest["points"] == sum(e.points for e in VISIBLE)


def test_edition_never_holds_the_model_answer_tests_bench_or_hidden_scenarios(
    edition: Path,
) -> None:
    names = [p.relative_to(edition).as_posix() for p in edition.rglob("*") if p.is_file()]
    for forbidden in ("reference/", "tests/", "bench/", "harness/gradescope/", "lab/tasks.toml"):
        assert not [n for n in names if n.startswith(forbidden)], forbidden
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not leaks(text_of(edition), HIDDEN)
    # The self-check's grader has the visible scenarios and none of the hidden ones.
    ids = scenario_ids_in(edition)
    assert {e.id for e in VISIBLE} <= ids
    assert not ids & {e.id for e in HIDDEN}
    assert [e.id for e in load_rubric(edition / "lab" / "rubric.toml")] == [e.id for e in VISIBLE]


def test_the_handout_lists_only_the_visible_scenarios(edition: Path) -> None:
    handout = (edition / "lab" / "README.md").read_text(encoding="utf-8")
    ids = {e.id for e in RUBRIC}
    rows = [sid for sid in re.findall(r"(?m)^\| `(\w+)` \|", handout) if sid in ids]
    assert rows == [e.id for e in VISIBLE]
    for entry in HIDDEN:
        assert entry.title not in handout
    assert "python3 check.py exercises --part 2" in handout  # section 9, as the edition runs it


def test_the_zip_holds_the_same_files_in_one_folder(edition: Path) -> None:
    with zipfile.ZipFile(edition.with_name("student.zip")) as archive:
        zipped = {
            i.filename.removeprefix(f"{EDITION_NAME}/"): archive.read(i)
            for i in archive.infolist()
            if not i.is_dir()
        }
        assert all(i.filename.startswith(f"{EDITION_NAME}/") for i in archive.infolist())
    folder = {
        p.relative_to(edition).as_posix(): p.read_bytes() for p in edition.rglob("*") if p.is_file()
    }
    assert zipped == folder


def test_every_command_the_edition_shows_is_one_its_check_accepts(edition: Path) -> None:
    """Its pages name `python3 check.py ...` and no command of the kit checkout."""
    parser = build_parser()
    shown = []
    for name, text in text_of(edition).items():
        if not name.endswith(".md") or name.startswith("harness/"):
            continue
        for kit_only in ("kit.py", "-m nox", "pip install -e", "-m harness"):
            assert kit_only not in text, f"{name}: {kit_only}"
        for line in re.findall(r"python3 check\.py([^\n`#]*)", text):
            words = [w for w in shlex.split(line) if w not in ("…", "ПАПКА")]
            args = ["list", *words[1:]] if words[:1] == ["--list"] else ["grade", "F", *words[1:]]
            shown.append((name, line))
            try:
                parser.parse_args(args)
            except SystemExit:
                pytest.fail(f"{name}: python3 check.py{line}")
    assert len(shown) > 10, shown


def test_the_readme_bootstrap_installs_offline_from_bundled_wheels(
    wheelhouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "student"
    done = package("student", "--out", str(out), "--wheelhouse", str(wheelhouse))
    assert done.returncode == 0, done.stderr
    assert list((out / "wheels").glob("pexpect-*.whl"))
    listed = self_check(out, "--list", env=OFFLINE_PIP)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert (out / ".venv" / "bin" / "python").exists()
    for entry in VISIBLE:
        assert entry.id in listed.stdout
    for entry in HIDDEN:
        assert entry.id not in listed.stdout
    again = self_check(out, "--list", env=OFFLINE_PIP)  # the second run reuses .venv
    assert again.returncode == 0 and "создаю окружение" not in again.stderr


# -- its verdicts are the full grader's ------------------------------------------------------
@pytest.mark.slow
def test_self_check_gives_the_reference_full_marks_and_the_full_graders_verdicts(
    edition: Path, tmp_path: Path, reference_report: dict[str, Any]
) -> None:
    env = {**OFFLINE_PIP, "CHATLAB_PYTHON": sys.executable}
    report = tmp_path / "self.json"
    done = self_check(edition, str(REFERENCE), "--json", str(report), "--quiet", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    mine = json.loads(report.read_text(encoding="utf-8"))
    assert mine["score"] == mine["max_score"] == sum(e.points for e in VISIBLE), not_passed(mine)
    full = {r["id"]: r["status"] for r in reference_report["results"]}
    assert {r["id"]: r["status"] for r in mine["results"]} == {e.id: full[e.id] for e in VISIBLE}


@pytest.mark.slow
def test_self_check_fails_a_broken_submission_exactly_where_the_full_grader_does(
    edition: Path, tmp_path: Path
) -> None:
    broken = echo_to_sender(tmp_path / "broken")
    full = grade(broken, tmp_path / "full.json")
    env = {**OFFLINE_PIP, "CHATLAB_PYTHON": sys.executable}
    report = tmp_path / "self.json"
    done = self_check(edition, str(broken), "--json", str(report), "--quiet", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    mine = json.loads(report.read_text(encoding="utf-8"))
    statuses = {r["id"]: r["status"] for r in full["results"]}
    assert {r["id"]: r["status"] for r in mine["results"]} == {
        e.id: statuses[e.id] for e in VISIBLE
    }
    assert statuses["server_broadcast"] == "failed"


# -- the instructor's rubric decides -------------------------------------------------------
def write_rubric(path: Path, hidden: set[str]) -> Path:
    text = (KIT / "lab" / "rubric.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^hidden = true\n", "", text)
    for sid in hidden:
        text = text.replace(f'id = "{sid}"\n', f'id = "{sid}"\nhidden = true\n')
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scenario_the_instructor_hides_is_gone_from_the_edition(tmp_path: Path) -> None:
    rubric = write_rubric(tmp_path / "exam.toml", {"server_broadcast"})
    out = tmp_path / "student"
    done = package("student", "--out", str(out), "--rubric", str(rubric))
    assert done.returncode == 0, done.stderr
    hidden = [e for e in load_rubric(rubric) if e.hidden]
    assert [e.id for e in hidden] == ["server_broadcast"]
    assert not leaks(text_of(out), hidden)
    ids = scenario_ids_in(out)
    assert "server_broadcast" not in ids and "server_slow_reader" in ids
    assert "| `server_slow_reader` |" in (out / "lab" / "README.md").read_text(encoding="utf-8")


def test_hiding_a_scenario_others_depend_on_is_refused(tmp_path: Path) -> None:
    rubric = write_rubric(tmp_path / "exam.toml", {"server_register"})
    out = tmp_path / "student"
    done = package("student", "--out", str(out), "--rubric", str(rubric))
    assert done.returncode == 2
    assert "server_framing зависит от скрытого server_register" in done.stderr
    assert not out.exists()


def test_the_edition_needs_a_place_and_never_overwrites_one(tmp_path: Path) -> None:
    done = package("student")
    assert done.returncode == 2 and "--out" in done.stderr
    (tmp_path / "mine.txt").write_text("моё\n", encoding="utf-8")
    done = package("student", "--out", str(tmp_path))
    assert done.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_strip_scenarios_takes_helpers_only_the_hidden_scenario_used() -> None:
    source = '''
SHARED = 1
ONLY_HIDDEN = 2


def helper():
    return ONLY_HIDDEN


@scenario("open_one")
def open_one(ctx):
    """Открытый."""
    return SHARED


# What the hidden one checks.
@scenario("secret_one", depends=("open_one",))
def secret_one(ctx):
    """Скрытый."""
    return helper() + SHARED
'''
    stripped, removed = strip_scenarios(source, {"secret_one"})
    assert removed == {"secret_one"}
    assert "secret_one" not in stripped and "What the hidden" not in stripped
    assert "def helper" not in stripped and "ONLY_HIDDEN" not in stripped
    assert "SHARED = 1" in stripped and "def open_one" in stripped
    compile(stripped, "stripped", "exec")
    # A helper another module still imports stays.
    kept, _ = strip_scenarios(source, {"secret_one"}, elsewhere="from x import helper")
    assert "def helper" in kept and "ONLY_HIDDEN = 2" in kept
