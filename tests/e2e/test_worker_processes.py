"""`partnerflow worker --processes N`: N worker processes, each its own poller, stopped together."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from pathlib import Path

import psutil
import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import SCRIPTS

pytestmark = pytest.mark.e2e


async def _pollers(env: WorkflowEnvironment, queue: str) -> set[str]:
    reply = await env.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=env.client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return {poller.identity for poller in reply.pollers}


async def test_worker_processes_each_poll_and_stop_with_their_parent(
    tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    queue = f"tq-{uuid.uuid4()}"
    log = tmp_path / "worker.log"
    parent = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
        [str(SCRIPTS / "partnerflow"), "worker", "--processes", "2"],
        env={
            **os.environ,
            "PARTNERFLOW_VAR_DIR": str(tmp_path / "var"),
            "PARTNERFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "PARTNERFLOW_TEMPORAL_TASK_QUEUE": queue,
            "PARTNERFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
            "PARTNERFLOW_LOG_FORMAT": "json",
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(90):
            while len(children := psutil.Process(parent.pid).children()) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            # Each process polls with its own identity (pid@host): two pollers, not one.
            pids = {str(c.pid) for c in children}
            while {i.split("@")[0] for i in await _pollers(dev_env, queue)} != pids:
                assert parent.poll() is None, log.read_text()
                await asyncio.sleep(0.5)
    finally:
        parent.send_signal(signal.SIGTERM)
        code = parent.wait(timeout=60)
    assert code == 0, log.read_text()
    await asyncio.sleep(0.3)
    assert [c.pid for c in children if c.is_running() and c.status() != "zombie"] == []
