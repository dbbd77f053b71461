"""Every question of the self-referral refuses what it cannot use with a message linked to the
field, keeps what was typed, and never asks twice; the abuse guards turn robots and floods
away calmly and store nothing."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from store.db import Sessions
from store.schema import FindOutboxRow, ReferralRow
from tests.helpers.find_site import find_config, offline_site_client
from tests.helpers.find_visitor import Visitor, text_of

ABOUT = {
    "name": "Edna Pettigrew",
    "postcode": "CO15 6JQ",
    "email": "edna@home.example",
    "contact_by": "email",
}


def summary_links(html: str) -> dict[str, str]:
    """The error summary: field id → message, and each field shows the same message."""
    links = {
        field: unescape(message)
        for field, message in re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', html)
    }
    for field, message in links.items():
        assert f'id="{field}"' in html, field
        assert message in text_of(html)
    return links


async def test_needs_page_errors(visitor: Visitor) -> None:
    await visitor.get("/find/refer/needs")
    html = await visitor.post("/find/refer/needs", {"details": "x" * 1001}, status=400)
    assert summary_links(html) == {
        "needs": "Select what you need help with",
        "urgency": "Select how soon you need help",
        "details": "Tell us more in 1,000 characters or fewer",
    }
    assert "<title>Error: What do you need help with?" in html
    assert 'aria-describedby="needs-hint needs-error"' in html
    # What was typed is shown again, not lost.
    assert "x" * 1001 in html


async def test_about_you_errors(visitor: Visitor) -> None:
    await visitor.get("/find/refer/needs")
    await visitor.post("/find/refer/needs", {"needs": "housing", "urgency": "routine"})
    html = await visitor.post(
        "/find/refer/about-you",
        {"dob-day": "31", "dob-month": "2", "dob-year": "1990", "postcode": "nonsense"},
        status=400,
    )
    assert summary_links(html) == {
        "name": "Enter your full name",
        "dob-day": "Date of birth must be a real date",
        "postcode": "Enter a real postcode, like CO15 6JQ",
        "email": "Enter an email address or a phone number so services can contact you",
        "contact_by": "Select how you would like services to contact you",
    }
    cases = [
        ({"dob-day": "1", "dob-year": "1990"}, "dob-month", "Date of birth must include a month"),
        ({"dob-day": "1", "dob-month": "1", "dob-year": "2999"}, "dob-day", "must be in the past"),
        ({"postcode": "SW1A 1AA"}, "postcode", "We could not find that postcode in the area"),
        ({"email": "edna@"}, "email", "Enter an email address in the correct format"),
        ({"phone": "call me", "contact_by": "phone"}, "phone", "Enter a telephone number"),
        ({"email": "", "phone": "01255 000000"}, "email", "Enter your email address, or choose"),
        ({"name": "n" * 201}, "name", "Full name must be 200 characters or fewer"),
    ]
    for change, field, message in cases:
        html = await visitor.post("/find/refer/about-you", {**ABOUT, **change}, status=400)
        links = summary_links(html)
        assert list(links) == [field], (change, links)
        assert message in links[field]


async def test_consent_errors_and_answers_kept_across_changes(visitor: Visitor) -> None:
    await visitor.get("/find/refer/needs")
    await visitor.post("/find/refer/needs", {"needs": "benefits_debt", "urgency": "routine"})
    await visitor.post("/find/refer/about-you", ABOUT)
    html = await visitor.post("/find/refer/consent", {}, status=400)
    assert summary_links(html) == {
        "consent": "Select who we can share your details with, or select that you do not want "
        "us to share them"
    }
    both = await visitor.post(
        "/find/refer/consent", [("consent", "tdc-housing"), ("consent", "none")], status=400
    )
    assert "not both" in text_of(both)
    await visitor.post("/find/refer/consent", {"consent": "tendring-cab"})
    assert visitor.url.endswith("/find/refer/check")
    # Change links go back with the answers filled in, and return to the check page.
    needs = await visitor.get("/find/refer/needs?change=1")
    assert 'value="benefits_debt" aria-describedby="needs-item-hint" checked' in needs
    await visitor.post(
        "/find/refer/needs?change=1",
        [("needs", "benefits_debt"), ("needs", "social_isolation"), ("urgency", "routine")],
    )
    assert visitor.url.endswith("/find/refer/check")
    about = await visitor.get("/find/refer/about-you?change=1")
    assert 'value="Edna Pettigrew"' in about
    assert 'value="edna@home.example"' in about
    check = text_of(await visitor.get("/find/refer/check"))
    assert "Money and debt, Feeling lonely" in check


async def test_pages_ahead_of_the_answers_send_back(visitor: Visitor) -> None:
    await visitor.get("/find/refer/check")
    assert visitor.last.count("What do you need help with?") >= 1
    await visitor.get("/find/refer/consent")
    assert "What do you need help with?" in visitor.last


async def _complete(visitor: Visitor) -> None:
    await visitor.get("/find/refer/needs")
    await visitor.post("/find/refer/needs", {"needs": "benefits_debt", "urgency": "routine"})
    await visitor.post("/find/refer/about-you", ABOUT)
    await visitor.post("/find/refer/consent", {"consent": "none"})


async def _referrals(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ReferralRow)) or 0)


async def test_honeypot_refuses_calmly_and_stores_nothing(
    visitor: Visitor, sessions: Sessions
) -> None:
    await _complete(visitor)
    html = await visitor.post("/find/refer/check", {"website": "http://spam.example"}, status=400)
    assert "Sorry, we could not accept this request" in html
    assert "Nothing was sent" in html
    assert await _referrals(sessions) == 0


async def test_missing_or_forged_csrf_token_is_refused(
    visitor: Visitor, sessions: Sessions
) -> None:
    await _complete(visitor)
    html = await visitor.post("/find/refer/check", {"csrf_token": "forged"}, status=403)
    assert "This page has expired" in html
    # Without the session cookie, even a once-valid token is refused (a cross-site post).
    token = visitor.csrf
    visitor.client.session.cookie_jar.clear()
    await visitor.post("/find/refer/check", {"csrf_token": token}, status=403)
    assert await _referrals(sessions) == 0


async def test_oversized_form_is_refused(visitor: Visitor) -> None:
    await visitor.get("/find/refer/needs")
    html = await visitor.post("/find/refer/needs", {"details": "x" * 20_000}, status=413)
    assert "That was too much to send" in html


async def test_unavailable_workflow_service_keeps_nothing_and_the_answers(
    visitor: Visitor, sessions: Sessions
) -> None:
    await _complete(visitor)
    html = await visitor.post("/find/refer/check", {}, status=503)
    assert "Nothing was sent" in html
    assert await _referrals(sessions) == 0
    # The answers are still there to send again.
    assert "Edna Pettigrew" in await visitor.get("/find/refer/check")


async def test_submissions_and_emails_are_rate_limited_per_address(sessions: Sessions) -> None:
    limited = find_config(submissions_per_hour=2, emails_per_hour=2)
    async with offline_site_client(sessions, limited) as client:
        visitor = Visitor(client)
        await _complete(visitor)
        for _ in range(2):
            await visitor.post("/find/refer/check", {}, status=503)
        html = await visitor.post("/find/refer/check", {}, status=429)
        assert "Too many requests from your connection" in html
        # Another session from the same address is held to the same count.
        other = Visitor(client)
        client.session.cookie_jar.clear()
        await _complete(other)
        await other.post("/find/refer/check", {}, status=429)

        await other.get("/find/services/cab-benefits-debt")
        await other.post("/find/shortlist/add", {"service_id": "cab-benefits-debt"})
        for recipient in ("a@home.example", "b@home.example"):
            await other.post("/find/shortlist/email", {"email": recipient}, status=503)
        html = await other.post("/find/shortlist/email", {"email": "c@home.example"}, status=429)
        assert "You have asked for too many emails" in html
        bad = await other.post("/find/shortlist/email", {"email": "nope"}, status=400)
        assert "Enter an email address in the correct format" in bad
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(FindOutboxRow)) == 0
    assert await _referrals(sessions) == 0
