"""`partnerflow up` as a newcomer runs it: real dev server, real database, real API."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import signal
import smtplib
import stat
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
from tests.helpers.stack import Stack, get_json
from workers.first_admin import read_first_admin

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


def _modes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): stat.S_IMODE(p.lstat().st_mode)
        for p in [folder, *folder.rglob("*")]
        if not p.is_symlink()
    }


def test_up_serves_authenticates_refuses_a_second_and_stops_cleanly(stack: Stack) -> None:
    # An older version's var/: readable by everyone. The stack makes it private on start.
    (stack.var_dir / "mail").mkdir(parents=True)
    (stack.var_dir / "mail" / "old.eml").write_text("Subject: a resident\n")
    os.chmod(stack.var_dir, 0o755)  # noqa: S103 - the modes an older version left
    os.chmod(stack.var_dir / "mail", 0o755)  # noqa: S103
    os.chmod(stack.var_dir / "mail" / "old.eml", 0o644)
    first = stack.start(umask=0o022)
    try:
        stack.wait_ready(first)
        stack.wait_printed("partnerflow is running")
        token = stack.admin_token()
        assert token, stack.out.read_text()
        output = stack.out.read_text()
        assert stack.printed_secrets() == []  # the output is a file: no secrets in it
        assert read_first_admin(stack.var_dir)["dashboard_password"] not in output
        assert f"in {(stack.var_dir / 'first-admin').resolve()}" in output
        assert "made data files private" in output
        assert "mail/old.eml" in output
        assert get_json(f"{stack.api}/api/me", token) == (
            200,
            {"subject": "admin", "role": "admin", "agency_id": None},
        )
        assert get_json(f"{stack.api}/api/me")[0] == 401
        # The request: an 8 KB query string, refused by the HTTP parser, as JSON.
        status, problem = get_json(f"{stack.api}/oruk/taxonomies?{'q' * 8200}")
        assert (status, problem["status"]) == (400, 400)
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
        send_a_referral_email(stack)
    finally:
        children = _stop(first)
    modes = _modes(stack.var_dir)
    for name in ("partnerflow.db", "temporal.db", "temporal.log", "encryption-keys", "mail"):
        assert name in modes, sorted(modes)
    assert any(name.endswith(".eml") and name != "mail/old.eml" for name in modes)
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (stack.var_dir / name).is_dir() else 0o600)
    }
    assert wrong == {}
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


def send_a_referral_email(stack: Stack) -> None:
    """Mail through the stack's own sink, as the notices go."""
    with smtplib.SMTP("127.0.0.1", int(stack.env["PARTNERFLOW_SMTP_PORT"]), timeout=10) as smtp:
        smtp.sendmail(
            "partnerflow@example.org",
            ["intake@cab.example"],
            b"X-Idempotency-Key: test-1\r\nSubject: referral\r\n\r\nEdna Pettigrew",
        )


def test_up_on_a_terminal_shows_the_secrets_once_and_writes_no_file(stack: Stack) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(SCRIPTS / "partnerflow"), "up"],
        env=stack.env,
        stdout=follower,
        stderr=subprocess.DEVNULL,
    )
    os.close(follower)
    shown = b""
    try:
        deadline = time.monotonic() + 90
        while b"Try: curl" not in shown and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                shown += os.read(leader, 65536)
        text = shown.decode(errors="replace")
        assert "Dashboard sign-in (shown once): user admin, password" in text, text
        token = re.search(r"pf_[A-Za-z0-9_-]{20,}", text)
        assert token is not None, text
        assert get_json(f"{stack.api}/api/me", token[0])[0] == 200
        assert not (stack.var_dir / "first-admin").exists()
    finally:
        _stop(process)
        os.close(leader)


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
