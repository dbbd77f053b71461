"""Offering a need to several services at once: the first accept wins, the other offers are
withdrawn at once (their agencies told to delete the resident's details), two accepts arriving
together give exactly one winner, and offers that all end unaccepted route on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.access import Role
from domain.agency_stats import LegFacts, counts_in_statistics, tally
from domain.directory import NeedCategory
from domain.offers import ACCEPT_OFFER_UPDATE, Offer, OfferAcceptance
from domain.referral import (
    ACCEPT_UPDATE,
    DECLINE_UPDATE,
    AgencyAction,
    Decline,
    LegState,
    LegView,
    Need,
    NeedState,
)
from store.referral_stats import agency_tallies
from tests.api.test_dashboard_referrals import signed_in
from tests.helpers.referral_server import serve
from tests.helpers.referral_world import (
    RESIDENT_NAME,
    World,
    eventually,
    submission,
)
from workers.settings import Settings

OFFERED = submission(Need(category=NeedCategory.BENEFITS_DEBT, offer=Offer(max_services=3)))


async def _offered(world: World) -> tuple[Any, dict[str, LegView]]:
    handle = await world.submit(OFFERED)
    view = await world.until(
        handle, lambda v: len(v.legs) == 2 and all(leg.state is LegState.SENT for leg in v.legs)
    )
    return handle, {leg.agency_id: leg for leg in view.legs}


async def test_the_first_accept_wins_and_the_other_offers_are_withdrawn(world: World) -> None:
    handle, legs = await _offered(world)
    assert all(leg.offered for leg in legs.values())
    # An offered leg is accepted only through its referral.
    with pytest.raises(WorkflowUpdateFailedError):
        await world.client.get_workflow_handle(legs["cab"].leg_id).execute_update(
            ACCEPT_UPDATE, AgencyAction(agency_id="cab", actor="cab-user")
        )
    won = await handle.execute_update(
        ACCEPT_OFFER_UPDATE,
        OfferAcceptance(leg_id=legs["charity"].leg_id, agency_id="charity", actor="c"),
        result_type=LegView,
    )
    assert won.state is LegState.ACCEPTED
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await handle.execute_update(
            ACCEPT_OFFER_UPDATE,
            OfferAcceptance(leg_id=legs["cab"].leg_id, agency_id="cab", actor="cab-user"),
        )
    assert "another service has taken" in str(late.value.cause)
    # The winner accepting again is told it already has it, not that "another" service did.
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await handle.execute_update(
            ACCEPT_OFFER_UPDATE,
            OfferAcceptance(leg_id=legs["charity"].leg_id, agency_id="charity", actor="c"),
        )
    assert str(again.value.cause).endswith(": you have already accepted this referral")
    view = await world.until(
        handle, lambda v: any(leg.state is LegState.WITHDRAWN for leg in v.legs)
    )
    lost = next(leg for leg in view.legs if leg.agency_id == "cab")
    assert (lost.state, lost.offer_lost, lost.reroute) == (LegState.WITHDRAWN, True, False)
    assert view.needs[0].state is NeedState.REFERRED
    # The CAB is told another service took it, without the resident's details.
    await eventually(
        lambda: any("Stop work" in str(m["Subject"]) for m in world.smtp.to("intake@cab.example"))
    )
    stop = next(m for m in world.smtp.to("intake@cab.example") if "Stop work" in str(m["Subject"]))
    text = stop.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Another service has taken this referral: delete the resident's details." in text
    assert RESIDENT_NAME not in text
    # The lost offer counts neither as a decline nor as a non-response.
    tallies = await agency_tallies(world.sessions, now=datetime.now(UTC))
    assert "cab" not in tallies
    assert (tallies["charity"].received, tallies["charity"].accepted) == (1, 1)


async def test_two_accepts_arriving_together_give_exactly_one_winner(world: World) -> None:
    for _ in range(5):
        handle, legs = await _offered(world)

        async def accept(agency: str, handle: Any = handle, legs: Any = legs) -> bool:
            try:
                await handle.execute_update(
                    ACCEPT_OFFER_UPDATE,
                    OfferAcceptance(leg_id=legs[agency].leg_id, agency_id=agency, actor="a"),
                )
            except WorkflowUpdateFailedError:
                return False
            return True

        results = await asyncio.gather(accept("cab"), accept("charity"))
        assert sorted(results) == [False, True]
        view = await world.until(
            handle,
            lambda v: {leg.state for leg in v.legs} == {LegState.ACCEPTED, LegState.WITHDRAWN},
        )
        winner = next(leg for leg in view.legs if leg.state is LegState.ACCEPTED)
        assert results == [winner.agency_id == "cab", winner.agency_id == "charity"]


async def test_offers_that_all_decline_route_on(world: World) -> None:
    handle, legs = await _offered(world)
    for agency, leg in legs.items():
        await world.client.get_workflow_handle(leg.leg_id).execute_update(
            DECLINE_UPDATE, Decline(agency_id=agency, actor="x", reason="full")
        )
    view = await world.until(handle, lambda v: v.needs[0].state is NeedState.UNALLOCATED)
    assert sorted(view.needs[0].tried_service_ids) == ["cab-debt", "charity-debt"]
    # Declines count as declines: only a lost offer is left out of the figures.
    tallies = await agency_tallies(world.sessions, now=datetime.now(UTC))
    assert [(a, t.received, t.declined) for a, t in sorted(tallies.items())] == [
        ("cab", 1, 1),
        ("charity", 1, 1),
    ]


async def test_a_category_default_offers_a_need_without_an_offer_of_its_own(world: World) -> None:
    policy = Settings(referral_offer_defaults={"benefits_debt": 2}).referral_policy()
    handle = await world.submit(submission(), policy)
    view = await world.until(handle, lambda v: len(v.legs) == 2)
    assert {(leg.agency_id, leg.offered) for leg in view.legs} == {
        ("cab", True),
        ("charity", True),
    }


def test_a_lost_offer_is_left_out_of_the_response_figures() -> None:
    sent = datetime(2026, 11, 2, 9, tzinfo=UTC)
    due = sent + timedelta(days=5)
    legs = [
        LegFacts(agency_id="cab", state="withdrawn", sent_at=sent, deadline=due, offer_lost=True),
        LegFacts(
            agency_id="cab",
            state="accepted",
            sent_at=sent,
            deadline=due,
            answered_at=sent,
            answer="accepted",
        ),
    ]
    assert [counts_in_statistics(leg) for leg in legs] == [False, True]
    cab = tally(legs, now=due)["cab"]
    assert (cab.received, cab.accepted, cab.declined, cab.late) == (1, 1, 0, 0)


async def test_a_lost_offers_agency_reads_the_referral_without_personal_data(
    world: World, bearer: Callable[..., Awaitable[dict[str, str]]]
) -> None:
    handle, legs = await _offered(world)
    await handle.execute_update(
        ACCEPT_OFFER_UPDATE,
        OfferAcceptance(leg_id=legs["charity"].leg_id, agency_id="charity", actor="c"),
        result_type=LegView,
    )
    cab = await bearer(Role.AGENCY, "cab")
    charity = await bearer(Role.AGENCY, "charity")
    async with serve(world) as api:
        path = f"/api/referrals/{handle.id}"

        async def cab_leg_state() -> str:
            body = await (await api.get(path, headers=cab)).json()
            return str(next(leg["state"] for leg in body["legs"]))

        async with asyncio.timeout(45):
            while await cab_leg_state() != LegState.WITHDRAWN.value:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        # The CAB keeps the number and its own leg's state, not the resident's details.
        lost = await (await api.get(path, headers=cab)).text()
        assert handle.id in lost
        assert RESIDENT_NAME not in lost
        cab_page, _ = await signed_in(world.sessions, "cab-1", Role.AGENCY, "cab")
        page = await (await api.get(f"/referrals/{handle.id}", cookies=cab_page)).text()
        assert "Sign in" not in page
        assert handle.id in page
        assert RESIDENT_NAME not in page
        # The agency that holds the case still reads them.
        assert RESIDENT_NAME in await (await api.get(path, headers=charity)).text()
        charity_page, _ = await signed_in(world.sessions, "ch-1", Role.AGENCY, "charity")
        held = await (await api.get(f"/referrals/{handle.id}", cookies=charity_page)).text()
        assert RESIDENT_NAME in held
