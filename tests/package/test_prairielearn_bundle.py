"""The PrairieLearn bundle: results.json, the course piece, and real runs of its entrypoint.

The runs copy the built ``serverFilesCourse/`` into a temporary folder standing in for the
grading container's ``/grade`` (with ``student/`` and ``data/``), run ``run.sh`` as root
as PrairieLearn does, and read ``results/results.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from offline_helpers import (
    EXERCISES,
    INJECTIONS,
    SMALL_RUBRIC,
    build,
    hostile_copy,
    open_folder,
    scratch,
    wheels_of,
)
from package_helpers import KIT, REFERENCE, python

from harness.prairielearn import results as pl
from harness.verdict import FAILED, PASSED, GradeReport, ScenarioResult

# PrairieLearn's external grading results, as its docs describe them.
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["gradable", "score", "message", "output", "tests"],
    "properties": {
        "gradable": {"type": "boolean"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "message": {"type": "string"},
        "output": {"type": "string"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "points", "max_points", "message", "output"],
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "points": {"type": "number", "minimum": 0},
                    "max_points": {"type": "number", "minimum": 0},
                    "message": {"type": "string"},
                    "output": {"type": "string"},
                },
            },
        },
    },
}


def result(i: int, status: str, text: str = "", hidden: bool = False) -> ScenarioResult:
    return ScenarioResult(
        id=f"s{i}",
        title=f"Сценарий {i}",
        description="что проверяется",
        points=3.0 if status == PASSED else 0.0,
        max_points=3.0,
        part=1,
        target="server",
        hidden=hidden,
        status=status,
        step="шаг",
        expected="ожидалось",
        got=text,
        hint="подсказка",
    )


# -- results.json ----------------------------------------------------------------------------
def test_results_follow_prairielearns_format_with_the_harness_score() -> None:
    report = GradeReport(
        "s", [result(0, PASSED), result(1, FAILED, "\n".join(INJECTIONS)), result(2, FAILED)], 1, ""
    )
    data = pl.to_results(report)
    jsonschema.validate(data, RESULTS_SCHEMA)
    assert data["score"] == pytest.approx(1 / 3)
    assert data["gradable"] is True
    failed = data["tests"][1]
    assert (failed["points"], failed["max_points"], failed["message"]) == (0, 3, "не пройден")
    for label in ("Шаг:", "Ожидалось:", "Получено:", "Подсказка:"):
        assert label in failed["output"]
    assert "\x1b" not in json.dumps(data, ensure_ascii=False)
    assert "␛" in failed["output"]


def test_hidden_scenarios_count_without_their_names() -> None:
    report = GradeReport("s", [result(0, PASSED), result(1, FAILED, hidden=True)], 1, "")
    data = pl.to_results(report)
    assert [t["name"] for t in data["tests"]] == ["Сценарий 0", "Скрытый сценарий 1"]
    assert data["tests"][1]["output"] == "" and "Сценарий 1" not in json.dumps(data)


def test_huge_outputs_keep_results_under_one_megabyte() -> None:
    text = "\n".join(["x" * 230] * 25)
    report = GradeReport("s", [result(i, FAILED, text) for i in range(400)], 1, "")
    data = pl.to_results(report)
    assert len(json.dumps(data, ensure_ascii=False).encode()) <= pl.MAX_BYTES
    jsonschema.validate(data, RESULTS_SCHEMA)


# -- the course piece ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    with scratch("chatlab-pl-") as folder:
        yield open_folder(folder)


@pytest.fixture
def tmp(workspace: Path, request: pytest.FixtureRequest) -> Path:
    """A folder of this test in the module's private workspace."""
    folder = workspace / request.node.name.replace("/", "_")
    folder.mkdir()
    return open_folder(folder)


@pytest.fixture(scope="module")
def course(workspace: Path) -> Path:
    out = workspace / "course"
    build("prairielearn", out, "--allow-uncontained")
    return out


@pytest.fixture(scope="module")
def small_courses(course: Path, workspace: Path) -> dict[str, Path]:
    wheelhouse = wheels_of(course, workspace / "wheelhouse")
    rubric = workspace / "small.toml"
    rubric.write_text(SMALL_RUBRIC, encoding="utf-8")
    out = {}
    for name, extra in (("allowed", ["--allow-uncontained"]), ("strict", [])):
        folder = workspace / f"small-{name}"
        build(
            "prairielearn", folder, "--rubric", str(rubric), "--wheelhouse", str(wheelhouse), *extra
        )
        out[name] = folder
    return out


@pytest.fixture
def grade_root(tmp: Path) -> Path:
    """A stand-in for the container's /grade that scenario uids can traverse."""
    return open_folder(tmp / "grade")


