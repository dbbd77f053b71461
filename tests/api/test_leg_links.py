"""An agency acts on a referral from the links in its notice, with a plain HTTP client (no
cookies, no session): each action works once, only for its leg and agency and only while it is
possible; a GET alone changes nothing; every refused case gets a calm page and changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from aiohttp.test_utils import TestClient
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from domain.leg_link import LegLink, LinkAction, form_token, leg_link_token
from domain.signed_link import LinkKeys
from store.audit import read_audit
from store.db import Sessions
from tests.helpers.referral_api import Headers, ReferralApi, run_api
from tests.helpers.referral_world import LINK_KEYS, RESIDENT_NAME, eventually
from tests.helpers.sinks import SmtpSink, WebhookSink

CAB = "intake@cab.example"
LINK = re.compile(r"^- ([^:]+): http://[^/\s]+(/leg/\S+)$", re.M)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def links_in(message: EmailMessage) -> dict[str, str]:
    """The notice's links by their words, as paths on the API."""
    part = message.get_body(("plain",))
    assert part is not None
    return dict(LINK.findall(str(part.get_content()).replace("\r\n", "\n")))


async def notice_to_cab(api: ReferralApi, subject: str) -> EmailMessage:
    await eventually(lambda: any(subject in str(m["Subject"]) for m in api.world.smtp.to(CAB)))
    return next(m for m in api.world.smtp.to(CAB) if subject in str(m["Subject"]))


async def leg_state(api: ReferralApi, number: str, referrer: Headers) -> str:
    return str((await api.referral(number, referrer))["legs"][0]["state"])


async def post(http: TestClient, path: str, **fields: str) -> tuple[int, str, str]:
    """GET the page, then POST its form with ``fields``: status, page, redirect target."""
    page = await http.get(path)
    found = CSRF.search(await page.text())
    assert found is not None, await page.text()
    resp = await http.post(
        path, data={"csrf_token": found.group(1), **fields}, allow_redirects=False
    )
    return resp.status, await resp.text(), resp.headers.get("Location", "")


