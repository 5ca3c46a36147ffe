"""Fixtures for the harness tests."""

from __future__ import annotations

import pytest
from harness_helpers import REFERENCE


@pytest.fixture
def reference_server() -> None:
    if not (REFERENCE / "server.py").is_file():
        pytest.skip("reference/server.py is not written yet")