def run_entrypoint(
    course: Path, root: Path, submission: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """What PrairieLearn does with the question: /grade laid out, run.sh as root."""
    shutil.copytree(course / "serverFilesCourse", root / "serverFilesCourse")
    shutil.copytree(submission, root / "student")
    (root / "data").mkdir()
    (root / "data" / "data.json").write_text(json.dumps({"submitted_answers": {}}))
    info = json.loads(next((course / "questions").glob("*/info.json")).read_text())
    entrypoint = Path(info["externalGradingOptions"]["entrypoint"].replace("/grade", str(root)))
    done = subprocess.run(
        ["bash", str(entrypoint)],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=info["externalGradingOptions"]["timeout"],
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data: dict[str, Any] = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, RESULTS_SCHEMA)
    return data


@pytest.mark.slow
def test_course_piece_has_the_question_and_the_offline_grader(course: Path) -> None:
    info = json.loads((course / "questions" / "chatlab" / "info.json").read_text())
    options = info["externalGradingOptions"]
    assert info["gradingMethod"] == "External" and info["type"] == "v3"
    assert options == {
        "enabled": True,
        "image": "prairielearn/grader-python",
        "serverFilesCourse": ["chatlab/"],
        "entrypoint": "/grade/serverFilesCourse/chatlab/run.sh",
        "timeout": 300,
        "enableNetworking": False,
    }
    bundle = course / "serverFilesCourse" / "chatlab"
    assert (bundle / "run.sh").stat().st_mode & stat.S_IXUSR
    assert (bundle / "lab" / "rubric.toml").read_bytes() == (
        KIT / "lab" / "rubric.toml"
    ).read_bytes()
    assert not (bundle / "reference").exists()
    assert not list(bundle.rglob("__pycache__"))
    html = (course / "questions" / "chatlab" / "question.html").read_text()
    assert '<pl-file-upload file-names="server.py, client.py">' in html
    assert "<pl-external-grader-results>" in html


@pytest.mark.slow
def test_reference_scores_one_through_the_entrypoint(course: Path, grade_root: Path) -> None:
    data = run_entrypoint(course, grade_root, REFERENCE)
    assert data["score"] == 1.0 and data["gradable"] is True, data["message"]
    assert all(t["points"] == t["max_points"] for t in data["tests"])
    assert len(data["tests"]) == 27
    assert "Как проверялось" in data["output"]
    mode = (grade_root / "serverFilesCourse").stat().st_mode & 0o777
    assert mode == 0o700, "the bundle was not closed to the scenarios' uids"


@pytest.mark.slow
def test_skeleton_scores_low_with_step_expected_got_hint(course: Path, grade_root: Path) -> None:
    data = run_entrypoint(course, grade_root, EXERCISES)
    assert data["score"] <= 0.1
    failed = [t for t in data["tests"] if t["message"] == "не пройден"]
    assert failed
    for label in ("Шаг:", "Ожидалось:", "Получено:", "Подсказка:"):
        assert label in failed[0]["output"]


@pytest.mark.slow
def test_printed_grades_earn_nothing_and_stay_text(
    small_courses: dict[str, Path], tmp: Path
) -> None:
    scores = {}
    outputs = {}
    for name, hostile in (("hostile", True), ("twin", False)):
        root = open_folder(tmp / name)
        data = run_entrypoint(
            small_courses["allowed"],
            root,
            hostile_copy(tmp / f"{name}-src", hostile),
            env={"CHATGRADE_SANDBOX": "off"},
        )
        scores[name] = data["score"]
        outputs[name] = json.dumps(data, ensure_ascii=False)
    assert scores["twin"] > 0
    assert scores["hostile"] <= scores["twin"]
    assert "Grade :=>> 100" in outputs["hostile"] and "\\u001b" not in outputs["hostile"]
    assert "без изоляции" in outputs["hostile"]


@pytest.mark.slow
def test_without_allow_uncontained_nothing_is_graded_and_no_attempt_counts(
    small_courses: dict[str, Path], grade_root: Path
) -> None:
    data = run_entrypoint(
        small_courses["strict"], grade_root, REFERENCE, env={"CHATGRADE_SANDBOX": "off"}
    )
    assert data["gradable"] is False and data["score"] == 0
    assert "--allow-uncontained" in data["message"]


@pytest.mark.slow
def test_the_payload_boots_on_other_pythons(course: Path, tmp: Path) -> None:
    """pip's per-version choice of wheels, unpacked by boot.py, imports the whole grader."""
    versions = ["3.9", "3.10", "3.12", "3.13"]
    interpreters = {v: python(v) for v in versions}
    if not any(interpreters.values()):
        pytest.skip(f"none of python{', '.join(versions)} here")
    wheelhouse = wheels_of(course, tmp / "wheels")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "harness", "package", "prairielearn"),
            *("--out", str(tmp / "out")),
            *(arg for v in versions for arg in ("--python-version", v)),
        ],
        cwd=KIT,
        env={**os.environ, "PIP_FIND_LINKS": str(wheelhouse)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    bundle = tmp / "out" / "serverFilesCourse" / "chatlab"
    check = (
        "import sys; sys.path.insert(0, '.'); "
        "import boot; boot.activate(); import harness.runner, harness.prairielearn.runtime; "
        "print(sys.version_info[:2])"
    )
    for version, interpreter in interpreters.items():
        if interpreter is None:
            continue
        done = subprocess.run(
            [interpreter, "-I", "-S", "-c", check], cwd=bundle, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{version}: {done.stderr}"
        assert done.stdout.strip() == str(tuple(map(int, version.split("."))))
