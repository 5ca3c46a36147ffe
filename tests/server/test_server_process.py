"""PROTOCOL.md §8 and §6: the server as a process (ready line, signals, port in use, 3.6)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
from server_wire import READY_RE, SERVER, WAIT, ServerProcess, open_session

from harness.pythons import find_python

SHUTDOWN_BOUND = 2.0  # PROTOCOL.md §8: exit within 2 seconds of the signal


def test_ready_line_names_the_real_port_for_port_zero(server: ServerProcess) -> None:
    assert server.ready_line.startswith("Сервер запущен на ")
    assert READY_RE.search(server.ready_line)
    assert server.host == "127.0.0.1" and server.port > 0
    assert server.client("Alice").sync() == ["Alice"]


def test_all_options_of_protocol_json_are_accepted(start_server) -> None:
    server = start_server(
        "--host", "127.0.0.1", "--register-timeout", "2.5", "--ping-interval", "20",
        "--ping-timeout", "0.5", "--sendq-bytes", "100000", "--max-clients", "0",
        "--max-line-bytes", "4096",
    )  # fmt: skip
    assert server.client("Alice").sync() == ["Alice"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_sends_shutdown_to_everyone_and_exits_0_within_2_seconds(
    server: ServerProcess, signum: int
) -> None:
    alice, bob, carol = server.users("Alice", "Bob", "Carol")
    open_session(alice, bob)
    unregistered = server.client()
    started = time.monotonic()
    server.signal(signum)
    for user in (alice, bob, carol):
        notice, skipped = user.wait_for("system", event="shutdown")
        assert notice["message"].strip() and notice["online_users"] == 3
        assert all(m["type"] == "session_ended" and m["reason"] == "shutdown" for m in skipped)
        user.expect_closed()
    unregistered.expect_closed()
    assert server.wait_exit() == 0
    elapsed = time.monotonic() - started
    assert elapsed < SHUTDOWN_BOUND, f"exit took {elapsed:.2f} s"
    assert not any("Traceback" in line for line in server.stderr), server.stderr


def test_shutdown_is_not_held_up_by_a_client_that_never_reads(start_server) -> None:
    server = start_server("--sendq-bytes", str(64 * 1024 * 1024))
    sender, reader = server.users("Sender", "Reader")
    server.client("Stuck", rcvbuf=4096)
    for early in (sender, reader):
        early.expect("system", event="join", username="Stuck")
    for number in range(300):  # megabytes queued for Stuck
        sender.send({"type": "message", "message": f"{number} " + "ы" * 4000})
        reader.expect("message", from_username="Sender")
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    reader.wait_for("system", event="shutdown")
    assert server.wait_exit() == 0
    elapsed = time.monotonic() - started
    assert elapsed < SHUTDOWN_BOUND, f"exit took {elapsed:.2f} s"


def test_port_in_use_is_one_line_error_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(SERVER), "--port", str(port)],
            capture_output=True,
            timeout=WAIT,
            check=False,
        )
    stderr = result.stderr.decode("utf-8")
    assert result.returncode == 1
    assert result.stdout == b""
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr and str(port) in stderr


def test_server_runs_on_python_3_6(start_server) -> None:
    python36 = find_python("3.6")
    if python36 is None:
        pytest.skip("python3.6 is not installed")
    server = start_server(python=python36)
    alice, bob = server.users("Алиса", "Bob")
    alice.send({"type": "message", "message": "Привет из 3.6"})
    bob.expect("message", from_username="Алиса", message="Привет из 3.6")
    open_session(bob, alice)
    server.signal(signal.SIGTERM)
    alice.wait_for("system", event="shutdown")
    assert server.wait_exit() == 0


def test_server_works_with_select_where_poll_is_missing(start_server, tmp_path) -> None:
    """Windows has no select.poll(): the same server must work on select() alone."""
    wrapper = tmp_path / "server_without_poll.py"
    wrapper.write_text(
        "import runpy, select, sys\n"
        "del select.poll\n"
        f"runpy.run_path({str(SERVER)!r}, run_name='__main__')\n",
        encoding="utf-8",
    )
    server = start_server("--sendq-bytes", "65536", "--register-timeout", "0.5", script=wrapper)
    alice, bob = server.users("Alice", "Bob")
    alice.send({"type": "message", "message": "через select"})
    bob.expect("message", from_username="Alice", message="через select")
    server.client().expect_error("registration_timeout", fatal=True)
    server.client("Slow", rcvbuf=4096)
    for early in (alice, bob):
        early.expect("system", event="join", username="Slow")
    for number in range(5000):
        alice.send({"type": "message", "message": f"{number} " + "ю" * 4000})
        message = bob.next_message()
        if message["type"] == "system":
            assert message["reason"] == "overflow", message
            break
    else:
        raise AssertionError("the slow reader was never dropped")
    server.signal(signal.SIGTERM)
    alice.wait_for("system", event="shutdown")
    assert server.wait_exit() == 0
