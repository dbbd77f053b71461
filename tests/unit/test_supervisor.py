"""The supervisor behind `partnerflow up` and `partnerflow worker --processes N`, on real
processes: a child that dies is started again, and stopping stops every child."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import psutil
import pytest

from workers.cli import main
from workers.settings import Settings
from workers.supervisor import Child, Supervisor, worker_children

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


async def test_a_killed_child_is_restarted_and_stop_reaps_every_child() -> None:
    supervisor = Supervisor([Child("a", SLEEPER), Child("b", SLEEPER)], poll_seconds=0.05)
    supervisor.start()
    stop = asyncio.Event()
    watching = asyncio.create_task(supervisor.watch(stop))
    try:
        first = supervisor.children[0].pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        async with asyncio.timeout(10):
            while supervisor.children[0].pid == first:  # noqa: ASYNC110 - polled state
                await asyncio.sleep(0.05)
        assert supervisor.children[0].restarts == 1
        assert supervisor.children[1].restarts == 0
    finally:
        stop.set()
        await watching
        pids = [c.pid for c in supervisor.children]
        supervisor.stop()
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)


def test_worker_children_get_a_metrics_port_each() -> None:
    settings = Settings(worker_metrics_address="0.0.0.0:9464")
    children = worker_children(settings, 3)
    assert [c.name for c in children] == ["worker-1", "worker-2", "worker-3"]
    assert [c.env["PARTNERFLOW_WORKER_METRICS_ADDRESS"] for c in children] == [
        "0.0.0.0:9464",
        "0.0.0.0:9465",
        "0.0.0.0:9466",
    ]
    assert all(c.argv[-3:] == ["worker", "--processes", "1"] for c in children)


def test_up_runs_one_worker_process_per_core_unless_told() -> None:
    assert Settings().embedded_worker_processes == (os.cpu_count() or 1)
    assert Settings(worker_processes=3).embedded_worker_processes == 3


def test_zero_worker_processes_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["worker", "--processes", "0"])
    assert exit_.value.code == 2
    assert "--processes must be at least 1" in capsys.readouterr().err
