"""Each decline reason leads to its next step, on the time-skipping server with the real store
and mail sink: no capacity marks the service full for some working days (routing passes it
over until the spell ends by itself); not eligible and other route on; cannot contact returns
the need to the referrer; the resident declined ends it; better served elsewhere offers the
named service if the resident agreed to share with its agency, else the co-ordinator decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.declines import DeclineReason
from domain.referral import DECLINE_UPDATE, Decline, LegState, LegView, NeedState, ReferralView
from store.directory import get_service
from tests.helpers.referral_world import COORDINATOR, REFERRER, World, eventually, submission


def _leg(world: World, leg_id: str) -> WorkflowHandle[Any, LegView]:
    return world.client.get_workflow_handle(leg_id, result_type=LegView)


async def _decline_first(
    world: World, handle: WorkflowHandle[Any, ReferralView], decline: Decline
) -> LegView:
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    declined: LegView = await _leg(world, view.legs[0].leg_id).execute_update(
        DECLINE_UPDATE, decline, result_type=LegView
    )
    assert declined.state is LegState.DECLINED
    assert declined.decline_why is decline.why
    return declined


def _cab(why: DeclineReason, reason: str = "", service_id: str | None = None) -> Decline:
    return Decline(agency_id="cab", actor="cab-user", why=why, reason=reason, service_id=service_id)


async def test_no_capacity_marks_the_service_full_until_its_days_pass(
    world: World, time_skipping_env: WorkflowEnvironment
) -> None:
    first = await world.submit(submission())
    await _decline_first(world, first, _cab(DeclineReason.NO_CAPACITY))
    view = await world.until(first, lambda v: len(v.legs) == 2)
    assert view.legs[1].service_id == "charity-debt"
    cab = await get_service(world.sessions, "cab-debt")
    assert cab is not None
    assert cab.full_until is not None
    # Five working days by default: a week or more away, never less.
    assert cab.full_until - await time_skipping_env.get_current_time() >= timedelta(days=5)

    # Meanwhile a new referral passes CAB over: "full" in routing's note.
    second = await world.submit(submission())
    view = await world.until(second, lambda v: len(v.legs) == 1)
    assert view.legs[0].service_id == "charity-debt"

    # The spell ends by itself: later referrals go to CAB again.
    await time_skipping_env.sleep(timedelta(days=10))
    third = await world.submit(submission())
    view = await world.until(third, lambda v: len(v.legs) == 1)
    assert view.legs[0].service_id == "cab-debt"


async def test_not_eligible_and_other_route_on_with_the_words_kept(world: World) -> None:
    for why, words in ((DeclineReason.NOT_ELIGIBLE, "over 25s only"), (DeclineReason.OTHER, "x")):
        handle = await world.submit(submission())
        declined = await _decline_first(world, handle, _cab(why, words))
        assert declined.reroute
        view = await world.until(handle, lambda v: len(v.legs) == 2)
        assert view.legs[1].service_id == "charity-debt"
        assert view.legs[0].decline_reason == words


async def test_cannot_contact_returns_the_need_to_the_referrer(world: World) -> None:
    handle = await world.submit(submission())
    await _decline_first(
        world, handle, _cab(DeclineReason.CANNOT_CONTACT, "phoned three times, letter sent")
    )
    view = await world.until(handle, lambda v: v.needs[0].state is NeedState.CLOSED)
    assert len(view.legs) == 1  # not routed on: another agency would not reach them either
    assert view.needs[0].reason == "could not contact the resident"
    await eventually(lambda: bool(world.smtp.to(REFERRER)))
    returned = [m for m in world.smtp.to(REFERRER) if "Returned to you" in str(m["Subject"])]
    assert len(returned) == 1
    body = returned[0].get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "could not contact the resident" in text
    assert "phoned three times" not in text  # the agency's words stay behind the link


async def test_the_resident_declining_ends_the_need(world: World) -> None:
    handle = await world.submit(submission())
    await _decline_first(world, handle, _cab(DeclineReason.RESIDENT_DECLINED))
    view = await world.until(handle, lambda v: v.needs[0].state is NeedState.CLOSED)
    assert len(view.legs) == 1
    assert view.needs[0].reason == "the resident declined"
    assert not [m for m in world.smtp.to(REFERRER) if "Returned" in str(m["Subject"])]


async def test_better_served_elsewhere_offers_the_named_service_if_consented(
    world: World,
) -> None:
    handle = await world.submit(submission())
    await _decline_first(
        world,
        handle,
        _cab(DeclineReason.BETTER_SERVED_ELSEWHERE, service_id="council-housing"),
    )
    view = await world.until(handle, lambda v: len(v.legs) == 2)
    assert view.legs[1].service_id == "council-housing"
    assert "suggested by the declining agency" in view.needs[0].reason


async def test_better_served_elsewhere_without_consent_goes_to_the_coordinator(
    world: World,
) -> None:
    handle = await world.submit(submission(consent=["cab", "charity"]))
    await _decline_first(
        world,
        handle,
        _cab(DeclineReason.BETTER_SERVED_ELSEWHERE, service_id="council-housing"),
    )
    view = await world.until(handle, lambda v: v.needs[0].state is NeedState.UNALLOCATED)
    assert len(view.legs) == 1  # charity-debt, consented, is not tried: the co-ordinator decides
    assert "has not agreed to share" in view.needs[0].reason
    await eventually(lambda: bool(world.smtp.to(COORDINATOR)))


def test_a_decline_says_what_its_reason_needs() -> None:
    with pytest.raises(ValidationError, match="say which rule"):
        _cab(DeclineReason.NOT_ELIGIBLE)
    with pytest.raises(ValidationError, match="say what was tried"):
        _cab(DeclineReason.CANNOT_CONTACT, "  ")
    with pytest.raises(ValidationError, match="name the service"):
        _cab(DeclineReason.BETTER_SERVED_ELSEWHERE)
    with pytest.raises(ValidationError, match="name the service"):
        _cab(DeclineReason.NO_CAPACITY, service_id="charity-debt")
    with pytest.raises(ValidationError, match="a reason is required"):
        Decline(agency_id="cab", actor="cab-user")
    assert _cab(DeclineReason.NO_CAPACITY).words == "no capacity now"
