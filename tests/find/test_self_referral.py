"""A resident refers themselves on the website, end to end on the Temporal dev server: the
referral is an ordinary one (same workflow, routing and notices), the confirmation email
carries a signed tracking link, the page follows the agency's answer, and withdrawing consent
there stops the legs and erases the resident's details."""

from __future__ import annotations

import asyncio

import pytest

from store.referrals import get_referral, load_personal_data
from tests.helpers.find_site import TRACK_LINK, accept_first_leg, serve_site
from tests.helpers.find_visitor import Visitor, text_of
from tests.helpers.referral_world import World, eventually

pytestmark = pytest.mark.e2e

RESIDENT = "resident@home.example"
ABOUT = {
    "name": "Edna Pettigrew",
    "dob-day": "14",
    "dob-month": "3",
    "dob-year": "1951",
    "address": "14 Marine Parade East, Clacton",
    "postcode": "co15 6jq",
    "email": RESIDENT,
    "phone": "01255 000000",
    "contact_by": "phone",
    "contact_when": "weekday mornings",
}


async def answer_up_to_consent(visitor: Visitor) -> str:
    await visitor.get("/find/refer")
    await visitor.get("/find/refer/needs")
    await visitor.post(
        "/find/refer/needs",
        [("needs", "benefits_debt"), ("urgency", "urgent"), ("details", "Rent arrears")],
    )
    assert visitor.url.endswith("/find/refer/about-you")
    await visitor.post("/find/refer/about-you", ABOUT)
    assert visitor.url.endswith("/find/refer/consent")
    return text_of(visitor.last)


async def test_refer_yourself_with_consent_then_track_and_withdraw(site_world: World) -> None:
    async with serve_site(site_world) as client:
        visitor = Visitor(client)
        consent = await answer_up_to_consent(visitor)
        # Every agency routing would use for a debt need in Pier ward, in plain words.
        assert "Tendring District Council Housing Services" in consent
        assert "Tendring Citizens Advice" in consent
        assert "your date of birth" in consent
        assert "your phone number" in consent
        await visitor.post("/find/refer/consent", {"consent": "tdc-housing"})
        check = text_of(visitor.last)
        assert "Money and debt" in check
        assert "14 March 1951" in check
        assert "Share with Tendring District Council Housing Services" in check
        assert "Contact you By phone, weekday mornings" in check
        await visitor.post("/find/refer/check", {})
        assert visitor.url.endswith("/find/refer/done")
        done = text_of(visitor.last)
        assert "Request sent" in done
        assert "within 1 working day" in done
        number = done.split("Your reference number ")[1].split(" ")[0]

        stored = await get_referral(site_world.sessions, number)
        assert stored is not None
        assert stored.summary.source == "web_signposting"
        assert stored.submitted_by == "web-signposting"
        assert stored.consent_agency_ids == ["tdc-housing"]
        personal = await load_personal_data(site_world.sessions, number)
        assert personal is not None
        assert personal.resident.postcode == "CO15 6JQ"
        assert "best time: weekday mornings" in personal.need_notes["N1"]

        # The agency is told, as for any referral; the resident gets the confirmation.
        await eventually(lambda: bool(site_world.smtp.to("housing@tendring-dc.example.org")))
        await eventually(lambda: bool(site_world.smtp.to(RESIDENT)))
        confirmation = site_world.smtp.to(RESIDENT)[0]
        text = confirmation.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert number in confirmation["Subject"]
        assert "Edna Pettigrew" in text
        found = TRACK_LINK.search(text)
        assert found is not None
        link = found.group(1)
        assert "Edna" not in link
        assert "CO15" not in link

        tracked = text_of(await visitor.get(link))
        assert "Money and debt" in tracked
        for _ in range(150):  # until the referral has recorded its leg
            if "Sent: waiting for the service" in tracked:
                break
            await asyncio.sleep(0.1)
            tracked = text_of(await visitor.get(link))
        assert "Money and debt Tenancy sustainment Sent: waiting for the service" in tracked

        # The page reads the store, which the referral records as the leg moves.
        await accept_first_leg(site_world, number, "tdc-housing")
        assert "Accepted: the service will contact you" in text_of(await visitor.get(link))

        question = text_of(await visitor.get(f"{link}/withdraw"))
        assert "Are you sure you want to withdraw your consent?" in question
        await visitor.post(f"{link}/withdraw", {})
        after = text_of(visitor.last)
        assert "Your consent is withdrawn" in after
        assert "Your personal details have been deleted" in after
        assert await load_personal_data(site_world.sessions, number) is None
        # The agency is told to stop and delete, exactly as through the API.
        await eventually(
            lambda: any(
                "Stop work" in m["Subject"]
                for m in site_world.smtp.to("housing@tendring-dc.example.org")
            )
        )


