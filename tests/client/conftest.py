"""Fixtures for the reference client's tests: a scripted server and the client in a pty."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Callable

import pytest
from client_fakes import ME, FakeServer, Peer, Screen


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


@pytest.fixture
def spawn(server: FakeServer) -> Iterator[Callable[..., tuple[Screen, Peer]]]:
    """spawn(**Screen options) -> (screen, peer): the client started and connected."""
    screens: list[Screen] = []

    def start(**options: object) -> tuple[Screen, Peer]:
        screen = Screen(server.port, **options)  # type: ignore[arg-type]
        screens.append(screen)
        return screen, server.accept()

    yield start
    for screen in screens:
        screen.close()


@pytest.fixture
def chat(spawn: Callable[..., tuple[Screen, Peer]]) -> tuple[Screen, Peer]:
    """The client registered as ME, showing the general prompt."""
    screen, peer = spawn()
    screen.wait_prompt("Введите имя: ")
    screen.line(ME)
    peer.welcome(ME)
    screen.wait_prompt("[общий]> ")
    return screen, peer
