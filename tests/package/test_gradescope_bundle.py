"""The Gradescope autograder zip: layout, offline setup, and the same verdicts as ``grade``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
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
    empty_submission,
    grade,
    hostile_submission,
    junk_submission,
    not_passed,
    package,
    python,
    run_autograder,
    third_party_submission,
    unpack,
    without_bwrap,
)

from harness.gradescope import available_cpus, find_submission, hidden_names, run
from harness.package import GRADESCOPE_PYTHONS, reference_lines
from harness.rubric import load_rubric

RUBRIC = load_rubric()
MAX_SCORE = sum(e.points for e in RUBRIC)
HIDDEN = [e for e in RUBRIC if e.hidden]
NEUTRAL = hidden_names(RUBRIC)


def scores_by_name(results: dict[str, Any]) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"]}


def by_id(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """results.json's tests by rubric id (tests are numbered in rubric order)."""
    tests = {int(t["number"]): t for t in results["tests"]}
    assert sorted(tests) == list(range(1, len(RUBRIC) + 1))
    return {e.id: tests[n] for n, e in enumerate(RUBRIC, start=1)}


def verdicts(results: dict[str, Any]) -> dict[str, tuple[float, str]]:
    return {sid: (t["score"], t["status"]) for sid, t in by_id(results).items()}


def report_verdicts(report: dict[str, Any]) -> dict[str, tuple[float, str]]:
    return {
        r["id"]: (r["points"], "passed" if r["status"] == "passed" else "failed")
        for r in report["results"]
    }


def assert_nothing_secret(results: dict[str, Any]) -> None:
    """No hidden scenario's title or id and no line of the model answer in results.json."""
    text = json.dumps(results, ensure_ascii=False)
    for entry in HIDDEN:
        assert entry.title not in text and entry.id not in text, entry.id
    for line in reference_lines():
        assert json.dumps(line, ensure_ascii=False)[1:-1] not in text, line
    for sid, test in by_id(results).items():
        if sid in NEUTRAL:
            assert test["name"] == NEUTRAL[sid] and test["visibility"] == "after_published"
        else:
            assert test["visibility"] == "visible"


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
    for needed in ("kit/harness/cli.py", "kit/harness/peer.py", "kit/lab/protocol.json"):
        assert needed in infos
    assert not [n for n in infos if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in infos if "reference" in n or n.startswith(("kit/tests", "kit/bench"))]
    assert manifest["allow_uncontained"] is False
    assert rubric == (KIT / "lab" / "rubric.toml").read_bytes()
    wheels = [n for n in infos if n.startswith("wheels/")]
    for name in ("pexpect", "ptyprocess", "pyte", "jsonschema", "rich", "tomli"):
        assert any(w.startswith(f"wheels/{name}-") for w in wheels), f"no {name} wheel"
    assert not [w for w in wheels if "copydetect" in w or "numpy" in w], "instructor-only wheels"
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
    assert reference_report["score"] == MAX_SCORE, not_passed(reference_report)
    assert verdicts(results) == report_verdicts(reference_report), stdout[-3000:]
    assert results["score"] == MAX_SCORE
    assert sum(t["max_score"] for t in results["tests"]) == MAX_SCORE
    assert_nothing_secret(results)
    # The instructor (stdout, never shown to students) learns which hidden test is which.
    for entry in HIDDEN:
        assert f"{NEUTRAL[entry.id]} = {entry.id}" in stdout
    assert "Python" in results["output"] and "только стандартная библиотека" in results["output"]
    # The kit is the harness's alone: closed to every other user.
    assert (autograder / "source").stat().st_mode & 0o077 == 0


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
    assert_nothing_secret(results)


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
    for entry in RUBRIC:
        test = by_id(results)[entry.id]
        if entry.target == "client":
            assert test["score"] == test["max_score"], entry.id
        else:
            assert test["score"] == 0, entry.id
    assert "harness grade" in stdout


# -- one interpreter policy, and submissions that want the grade without the work ----------
@pytest.mark.slow
def test_a_server_importing_a_third_party_package_gets_the_verdict_of_grade(
    autograder: Path, tmp_path: Path
) -> None:
    submission = third_party_submission(tmp_path / "uses-rich")
    results, stdout = run_autograder(autograder, submission)
    local = grade(submission, tmp_path / "local.json")
    assert verdicts(results) == report_verdicts(local), stdout[-3000:]
    starts = by_id(results)["server_starts"]
    assert starts["score"] == 0 and "rich" in starts["output"]
    assert results["score"] == local["score"] < MAX_SCORE / 2


