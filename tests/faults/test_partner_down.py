"""A partner's webhook receiver fails: 500s, then timeouts, then it recovers, or it never does.

Meanwhile the failure is in the overview (so in ``partnerflow status`` and on the dashboard)
with its last error; the notice is retried with backoff and delivered once when the partner is
back; a partner that stays down is escalated to the co-ordinator and the need moves on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
import pytest_asyncio
from rich.console import Console
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.referral import LegState, ReferralPolicy
from store.db import Sessions
from store.overview import FailingNotification, read_overview
from tests.helpers.referral_parts import load_directory, referral_activities
from tests.helpers.referral_world import COORDINATOR, World, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workers.status import render
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def world(
    dev_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> AsyncIterator[World]:
    await load_directory(sessions, webhook_sink.url)
    queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        dev_env.client,
        task_queue=queue,
        workflows=[ReferralWorkflow, ReferralLegWorkflow],
        # A partner that does not answer within a second has timed out.
        activities=referral_activities(sessions, smtp_sink.port, webhook_timeout_seconds=1.0),
    ):
        yield World(dev_env.client, sessions, smtp_sink, webhook_sink, queue)


async def failing_until(
    sessions: Sessions, check: Callable[[FailingNotification], bool], within: float = 30
) -> FailingNotification:
    """Read the overview until a failing notification passes ``check``."""
    async with asyncio.timeout(within):
        while True:
            for failing in (await read_overview(sessions)).failing_notifications:
                if check(failing):
                    return failing
            await asyncio.sleep(0.2)


async def test_partner_down_then_back_gets_the_referral_once(
    world: World, sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    webhook_sink.fail_next = 3
    webhook_sink.hang_next, webhook_sink.hang_seconds = 2, 2.5
    handle = await world.submit(
        submission(), ReferralPolicy(agency_notice_max_backoff=timedelta(seconds=2))
    )

    failing = await failing_until(sessions, lambda f: "HTTP 500" in f.last_error)
    assert (failing.channel, failing.recipient, failing.gave_up) == (
        "webhook",
        webhook_sink.url,
        False,
    )
    assert failing.workflow_id == f"{handle.id}-L1"
    console = Console(record=True, width=250)
    render(await read_overview(sessions), console)
    assert "HTTP 500 partner system down" in console.export_text()

    timed_out = await failing_until(sessions, lambda f: "Timeout" in f.last_error)
    assert timed_out.attempts >= 4

    view = await world.until(handle, lambda v: len(v.legs) == 1, within=60)
    assert view.legs[0].state is LegState.SENT
    assert [e["event"] for e in webhook_sink.events] == ["referral.leg_sent"]
    assert len(smtp_sink.to("intake@cab.example")) == 1
    assert (await read_overview(sessions)).failing_notifications == []
    # Six attempts, each waiting longer than the first (1 s, doubling, at most 2 s).
    gaps = [b - a for a, b in zip(webhook_sink.attempts, webhook_sink.attempts[1:], strict=False)]
    assert len(webhook_sink.attempts) == 6
    assert gaps[0] >= 0.8
    assert all(gap >= 1.6 for gap in gaps[1:])
    await handle.terminate("test over")


async def test_partner_never_back_is_escalated_and_the_need_moves_on(
    world: World, sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    webhook_sink.fail_next = 10**6
    handle = await world.submit(
        submission(),
        ReferralPolicy(agency_notice_attempts=3, agency_notice_max_backoff=timedelta(seconds=1)),
    )
    view = await world.until(handle, lambda v: len(v.legs) == 2, within=60)
    first, second = view.legs
    assert (first.service_id, first.state, first.reroute) == ("cab-debt", LegState.EXPIRED, True)
    assert (second.service_id, second.state) == ("charity-debt", LegState.SENT)
    assert len(webhook_sink.attempts) == 3
    escalations = [m for m in smtp_sink.to(COORDINATOR) if "cannot be reached" in str(m["Subject"])]
    assert len(escalations) == 1
    body = escalations[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "HTTP 500 partner system down" in body
    gave_up = await failing_until(sessions, lambda f: f.gave_up)
    assert (gave_up.recipient, gave_up.attempts) == (webhook_sink.url, 3)
    assert len(smtp_sink.to("help@charity.example")) == 1
    await handle.terminate("test over")
