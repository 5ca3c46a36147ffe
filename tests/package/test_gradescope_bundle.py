"""The Gradescope autograder zip: layout, offline setup, and the same verdicts as ``grade``."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from package_helpers import (
    KIT,
    OFFLINE_PIP,
    REFERENCE,
    SCHEMA,
    echo_to_sender,
    not_passed,
    package,
    python,
    run_autograder,
    unpack,
)

from harness.gradescope import available_cpus, find_submission, run
from harness.package import GRADESCOPE_PYTHONS
from harness.rubric import load_rubric

RUBRIC = load_rubric()
MAX_SCORE = sum(e.points for e in RUBRIC)


def scores_by_name(results: dict[str, Any]) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"]}


# -- finding the student's programs -------------------------------------------------------
def test_programs_at_the_top_of_the_submission_are_graded_there(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("")
    assert find_submission(tmp_path).folder == tmp_path


def test_programs_one_folder_down_are_found_and_the_folder_named(tmp_path: Path) -> None:
    (tmp_path / "chat-main").mkdir()
    (tmp_path / "chat-main" / "client.py").write_text("")
    (tmp_path / "__MACOSX" / "chat-main").mkdir(parents=True)
    (tmp_path / "__MACOSX" / "server.py").write_text("")
    found = find_submission(tmp_path)
    assert found.folder == tmp_path / "chat-main"
    assert "chat-main" in found.note


def test_two_candidate_folders_are_refused_naming_both(tmp_path: Path) -> None:
    for name in ("v1", "v2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "server.py").write_text("")
    found = find_submission(tmp_path)
    assert found.folder is None
    assert "v1" in found.note and "v2" in found.note


def test_programs_two_folders_down_are_not_found_and_the_upload_is_listed(
    tmp_path: Path,
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "server.py").write_text("")
    found = find_submission(tmp_path)
    assert found.folder is None
    assert "server.py" in found.note and "client.py" in found.note
    assert "a/b/server.py" in found.note


@pytest.mark.parametrize(
    ("cpu_max", "cpus"), [("50000 100000", 1), ("200000 100000", 2), ("max 100000", None)]
)
def test_grading_concurrency_follows_the_container_cpu_quota(
    tmp_path: Path, cpu_max: str, cpus: int | None
) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    unlimited = available_cpus(tmp_path / "missing")
    assert available_cpus(tmp_path / "cpu.max") == min(cpus or unlimited, unlimited)


def test_results_schema_rejects_what_gradescope_does_not_accept() -> None:
    good = {"score": 1, "tests": [{"name": "x", "score": 1, "visibility": "after_published"}]}
    jsonschema.validate(good, SCHEMA)
    for bad in (
        {"tests": [{"name": "no score anywhere"}]},
        {"score": 1, "tests": [{"score": 1, "visibility": "later"}]},
        {"score": 1, "tests": [{"score": 1, "status": "ok"}]},
        {"score": 1, "stdout_visiblity": "visible"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_a_broken_bundle_still_leaves_a_results_file_and_fails(tmp_path: Path) -> None:
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "server.py").write_text("")
    assert run(tmp_path) != 0  # no source/kit: the harness cannot even start
    results = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 0
    assert "преподавателю" in results["output"]


# -- the zip -------------------------------------------------------------------------------
@pytest.mark.slow  # builds the zip: downloads wheels from the package index
def test_bundle_has_gradescope_layout_and_everything_offline(bundle_zip: Path) -> None:
    with zipfile.ZipFile(bundle_zip) as bundle:
        infos = {i.filename: i for i in bundle.infolist()}
        manifest = json.loads(bundle.read("bundle.json"))
        rubric = bundle.read("kit/lab/rubric.toml")
    for script in ("setup.sh", "run_autograder", "setup_python.sh"):
        assert infos[script].external_attr >> 16 & 0o111, f"{script} is not executable"
    for needed in ("kit/harness/cli.py", "kit/reference/server.py", "kit/lab/protocol.json"):
        assert needed in infos
    assert not [n for n in infos if "__pycache__" in n or n.endswith(".pyc")]
    assert rubric == (KIT / "lab" / "rubric.toml").read_bytes()
    wheels = [n for n in infos if n.startswith("wheels/")]
    for name in ("pexpect", "ptyprocess", "pyte", "jsonschema", "rich", "tomli"):
        assert any(w.startswith(f"wheels/{name}-") for w in wheels), f"no {name} wheel"
    for version in GRADESCOPE_PYTHONS:
        assert version in manifest["python_versions"]
        tag = "cp" + version.replace(".", "")
        assert any("rpds_py" in w and f"-{tag}-" in w for w in wheels), f"no rpds_py for {tag}"


@pytest.mark.slow  # builds the zip: downloads wheels from the package index
def test_bundle_ships_the_rubric_the_instructor_chose(tmp_path: Path, wheelhouse: Path) -> None:
    rubric = tmp_path / "exam.toml"
    rubric.write_text(
        '[[scenario]]\nid = "server_broadcast"\ntitle = "Рассылка"\npoints = 10\npart = 2\n'
        'target = "server"\nhidden = true\n',
        encoding="utf-8",
    )
    out = tmp_path / "exam.zip"
    wheels = ("--wheelhouse", str(wheelhouse))
    done = package("gradescope", "--out", str(out), "--rubric", str(rubric), *wheels)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as bundle:
        assert bundle.read("kit/lab/rubric.toml") == rubric.read_bytes()
        manifest = json.loads(bundle.read("bundle.json"))
    assert manifest["rubric"]["hidden"] == ["server_broadcast"]
    assert manifest["rubric"]["points"] == 10


def test_bundle_refuses_a_rubric_naming_a_scenario_the_harness_lacks(tmp_path: Path) -> None:
    rubric = tmp_path / "typo.toml"
    rubric.write_text(
        '[[scenario]]\nid = "server_brodcast"\ntitle = "Рассылка"\npoints = 10\npart = 2\n'
        'target = "server"\n',
        encoding="utf-8",
    )
    out = tmp_path / "typo.zip"
    done = package("gradescope", "--rubric", str(rubric), "--out", str(out), "--wheelhouse", ".")
    assert done.returncode == 2
    assert "server_brodcast" in done.stderr
    assert not out.exists()


@pytest.mark.slow
def test_setup_installs_offline_on_the_python_of_gradescope_default_image(
    bundle_zip: Path, tmp_path: Path
) -> None:
    interpreter = python(GRADESCOPE_PYTHONS[0])
    if interpreter is None:
        pytest.skip(f"no python{GRADESCOPE_PYTHONS[0]} on this machine")
    unpack(bundle_zip, tmp_path / "source")
    done = subprocess.run(
        ["bash", str(tmp_path / "source" / "setup_python.sh")],
        env={**OFFLINE_PIP, "PYTHON": interpreter},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Python {GRADESCOPE_PYTHONS[0]}." in done.stdout


# -- run_autograder ------------------------------------------------------------------------
@pytest.mark.slow
def test_reference_scores_the_same_through_the_bundle_as_with_grade(
    autograder: Path, reference_report: dict[str, Any]
) -> None:
    results, stdout = run_autograder(autograder, REFERENCE)
    expected = {r["title"]: r["points"] for r in reference_report["results"]}
    assert reference_report["score"] == MAX_SCORE, not_passed(reference_report)
    assert scores_by_name(results) == expected, stdout[-3000:]
    assert results["score"] == MAX_SCORE
    hidden = {e.title for e in RUBRIC if e.hidden}
    for test in results["tests"]:
        want = "after_published" if test["name"] in hidden else "visible"
        assert test["visibility"] == want, test["name"]
    assert sum(t["max_score"] for t in results["tests"]) == MAX_SCORE


@pytest.mark.slow
def test_broken_submission_nested_one_folder_deep_loses_the_points_of_its_bug(
    autograder: Path, tmp_path: Path
) -> None:
    broken = echo_to_sender(tmp_path / "broken")
    (tmp_path / "broken" / "README.md").write_text("мой чат\n", encoding="utf-8")
    results, _ = run_autograder(autograder, broken, nest="chat-lab-main")
    scores = scores_by_name(results)
    broadcast = next(e for e in RUBRIC if e.id == "server_broadcast")
    assert scores[broadcast.title] == 0
    assert results["score"] <= MAX_SCORE - broadcast.points
    assert results["score"] >= MAX_SCORE / 2, "a one-line bug should not sink everything"
    assert "chat-lab-main" in results["output"]
    failed = next(t for t in results["tests"] if t["name"] == broadcast.title)
    assert failed["status"] == "failed" and failed["output"]


@pytest.mark.slow
def test_submission_without_programs_scores_zero_and_says_what_was_uploaded(
    autograder: Path, tmp_path: Path
) -> None:
    upload = tmp_path / "upload"
    (upload / "notes").mkdir(parents=True)
    (upload / "notes" / "chat.txt").write_text("сервер будет позже\n", encoding="utf-8")
    results, _ = run_autograder(autograder, upload)
    assert results["score"] == 0
    assert "server.py" in results["output"] and "notes/chat.txt" in results["output"]
    assert sum(t["max_score"] for t in results["tests"]) == MAX_SCORE


@pytest.mark.slow
def test_a_client_alone_is_graded_and_the_server_scenarios_score_nothing(
    autograder: Path, tmp_path: Path
) -> None:
    client_only = tmp_path / "client-only"
    client_only.mkdir()
    shutil.copy(REFERENCE / "client.py", client_only)
    results, stdout = run_autograder(autograder, client_only)
    targets = {e.title: e.target for e in RUBRIC}
    for test in results["tests"]:
        if targets[test["name"]] == "client":
            assert test["score"] == test["max_score"], test["name"]
        else:
            assert test["score"] == 0, test["name"]
    assert "harness grade" in stdout
