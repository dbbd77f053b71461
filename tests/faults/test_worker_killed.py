"""The worker process is killed (SIGKILL) with 200 referrals in flight and a new one started:
every referral reaches its agency, and every email and webhook reaches its sink once, except
a notice the killed worker had handed over but not yet written to its ledger: no sender can
know whether that one arrived, so it is sent again with the same idempotency key, for the
receiver to drop (at least once, never lost)."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.referral import (
    REFERRAL_WORKFLOW,
    STATE_QUERY,
    LegState,
    NeedState,
    ReferralView,
    referral_input,
)
from store.db import Sessions
from store.referrals import next_referral_number, save_referral
from store.schema import NotificationRecord
from tests.conftest import SCRIPTS
from tests.helpers.referral_parts import load_directory
from tests.helpers.referral_world import COORDINATOR, submission
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink, WebhookSink
from workers.settings import Settings
from workers.temporal import connect

pytestmark = pytest.mark.e2e

REFERRALS = 200


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`partnerflow worker` as its own process, as it runs in production."""
    return subprocess.Popen(
        [str(SCRIPTS / "partnerflow"), "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def submit(client: Client, sessions: Sessions, queue: str, prefix: str) -> str:
    """Save one referral and start its workflow, as the API does."""
    sub = submission()
    number = await next_referral_number(sessions, prefix, 2026)
    now = datetime.now(UTC)
    await save_referral(sessions, number, sub, submitted_by="reach-out-1", at=now)
    await client.start_workflow(
        REFERRAL_WORKFLOW,
        referral_input(number, sub, submitted_by="reach-out-1", today=now.date()),
        id=number,
        task_queue=queue,
    )
    return number


async def settle(count: Callable[[], int], quiet: float = 1.0) -> None:
    """Wait until ``count`` has not changed for ``quiet`` seconds."""
    seen = count()
    while True:
        await asyncio.sleep(quiet)
        if count() == seen:
            return
        seen = count()


async def test_worker_killed_mid_flight_loses_and_repeats_nothing(
    tmp_path: Path,
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    await load_directory(sessions, webhook_sink.url)
    queue = f"tq-{uuid.uuid4()}"
    settings = Settings(
        var_dir=tmp_path / "var",
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_task_queue=queue,
    )
    # The worker's own client, with the payload encryption every partnerflow process uses.
    client = await connect(settings)
    env = {
        **os.environ,
        "PARTNERFLOW_VAR_DIR": str(settings.var_dir),
        "PARTNERFLOW_TEMPORAL_ADDRESS": settings.temporal_address,
        "PARTNERFLOW_TEMPORAL_TASK_QUEUE": queue,
        "PARTNERFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        "PARTNERFLOW_SMTP_PORT": str(smtp_sink.port),
        "PARTNERFLOW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PARTNERFLOW_COORDINATOR_EMAIL": COORDINATOR,
        "PARTNERFLOW_LOG_FORMAT": "json",
        "PARTNERFLOW_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    replacement: subprocess.Popen[bytes] | None = None
    try:
        prefix = "KILL"
        numbers = [await submit(client, sessions, queue, prefix) for _ in range(REFERRALS)]

        # Kill it while notices are going out: some delivered, most not yet.
        async with asyncio.timeout(60):
            while len(smtp_sink.messages) + len(webhook_sink.events) < REFERRALS // 2:
                assert worker.poll() is None, log.read_text()
                await asyncio.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        # The dead worker may have written a message to a sink's socket that the sink, in this
        # process's event loop, has not read yet: let it land before taking stock, or it would
        # count as never arrived and its resending as a repeat.
        await settle(lambda: len(smtp_sink.messages) + len(webhook_sink.events))
        delivered_before = len(smtp_sink.messages) + len(webhook_sink.events)
        assert delivered_before < 2 * REFERRALS
        # Arrived but not in the ledger: the only notices the next worker may send again.
        arrived = {m["X-Idempotency-Key"] for m in smtp_sink.messages} | set(webhook_sink.keys())
        async with sessions() as session:
            recorded = set(await session.scalars(select(NotificationRecord.idempotency_key)))
        unrecorded = arrived - recorded

        replacement = start_worker(env, log)
        handles = [client.get_workflow_handle(n) for n in numbers]

        asking = asyncio.Semaphore(20)

        async def settled(handle_id: str) -> ReferralView:
            handle = client.get_workflow_handle(handle_id)
            while True:
                try:
                    async with asking:
                        view = await handle.query(STATE_QUERY, result_type=ReferralView)
                except RPCError:
                    # A query to a workflow the killed worker held waits for the new worker.
                    view = None
                if view is not None and view.legs and view.legs[0].state is LegState.SENT:
                    return view
                await asyncio.sleep(1)

        async with asyncio.timeout(150):
            views = await asyncio.gather(*(settled(h.id) for h in handles))
    finally:
        for process in (worker, replacement):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    for view in views:
        assert [need.state for need in view.needs] == [NeedState.REFERRED]
        assert [(leg.service_id, leg.state) for leg in view.legs] == [("cab-debt", LegState.SENT)]
    email_keys = collections.Counter(
        m["X-Idempotency-Key"] for m in smtp_sink.to("intake@cab.example")
    )
    webhook_keys = collections.Counter(webhook_sink.keys())
    assert len(email_keys) == REFERRALS
    assert len(webhook_keys) == REFERRALS
    repeated = [k for k, n in (email_keys + webhook_keys).items() if n > 1]
    assert set(repeated) <= unrecorded, "a notice the ledger knew as sent went out again"
    assert max([*email_keys.values(), *webhook_keys.values()]) <= 2
    assert len(smtp_sink.messages) == REFERRALS + sum(n - 1 for n in email_keys.values())
    for handle in handles:
        await handle.terminate("test over")
