"""Concurrency: many clients joining and leaving at random while others broadcast."""

from __future__ import annotations

import random
import sys
import threading
import time

import pytest
from server_wire import WAIT, ChatClient, ServerProcess, wait_until

CHURN_CLIENTS = 200
CHURN_WORKERS = 20
BROADCASTERS = 4
OVERALL = 180.0  # seconds; the whole churn normally takes a few


def churn(server: ServerProcess, names: list[str], seed: int, errors: list[str]) -> None:
    """Each name: connect, maybe register, maybe talk, then leave in a random way."""
    rng = random.Random(seed)
    for name in names:
        client = ChatClient(server.port)
        try:
            if rng.random() < 0.1:  # some never register at all
                client.send_raw(b"garbage\n" if rng.random() < 0.5 else b"")
            else:
                client.send({"username": name})
                client.expect("system", event="welcome", username=name)
                if rng.random() < 0.5:
                    client.send({"type": "message", "message": f"hello from {name}"})
                if rng.random() < 0.3:
                    client.send({"type": "private", "target_username": "Observer", "message": "hi"})
        except (AssertionError, OSError) as exc:
            errors.append(f"{name}: {exc}")
        finally:
            if rng.random() < 0.3:
                client.reset()  # abortive close: leave reason "disconnect"
            else:
                client.close()


def broadcast(client: ChatClient, stop: threading.Event, errors: list[str]) -> None:
    """Broadcast until stopped, reading in between so as never to be the slow reader."""
    number = 0
    try:
        while not stop.is_set():
            client.send({"type": "message", "message": f"{client.name} {number}"})
            number += 1
            while client.poll_message(0.002) is not None:
                pass
    except (AssertionError, OSError) as exc:
        errors.append(f"{client.name}: {exc}")


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")
def test_random_joins_and_leaves_keep_users_and_counts_consistent_and_leak_nothing(
    server: ServerProcess,
) -> None:
    members = ["Observer"] + [f"Sender{index}" for index in range(BROADCASTERS)]
    observer, *senders = server.users(*members)
    threads_before, fds_before = server.thread_count(), server.fd_count()

    stop = threading.Event()
    errors: list[str] = []
    senders_threads = [
        threading.Thread(target=broadcast, args=(sender, stop, errors)) for sender in senders
    ]
    names = [f"churn{number}" for number in range(CHURN_CLIENTS)]
    churn_threads = [
        threading.Thread(target=churn, args=(server, names[k::CHURN_WORKERS], k, errors))
        for k in range(CHURN_WORKERS)
    ]
    for thread in senders_threads + churn_threads:
        thread.start()

    # The observer applies every join and leave to its own list of who is online, in
    # join order. Each event's online_users must equal the length of that list at that
    # point: events reach every user in the order the registry changed.
    online = list(members)
    joins = leaves = 0
    deadline = time.monotonic() + OVERALL
    while any(thread.is_alive() for thread in churn_threads) or online != members:
        assert time.monotonic() < deadline, f"churn did not settle; online: {online}"
        message = observer.poll_message(WAIT)
        if message is None or message["type"] != "system":
            continue
        if message["event"] == "join":
            online.append(message["username"])
            joins += 1
        elif message["event"] == "leave":
            online.remove(message["username"])
            leaves += 1
        assert message["online_users"] == len(online), (message, online)

    stop.set()
    for thread in senders_threads + churn_threads:
        thread.join(WAIT)
    assert not errors, errors
    assert joins == leaves > CHURN_CLIENTS // 2, (joins, leaves)
    observer.send({"type": "users"})
    users_list, _broadcasts = observer.wait_for("users_list")
    assert users_list["users"] == members
    wait_until(lambda: server.thread_count() == threads_before, "threads back as before")
    wait_until(lambda: server.fd_count() == fds_before, "descriptors back as before")
