"""partnerflow's own processes started the way a deployment starts them, for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import aiohttp

from tests.conftest import SCRIPTS


class Process:
    """One `partnerflow <command>` process, in its own process group, logging to a file."""

    def __init__(self, command: str, env: dict[str, str], log: Path) -> None:
        self.command = command
        self.env = {**os.environ, **env}
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        """Start (or start again) the process."""
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [str(SCRIPTS / "partnerflow"), *self.command.split()],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL its process group, as a crash or the OOM killer would, and reap it."""
        if self.alive():
            assert self.popen is not None
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it; SIGKILL if it lingers."""
        if self.alive():
            assert self.popen is not None
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


async def wait_ready(url: str, process: Process, within: float = 90) -> None:
    """Until ``url``/readyz answers 200; fails with the process's log if it exits first."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        async with asyncio.timeout(within):
            while True:
                assert process.alive(), process.log.read_text()[-3000:]
                try:
                    async with http.get(f"{url}/readyz") as resp:
                        if resp.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.3)