async def test_refer_yourself_without_consent_is_signposted(site_world: World) -> None:
    async with serve_site(site_world) as client:
        visitor = Visitor(client)
        await answer_up_to_consent(visitor)
        await visitor.post("/find/refer/consent", {"consent": "none"})
        assert "Nobody: send me the services' contact details" in text_of(visitor.last)
        await visitor.post("/find/refer/check", {})
        done = text_of(visitor.last)
        assert "You did not agree to share your details" in done
        number = done.split("Your reference number ")[1].split(" ")[0]
        stored = await get_referral(site_world.sessions, number)
        assert stored is not None
        assert stored.consent_agency_ids == []
        # Signposted: the resident is emailed the service's contact details; no agency is.
        await eventually(
            lambda: any("Where to get help" in m["Subject"] for m in site_world.smtp.to(RESIDENT))
        )
        signpost = next(
            m for m in site_world.smtp.to(RESIDENT) if "Where to get help" in m["Subject"]
        )
        text = signpost.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        # The service's contact details and its public page, not the staff dashboard.
        assert "Email: housing@tendring-dc.example.org" in text
        assert "/find/services/" in text
        assert f"/referrals/{number}" not in text
        assert site_world.smtp.to("housing@tendring-dc.example.org") == []


async def test_shortlist_emailed_to_yourself(site_world: World) -> None:
    async with serve_site(site_world) as client:
        visitor = Visitor(client)
        await visitor.get("/find/services/cab-benefits-debt")
        await visitor.post("/find/shortlist/add", {"service_id": "cab-benefits-debt"})
        await visitor.post("/find/shortlist/add", {"service_id": "acm-befriending"})
        await visitor.post("/find/shortlist/email", {"email": "me@home.example"})
        assert visitor.url.endswith("/find/shortlist")
        assert "We are emailing your shortlist to me@home.example" in text_of(visitor.last)
        await eventually(lambda: bool(site_world.smtp.to("me@home.example")))
        [message] = site_world.smtp.to("me@home.example")
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Benefits and debt advice" in text
        assert "01255 000101" in text
        assert "Befriending and lunch clubs" in text


async def test_the_same_resident_twice_is_not_told_and_is_flagged_for_staff(
    site_world: World,
) -> None:
    numbers = []
    async with serve_site(site_world) as client:
        for _ in range(2):
            visitor = Visitor(client)
            await answer_up_to_consent(visitor)
            await visitor.post("/find/refer/consent", {"consent": "tdc-housing"})
            await visitor.post("/find/refer/check", {})
            assert visitor.url.endswith("/find/refer/done")
            done = text_of(visitor.last)
            # Anyone can type a name and a date of birth: nothing says another is open.
            assert "already open" not in done
            numbers.append(done.split("Your reference number ")[1].split(" ")[0])
    first, second = numbers
    assert first not in numbers[1:]

    async def flagged() -> bool:
        stored = await get_referral(site_world.sessions, second)
        return stored is not None and any(
            e.kind == "possible_duplicate" and e.detail == first for e in stored.events
        )

    for _ in range(150):
        if await flagged():
            break
        await asyncio.sleep(0.1)
    assert await flagged()


async def test_the_resident_is_asked_about_an_earlier_request_in_plain_words(
    site_world: World,
) -> None:
    async with serve_site(site_world) as client:
        visitor = Visitor(client)
        await visitor.get("/find/refer")
        await visitor.get("/find/refer/needs")
        await visitor.post(
            "/find/refer/needs", [("needs", "benefits_debt"), ("urgency", "routine")]
        )
        about = text_of(visitor.last)
        assert "Have you asked us for help before, and is that request still going on?" in about
        assert "cannot tell you whether we have a request for you" in about
        await visitor.post("/find/refer/about-you", {**ABOUT, "asked_before": "maybe"}, status=400)
        assert "Select whether you have asked us for help before" in text_of(visitor.last)
        await visitor.post("/find/refer/about-you", {**ABOUT, "asked_before": "yes"})
        await visitor.post("/find/refer/consent", {"consent": "tdc-housing"})
        check = text_of(visitor.last)
        assert "An earlier request still open" in check
        await visitor.post("/find/refer/check", {})
        done = text_of(visitor.last)
        # The same words whether or not a request exists: the site never says which.
        assert "A co-ordinator will join the two" in done
        number = done.split("Your reference number ")[1].split(" ")[0]
    personal = await load_personal_data(site_world.sessions, number)
    assert personal is not None
    assert "earlier request of theirs is still open" in personal.need_notes["N1"]
