"""Referral outcomes feed a partnership's bound indicator, end to end on the time-skipping
server: agencies record outcomes on real legs, each leg offers its outcome to the
partnership, and the Reach Out figures (£285,360 against a £100,000 target) come out as an
actual of £285,360 and green. Offering an outcome again (the same Update, another Update,
after erasure) never counts it twice, and both workflows' histories replay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer

from activities.notify import Notifier, NotifierConfig
from activities.outcome_feed import OutcomeFeeder
from activities.partnerships import PartnershipRecords
from domain.indicators import Rag
from domain.outcome_binding import BoundMeasure, OutcomeBinding
from domain.partnership import (
    AddOutcome,
    ApprovePlan,
    Command,
    CompleteNegotiation,
    PartnershipState,
    RecordReferralOutcome,
    action_for,
    new_partnership,
)
from domain.referral import (
    ACCEPT_UPDATE,
    RECORD_OUTCOME_UPDATE,
    AgencyAction,
    Outcome,
    OutcomeCode,
    RecordOutcome,
)
from domain.referral_records import OutcomeFeed
from store.db import Sessions
from store.outcome_feed import outcome_fact
from store.referrals import erase_personal_data
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import (
    Handle,
    act,
    partner_requests,
    register_search_attributes,
)
from tests.helpers.referral_world import World, run_world, submission
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink, WebhookSink
from workflows.partnership import PartnershipInput, PartnershipWorkflow
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

AWARDS = OutcomeBinding(measure=BoundMeasure.SUM_OF_VALUES, unit="GBP", wards=["pier"])
# The Reach Out project's awards, as three residents' outcomes.
VALUES = [120_000.0, 98_360.0, 67_000.0]


def bound_planning(start: object) -> list[Command]:
    """The scenario's plan, its benefit-awards indicator fed by referral outcomes."""
    commands = []
    for command in sc.planning(start):  # type: ignore[arg-type]
        if isinstance(command, AddOutcome):
            command = command.model_copy(
                update={
                    "indicators": [
                        i.model_copy(update={"binding": AWARDS}) if i.id == "benefit-awards" else i
                        for i in command.indicators
                    ]
                }
            )
        commands.append(command)
    return commands


async def _awards(handle: Handle) -> tuple[float | None, Rag | None, int]:
    report = await handle.query(PartnershipWorkflow.indicators)
    awards = next(i for i in report.indicators if i.id == "benefit-awards")
    return awards.latest, awards.rag, awards.measurements


async def test_outcomes_feed_a_bound_indicator_once_each(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    env = time_skipping_env
    notifier = Notifier(
        NotifierConfig(smtp_port=smtp_sink.port, webhook_secrets=(WEBHOOK_SECRET,), sender="pf@t"),
        sessions,
    )
    partnership_activities = [
        notifier.send_email,
        notifier.send_webhook,
        PartnershipRecords(sessions).record_partnership,
        partner_requests(notifier),
    ]

    async def body(world: World) -> None:
        await register_search_attributes(env)
        pid = f"ip-{uuid.uuid4().hex[:8]}"
        now = await env.get_current_time()
        handle: Handle = await env.client.start_workflow(
            PartnershipWorkflow.run,
            PartnershipInput(state=new_partnership(sc.new_partnership(pid), now)),
            id=f"partnership-{pid}",
            task_queue=world.task_queue,
        )
        start = now.date() + timedelta(days=1)
        await act(handle, sc.invitations())
        await act(handle, [sc.commitment(a) for a in sc.PARTNERS])
        await act(handle, [*sc.negotiation_rest(), sc.member_approval(), CompleteNegotiation()])
        await act(handle, sc.establishment())
        await act(handle, [*bound_planning(start), ApprovePlan(start=start)])
        await env.sleep(timedelta(days=2))  # into the plan's period

        legs = []
        for value in VALUES:
            referral = await world.submit(submission())
            view = await world.until(referral, lambda v: len(v.legs) == 1)
            leg = env.client.get_workflow_handle(view.legs[0].leg_id)
            await leg.execute_update(ACCEPT_UPDATE, AgencyAction(agency_id="cab", actor="cab-1"))
            await leg.execute_update(
                RECORD_OUTCOME_UPDATE,
                RecordOutcome(
                    agency_id="cab",
                    actor="cab-1",
                    outcome=Outcome(code=OutcomeCode.GOT_HELP, value=value, unit="GBP"),
                ),
            )
            legs.append(leg)

        async with asyncio.timeout(30):
            while True:
                awards = await _awards(handle)
                if awards[2] == len(VALUES):
                    break
                await asyncio.sleep(0.1)
        assert awards == (285_360.0, Rag.GREEN, 3)
        state: PartnershipState = await handle.query(PartnershipWorkflow.state)
        moved = [e.detail for e in state.timeline if e.kind == "record_referral_outcome"]
        assert len(moved) == 3
        assert f"referral {legs[0].id.rsplit('-', 1)[0]}'s outcome" in moved[0]
        assert "£285,360" in moved[-1]

        # Offered again: by the same activity (the same Update id), by another Update, and
        # after the resident's details were erased. The figure does not move.
        feeder = ActivityEnvironment(client=env.client)
        again = await feeder.run(
            OutcomeFeeder(sessions).feed_partnerships, OutcomeFeed(leg_id=legs[0].id)
        )
        assert again.counted_by == [pid]  # Temporal answers a repeated Update from the first
        fact = await outcome_fact(sessions, legs[0].id)
        assert fact is not None
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                action_for(RecordReferralOutcome).update,
                RecordReferralOutcome(outcome=fact),
                id="another-delivery",
            )
        await erase_personal_data(sessions, fact.number)
        after_erasure = await feeder.run(
            OutcomeFeeder(sessions).feed_partnerships, OutcomeFeed(leg_id=legs[1].id)
        )
        assert after_erasure.counted_by == [pid]
        assert await _awards(handle) == (285_360.0, Rag.GREEN, 3)

        # Both workflows replay from their histories on this code.
        replayer = Replayer(
            workflows=[PartnershipWorkflow, ReferralWorkflow, ReferralLegWorkflow],
            data_converter=pydantic_data_converter,
        )
        await replayer.replay_workflow(await handle.fetch_history())
        await replayer.replay_workflow(await legs[0].fetch_history())
        await handle.terminate()

    await run_world(
        env.client,
        sessions,
        smtp_sink,
        webhook_sink,
        body,
        workflows=[PartnershipWorkflow],
        activities=partnership_activities,
    )
