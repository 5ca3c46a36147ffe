"""Report formats: Gradescope results.json, JUnit XML, one-file HTML, JSON, scorecard."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from harness_helpers import KIT
from rich.console import Console

from harness import report
from harness.verdict import (
    ERROR,
    FAILED,
    FLAKY,
    PASSED,
    SKIPPED,
    TIMED_OUT,
    GradeReport,
    ScenarioResult,
)


def result(sid: str, status: str, hidden: bool = False) -> ScenarioResult:
    return ScenarioResult(
        id=sid,
        title=f"Сценарий {sid}",
        description=f"Описание <{sid}> & проверка",
        points=3 if status == PASSED else 0,
        max_points=3,
        part=2,
        target="server",
        hidden=hidden,
        status=status,
        duration=0.25,
        reason="Traceback (most recent call last):\nRuntimeError: x" if status == ERROR else "",
        step="шаг" if status == FAILED else "",
        expected="ожидалось <b>" if status == FAILED else "",
        got="получено" if status == FAILED else "",
        hint="подсказка" if status == FAILED else "",
        transcripts={"сервер": "[+  0.001s] stdout| Сервер запущен на 127.0.0.1:5000"},
    )


@pytest.fixture
def sample() -> GradeReport:
    results = [
        result("a", PASSED),
        result("b", FAILED),
        result("c", SKIPPED),
        result("d", TIMED_OUT),
        result("e", ERROR),
        result("f", FLAKY),
        result("g", PASSED, hidden=True),
    ]
    return GradeReport(
        submission="/tmp/s", results=results, duration=1.5, started_at="2026-01-01T00:00:00",
        environment={"network": "сеть изолирована"},
    )  # fmt: skip


def test_gradescope_results_follow_the_documented_shape(sample: GradeReport) -> None:
    data = json.loads(json.dumps(report.to_gradescope(sample)))
    assert data["score"] == 6
    assert isinstance(data["execution_time"], (int, float))
    assert len(data["tests"]) == 7
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert data["tests"][-1]["visibility"] == "after_published"
    assert data["tests"][1]["status"] == "failed" and "подсказка" in data["tests"][1]["output"]
    assert sum(t["score"] for t in data["tests"]) == data["score"]


def test_gradescope_results_match_the_kit_schema_of_the_specification(sample: GradeReport) -> None:
    schema_file = KIT / "harness" / "gradescope" / "results.schema.json"
    if not schema_file.is_file():
        pytest.skip("no results.schema.json in harness/gradescope")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    jsonschema.validate(report.to_gradescope(sample), schema)


def test_junit_is_well_formed_and_counts_each_status(sample: GradeReport) -> None:
    root = ET.fromstring(report.to_junit(sample).encode("utf-8"))
    assert root.tag == "testsuite"
    assert root.get("tests") == "7"
    assert root.get("failures") == "3"  # failed, timed out, flaky
    assert root.get("errors") == "1"
    assert root.get("skipped") == "1"
    assert len(root.findall("testcase")) == 7


def test_html_is_one_self_contained_file_with_transcripts(sample: GradeReport) -> None:
    page = report.to_html(sample)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(link|script|img|iframe)\b", page)
    assert "http://" not in page and "https://" not in page
    assert "Сервер запущен на 127.0.0.1:5000" in page
    assert "&lt;b&gt;" in page and "<b>" not in page  # student text is escaped


def test_json_round_trips(sample: GradeReport) -> None:
    data = json.loads(report.to_json(sample))
    assert data["score"] == 6 and data["max_score"] == 21
    assert data["results"][0]["duration"] == 0.25
    again = GradeReport.from_dict(data)
    assert [r.status for r in again.results] == [r.status for r in sample.results]


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_scorecard_names_every_status(sample: GradeReport, lang: str) -> None:
    out = io.StringIO()
    report.print_scorecard(sample, lang=lang, console=Console(file=out, width=160))
    text = out.getvalue()
    for status in (PASSED, FAILED, SKIPPED, TIMED_OUT, ERROR, FLAKY):
        assert report.STATUS_TEXT[lang][status] in text
    assert "6/21" in text
