"""The app database goes away for a while: readiness says why, activities retry, nothing is lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notify import Notifier, NotifierConfig
from api.app import create_app
from domain.notification import EmailMessage
from store.db import create_engine, sessionmaker
from store.migrate import upgrade
from tests.conftest import StaticTemporal
from tests.helpers.email_workflow import SendEmail, SendOneEmail
from tests.helpers.postgres import PostgresServer
from tests.helpers.sinks import SmtpSink

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def database() -> AsyncIterator[PostgresServer]:
    # Its own server: this test stops it, which must not disturb any other test.
    server = PostgresServer()
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


async def test_outage_is_reported_and_survived(
    database: PostgresServer, dev_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{database.port}/postgres")
    await upgrade(engine)
    sessions = sessionmaker(engine)
    app = create_app(sessions=sessions, temporal=StaticTemporal(dev_env.client), task_queue="q")
    notifier = Notifier(NotifierConfig(smtp_port=smtp_sink.port), sessions)
    queue = f"tq-{uuid.uuid4()}"
    async with (
        TestClient(TestServer(app)) as api,
        Worker(
            dev_env.client,
            task_queue=queue,
            workflows=[SendOneEmail],
            activities=[notifier.send_email],
        ),
    ):
        assert (await api.get("/readyz")).status == 200

        await asyncio.to_thread(database.pause)
        down = await api.get("/readyz")
        assert down.status == 503
        checks = (await down.json())["checks"]
        assert checks["temporal"] == "ok"
        assert checks["database"].startswith("unreachable")

        # Work started during the outage waits, retrying, instead of failing or sending blind.
        message = EmailMessage(
            idempotency_key=uuid.uuid4().hex, to=["intake@cab.example"], subject="s", text="t"
        )
        handle = await dev_env.client.start_workflow(
            SendOneEmail.run,
            SendEmail(
                message=message,
                attempt=timedelta(seconds=20),
                first_retry=timedelta(milliseconds=300),
                longest_retry=timedelta(seconds=1),
            ),
            id=f"outage-{uuid.uuid4()}",
            task_queue=queue,
        )
        await asyncio.sleep(2)
        assert smtp_sink.keys() == []
        described = await handle.describe()
        assert described.raw_description.pending_activities[0].attempt > 1

        await asyncio.to_thread(database.resume)
        delivery = await asyncio.wait_for(handle.result(), timeout=60)
        assert delivery.sent
        assert smtp_sink.keys() == [message.idempotency_key]
        assert (await api.get("/readyz")).status == 200
    await engine.dispose()
