"""The production shape for benchmarks: a dev server, PostgreSQL, and partnerflow's own
`worker` and `api` processes started as a deployment starts them (PostgreSQL from Debian's
packages, as the tests use it)."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from sqlalchemy import func, select
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench.common import SCRIPTS, compile_workflow_modules, dev_server, free_port
from store.db import Sessions, create_engine, sessionmaker
from store.demo import load_demo_directory
from store.schema import NotificationRecord, ReferralLegRow
from tests.helpers.postgres import PostgresServer
from tests.helpers.processes import Process, wait_ready
from workers import deployment_secrets
from workers.mail import start_mail_sink
from workers.settings import LogFormat, Settings
from workers.temporal import connect


@dataclass
class Shape:
    """What a benchmark drives: the processes' settings, a client and the store."""

    tmp: Path
    env: dict[str, str]
    settings: Settings
    client: Client
    sessions: Sessions
    server: psutil.Process
    processes: list[Process] = field(default_factory=list)

    def start(self, command: str, **env: str) -> Process:
        """Start `partnerflow <command>` with the shape's settings (and ``env`` on top)."""
        name = command.split()[0]
        log = self.tmp / f"{name}-{len(self.processes)}.log"
        process = Process(command, {**self.env, **env}, log).start()
        self.processes.append(process)
        return process

    async def start_api(self) -> tuple[str, Process]:
        """An API process on a free port, once it answers; its URL."""
        port = free_port()
        process = self.start("api", PARTNERFLOW_API_PORT=str(port))
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url, process)
        return url, process

    async def start_workers(self, processes: int) -> Process:
        """`partnerflow worker --processes N`, once all N poll the task queue."""
        worker = self.start(f"worker --processes {processes}")
        assert worker.popen is not None
        async with asyncio.timeout(120):
            while True:
                assert worker.alive(), worker.log.read_text()[-3000:]
                parent = psutil.Process(worker.popen.pid)
                pids = {str(c.pid) for c in parent.children()} if processes > 1 else set()
                pids = pids or {str(parent.pid)}
                if len(pids) == processes and pids <= await self.pollers():
                    return worker
                await asyncio.sleep(0.3)

    async def pollers(self) -> set[str]:
        """Process ids of the workers that have polled the task queue (identity pid@host)."""
        reply = await self.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.client.namespace,
                task_queue=TaskQueue(name=self.settings.temporal_task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return {p.identity.split("@")[0] for p in reply.pollers}

    async def count(self, what: type[NotificationRecord] | type[ReferralLegRow]) -> int:
        """Rows of a table: legs recorded (routed needs) or notices sent."""
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(what)) or 0)

    def stop_all(self) -> None:
        """Stop every process this shape started, last first."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


def _server_process(env: WorkflowEnvironment) -> psutil.Process:
    port = env.client.service_client.config.target_host.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        if child.name().startswith("temporal") and f"--port={port}" in " ".join(child.cmdline()):
            return child
    for child in psutil.Process().children(recursive=True):
        if child.name().startswith("temporal"):
            return child
    raise RuntimeError("the dev server process was not found")


@asynccontextmanager
async def production_shape() -> AsyncIterator[Shape]:
    """Dev server, a fresh PostgreSQL database with the demo directory, a mail sink; no
    partnerflow processes yet (the benchmark starts the ones it measures)."""
    compile_workflow_modules()
    postgres = PostgresServer()
    base = postgres.start()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            url = f"{base}/bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(f"{base}/postgres")
            async with admin.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
            await admin.dispose()
            smtp_port = free_port()
            mail = await start_mail_sink("127.0.0.1", smtp_port, tmp / "mail")
            async with dev_server() as env:
                key = base64.b64encode(secrets.token_bytes(32)).decode()
                settings = Settings(
                    var_dir=tmp / "var",
                    database_url=url,
                    temporal_address=env.client.service_client.config.target_host,
                    temporal_task_queue=f"bench-{uuid.uuid4()}",
                    encryption_keys=f"k1={key}",
                    smtp_port=smtp_port,
                    embedded_mail=False,
                    log_format=LogFormat.JSON,
                    log_level="WARNING",
                )
                environ = {
                    "PARTNERFLOW_VAR_DIR": str(settings.var_dir),
                    "PARTNERFLOW_DATABASE_URL": url,
                    "PARTNERFLOW_TEMPORAL_ADDRESS": settings.temporal_address,
                    "PARTNERFLOW_TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
                    "PARTNERFLOW_ENCRYPTION_KEYS": f"k1={key}",
                    "PARTNERFLOW_SMTP_PORT": str(smtp_port),
                    "PARTNERFLOW_LOG_FORMAT": "json",
                    "PARTNERFLOW_LOG_LEVEL": "WARNING",
                }
                # The signing secrets every process shares, made as `up` makes them.
                made = deployment_secrets.embedded(settings)
                settings = deployment_secrets.with_secrets(settings, made)
                environ.update(made)
                migrate = await asyncio.to_thread(
                    subprocess.run,
                    [str(SCRIPTS / "partnerflow"), "migrate"],
                    env={**os.environ, **environ},
                    capture_output=True,
                    check=False,
                )
                assert migrate.returncode == 0, migrate.stderr.decode()
                engine = create_engine(url)
                sessions = sessionmaker(engine)
                await load_demo_directory(sessions)
                shape = Shape(
                    tmp, environ, settings, await connect(settings), sessions, _server_process(env)
                )
                try:
                    yield shape
                finally:
                    shape.stop_all()
                    await engine.dispose()
            mail.close()
    finally:
        postgres.stop()
