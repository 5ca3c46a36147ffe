"""The reference server gets full marks on every server scenario."""

from __future__ import annotations

import pytest
from harness_helpers import HERE, REFERENCE, grade_dir

pytestmark = pytest.mark.slow


def test_reference_server_passes_every_server_scenario(reference_server: None) -> None:
    report = grade_dir(REFERENCE)
    failed = {
        r.id: (r.status, r.step, r.expected, r.got) for r in report.results if r.status != "passed"
    }
    assert failed == {}
    assert report.score == report.max_score


def test_a_differently_built_correct_server_gets_full_marks_too() -> None:
    """Fidelity: the scenarios check the protocol, not the reference's design."""
    report = grade_dir(HERE / "alt_server")
    failed = {r.id: (r.status, r.step, r.got) for r in report.results if r.status != "passed"}
    assert failed == {}
