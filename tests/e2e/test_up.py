"""`partnerflow up` as a newcomer runs it: real dev server, real database, real API."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import SCRIPTS, free_port

pytestmark = pytest.mark.e2e


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url)  # noqa: S310
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class Stack:
    """One `partnerflow up` process and what it printed."""

    def __init__(self, var_dir: Path, ports: dict[str, int]) -> None:
        self.env = {
            **os.environ,
            "PARTNERFLOW_VAR_DIR": str(var_dir),
            "PARTNERFLOW_API_PORT": str(ports["api"]),
            "PARTNERFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
            "PARTNERFLOW_TEMPORAL_UI_PORT": str(ports["ui"]),
            "PARTNERFLOW_SMTP_PORT": str(ports["smtp"]),
            "PARTNERFLOW_LOG_FORMAT": "json",
        }
        self.api = f"http://127.0.0.1:{ports['api']}"
        self.ui = f"http://127.0.0.1:{ports['ui']}"
        self.out = var_dir.parent / f"up-{time.monotonic_ns()}.out"

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(SCRIPTS / "partnerflow"), "up"],
            env=self.env,
            stdout=self.out.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, self.out.read_text()
            try:
                status, _ = _get(f"{self.api}/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"not ready in {timeout}s:\n{self.out.read_text()}")

    def printed_token(self) -> str | None:
        found = re.search(r"pf_[A-Za-z0-9_-]{20,}", self.out.read_text())
        return found.group(0) if found else None


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    ports = {name: free_port() for name in ("api", "temporal", "ui", "smtp")}
    return Stack(tmp_path / "var", ports)


def _stop(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    children = psutil.Process(process.pid).children(recursive=True)
    assert children, "the dev server should run as a child process"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    return children


def test_up_serves_authenticates_refuses_a_second_and_stops_cleanly(stack: Stack) -> None:
    first = stack.start()
    try:
        stack.wait_ready(first)
        token = stack.printed_token()
        assert token, stack.out.read_text()
        assert _get(f"{stack.api}/api/me", token) == (
            200,
            {"subject": "admin", "role": "admin", "agency_id": None},
        )
        assert _get(f"{stack.api}/api/me")[0] == 401
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
        assert _get(f"{stack.api}/api/me", token)[0] == 200
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
