"""Referral workflows on the time-skipping server, with a real store and real mail/webhook sinks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.directory import SERVICE_WITHDRAWN_SIGNAL, ServiceWithdrawn
from domain.referral import (
    ACCEPT_UPDATE,
    CLOSE_UPDATE,
    DECLINE_UPDATE,
    RECORD_FOLLOW_UP_UPDATE,
    RECORD_OUTCOME_UPDATE,
    STATE_QUERY,
    WITHDRAW_CONSENT_UPDATE,
    WITHDRAW_UPDATE,
    AgencyAction,
    Decline,
    FollowUp,
    LegState,
    LegView,
    Need,
    NeedState,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    ReferralPolicy,
    ReferralStatus,
    ReferralView,
    Withdrawal,
)
from store.db import Sessions
from store.referrals import load_personal_data
from store.schema import ReferralEventRow, ReferralLegRow, ReferralOutcomeRow, ReferralRow
from tests.helpers.referral_world import (
    COORDINATOR,
    REFERRER,
    RESIDENT_NAME,
    World,
    eventually,
    submission,
)
from workflows import search_attributes as sa


async def test_accept_outcome_follow_up_closed(
    world: World,
    time_skipping_env: WorkflowEnvironment,
) -> None:
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
    await eventually(
        lambda: any("Follow-up due" in str(m["Subject"]) for m in world.smtp.to(REFERRER))
    )
    await handle.execute_update(
        RECORD_FOLLOW_UP_UPDATE,
        FollowUp(actor="reach-out-1", made_difference=True, score=5),
        result_type=ReferralView,
    )
    final = await handle.result()
    assert final.status is ReferralStatus.CLOSED
    assert [leg.state for leg in final.legs] == [LegState.CLOSED]
    sent = world.smtp.to("intake@cab.example")
    # The agency's email names the need, not the resident: the details are behind the link.
    text = sent[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert RESIDENT_NAME not in text
    assert "Need: Benefits and debt" in text
    assert f"/referrals/{final.number}" in text
    assert [e["event"] for e in world.webhooks.events] == ["referral.leg_sent"]
    assert RESIDENT_NAME not in str(world.webhooks.events[0]["data"])
    assert world.webhooks.events[0]["data"]["referral"] == final.number
    assert len(set(world.smtp.keys())) == len(world.smtp.keys())


def _leg(world: World, leg_id: str) -> WorkflowHandle[Any, LegView]:
    return world.client.get_workflow_handle(leg_id, result_type=LegView)


async def _events(sessions: Sessions, number: str) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(ReferralEventRow.kind, ReferralEventRow.actor)
            .where(ReferralEventRow.number == number)
            .order_by(ReferralEventRow.at)
        )
        return [(kind, actor) for kind, actor in rows.all()]


async def test_decline_reroutes_to_the_next_service(world: World) -> None:
    handle = await world.submit(submission())
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    declined = await _leg(world, view.legs[0].leg_id).execute_update(
        DECLINE_UPDATE,
        Decline(agency_id="cab", actor="cab-user", reason="no appointments this month"),
        result_type=LegView,
    )
    assert declined.state is LegState.DECLINED
    view = await world.until(handle, lambda v: len(v.legs) == 2)
    first, second = view.legs
    assert (first.state, first.decline_reason) == (
        LegState.DECLINED,
        "no appointments this month",
    )
    assert (second.service_id, second.state) == ("charity-debt", LegState.SENT)
    assert view.needs[0].tried_service_ids == ["cab-debt", "charity-debt"]
    assert "capacity limited" in second.route_reason
    assert len(world.smtp.to("help@charity.example")) == 1
    async with world.sessions() as session:
        legs = (await session.scalars(select(ReferralLegRow).order_by(ReferralLegRow.leg_id))).all()
    assert [(leg.service_id, leg.state) for leg in legs] == [
        ("cab-debt", "declined"),
        ("charity-debt", "sent"),
    ]
    assert ("declined", "cab-user") in await _events(world.sessions, view.number)
    await handle.execute_update(
        WITHDRAW_UPDATE, Withdrawal(actor="reach-out-1", reason="resident moved away")
    )
    final = await handle.result()
    assert final.status is ReferralStatus.WITHDRAWN
    assert final.legs[1].state is LegState.WITHDRAWN
    assert any("Stop work" in str(m["Subject"]) for m in world.smtp.to("help@charity.example"))


async def test_silence_reminds_escalates_reroutes_then_unallocated(
    world: World,
    time_skipping_env: WorkflowEnvironment,
) -> None:
    handle = await world.submit(submission())
    await world.until(handle, lambda v: len(v.legs) == 1)
    await time_skipping_env.sleep(timedelta(days=40))
    final = await world.until(handle, lambda v: v.needs[0].unallocated_at is not None)
    assert final.status is ReferralStatus.OPEN
    assert final.needs[0].state is NeedState.UNALLOCATED
    assert [(leg.service_id, leg.state, leg.breached) for leg in final.legs] == [
        ("cab-debt", LegState.EXPIRED, True),
        ("charity-debt", LegState.EXPIRED, True),
    ]
    for leg in final.legs:
        assert leg.reminded_at is not None
        assert leg.escalated_at is not None
        assert leg.sent_at < leg.deadline <= leg.reminded_at < leg.escalated_at
        assert leg.escalate_at is not None
        assert leg.escalate_at <= leg.escalated_at
    cab = [str(m["Subject"]) for m in world.smtp.to("intake@cab.example")]
    assert [s.split(" ")[0] for s in cab] == ["New", "Reminder:", "Stop"]
    coordinator = [str(m["Subject"]).split(":")[0] for m in world.smtp.to(COORDINATOR)]
    assert coordinator[:3] == [
        "Escalation",
        "Escalation",
        "Unallocated need on referral " + final.number,
    ]
    assert [e["event"] for e in world.webhooks.events] == [
        "referral.leg_sent",
        "referral.leg_reminder",
        "referral.leg_stopped",
    ]
    async with world.sessions() as session:
        row = await session.get(ReferralRow, final.number)
    assert row is not None
    # It waits in the co-ordinator's queue (see test_unallocated_queue).
    assert (row.status, row.breached) == ("open", True)


async def test_no_consent_signposts_the_resident(world: World) -> None:
    handle = await world.submit(
        submission(Need(category="community_safety", notes="Youths outside at night"))
    )
    final = await handle.result()
    assert final.status is ReferralStatus.CLOSED
    assert final.legs == []
    need = final.needs[0]
    assert (need.state, need.signposted_service_id) == (NeedState.SIGNPOSTED, "police-safety")
    assert world.smtp.to("safer@police.example") == []
    (signpost,) = world.smtp.to(REFERRER)
    text = signpost.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Phone: 101" in text
    assert RESIDENT_NAME not in text


async def test_two_needs_go_to_two_agencies_in_parallel(world: World) -> None:
    handle = await world.submit(
        submission(
            Need(category="benefits_debt", urgency="urgent"),
            Need(category="housing", notes="Damp flat"),
        ),
        ReferralPolicy(follow_up_after_days=0, follow_up_wait_days=1),
    )
    view = await world.until(handle, lambda v: len(v.legs) == 2)
    assert view.urgency.value == "urgent"
    by_agency = {leg.agency_id: leg for leg in view.legs}
    assert set(by_agency) == {"cab", "council"}
    assert by_agency["cab"].deadline < by_agency["council"].deadline
    for agency, leg in by_agency.items():
        await _leg(world, leg.leg_id).execute_update(
            ACCEPT_UPDATE, AgencyAction(agency_id=agency, actor=f"{agency}-user")
        )
    for agency, leg in by_agency.items():
        await _leg(world, leg.leg_id).execute_update(
            RECORD_OUTCOME_UPDATE,
            RecordOutcome(
                agency_id=agency,
                actor=f"{agency}-user",
                outcome=Outcome(code=OutcomeCode.GOT_HELP),
            ),
        )
    await _leg(world, by_agency["council"].leg_id).execute_update(
        CLOSE_UPDATE, AgencyAction(agency_id="council", actor="council-user")
    )
    final = await handle.result()
    assert final.status is ReferralStatus.CLOSED
    assert {n.state for n in final.needs} == {NeedState.OUTCOME_RECORDED}
    assert {leg.state for leg in final.legs} == {LegState.CLOSED}
    async with world.sessions() as session:
        outcomes = (await session.scalars(select(ReferralOutcomeRow.agency_id))).all()
    assert sorted(outcomes) == ["cab", "council"]


async def test_refused_update_changes_nothing(world: World) -> None:
    handle = await world.submit(submission())
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    leg = _leg(world, view.legs[0].leg_id)
    before = await leg.query(STATE_QUERY, result_type=LegView)
    events_before = await _events(world.sessions, view.number)
    with pytest.raises(WorkflowUpdateFailedError) as wrong_agency:
        await leg.execute_update(ACCEPT_UPDATE, AgencyAction(agency_id="council", actor="someone"))
    assert "sent to cab, not council" in str(wrong_agency.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as too_early:
        await leg.execute_update(CLOSE_UPDATE, AgencyAction(agency_id="cab", actor="cab-user"))
    assert "cannot go from sent to closed" in str(too_early.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as no_follow_up:
        await handle.execute_update(
            RECORD_FOLLOW_UP_UPDATE, FollowUp(actor="reach-out-1", made_difference=False)
        )
    assert "not awaiting follow-up" in str(no_follow_up.value.cause)
    assert await leg.query(STATE_QUERY, result_type=LegView) == before
    assert await _events(world.sessions, view.number) == events_before
    await handle.execute_update(
        WITHDRAW_UPDATE, Withdrawal(actor="reach-out-1", reason="entered in error")
    )
    assert (await handle.result()).status is ReferralStatus.WITHDRAWN


async def test_service_withdrawn_reroutes_open_legs(world: World) -> None:
    handle = await world.submit(submission())
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    described = await handle.describe()
    assert described.typed_search_attributes.get(sa.WAITING_ON) == ["cab-debt"]
    assert described.typed_search_attributes.get(sa.KIND) == "referral"
    leg = (await _leg(world, view.legs[0].leg_id).describe()).typed_search_attributes
    assert (leg.get(sa.KIND), leg.get(sa.STATUS), leg.get(sa.AGENCIES)) == (
        "referral_leg",
        "sent",
        ["cab"],
    )
    assert leg.get(sa.NEXT_DEADLINE) == view.legs[0].deadline
    assert leg.get(sa.WAITING_ON) is None
    await handle.signal(
        SERVICE_WITHDRAWN_SIGNAL,
        ServiceWithdrawn(service_id="cab-debt", reason="inactive in the directory feed"),
    )
    view = await world.until(handle, lambda v: len(v.legs) == 2)
    assert view.legs[0].state is LegState.WITHDRAWN
    assert view.legs[1].service_id == "charity-debt"
    await world.until(handle, lambda v: v.legs[1].state is LegState.SENT)
    described = await handle.describe()
    assert described.typed_search_attributes.get(sa.WAITING_ON) == ["charity-debt"]
    assert described.typed_search_attributes.get(sa.AGENCIES) == ["cab", "charity"]
    await eventually(
        lambda: any("Service withdrawn" in str(m["Subject"]) for m in world.smtp.to(COORDINATOR))
    )
    assert any("Stop work" in str(m["Subject"]) for m in world.smtp.to("intake@cab.example"))
    await handle.execute_update(WITHDRAW_UPDATE, Withdrawal(actor="reach-out-1", reason="done"))
    await handle.result()


async def test_consent_withdrawn_stops_legs_and_erases_personal_data(world: World) -> None:
    handle = await world.submit(
        submission(Need(category="benefits_debt"), Need(category="housing"))
    )
    view = await world.until(
        handle, lambda v: len(v.legs) == 2 and all(leg.state is LegState.SENT for leg in v.legs)
    )
    number = view.number
    assert await load_personal_data(world.sessions, number) is not None
    database = Path(str(world.sessions.kw["bind"].url.database))
    files = (database, database.with_name(database.name + "-wal"))
    # The name is on disk before erasure, so the check below can fail.
    assert any(RESIDENT_NAME.encode() in p.read_bytes() for p in files if p.exists())
    result = await handle.execute_update(
        WITHDRAW_CONSENT_UPDATE,
        Withdrawal(actor="reach-out-1", reason="resident phoned the helpline"),
        result_type=ReferralView,
    )
    assert result.status is ReferralStatus.CONSENT_WITHDRAWN
    assert result.personal_data_erased
    assert {leg.state for leg in result.legs} == {LegState.WITHDRAWN}
    final = await handle.result()
    assert final.status is ReferralStatus.CONSENT_WITHDRAWN
    for agency in ("intake@cab.example", "housing@council.example"):
        stop = [m for m in world.smtp.to(agency) if "Stop work" in str(m["Subject"])]
        assert "delete their details" in stop[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert await load_personal_data(world.sessions, number) is None
    for path in files:
        if path.exists():
            raw = path.read_bytes()
            for secret in (RESIDENT_NAME, "Marine Parade", "CO15 1AA", "Rent arrears"):
                assert secret.encode() not in raw, (path.name, secret)
    async with world.sessions() as session:
        row = await session.get(ReferralRow, number)
        legs = (
            await session.scalars(select(ReferralLegRow).where(ReferralLegRow.number == number))
        ).all()
    assert row is not None
    assert (row.ward, row.status, row.personal_data_erased) == (
        "pier",
        "consent_withdrawn",
        True,
    )
    assert sorted((leg.category, leg.state) for leg in legs) == [
        ("benefits_debt", "withdrawn"),
        ("housing", "withdrawn"),
    ]
