"""The Temporal server crashes mid-load and comes back on the same SQLite file: nothing is lost,
timers still fire, every notification goes out exactly once."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from activities.notify import Notifier, NotifierConfig
from domain.notification import Delivery, EmailMessage
from store.db import Sessions
from tests.conftest import free_port
from tests.helpers.sinks import SmtpSink
from workers.embedded import start_temporal, stop_process, wait_for_temporal
from workers.settings import Settings
from workers.temporal import payload_codec

pytestmark = pytest.mark.e2e


@workflow.defn(sandboxed=False)
class RemindLater:
    """Wait on a durable timer, then notify: the shape of every reminder in partnerflow."""

    @workflow.run
    async def run(self, message: EmailMessage) -> Delivery:
        await workflow.sleep(timedelta(seconds=4))
        return await workflow.execute_activity(
            "send_email",
            message,
            result_type=Delivery,
            start_to_close_timeout=timedelta(seconds=20),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=1)),
        )


async def test_server_crash_and_restart_loses_nothing(
    tmp_path: Path, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=free_port(),
        smtp_port=smtp_sink.port,
    )
    codec = payload_codec(settings)
    server = start_temporal(settings)
    try:
        client = await wait_for_temporal(settings, server, codec)
        notifier = Notifier(NotifierConfig(smtp_port=smtp_sink.port), sessions)
        queue = f"tq-{uuid.uuid4()}"
        messages = [
            EmailMessage(idempotency_key=f"remind-{i}", to=["c@x.example"], subject="s", text="t")
            for i in range(60)
        ]
        async with Worker(
            client,
            task_queue=queue,
            workflows=[RemindLater],
            activities=[notifier.send_email],
        ):
            handles = [
                await client.start_workflow(
                    RemindLater.run, m, id=f"remind-{i}-{uuid.uuid4()}", task_queue=queue
                )
                for i, m in enumerate(messages)
            ]
            # Crash while every timer is pending: no graceful shutdown, no flush.
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
            await asyncio.sleep(1)
            server = start_temporal(settings)
            await wait_for_temporal(settings, server, codec)

            results = await asyncio.wait_for(
                asyncio.gather(*(h.result() for h in handles)), timeout=120
            )
        assert all(r.sent for r in results)
        assert sorted(smtp_sink.keys()) == sorted(m.idempotency_key for m in messages)
    finally:
        stop_process(server)
