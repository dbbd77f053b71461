"""Agency notices that give up (the ``agency-notice-gives-up`` patch) leave legs started before
the change alone: their histories replay, and a leg in flight across the upgrade finishes on
the new code with its notice retried as before."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from domain.notification import idempotency_key
from domain.referral import (
    LEG_WORKFLOW,
    LegInput,
    LegState,
    LegView,
    ReferralPolicy,
    ReferralStatus,
    leg_id,
)
from domain.referral_records import NOTIFY_REFERRAL, NoticeResult, NoticeStep, ReferralNotice
from store.db import Sessions
from tests.helpers.history_events import patch_ids
from tests.helpers.referral_parts import load_directory, referral_activities
from tests.helpers.referral_world import World, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ACTIVITY_TIMEOUT, AGENCY_NOTICE_GIVES_UP, ReferralLegWorkflow

HISTORY = Path(__file__).with_name("histories") / "leg_notice_retried_before_give_up.json"


@workflow.defn(name=LEG_WORKFLOW, sandboxed=False)
class LegBeforeGivingUp(ReferralLegWorkflow):
    """The leg as it was before the patch: every agency notice retried without end."""

    @workflow.run
    async def run(self, leg: LegInput) -> LegView:
        return await super().run(leg)

    async def _notify(
        self, step: NoticeStep, reason: str = "", *, consent_withdrawn: bool = False
    ) -> None:
        await workflow.execute_activity(
            NOTIFY_REFERRAL,
            ReferralNotice(
                key=idempotency_key(workflow.info().workflow_id, self._view.leg_id, step.value),
                step=step,
                number=self._view.number,
                leg_id=self._view.leg_id,
                need_id=self._view.need_id,
                service_id=self._view.service_id,
                reason=reason,
                deadline=self._view.deadline,
                consent_withdrawn=consent_withdrawn,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            result_type=NoticeResult,
        )


def replayer() -> Replayer:
    return Replayer(
        workflows=[ReferralWorkflow, ReferralLegWorkflow], data_converter=pydantic_data_converter
    )


async def test_leg_recorded_before_the_patch_replays() -> None:
    history = WorkflowHistory.from_json(HISTORY.stem, HISTORY.read_text())
    kinds = [e.event_type for e in history.events]
    # Recorded with the webhook failing twice, and no patch marker: the old code path.
    assert EventType.EVENT_TYPE_MARKER_RECORDED not in kinds
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED in kinds
    await replayer().replay_workflow(history)


async def test_leg_in_flight_across_the_upgrade_finishes_on_the_new_code(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    client = time_skipping_env.client
    await load_directory(sessions, webhook_sink.url)
    activities = referral_activities(sessions, smtp_sink.port)
    queue = f"tq-{uuid.uuid4()}"
    world = World(client, sessions, smtp_sink, webhook_sink, queue)
    webhook_sink.fail_next = 10**6  # the agency's system is down

    async with Worker(
        client,
        task_queue=queue,
        workflows=[ReferralWorkflow, LegBeforeGivingUp],
        activities=activities,
        # No sticky queue left behind for the next worker to wait out.
        max_cached_workflows=0,
    ):
        handle = await world.submit(
            submission(), ReferralPolicy(follow_up_after_days=1, follow_up_wait_days=1)
        )
        leg = client.get_workflow_handle(leg_id(handle.id, 1), result_type=LegView)
        async with asyncio.timeout(30):
            while len(webhook_sink.attempts) < 2:  # noqa: ASYNC110 - the sink has no event
                await asyncio.sleep(0.1)

    # The old code scheduled the notice with no bound on its attempts: Temporal keeps trying.
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in (await leg.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled[0].activity_type.name == NOTIFY_REFERRAL
    assert scheduled[0].retry_policy.maximum_attempts == 0

    webhook_sink.fail_next = 0  # the agency is back
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ReferralWorkflow, ReferralLegWorkflow],
        activities=activities,
        max_cached_workflows=0,  # every task replays the old history on the new code
    ):
        # The old worker may have stopped holding the notice's claim (claimed, then cancelled
        # before it could give it back); the claim lapses with that attempt's time (webhook
        # timeout plus the ledger reserve, 25 s), so allow for it and the retries' backoff.
        view = await world.until(handle, lambda v: len(v.legs) == 1, within=90)
        assert view.legs[0].state is LegState.SENT
        assert (await world.close_loop(handle, leg.id)).status is ReferralStatus.CLOSED
        assert (await leg.result()).state is LegState.CLOSED

    history = await leg.fetch_history()
    assert AGENCY_NOTICE_GIVES_UP not in patch_ids(history)
    await replayer().replay_workflow(history)
    assert [e["event"] for e in webhook_sink.events] == ["referral.leg_sent"]
    assert len(webhook_sink.attempts) >= 3


async def test_new_legs_record_the_patch(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    client = time_skipping_env.client
    await load_directory(sessions, webhook_sink.url)
    queue = f"tq-{uuid.uuid4()}"
    world = World(client, sessions, smtp_sink, webhook_sink, queue)
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ReferralWorkflow, ReferralLegWorkflow],
        activities=referral_activities(sessions, smtp_sink.port),
    ):
        handle = await world.submit(submission())
        await world.until(handle, lambda v: len(v.legs) == 1)
        leg = client.get_workflow_handle(leg_id(handle.id, 1))
        history = await leg.fetch_history()
        # Nothing left waiting on this queue: the time-skipping server would not skip past it.
        await leg.terminate("test over")
        await handle.terminate("test over")
    assert AGENCY_NOTICE_GIVES_UP in patch_ids(history)
    await replayer().replay_workflow(history)
