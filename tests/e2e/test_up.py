"""`partnerflow up` as a newcomer runs it: real dev server, real database, real API."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.conftest import SCRIPTS
from tests.stack import Stack, get_json

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    return Stack.on_free_ports(tmp_path / "var")


def _stop(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    children = psutil.Process(process.pid).children(recursive=True)
    assert children, "the dev server should run as a child process"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    return children


def test_up_stops_loudly_when_the_temporal_server_dies(stack: Stack) -> None:
    process = stack.start()
    try:
        stack.wait_ready(process)
        stack.wait_printed("partnerflow is running")
        [server] = [c for c in psutil.Process(process.pid).children() if "temporal" in c.name()]
        server.kill()
        assert process.wait(timeout=60) == 1, stack.out.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    assert "Temporal dev server stopped unexpectedly" in stack.out.read_text()


def test_up_serves_authenticates_refuses_a_second_and_stops_cleanly(stack: Stack) -> None:
    first = stack.start()
    try:
        stack.wait_ready(first)
        token = stack.printed_token()
        assert token, stack.out.read_text()
        assert get_json(f"{stack.api}/api/me", token) == (
            200,
            {"subject": "admin", "role": "admin", "agency_id": None},
        )
        assert get_json(f"{stack.api}/api/me")[0] == 401
        with urllib.request.urlopen(stack.ui, timeout=10) as ui:  # noqa: S310
            assert ui.status == 200

        second = subprocess.run(
            [str(SCRIPTS / "partnerflow"), "up"],
            env=stack.env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1
        assert b"already running" in second.stderr
    finally:
        children = _stop(first)
    time.sleep(0.5)
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []

    # Running it again keeps the data: the token issued on the first run still works.
    again = stack.start()
    try:
        stack.wait_ready(again)
        assert get_json(f"{stack.api}/api/me", token)[0] == 200
        assert "An admin token exists already" in stack.out.read_text()
    finally:
        _stop(again)


def test_busy_port_is_named_not_a_crash(stack: Stack) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(stack.env["PARTNERFLOW_API_PORT"])))
        squatter.listen()
        result = subprocess.run(
            [sys.executable, "-m", "workers.cli", "up"],
            env=stack.env,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert b"is in use by another program" in result.stderr
    assert b"Traceback" not in result.stderr


def _children_named(process: subprocess.Popen[bytes], role: str) -> list[psutil.Process]:
    """The supervised `partnerflow <role>` children of `up` (not the dev server)."""
    found = []
    for child in psutil.Process(process.pid).children():
        # A child killed but not yet reaped by `up` is a zombie: not running, so not counted.
        with contextlib.suppress(psutil.ZombieProcess, psutil.NoSuchProcess):
            if role in child.cmdline():
                found.append(child)
    return found


def _ready(stack: Stack) -> bool:
    try:
        return get_json(f"{stack.api}/readyz")[0] == 200
    except OSError:
        return False


def _wait_for(check: Callable[[], bool], timeout: float, what: str, out: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout}s:\n{out.read_text()}")
        time.sleep(0.2)


def test_up_restarts_a_killed_child_and_ctrl_c_stops_every_child(stack: Stack) -> None:
    stack.env["PARTNERFLOW_WORKER_PROCESSES"] = "2"
    process = stack.start()
    everyone: set[int] = set()
    try:
        stack.wait_ready(process)
        [api] = _children_named(process, "api")
        workers = _children_named(process, "worker")
        assert len(workers) == 2, [w.cmdline() for w in workers]
        everyone |= {c.pid for c in psutil.Process(process.pid).children(recursive=True)}

        api.kill()
        _wait_for(
            lambda: [c.pid for c in _children_named(process, "api")] not in ([], [api.pid]),
            60,
            "a new API process",
            stack.out,
        )
        _wait_for(lambda: _ready(stack), 90, "API ready", stack.out)
        workers[0].kill()
        _wait_for(
            lambda: (
                len({c.pid for c in _children_named(process, "worker")} - {workers[1].pid}) == 1
                and workers[0].pid not in {c.pid for c in _children_named(process, "worker")}
            ),
            60,
            "a new worker process",
            stack.out,
        )
        assert process.poll() is None
        everyone |= {c.pid for c in psutil.Process(process.pid).children(recursive=True)}
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)
    assert code == 0, stack.out.read_text()
    time.sleep(0.5)
    assert [pid for pid in everyone if _alive(pid)] == []
    logs = [json.loads(line) for line in stack.out.read_text().splitlines() if line[:1] == "{"]
    restarted = [e["process"] for e in logs if e["event"] == "process exited; restarting it"]
    assert sorted(restarted) == ["api", "worker-1"]
    # Stopped in order: the API first, so no request reaches a stack without workers.
    stopped = [e["process"] for e in logs if e["event"] == "process stopped"]
    assert stopped == ["api", "worker-2", "worker-1"]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