@pytest.fixture(scope="module")
def empty_results(autograder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a submission that does nothing gets through the bundle."""
    results, _ = run_autograder(autograder, empty_submission(tmp_path_factory.mktemp("e") / "e"))
    return results


@pytest.mark.slow
def test_a_submission_searching_the_machine_for_the_kit_finds_nothing(
    autograder: Path, tmp_path: Path, empty_results: dict[str, Any]
) -> None:
    # It walks the whole file system it can see, follows every command line, and looks in
    # the places Gradescope documents (/autograder) and where this bundle really is.
    roots = ["/", "/autograder", str(autograder)]
    results_dirs = ["/autograder/results", str(autograder / "results")]
    submission = hostile_submission(tmp_path / "seeker", roots, "", results_dirs)
    results, stdout = run_autograder(autograder, submission)
    assert "chatlab-hostile: readable=[] wrote=[]" in json.dumps(results, ensure_ascii=False)
    assert verdicts(results) == verdicts(empty_results), stdout[-3000:]
    assert results["score"] == 0
    assert_nothing_secret(results)


@pytest.mark.slow
def test_grade_like_junk_on_the_output_does_not_change_the_grade(
    autograder: Path, tmp_path: Path
) -> None:
    plain, _ = run_autograder(autograder, echo_to_sender(tmp_path / "echo"))
    junk, stdout = run_autograder(autograder, junk_submission(tmp_path / "junk"))
    assert verdicts(junk) == verdicts(plain), stdout[-3000:]
    assert junk["score"] == plain["score"] < MAX_SCORE
    assert "Итого: 100 из 100" in json.dumps(junk, ensure_ascii=False)  # it was printed...
    assert_nothing_secret(junk)  # ...and is only ever feedback text


@pytest.mark.slow
def test_results_json_is_never_written_through_a_planted_symlink(
    autograder: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n", encoding="utf-8")
    results_dir = autograder / "results"
    shutil.rmtree(results_dir, ignore_errors=True)
    results_dir.mkdir()
    (results_dir / "results.json").symlink_to(victim)
    shutil.rmtree(autograder / "submission", ignore_errors=True)
    shutil.copytree(empty_submission(tmp_path / "empty"), autograder / "submission")
    done = subprocess.run(
        [str(autograder / "source" / "run_autograder")],
        env={**os.environ, "AUTOGRADER_ROOT": str(autograder)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert victim.read_text(encoding="utf-8") == "untouched\n"
    assert not (results_dir / "results.json").is_symlink()
    jsonschema.validate(json.loads((results_dir / "results.json").read_text()), SCHEMA)


# -- where bubblewrap cannot run -----------------------------------------------------------
@pytest.mark.slow
def test_official_grading_refuses_to_run_uncontained_and_says_so(
    autograder: Path, tmp_path: Path
) -> None:
    env = without_bwrap(tmp_path / "bin")
    results, stdout = run_autograder(autograder, REFERENCE, env=env, returncode=1)
    assert results["score"] == 0
    assert "преподавателю" in results["output"]
    assert "--allow-uncontained" in stdout and "bwrap" in stdout
    assert sum(t["max_score"] for t in results["tests"]) == MAX_SCORE
    assert_nothing_secret(results)


@pytest.fixture(scope="module")
def uncontained_autograder(
    wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A bundle built with ``--allow-uncontained``, set up like :func:`autograder`."""
    out = tmp_path_factory.mktemp("uncontained") / "autograder.zip"
    done = package(
        "gradescope", "--out", str(out), "--wheelhouse", str(wheelhouse), "--allow-uncontained"
    )
    assert done.returncode == 0, done.stderr
    root = Path(tempfile.mkdtemp(prefix="autograder-"))
    root.chmod(0o755)
    try:
        unpack(out, root / "source")
        setup = subprocess.run(
            ["bash", str(root / "source" / "setup_python.sh")],
            env=OFFLINE_PIP,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert setup.returncode == 0, setup.stdout + setup.stderr
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_without_bubblewrap_the_kit_stays_closed_to_the_student_uid(
    uncontained_autograder: Path, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("a uid per scenario needs root (as on Gradescope)")
    root = uncontained_autograder
    env = without_bwrap(tmp_path / "bin")
    empty, _ = run_autograder(root, empty_submission(tmp_path / "empty"), env=env)
    # Without a pid namespace it sees the harness's command line, which names the bundle.
    seeker = hostile_submission(tmp_path / "seeker", ["/autograder"], str(root), [])
    results, stdout = run_autograder(root, seeker, env=env)
    assert "chatlab-hostile: readable=[] wrote=[]" in json.dumps(results, ensure_ascii=False)
    assert str(root / "source") in stdout  # it did follow the harness's command line
    assert verdicts(results) == verdicts(empty)
    assert "bubblewrap" in results["output"]  # the student is told what was missing
    assert results["extra_data"]["environment"]["files"].startswith("НЕ изолированы")
    assert_nothing_secret(results)
