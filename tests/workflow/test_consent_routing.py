"""Consent decides where a need can go: the best suitable service among the agencies the
resident consented to, signposting (to several services) only when none is left, and the same
rule after a decline, a silence or a withdrawn service."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.directory import SERVICE_WITHDRAWN_SIGNAL, ServiceWithdrawn
from domain.referral import (
    DECLINE_UPDATE,
    Decline,
    LegState,
    NeedState,
    ReferralPolicy,
)
from store.schema import ReferralNeedRow
from tests.helpers.referral_world import (
    REFERRER,
    RESIDENT_NAME,
    World,
    eventually,
    submission,
)


async def test_the_need_goes_to_the_best_consented_service_not_the_best_one(world: World) -> None:
    # CAB ranks first for debt, but the resident consented only to the charity.
    handle = await world.submit(submission(consent=("charity",)))
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    assert (view.legs[0].service_id, view.legs[0].state) == ("charity-debt", LegState.SENT)
    need = view.needs[0]
    assert need.state is NeedState.REFERRED
    assert "CAB debt advice (cab): no consent" in need.reason
    assert "Charity money advice (charity): chosen" in need.reason
    assert world.smtp.to("intake@cab.example") == []
    async with world.sessions() as session:
        row = await session.get(ReferralNeedRow, (view.number, "N1"))
    assert row is not None
    assert "no consent" in row.reason


async def test_without_a_consented_service_the_resident_is_signposted_to_several(
    world: World,
) -> None:
    handle = await world.submit(submission(consent=("council",)))
    view = await world.until(handle, lambda v: v.needs[0].state is NeedState.SIGNPOSTED)
    need = view.needs[0]
    assert view.legs == []
    assert need.signposted_service_ids == ["cab-debt", "charity-debt"]
    assert need.signposted_service_id == "cab-debt"
    assert need.reason.count("no consent") == 2
    await eventually(lambda: len(world.smtp.to(REFERRER)) == 1)
    (signpost,) = world.smtp.to(REFERRER)
    text = signpost.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Contact: CAB debt advice" in text
    assert "Email: intake@cab.example" in text
    assert "Contact: Charity money advice" in text
    assert "Email: help@charity.example" in text
    assert RESIDENT_NAME not in text


async def test_a_decline_reroutes_within_the_consent_then_signposts(world: World) -> None:
    handle = await world.submit(submission(consent=("charity", "council")))
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    leg = world.client.get_workflow_handle(view.legs[0].leg_id)
    await leg.execute_update(
        DECLINE_UPDATE, Decline(agency_id="charity", actor="c", reason="no room")
    )
    view = await world.until(handle, lambda v: v.needs[0].state is NeedState.SIGNPOSTED)
    need = view.needs[0]
    # CAB was never consented to: the resident is given its details, it gets no referral.
    assert [leg.service_id for leg in view.legs] == ["charity-debt"]
    assert need.signposted_service_ids == ["cab-debt"]
    assert "Charity money advice (charity): already tried" in need.reason
    assert world.smtp.to("intake@cab.example") == []


async def test_silence_reroutes_within_the_consent(
    world: World,
    time_skipping_env: WorkflowEnvironment,
) -> None:
    handle = await world.submit(submission(consent=("cab",)), ReferralPolicy(escalate_after_days=1))
    await world.until(handle, lambda v: len(v.legs) == 1)
    await time_skipping_env.sleep(timedelta(days=12))
    view = await world.until(handle, lambda v: v.needs[0].state is NeedState.SIGNPOSTED)
    assert [(leg.service_id, leg.state) for leg in view.legs] == [("cab-debt", LegState.EXPIRED)]
    assert view.needs[0].signposted_service_ids == ["charity-debt"]
    assert world.smtp.to("help@charity.example") == []


async def test_a_withdrawn_service_reroutes_within_the_consent(world: World) -> None:
    handle = await world.submit(submission(consent=("cab", "charity")))
    await world.until(handle, lambda v: len(v.legs) == 1)
    await handle.signal(
        SERVICE_WITHDRAWN_SIGNAL, ServiceWithdrawn(service_id="cab-debt", reason="closed")
    )
    view = await world.until(handle, lambda v: len(v.legs) == 2)
    assert [(leg.service_id, leg.state) for leg in view.legs][1] == (
        "charity-debt",
        LegState.SENT,
    )
    # Withdrawn again while the charity's leg waits: nothing consented is left.
    await handle.signal(
        SERVICE_WITHDRAWN_SIGNAL, ServiceWithdrawn(service_id="charity-debt", reason="gone")
    )
    view = await world.until(handle, lambda v: v.needs[0].state is not NeedState.REFERRED)
    assert view.needs[0].state is NeedState.UNALLOCATED
    assert "already tried" in view.needs[0].reason