async def test_an_agency_accepts_and_records_the_outcome_from_its_notice(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async def body(api: ReferralApi) -> None:
        http = api.http
        referrer = await api.user(Role.REFERRER, "reach-out-1")
        number = await api.submit(referrer)
        links = links_in(await notice_to_cab(api, "New referral"))
        assert list(links) == [
            "See the referral",
            "Accept the referral",
            "Decline the referral",
            "Say how many places you have",
        ]

        # Opening a link changes nothing, and shows no personal data.
        opened = await http.get(links["Accept the referral"])
        page = await opened.text()
        assert opened.status == 200
        assert "Accept the referral" in page
        assert number in page
        assert RESIDENT_NAME not in page
        assert await leg_state(api, number, referrer) == "sent"
        # A POST without the page's token changes nothing.
        forged = await http.post(links["Accept the referral"], data={}, allow_redirects=False)
        assert forged.status == 403
        assert "Nothing was changed" in await forged.text()
        assert await leg_state(api, number, referrer) == "sent"

        status, _, done = await post(http, links["Accept the referral"])
        assert (status, done) == (303, f"{links['Accept the referral']}?done=1")
        thanks = await (await http.get(done)).text()
        assert "Thank you" in thanks
        assert "You have accepted the referral" in thanks
        await api.until(number, referrer, lambda b: b["legs"][0]["state"] == "accepted")
        # Used once: the same link, and the decline link, no longer do anything.
        again = await http.get(links["Accept the referral"])
        assert again.status == 410
        assert "has been used" in await again.text()
        token = links["Accept the referral"].removeprefix("/leg/")
        resent = await http.post(
            links["Accept the referral"],
            data={"csrf_token": form_token(LINK_KEYS, token)},
            allow_redirects=False,
        )
        assert resent.status == 410
        late = await http.get(links["Decline the referral"])
        assert late.status == 410
        assert "no longer needed" in await late.text()

        # The view link: facts first, the resident's details after a confirming POST, audited.
        view = await http.get(links["See the referral"])
        assert RESIDENT_NAME not in await view.text()
        status, details, _ = await post(http, links["See the referral"])
        assert status == 200
        assert RESIDENT_NAME in details
        assert "Rent arrears since May" in details
        _, events = await read_audit(sessions, subject="link:cab")
        assert [e.action for e in events] == ["read_personal_data"]

        # What next, from a fresh link: record the outcome; a bad value is refused by field.
        outcome = dict(re.findall(r'href="(/leg/[^"]+)">([^<]+)<', details))
        path = next(p for p, words in outcome.items() if words == "Record the outcome")
        status, refused, _ = await post(http, path, code="got_help", value="lots")
        assert status == 422
        assert "govuk-error-summary" in refused
        assert await leg_state(api, number, referrer) == "accepted"
        status, _, done = await post(http, path, code="got_help", value="1240", unit="GBP")
        assert status == 303
        await api.until(number, referrer, lambda b: b["legs"][0]["state"] == "outcome_recorded")
        leg = (await api.referral(number, referrer))["legs"][0]
        assert (leg["outcome_code"], leg["outcome_value"]) == ("got_help", 1240)
        assert (await http.get(path)).status == 410

    await run_api(time_skipping_env, sessions, smtp_sink, webhook_sink, body)


async def test_a_decline_from_the_notice_needs_its_reason_and_steers_the_need(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async def body(api: ReferralApi) -> None:
        referrer = await api.user(Role.REFERRER, "reach-out-1")
        number = await api.submit(referrer)
        path = links_in(await notice_to_cab(api, "New referral"))["Decline the referral"]
        page = await (await api.http.get(path)).text()
        assert "Why are you declining?" in page
        assert "Not eligible" in page
        # "Not eligible" needs the rule in words: refused by field, the leg still sent.
        status, refused, _ = await post(api.http, path, why="not_eligible", reason=" ")
        assert status == 422
        assert 'href="#f-reason"' in refused
        assert await leg_state(api, number, referrer) == "sent"
        status, _, _ = await post(
            api.http, path, why="not_eligible", reason="Only for residents over 60"
        )
        assert status == 303
        # Not eligible: the rule is recorded and the need goes on to the next service.
        seen = await api.until(number, referrer, lambda b: len(b["legs"]) == 2)
        first, second = seen["legs"]
        assert (first["state"], first["decline_reason"]) == (
            "declined",
            "Only for residents over 60",
        )
        assert second["agency_id"] != "cab"
        assert (await api.http.get(path)).status == 410

    await run_api(time_skipping_env, sessions, smtp_sink, webhook_sink, body)


async def test_links_that_are_not_this_legs_or_no_longer_possible_change_nothing(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async def body(api: ReferralApi) -> None:
        http = api.http
        referrer = await api.user(Role.REFERRER, "reach-out-1")
        number = await api.submit(referrer)
        links = links_in(await notice_to_cab(api, "New referral"))
        leg_id = f"{number}-L1"
        later = datetime.now(UTC) + timedelta(days=1)

        def signed(agency: str, action: LinkAction, until: datetime = later) -> str:
            link = LegLink(leg_id=leg_id, agency_id=agency, action=action, expires_at=until)
            return f"/leg/{leg_link_token(LINK_KEYS, link)}"

        tampered = links["Accept the referral"][:-3] + "AAA"
        foreign = LinkKeys.from_secrets(["another deployment's key"])
        cases = {
            "tampered": (tampered, 404, "does not work"),
            "another key": (
                "/leg/"
                + leg_link_token(
                    foreign,
                    LegLink(
                        leg_id=leg_id, agency_id="cab", action=LinkAction.ACCEPT, expires_at=later
                    ),
                ),
                404,
                "does not work",
            ),
            "expired": (
                signed("cab", LinkAction.ACCEPT, datetime.now(UTC) - timedelta(seconds=5)),
                410,
                "expired",
            ),
            "another agency": (signed("council", LinkAction.ACCEPT), 410, "not sent to your"),
            "not possible yet": (signed("cab", LinkAction.START), 410, "not possible now"),
            "another leg": (
                f"/leg/{leg_link_token(LINK_KEYS, LegLink(leg_id=f'{number}-L9', agency_id='cab', action=LinkAction.ACCEPT, expires_at=later))}",  # noqa: E501
                404,
                "no longer exists",
            ),
        }
        for name, (path, status, words) in cases.items():
            for method in ("GET", "POST"):
                resp = await http.request(method, path, data={}, allow_redirects=False)
                text = await resp.text()
                # A POST without the page's token is refused before anything else.
                expected = 403 if method == "POST" else status
                assert resp.status == expected, (name, method, text)
                if method == "GET":
                    assert words in text, name
                assert "Traceback" not in text
        assert await leg_state(api, number, referrer) == "sent"

        # After the resident withdraws consent every link is closed, the view link too.
        coordinator = await api.user(Role.COORDINATOR, "cora")
        resp = await http.post(
            f"/api/referrals/{number}/withdraw-consent",
            json={"reason": "resident phoned"},
            headers=coordinator,
        )
        assert resp.status == 200, await resp.text()
        await api.until(number, referrer, lambda b: b["legs"][0]["state"] == "withdrawn")
        for words in ("See the referral", "Accept the referral", "Decline the referral"):
            resp = await http.get(links[words])
            assert resp.status == 410, words
            assert "no longer needed" in await resp.text()

    await run_api(time_skipping_env, sessions, smtp_sink, webhook_sink, body)


async def test_an_agency_says_its_service_is_full_from_the_notice(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async def body(api: ReferralApi) -> None:
        referrer = await api.user(Role.REFERRER, "reach-out-1")
        await api.submit(referrer)
        path = links_in(await notice_to_cab(api, "New referral"))["Say how many places you have"]
        status, refused, _ = await post(api.http, path, places_available="lots")
        assert status == 422
        assert 'href="#f-places_available"' in refused
        status, _, done = await post(api.http, path, places_available="0")
        assert status == 303
        thanks = await (await api.http.get(done)).text()
        assert "Thank you" in thanks
        # The same figure the capacity API gives; the service is full for routing and finder.
        resp = await api.http.get("/api/services/cab-debt/capacity")
        capacity = await resp.json()
        assert capacity["places_available"] == 0
        assert (await api.http.get(path)).status == 410

    await run_api(time_skipping_env, sessions, smtp_sink, webhook_sink, body)
