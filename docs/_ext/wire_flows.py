"""Sequence diagrams of the protocol flows, recorded from the reference server (placeholder)."""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    return {"version": "0", "parallel_read_safe": True, "parallel_write_safe": True}
