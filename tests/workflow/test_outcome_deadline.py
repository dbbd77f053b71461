"""Every accepted leg has an outcome deadline: agreed working days from acceptance (starting
work keeps the clock); past it the agency is reminded, then the co-ordinator is told, and the
leg shows as overdue until its outcome is recorded."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.calendar import add_working_days
from domain.directory import Directory
from domain.referral import (
    ACCEPT_UPDATE,
    RECORD_OUTCOME_UPDATE,
    START_UPDATE,
    AgencyAction,
    LegState,
    LegView,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    ReferralPolicy,
)
from store.db import Sessions
from store.overview import read_overview
from store.schema import ReferralLegRow
from store.worklists import worklist_legs
from tests.helpers.referral_world import (
    COORDINATOR,
    World,
    directory,
    eventually,
    run_world,
    submission,
)
from tests.helpers.sinks import SmtpSink, WebhookSink
from workflows import search_attributes as sa


def borough(webhook_url: str, outcome_days: int | None) -> Directory:
    """The small borough, with the CAB's agreed days to an outcome."""
    base = directory(webhook_url)
    services = [
        s.model_copy(update={"outcome_days": outcome_days}) if s.id == "cab-debt" else s
        for s in base.services
    ]
    return base.model_copy(update={"services": services})


async def test_an_accepted_leg_without_an_outcome_is_reminded_then_escalated(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    env = time_skipping_env

    async def body(world: World) -> None:
        handle = await world.submit(submission(), ReferralPolicy(escalate_after_days=2))
        view = await world.until(handle, lambda v: len(v.legs) == 1)
        leg = world.client.get_workflow_handle(view.legs[0].leg_id, result_type=LegView)
        cab = AgencyAction(agency_id="cab", actor="cab-user")
        accepted = await leg.execute_update(ACCEPT_UPDATE, cab, result_type=LegView)
        assert accepted.accepted_at is not None
        # Starting work keeps the clock that acceptance started.
        await env.sleep(timedelta(days=1))
        await leg.execute_update(START_UPDATE, cab)
        due = add_working_days(accepted.accepted_at, 3)
        state = await world.until(handle, lambda v: v.legs[0].outcome_due_at is not None)
        assert state.legs[0].outcome_due_at == due
        assert not state.outcome_overdue
        await env.sleep(timedelta(days=7))
        state = await world.until(handle, lambda v: v.outcome_overdue)
        assert state.legs[0].state is LegState.IN_PROGRESS
        await eventually(
            lambda: any(
                "Reminder: record the outcome" in str(m["Subject"])
                for m in smtp_sink.to("intake@cab.example")
            )
        )
        described = await leg.describe()
        assert described.typed_search_attributes.get(sa.OVERDUE) is True
        async with world.sessions() as session:
            row = await session.get(ReferralLegRow, state.legs[0].leg_id)
        assert row is not None
        assert row.outcome_overdue
        (listed,) = await worklist_legs(world.sessions, "cab")
        assert listed.outcome_overdue
        assert (await read_overview(world.sessions)).overdue_outcomes == 1
        await env.sleep(timedelta(days=5))
        await eventually(
            lambda: any(
                f"Overdue: no outcome recorded for referral {state.number}" == str(m["Subject"])
                for m in smtp_sink.to(COORDINATOR)
            )
        )
        # The outcome ends the overdue state.
        await leg.execute_update(
            RECORD_OUTCOME_UPDATE,
            RecordOutcome(
                agency_id="cab", actor="cab-user", outcome=Outcome(code=OutcomeCode.GOT_HELP)
            ),
        )
        state = await world.until(handle, lambda v: v.legs[0].state is LegState.OUTCOME_RECORDED)
        assert not state.outcome_overdue

    await run_world(
        env.client,
        sessions,
        smtp_sink,
        webhook_sink,
        body,
        borough=borough(webhook_sink.url, outcome_days=3),
    )


async def test_the_default_outcome_deadline_is_the_policys(world: World) -> None:
    handle = await world.submit(submission(), ReferralPolicy(outcome_days=20))
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    leg = world.client.get_workflow_handle(view.legs[0].leg_id, result_type=LegView)
    accepted = await leg.execute_update(
        ACCEPT_UPDATE, AgencyAction(agency_id="cab", actor="cab-user"), result_type=LegView
    )
    assert accepted.accepted_at is not None
    state = await world.until(handle, lambda v: v.legs[0].outcome_due_at is not None)
    assert state.legs[0].outcome_due_at == add_working_days(accepted.accepted_at, 20)
