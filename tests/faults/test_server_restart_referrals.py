"""The Temporal server is killed while referrals are being routed and reminders wait on timers,
and restarted on the same SQLite file: every referral goes on to close, every timer fires, and
every email and webhook reaches its sink once."""

from __future__ import annotations

import asyncio
import collections
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.notify import Notifier, NotifierConfig
from domain.notification import EmailMessage
from domain.referral import (
    LegState,
    ReferralPolicy,
    ReferralStatus,
    ReferralView,
)
from store.db import Sessions
from tests.conftest import free_port
from tests.faults.test_server_restart import RemindLater
from tests.helpers.referral_parts import load_directory, referral_activities
from tests.helpers.referral_world import World, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workers.embedded import start_temporal, stop_process, wait_for_temporal
from workers.settings import Settings
from workers.temporal import payload_codec
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

pytestmark = pytest.mark.e2e

REFERRALS = 30
REMINDERS = 20


async def settled(world: World, handle: WorkflowHandle[Any, ReferralView]) -> ReferralView:
    """Query until the referral's leg waits on its agency; the server may still be coming up."""
    while True:
        try:
            view = await world.state(handle)
            if view.legs and view.legs[0].state is LegState.SENT:
                return view
        except RPCError:
            pass
        await asyncio.sleep(0.5)


async def close_loop(world: World, handle: WorkflowHandle[Any, ReferralView]) -> ReferralView:
    """The agency accepts and records an outcome; the referrer records the follow-up."""
    view = await settled(world, handle)
    return await world.close_loop(handle, view.legs[0].leg_id, within=60)


async def test_server_killed_mid_load_loses_no_referral_and_no_timer(
    tmp_path: Path, sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    settings = Settings(
        var_dir=tmp_path / "var",
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=free_port(),
    )
    codec = payload_codec(settings)
    server = start_temporal(settings)
    try:
        client = await wait_for_temporal(settings, server, codec)
        await load_directory(sessions, webhook_sink.url)
        notifier = Notifier(NotifierConfig(smtp_port=smtp_sink.port), sessions)
        queue = f"tq-{uuid.uuid4()}"
        world = World(client, sessions, smtp_sink, webhook_sink, queue)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[ReferralWorkflow, ReferralLegWorkflow, RemindLater],
            activities=[*referral_activities(sessions, smtp_sink.port), notifier.send_email],
        ):
            policy = ReferralPolicy(follow_up_after_days=1, follow_up_wait_days=1)
            referrals = [await world.submit(submission(), policy) for _ in range(REFERRALS)]
            reminders = [
                await client.start_workflow(
                    RemindLater.run,
                    EmailMessage(
                        idempotency_key=f"remind-{i}-{uuid.uuid4()}",
                        to=["c@x.example"],
                        subject="s",
                        text="t",
                    ),
                    id=f"remind-{i}-{uuid.uuid4()}",
                    task_queue=queue,
                )
                for i in range(REMINDERS)
            ]
            # Crash while referrals are being routed and every reminder timer is pending.
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
            await asyncio.sleep(1)
            server = start_temporal(settings)
            await wait_for_temporal(settings, server, codec)

            async with asyncio.timeout(150):
                finals = await asyncio.gather(*(close_loop(world, h) for h in referrals))
                sent = await asyncio.gather(*(h.result() for h in reminders))
    finally:
        stop_process(server)

    assert [f.status for f in finals] == [ReferralStatus.CLOSED] * REFERRALS
    assert all(f.legs[0].state is LegState.CLOSED for f in finals)
    assert all(s.sent for s in sent)
    keys = collections.Counter(smtp_sink.keys())
    assert [k for k, n in keys.items() if n > 1] == []
    assert len(smtp_sink.to("intake@cab.example")) == REFERRALS
    assert len(smtp_sink.to("c@x.example")) == REMINDERS
    hooks = collections.Counter(webhook_sink.keys())
    assert len(hooks) == REFERRALS
    assert [k for k, n in hooks.items() if n > 1] == []
