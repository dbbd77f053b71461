"""A worker serves the Temporal SDK's metrics and its own notification counters to Prometheus."""

import asyncio
import urllib.request
import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.notification import EmailMessage
from store.db import Sessions
from tests.conftest import free_port
from tests.helpers.sinks import SmtpSink
from workers.settings import Settings
from workers.temporal import connect
from workers.worker import activities

pytestmark = pytest.mark.e2e


@workflow.defn(sandboxed=False)
class SendOneEmail:
    @workflow.run
    async def run(self, message: EmailMessage) -> None:
        await workflow.execute_activity(
            "send_email", message, start_to_close_timeout=timedelta(seconds=30)
        )


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as resp:
        return resp.read().decode()


async def test_worker_metrics_are_served(
    dev_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    address = f"127.0.0.1:{free_port()}"
    settings = Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        worker_metrics_address=address,
        smtp_port=smtp_sink.port,
    )
    client = await connect(settings, worker=True)
    queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[SendOneEmail],
        activities=activities(settings, sessions),
    ):
        await client.execute_workflow(
            SendOneEmail.run,
            EmailMessage(
                idempotency_key=uuid.uuid4().hex, to=["a@b.example"], subject="s", text="t"
            ),
            id=f"metrics-{uuid.uuid4()}",
            task_queue=queue,
        )
        text = await asyncio.to_thread(scrape, address)
    assert "temporal_workflow_completed" in text
    assert "partnerflow_notifications_sent{" in text
    assert 'channel="email"' in text
    assert len(smtp_sink.messages) == 1
