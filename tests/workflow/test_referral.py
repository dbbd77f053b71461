"""Referral workflows on the time-skipping server, with a real store and real mail/webhook sinks."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.referral import (
    ACCEPT_UPDATE,
    RECORD_FOLLOW_UP_UPDATE,
    RECORD_OUTCOME_UPDATE,
    AgencyAction,
    FollowUp,
    LegState,
    LegView,
    NeedState,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    ReferralPolicy,
    ReferralStatus,
    ReferralView,
)
from store.db import Sessions
from tests.sinks import SmtpSink, WebhookSink
from tests.workflow.referral_world import REFERRER, RESIDENT_NAME, World, run_world, submission


async def test_accept_outcome_follow_up_closed(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async def body(world: World) -> None:
        handle = await world.submit(
            submission(), ReferralPolicy(follow_up_after_days=2, follow_up_wait_days=5)
        )
        view = await world.until(handle, lambda v: len(v.legs) == 1)
        leg = view.legs[0]
        assert (leg.service_id, leg.state) == ("cab-debt", LegState.SENT)
        leg_handle = world.client.get_workflow_handle(leg.leg_id)
        accepted = await leg_handle.execute_update(
            ACCEPT_UPDATE, AgencyAction(agency_id="cab", actor="cab-user"), result_type=LegView
        )
        assert accepted.state is LegState.ACCEPTED
        await leg_handle.execute_update(
            RECORD_OUTCOME_UPDATE,
            RecordOutcome(
                agency_id="cab",
                actor="cab-user",
                outcome=Outcome(code=OutcomeCode.GOT_HELP, value=1240, unit="GBP"),
            ),
            result_type=LegView,
        )
        view = await world.until(handle, lambda v: v.status is ReferralStatus.FOLLOW_UP)
        assert view.needs[0].state is NeedState.OUTCOME_RECORDED
        await time_skipping_env.sleep(timedelta(days=5))
        await world.until(handle, lambda v: v.status is ReferralStatus.FOLLOW_UP)
        assert any("Follow-up due" in str(m["Subject"]) for m in smtp_sink.to(REFERRER))
        await handle.execute_update(
            RECORD_FOLLOW_UP_UPDATE,
            FollowUp(actor="reach-out-1", made_difference=True, score=5),
            result_type=ReferralView,
        )
        final = await handle.result()
        assert final.status is ReferralStatus.CLOSED
        assert [leg.state for leg in final.legs] == [LegState.CLOSED]
        sent = smtp_sink.to("intake@cab.example")
        assert RESIDENT_NAME in sent[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert [e["event"] for e in webhook_sink.events] == ["referral.leg_sent"]
        assert webhook_sink.events[0]["data"]["Resident"] == RESIDENT_NAME
        assert len(set(smtp_sink.keys())) == len(smtp_sink.keys())

    await run_world(time_skipping_env.client, sessions, smtp_sink, webhook_sink, body)
