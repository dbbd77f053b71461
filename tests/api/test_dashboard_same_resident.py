"""The dashboard's "refer a resident" journey when a referral for the person is already open:
the question page, adding the need to the open referral, or a new referral confirmed."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from domain.access import Role
from tests.api.test_dashboard_refer import (
    RESIDENT,
    Worker,
    _app,
    _refer_one,
    _signed_in,
    _stored_until,
    demo_world,
    text_of,
)
from tests.helpers.referral_world import World

__all__ = ["demo_world"]
QUESTION = "It looks like a referral for this person is already open"


async def _answer_again(worker: Worker) -> None:
    """The same person, another need, up to sending it."""
    await worker.post("/refer/new", {})
    await worker.post("/refer/resident", {**RESIDENT, "name": "  edna PETTIGREW"})
    await worker.post("/refer/needs", {"needs": "housing"})
    await worker.post(
        "/refer/needs/details", {"urgency-housing": "routine", "notes-housing": "Damp"}
    )
    await worker.post(
        "/refer/consent",
        {
            "agree-tendring-cab": "no",
            "agree-tdc-housing": "yes",
            "method": "verbal",
            "recorded_by": "Sam",
        },
    )
    await worker.post("/refer/told", {"told": "The council will write"})
    await worker.post("/refer/check", {})


async def test_the_referrer_adds_the_need_to_their_open_referral(demo_world: World) -> None:
    async with TestClient(TestServer(_app(demo_world))) as http:
        sam = await _signed_in(demo_world.sessions, http, "sam", Role.REFERRER, None)
        first = await _refer_one(sam, "Edna Pettigrew")

        await _answer_again(sam)
        assert sam.url == "/refer/same-resident", text_of(sam.html)
        page = text_of(sam.html)
        assert QUESTION in page
        assert f"Add this need to referral {first}" in page
        assert "Make a new referral" in page
        assert "<script" not in sam.html

        unanswered = await sam.post("/refer/same-resident", {})
        assert sam.status == 422
        assert "Select whether to add to the open referral or make a new one" in unanswered

        done = await sam.post("/refer/same-resident", {"choice": "add"})
        assert sam.url == "/refer/done", done
        assert "Need added to the open referral" in done
        assert first in done
        stored = await _stored_until(demo_world, first, lambda s: len(s.needs) == 2)
        assert [n.category for n in stored.needs] == ["benefits_debt", "housing"]


async def test_another_referrer_is_not_shown_the_open_referral(demo_world: World) -> None:
    async with TestClient(TestServer(_app(demo_world))) as http:
        sam = await _signed_in(demo_world.sessions, http, "sam", Role.REFERRER, None)
        first = await _refer_one(sam, "Edna Pettigrew")
    async with TestClient(TestServer(_app(demo_world))) as http:
        kim = await _signed_in(demo_world.sessions, http, "kim", Role.REFERRER, None)
        await _answer_again(kim)
        assert kim.url == "/refer/same-resident"
        page = text_of(kim.html)
        assert QUESTION in page
        assert first not in page
        assert "the co-ordinator will see both and link them" in page

        done = await kim.post("/refer/same-resident", {"choice": "new"})
        assert kim.url == "/refer/done", done
        assert "Referral sent" in done
        assert first not in done
