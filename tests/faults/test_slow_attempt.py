"""A notification attempt held up past its start-to-close timeout (the worker's one SQLite
connection busy, a starved CPU) while Temporal starts its retry: the late attempt sends
nothing and the retry sends once, so the two never both find the ledger empty and send."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notify import Notifier, NotifierConfig
from domain.notification import EmailMessage
from store.db import Sessions
from tests.helpers.email_workflow import SendEmail, SendOneEmail
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink
from workers.worker import INTERCEPTORS

pytestmark = pytest.mark.e2e

# Short enough to outlast in a test; the ledger reserve is then a quarter of it, 1 s.
ATTEMPT = timedelta(seconds=4)


async def test_an_attempt_held_past_its_time_leaves_the_send_to_its_retry(
    dev_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    notifier = Notifier(
        NotifierConfig(smtp_port=smtp_sink.port, webhook_secrets=(WEBHOOK_SECRET,)), sessions
    )
    message = EmailMessage(
        idempotency_key=uuid.uuid4().hex,
        to=["intake@cab.example"],
        subject="New referral",
        text="plain",
    )
    # The mail server is slow, so a second sender would find the ledger still empty.
    smtp_sink.accept_seconds = 1.0
    queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        dev_env.client,
        task_queue=queue,
        workflows=[SendOneEmail],
        activities=[notifier.send_email],
        interceptors=INTERCEPTORS,
    ):
        # Hold the process's one database connection: the first attempt waits for it.
        async with sessions() as busy:
            await busy.execute(text("SELECT 1"))
            handle = await dev_env.client.start_workflow(
                SendOneEmail.run,
                SendEmail(
                    message=message, attempt=ATTEMPT, first_retry=timedelta(seconds=1), attempts=4
                ),
                id=f"slow-{uuid.uuid4()}",
                task_queue=queue,
            )
            # Temporal gives up on the first attempt and starts the second while it waits.
            async with asyncio.timeout(30):
                while True:
                    pending = (await handle.describe()).raw_description.pending_activities
                    if pending and pending[0].attempt >= 2:
                        break
                    await asyncio.sleep(0.1)
        delivery = await handle.result()

    assert smtp_sink.keys() == [message.idempotency_key]
    assert delivery.sent, "the retry should have sent it, not the attempt Temporal gave up on"
