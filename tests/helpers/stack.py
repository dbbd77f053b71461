"""A real `partnerflow up` in a subprocess, on free ports, for end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DEPLOYMENT_SECRETS, SCRIPTS, free_port
from workers.first_admin import read_first_admin


def get_json(url: str, token: str | None = None) -> tuple[int, dict[str, object]]:
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

    @classmethod
    def on_free_ports(cls, var_dir: Path) -> Stack:
        """A stack whose every port is free now."""
        return cls(var_dir, {name: free_port() for name in ("api", "temporal", "ui", "smtp")})

    def __init__(self, var_dir: Path, ports: dict[str, int]) -> None:
        self.env = {
            # `up` makes its own secrets into var/, as on a newcomer's machine.
            **{k: v for k, v in os.environ.items() if k not in DEPLOYMENT_SECRETS},
            "PARTNERFLOW_VAR_DIR": str(var_dir),
            "PARTNERFLOW_API_PORT": str(ports["api"]),
            "PARTNERFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
            "PARTNERFLOW_TEMPORAL_UI_PORT": str(ports["ui"]),
            "PARTNERFLOW_SMTP_PORT": str(ports["smtp"]),
            "PARTNERFLOW_LOG_FORMAT": "json",
        }
        self.var_dir = var_dir
        self.api = f"http://127.0.0.1:{ports['api']}"
        self.ui = f"http://127.0.0.1:{ports['ui']}"
        self.out = var_dir.parent / f"up-{time.monotonic_ns()}.out"

    def start(self, *, umask: int | None = None) -> subprocess.Popen[bytes]:
        """Run `partnerflow up`, its output to a file (``umask``: the one it starts with)."""
        return subprocess.Popen(
            [str(SCRIPTS / "partnerflow"), "up"],
            env=self.env,
            stdout=self.out.open("wb"),
            stderr=subprocess.STDOUT,
            umask=-1 if umask is None else umask,
        )

    def wait_ready(self, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, self.out.read_text()
            try:
                status, _ = get_json(f"{self.api}/readyz")
                # The API is its own process: ready before `up` has printed its banner.
                if status == 200 and "partnerflow is running" in self.out.read_text():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"not ready in {timeout}s:\n{self.out.read_text()}")

    def wait_printed(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.out.read_text():
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not printed in {timeout}s:\n{self.out.read_text()}")
            time.sleep(0.2)

    def admin_token(self) -> str | None:
        """The first admin's token: not printed (the output is a file, not a terminal) but
        written to var/first-admin."""
        return read_first_admin(self.var_dir).get("api_token")

    def printed_secrets(self) -> list[str]:
        """Tokens the output shows (there should be none when it is not a terminal)."""
        return re.findall(r"pf_[A-Za-z0-9_-]{20,}", self.out.read_text())
