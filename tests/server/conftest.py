"""Fixtures for the reference server tests: real server processes on port 0."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from server_wire import ServerProcess


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Start reference/server.py with extra options; every server is stopped afterwards."""
    started: list[ServerProcess] = []

    def start(*options: str, **kwargs: object) -> ServerProcess:
        server = ServerProcess(*options, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A server with the default options."""
    return start_server()
