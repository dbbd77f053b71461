"""Run partnerflow's processes as children: restart one that dies, stop them all in order."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from workers.settings import Settings

log = structlog.get_logger(__name__)

# Linux's prctl option that signals a child when the process that started it dies, so a
# supervisor killed with SIGKILL leaves no orphans polling Temporal or holding the API port.
_PR_SET_PDEATHSIG = 1
# A child that keeps dying is restarted after a growing pause, up to this many seconds.
MAX_BACKOFF_SECONDS = 30.0
# A child that lived this long before dying is restarted at once (its pause starts over).
STEADY_SECONDS = 60.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def partnerflow_command(*args: str) -> list[str]:
    """The command line of a `partnerflow` subcommand run by this interpreter."""
    return [sys.executable, "-m", "workers.cli", *args]


@dataclass
class Child:
    """One supervised process: its name, command line and extra environment."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 1.0

    def start(self) -> None:
        """Start (or restart) the process in its own process group, sharing our output."""
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed argument list
            list(self.argv),
            env={**os.environ, **self.env},
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops us in order
            preexec_fn=_die_with_parent,  # prctl only: safe between fork and exec
        )
        self.started_at = time.monotonic()
        log.info("process started", process=self.name, pid=self.process.pid)

    @property
    def pid(self) -> int | None:
        """The running process's id, if it runs."""
        return self.process.pid if self.process is not None else None

    def exited(self) -> int | None:
        """The exit code once the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM its group, then SIGKILL if it lingers; always reaps it."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("process did not stop; killing it", process=self.name)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.info("process stopped", process=self.name, returncode=process.returncode)


def worker_children(settings: Settings, count: int) -> list[Child]:
    """``count`` single-process workers; with metrics on, each serves them on its own port."""
    children = []
    for index in range(count):
        env = {"PARTNERFLOW_WORKER_PROCESSES": "1"}
        if settings.worker_metrics_address:
            host, port = settings.worker_metrics_address.rsplit(":", 1)
            env["PARTNERFLOW_WORKER_METRICS_ADDRESS"] = f"{host}:{int(port) + index}"
        name = "worker" if count == 1 else f"worker-{index + 1}"
        children.append(Child(name, partnerflow_command("worker", "--processes", "1"), env))
    return children


def api_child() -> Child:
    """The API process."""
    return Child("api", partnerflow_command("api"))


class Supervisor:
    """Keeps each child running until told to stop; stops them in the reverse of their order."""

    def __init__(self, children: Sequence[Child], poll_seconds: float = 0.2) -> None:
        self.children = list(children)
        self._poll = poll_seconds

    def start(self) -> None:
        """Start every child in order."""
        for child in self.children:
            child.start()

    async def watch(self, stop: asyncio.Event) -> None:
        """Restart any child that exits, with a growing pause, until ``stop`` is set."""
        due: dict[str, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for child in self.children:
                code = child.exited()
                if code is None:
                    continue
                if child.name not in due:
                    lived = now - child.started_at
                    if lived >= STEADY_SECONDS:
                        child.backoff = 1.0
                    due[child.name] = now + child.backoff
                    log.error(
                        "process exited; restarting it",
                        process=child.name,
                        returncode=code,
                        restart_in_seconds=child.backoff,
                    )
                    child.backoff = min(child.backoff * 2, MAX_BACKOFF_SECONDS)
                elif now >= due[child.name]:
                    del due[child.name]
                    child.restarts += 1
                    child.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll)

    def stop(self) -> None:
        """Stop every child, last started first (the API before the workers)."""
        for child in reversed(self.children):
            child.stop()
