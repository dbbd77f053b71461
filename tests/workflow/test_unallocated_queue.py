"""The co-ordinator's queue: an unallocated need waits for the co-ordinator (PfWaitingOn), is
reminded past the queue's SLA (a breach), and is assigned, signposted or closed by a validated
Update; refusals change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from domain.directory import NeedCategory
from domain.referral import (
    ConsentMethod,
    LegState,
    Need,
    NeedState,
    ReferralPolicy,
    ReferralStatus,
    ReferralView,
)
from domain.unallocated import (
    ASSIGN_NEED_UPDATE,
    CLOSE_NEED_UPDATE,
    SIGNPOST_NEED_UPDATE,
    AssignNeed,
    CloseNeed,
    NewConsent,
    SignpostNeed,
)
from store.overview import read_overview
from store.referrals import consented_agencies, get_referral
from store.schema import ReferralNeedRow
from tests.helpers.referral_world import (
    COORDINATOR,
    REFERRER,
    RESIDENT_NAME,
    World,
    eventually,
    submission,
)
from workflows import search_attributes as sa


async def search_attribute(
    client: Client, handle: WorkflowHandle[Any, Any], key: SearchAttributeKey[Any]
) -> Any:
    """One search attribute as the server holds it (read raw: the test server's listing of
    unset datetimes does not decode)."""
    described = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=handle.id),
        )
    )
    payload = described.workflow_execution_info.search_attributes.indexed_fields[key.name]
    return json.loads(payload.data)


async def _unallocated(world: World, policy: ReferralPolicy | None = None) -> Any:
    handle = await world.submit(submission(Need(category=NeedCategory.HEALTH)), policy)
    await world.until(handle, lambda v: v.needs[0].state is NeedState.UNALLOCATED)
    return handle


async def _refused(handle: WorkflowHandle[Any, Any], update: str, arg: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(update, arg)
    return str(failed.value.cause)


async def test_an_unallocated_need_waits_for_the_coordinator_and_breaches_its_sla(
    world: World, time_skipping_env: WorkflowEnvironment
) -> None:
    env = time_skipping_env
    handle = await _unallocated(world, ReferralPolicy(unallocated_remind_after_days=2))
    view = await world.until(handle, lambda v: v.needs[0].unallocated_at is not None)
    assert view.status is ReferralStatus.OPEN
    assert await search_attribute(world.client, handle, sa.WAITING_ON) == ["coordinator"]
    await env.sleep(timedelta(days=5))
    view = await world.until(handle, lambda v: v.needs[0].queue_overdue)
    await eventually(
        lambda: any(
            "an unallocated need on referral" in str(m["Subject"])
            for m in world.smtp.to(COORDINATOR)
        )
    )
    assert await search_attribute(world.client, handle, sa.BREACHED) is True
    async with world.sessions() as session:
        row = await session.get(ReferralNeedRow, (view.number, "N1"))
    assert row is not None
    assert row.queue_overdue
    assert row.unallocated_at is not None
    assert (await read_overview(world.sessions)).unallocated_overdue == 1
    # Closed with a reason: the referral closes.
    closed = await handle.execute_update(
        CLOSE_NEED_UPDATE,
        CloseNeed(need_id="N1", actor="coord", reason="resident moved away"),
        result_type=ReferralView,
    )
    assert closed.needs[0].state is NeedState.CLOSED
    final = await handle.result()
    assert final.status is ReferralStatus.CLOSED


async def test_assigning_needs_consent_and_sends_a_leg(world: World) -> None:
    handle = await _unallocated(world)
    await world.until(handle, lambda v: v.needs[0].unallocated_at is not None)
    # The police are not in the resident's consent.
    reason = await _refused(
        handle,
        ASSIGN_NEED_UPDATE,
        AssignNeed(need_id="N1", actor="coord", service_id="police-safety", agency_id="police"),
    )
    assert "has not consented to police" in reason
    assert "no need N9" in await _refused(
        handle,
        CLOSE_NEED_UPDATE,
        CloseNeed(need_id="N9", actor="coord", reason="x"),
    )
    # Refused: nothing changed.
    view = await world.state(handle)
    assert view.needs[0].state is NeedState.UNALLOCATED
    assert "police" not in view.consent_agency_ids
    consent = NewConsent(
        method=ConsentMethod.VERBAL,
        given_at=datetime(2026, 11, 30, 10, tzinfo=UTC),
        note="phoned the resident",
    )
    assigned = await handle.execute_update(
        ASSIGN_NEED_UPDATE,
        AssignNeed(
            need_id="N1",
            actor="coord",
            service_id="police-safety",
            agency_id="police",
            consent=consent,
        ),
        result_type=ReferralView,
    )
    assert assigned.needs[0].state is NeedState.REFERRED
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    assert (view.legs[0].service_id, view.legs[0].state) == ("police-safety", LegState.SENT)
    assert "police" in await consented_agencies(world.sessions, view.number)
    assert ("consent_recorded", "police by verbal on 2026-11-30: phoned the resident") in [
        (e.kind, e.detail) for e in (await get_referral(world.sessions, view.number)).events
    ]
    # The newly consented agency is sent the referral (its details behind the link).
    await eventually(lambda: len(world.smtp.to("safer@police.example")) == 1)
    (sent,) = world.smtp.to("safer@police.example")
    assert RESIDENT_NAME not in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # No longer unallocated: queue actions are refused.
    assert "not unallocated" in await _refused(
        handle, CLOSE_NEED_UPDATE, CloseNeed(need_id="N1", actor="coord", reason="x")
    )


async def test_signposting_sends_the_chosen_services_contact_details(world: World) -> None:
    handle = await _unallocated(world)
    await world.until(handle, lambda v: v.needs[0].unallocated_at is not None)
    view = await handle.execute_update(
        SIGNPOST_NEED_UPDATE,
        SignpostNeed(need_id="N1", actor="coord", service_ids=["police-safety", "cab-debt"]),
        result_type=ReferralView,
    )
    need = view.needs[0]
    assert need.state is NeedState.SIGNPOSTED
    assert need.signposted_service_ids == ["police-safety", "cab-debt"]
    await eventually(lambda: len(world.smtp.to(REFERRER)) == 1)
    text = world.smtp.to(REFERRER)[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Phone: 101" in text
    assert "Email: intake@cab.example" in text
    assert (await handle.result()).status is ReferralStatus.CLOSED
