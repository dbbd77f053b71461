"""The dashboard's "refer a resident" journey against the real app, a worker on the
time-skipping server, the demo borough and its postcodes: one thing per page, errors that say
what to put right, check your answers, the number; sent as POST /api/referrals sends it."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from html import unescape
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.referrals import ReferralConfig
from api.web.pages import SESSION_COOKIE, WebConfig
from domain.access import Role
from domain.referral import (
    ACCEPT_UPDATE,
    RECORD_OUTCOME_UPDATE,
    AgencyAction,
    Outcome,
    RecordOutcome,
    ReferralPolicy,
)
from store.db import Sessions
from store.demo import demo_directory, load_demo_postcodes
from store.referrals import get_referral, load_personal_data
from store.schema import ReferralRow
from store.staff import create_user, sign_in
from tests.conftest import StaticTemporal
from tests.helpers.referral_world import World, open_world
from tests.helpers.sinks import SmtpSink, WebhookSink

PASSWORD = "a long enough password"
RESIDENT = {
    "name": "Edna Pettigrew",
    "dob-day": "14",
    "dob-month": "3",
    "dob-year": "1951",
    "address": "14 Marine Parade East, Clacton",
    "postcode": "co15 6jq",
    "phone": "01255 000000",
    "email": "",
    "contact_by": "phone",
    "contact_when": "weekday mornings",
}
_TAGS = re.compile(r"<[^>]+>")


def text_of(html: str) -> str:
    """A page's words, one space apart."""
    return " ".join(unescape(_TAGS.sub(" ", html)).split())


@pytest_asyncio.fixture
async def demo_world(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> AsyncIterator[World]:
    """The demo borough with its postcode sectors and a running referral worker."""
    await load_demo_postcodes(sessions)
    async with open_world(
        time_skipping_env.client, sessions, smtp_sink, webhook_sink, borough=demo_directory()
    ) as world:
        yield world


class Worker:
    """A signed-in dashboard user's browser: cookies, the CSRF token, the last page."""

    def __init__(self, http: TestClient[Any, Any], csrf: str) -> None:
        self.http, self.csrf = http, csrf
        self.status, self.url, self.html = 0, "", ""

    async def get(self, path: str) -> str:
        resp = await self.http.get(path)
        self.status, self.url, self.html = resp.status, str(resp.url.path), await resp.text()
        return text_of(self.html)

    async def post(self, path: str, fields: list[tuple[str, str]] | dict[str, str]) -> str:
        items = list(fields.items()) if isinstance(fields, dict) else list(fields)
        resp = await self.http.post(path, data=[("csrf_token", self.csrf), *items])
        self.status, self.url, self.html = resp.status, str(resp.url.path), await resp.text()
        return text_of(self.html)


async def _signed_in(
    sessions: Sessions, http: TestClient[Any, Any], name: str, role: Role, agency: str | None
) -> Worker:
    await create_user(sessions, username=name, password=PASSWORD, role=role, agency_id=agency)
    signed = await sign_in(sessions, username=name, password=PASSWORD, remote="t")
    assert signed is not None
    cookie, user = signed
    http.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie})
    return Worker(http, user.csrf_token)


def _app(world: World) -> Any:
    return create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        web_config=WebConfig(secure_cookies=False),
    )


async def _referrals(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ReferralRow)) or 0)


async def answer_up_to_check(worker: Worker) -> str:
    """Start, answer every page as a Reach Out worker would, and land on the check page."""
    await worker.get("/refer")
    assert "Refer a resident" in text_of(worker.html)
    await worker.post("/refer/new", {})
    assert worker.url == "/refer/resident"
    await worker.post("/refer/resident", RESIDENT)
    assert worker.url == "/refer/needs", text_of(worker.html)
    await worker.post("/refer/needs", [("needs", "benefits_debt"), ("needs", "housing")])
    assert worker.url == "/refer/needs/details"
    await worker.post(
        "/refer/needs/details",
        {
            "urgency-benefits_debt": "urgent",
            "notes-benefits_debt": "Rent arrears since May",
            "urgency-housing": "routine",
            "notes-housing": "Damp in the back bedroom",
        },
    )
    assert worker.url == "/refer/consent"
    consent = text_of(worker.html)
    assert "Tendring Citizens Advice" in consent
    assert "Tendring District Council Housing Services" in consent
    return consent


async def test_a_reach_out_worker_refers_a_resident_without_javascript(
    demo_world: World,
) -> None:
    async with TestClient(TestServer(_app(demo_world))) as http:
        worker = await _signed_in(demo_world.sessions, http, "sam", Role.REFERRER, None)
        await answer_up_to_consent_errors(worker)
        await worker.post(
            "/refer/consent",
            {
                "agree-tendring-cab": "yes",
                "agree-tdc-housing": "no",
                "method": "written",
                "recorded_by": "Sam Okafor",
            },
        )
        assert worker.url == "/refer/told", text_of(worker.html)
        await worker.post("/refer/told", {"told": ""})
        assert worker.status == 400
        assert "Enter what the resident was told" in text_of(worker.html)
        await worker.post("/refer/told", {"told": "Citizens Advice will phone within a week"})
        assert worker.url == "/refer/check"
        check = text_of(worker.html)
        assert "Edna Pettigrew" in check
        assert "14 March 1951" in check
        assert "CO15 6JQ" in check
        assert "Urgent: in the next few days. Rent arrears since May" in check
        assert "Agreed to share with Tendring Citizens Advice" in check
        assert "Did not agree to Tendring District Council Housing Services" in check
        assert "How On a signed form" in check
        assert "Recorded by Sam Okafor" in check

        # A change from the check page comes back to it.
        await worker.get("/refer/told?change=1")
        await worker.post("/refer/told?change=1", {"told": "CAB will phone you this week"})
        assert worker.url == "/refer/check"
        assert "CAB will phone you this week" in text_of(worker.html)

        await worker.post("/refer/check", {})
        assert worker.url == "/refer/done", text_of(worker.html)
        done = text_of(worker.html)
        number = done.split("Its number ")[1].split(" ")[0]
        assert number.startswith("TEN-")
        # Sending twice (a double click, a resend) makes no second referral.
        assert await _referrals(demo_world.sessions) == 1

        stored = await get_referral(demo_world.sessions, number)
        assert stored is not None
        assert stored.summary.source == "reach_out"
        assert stored.summary.ward == "pier"
        assert stored.submitted_by == "sam"
        assert stored.consent_agency_ids == ["tendring-cab"]
        assert [(n.category, n.urgency) for n in stored.needs] == [
            ("benefits_debt", "urgent"),
            ("housing", "routine"),
        ]
        async with demo_world.sessions() as session:
            row = await session.get(ReferralRow, number)
        assert row is not None
        assert row.consent["declined_agency_ids"] == ["tdc-housing"]
        assert row.consent["method"] == "written"
        assert row.consent["recorded_by"] == "Sam Okafor"
        personal = await load_personal_data(demo_world.sessions, number)
        assert personal is not None
        assert personal.resident.postcode == "CO15 6JQ"
        notes = personal.need_notes["N1"]
        assert notes.startswith("Rent arrears since May\nContact by phone, best time: weekday")
        assert notes.endswith("The resident was told: CAB will phone you this week")

        # The journey is spent: the check page now starts again, nothing is sent twice.
        await worker.post("/refer/check", {})
        assert worker.url == "/refer/resident"
        assert await _referrals(demo_world.sessions) == 1


async def answer_up_to_consent_errors(worker: Worker) -> None:
    """The journey's pages refuse what is wrong, saying what to put right."""
    await worker.get("/refer/check")
    assert worker.url == "/refer/resident"
    await worker.post("/refer/new", {})
    await worker.post("/refer/resident", {**RESIDENT, "name": "", "postcode": "ZZ99 9ZZ"})
    assert worker.status == 400
    page = text_of(worker.html)
    assert "Enter the resident's full name" in page
    assert "Enter a postcode in the area the partnership covers" in page
    await worker.post("/refer/resident", RESIDENT)
    await worker.post("/refer/needs", {})
    assert worker.status == 400
    assert "Select what the resident needs help with" in text_of(worker.html)
    await answer_up_to_check(worker)
    await worker.post("/refer/needs/details", {"urgency-benefits_debt": "urgent"})
    assert worker.status == 400
    assert "Select how soon the resident needs help with housing" in text_of(worker.html)
    await worker.post(
        "/refer/needs/details",
        {
            "urgency-benefits_debt": "urgent",
            "notes-benefits_debt": "Rent arrears since May",
            "urgency-housing": "routine",
        },
    )
    await worker.post("/refer/consent", {"agree-tendring-cab": "yes", "recorded_by": "Sam"})
    assert worker.status == 400
    page = text_of(worker.html)
    assert "Select how the resident gave their consent" in page
    assert (
        "Select whether the resident agreed to share their details with Tendring District" in page
    )


async def test_the_csrf_token_and_the_role_are_checked(demo_world: World) -> None:
    async with TestClient(TestServer(_app(demo_world))) as http:
        ops = await _signed_in(demo_world.sessions, http, "olu", Role.OPERATIONS, None)
        await ops.get("/refer")
        assert ops.status == 403
        worker = await _signed_in(demo_world.sessions, http, "sam", Role.REFERRER, None)
        resp = await http.post("/refer/resident", data={**RESIDENT, "csrf_token": "wrong"})
        assert resp.status == 403
        assert worker.csrf


async def _refer_one(worker: Worker, name: str) -> str:
    """A one-need referral to Citizens Advice through the journey; its number."""
    await worker.post("/refer/new", {})
    await worker.post("/refer/resident", {**RESIDENT, "name": name})
    await worker.post("/refer/needs", {"needs": "benefits_debt"})
    await worker.post("/refer/needs/details", {"urgency-benefits_debt": "urgent"})
    await worker.post(
        "/refer/consent",
        {
            "agree-tendring-cab": "yes",
            "agree-tdc-housing": "no",
            "method": "verbal",
            "recorded_by": "Sam",
        },
    )
    await worker.post("/refer/told", {"told": "Citizens Advice will phone"})
    await worker.post("/refer/check", {})
    assert worker.url == "/refer/done", text_of(worker.html)
    return text_of(worker.html).split("Its number ")[1].split(" ")[0]


async def _stored_until(world: World, number: str, check: Any) -> Any:
    async with asyncio.timeout(20):
        while True:
            stored = await get_referral(world.sessions, number)
            if stored is not None and check(stored):
                return stored
            await asyncio.sleep(0.1)


async def test_my_referrals_in_words_with_follow_up_withdraw_and_consent_withdrawn(
    demo_world: World,
) -> None:
    app = create_app(
        sessions=demo_world.sessions,
        temporal=StaticTemporal(demo_world.client),
        task_queue=demo_world.task_queue,
        web_config=WebConfig(secure_cookies=False),
        referral_config=ReferralConfig(policy=ReferralPolicy(follow_up_after_days=0)),
    )
    async with TestClient(TestServer(app)) as http:
        worker = await _signed_in(demo_world.sessions, http, "sam", Role.REFERRER, None)
        helped = await _refer_one(worker, "Edna Pettigrew")
        stopped = await _refer_one(worker, "Albert Rose")
        erased = await _refer_one(worker, "Mary Jones")
        for number in (helped, stopped, erased):
            await _stored_until(demo_world, number, lambda s: bool(s.legs))

        mine = await worker.get("/refer/mine")
        assert "3 referrals" in mine
        assert helped in mine
        assert "Tendring Citizens Advice: Waiting for the agency to accept or decline" in mine
        assert "Waits on Tendring Citizens Advice: an answer" in mine
        assert "answer due" in mine
        assert "0 referrals" in await worker.get("/refer/mine?waiting_on=referrer")
        assert "check the filters: status" in await worker.get("/refer/mine?status=lost")

        # The agency takes it, helps and records an outcome: the referrer reads it in words.
        legs = demo_world.client.get_workflow_handle(f"{helped}-L1")
        who = AgencyAction(agency_id="tendring-cab", actor="cab-1")
        await legs.execute_update(ACCEPT_UPDATE, who)
        await _stored_until(demo_world, helped, lambda s: s.legs[0].state == "accepted")
        page = await worker.get(f"/refer/mine/{helped}")
        assert "Accepted: the agency will contact the resident" in page
        assert "outcome due" in page
        assert "Withdraw the referral" in page
        assert "Record the follow-up" not in page
        await legs.execute_update(
            RECORD_OUTCOME_UPDATE,
            RecordOutcome(
                **who.model_dump(), outcome=Outcome(code="got_help", value=1240, unit="GBP")
            ),
        )
        await _stored_until(demo_world, helped, lambda s: s.summary.status == "follow_up")
        assert "1 referral." in await worker.get("/refer/mine?waiting_on=referrer")
        page = await worker.get(f"/refer/mine/{helped}")
        assert "Outcome: Got help: £1,240" in page
        assert "Follow-up due: ask the resident whether it helped" in page
        await worker.post(f"/refer/mine/{helped}/follow-up", {"score": "5"})
        assert worker.status == 400
        assert "Select whether the help made a difference" in text_of(worker.html)
        await worker.post(
            f"/refer/mine/{helped}/follow-up", {"made_difference": "yes", "score": "5"}
        )
        assert "Follow-up recorded" in text_of(worker.html)
        done = await _stored_until(demo_world, helped, lambda s: s.summary.status == "closed")
        assert done.summary.status == "closed"
        # Asked again, the workflow's own rule refuses, beside the form.
        await worker.post(f"/refer/mine/{helped}/withdraw", {"withdraw_reason": "by mistake"})
        assert worker.status == 409

        await worker.post(f"/refer/mine/{stopped}/withdraw", {"withdraw_reason": " "})
        assert worker.status == 400
        await worker.post(f"/refer/mine/{stopped}/withdraw", {"withdraw_reason": "Moved away"})
        assert "Referral withdrawn" in text_of(worker.html)
        await _stored_until(demo_world, stopped, lambda s: s.summary.status == "withdrawn")
        assert "Tendring Citizens Advice: Stopped" in await worker.get(
            "/refer/mine?status=withdrawn"
        )

        await worker.post(
            f"/refer/mine/{erased}/withdraw-consent", {"consent_reason": "Changed her mind"}
        )
        assert "the resident's details are erased" in text_of(worker.html)
        await _stored_until(demo_world, erased, lambda s: s.summary.personal_data_erased)
        assert await load_personal_data(demo_world.sessions, erased) is None

        # Someone else's referral is not there for this referrer.
        other = await _signed_in(demo_world.sessions, http, "kim", Role.REFERRER, None)
        await other.get(f"/refer/mine/{helped}")
        assert other.status == 404
        assert "0 referrals" in await other.get("/refer/mine")


DEVICE_ANSWERS: dict[str, Any] = {
    "name": "Edna Pettigrew",
    "postcode": "co15 6jq",
    "phone": "01255 000000",
    "needs": ["benefits_debt"],
    "urgency": "urgent",
    "notes": "Rent arrears",
    "agreed": ["tendring-cab"],
    "method": "verbal",
    "recorded_by": "Sam",
    "told": "CAB will phone",
    "given_at": "2026-11-02T10:15:00Z",
}


async def test_the_device_key_belongs_to_the_session_and_the_send_validates_again(
    demo_world: World,
) -> None:
    async with TestClient(TestServer(_app(demo_world))) as http:
        worker = await _signed_in(demo_world.sessions, http, "sam", Role.REFERRER, None)
        first = await (await http.get("/refer/app/key")).json()
        assert len(base64.b64decode(first["key"])) == 32
        assert (await (await http.get("/refer/app/key")).json()) == first
        app_page = await worker.get("/refer/app")
        assert worker.status == 200
        assert 'rel="manifest"' in worker.html
        assert "Use the online journey" in app_page
        sw = await http.get("/refer/sw.js")
        assert "connect-src 'self'" in sw.headers["Content-Security-Policy"]
        manifest = await (await http.get("/refer/manifest.webmanifest")).json()
        assert manifest["start_url"] == "/refer/app"

        async def send(body: dict[str, Any], key: str, csrf: str | None = None) -> Any:
            resp = await http.post(
                "/refer/app/send",
                json=body,
                headers={"Idempotency-Key": key, "X-CSRF-Token": csrf or worker.csrf},
            )
            return resp.status, await resp.json()

        assert (await send(DEVICE_ANSWERS, "k1", csrf="wrong"))[0] == 400
        status, refused = await send(
            {**DEVICE_ANSWERS, "postcode": "ZZ99 9ZZ", "agreed": ["gone"], "told": ""}, "k1"
        )
        assert status == 422
        assert [p["field"] for p in refused["problems"]] == ["told", "postcode"]
        status, refused = await send({**DEVICE_ANSWERS, "agreed": ["gone"]}, "k1")
        assert status == 422
        assert refused["problems"] == [
            {"field": "agreed", "message": "not agencies of the directory: gone"}
        ]
        status, made = await send(DEVICE_ANSWERS, "k1")
        assert (status, made["replayed"]) == (201, False)
        status, again = await send(DEVICE_ANSWERS, "k1")
        assert (status, again["replayed"], again["number"]) == (201, True, made["number"])
        assert await _referrals(demo_world.sessions) == 1

        # Another session has another key; a signed-out one gets none.
        await _signed_in(demo_world.sessions, http, "kim", Role.REFERRER, None)
        other = await (await http.get("/refer/app/key")).json()
        assert other["key"] != first["key"]
        http.session.cookie_jar.clear()
        gone = await http.get("/refer/app/key", allow_redirects=False)
        assert gone.status == 303
        assert gone.headers["Location"].startswith("/login")


async def test_the_outreach_log_keeps_a_sessions_figures(demo_world: World) -> None:
    async with TestClient(TestServer(_app(demo_world))) as http:
        worker = await _signed_in(demo_world.sessions, http, "sam", Role.REFERRER, None)
        assert "Log a Reach Out session" in await worker.get("/refer/outreach")
        session = {
            "held_on": "2027-01-04",
            "ward": "pier",
            "area": "Marine Parade, Pier Avenue",
            "doors_knocked": "80",
            "conversations": "41",
            "residents_helped": "21",
            "referrals_made": "7",
        }
        page = await worker.post("/refer/outreach", {**session, "conversations": "90"})
        assert worker.status == 400
        assert "There cannot be more conversations than doors knocked" in page
        page = await worker.post(
            "/refer/outreach", {**session, "doors_knocked": "lots", "area": ""}
        )
        assert worker.status == 400
        assert "Enter the number of doors knocked, a whole number of 0 or more" in page
        assert "Enter the streets or area covered" in page
        page = await worker.post("/refer/outreach", {**session, "ward": "atlantis"})
        assert worker.status == 422
        assert "Select a ward of the borough" in page
        page = await worker.post("/refer/outreach", session)
        assert worker.url == "/refer/outreach"
        assert "Session of 04 January 2027 logged" in page
        assert "04 January 2027, Pier: Marine Parade, Pier Avenue 80, 41, 21, 7" in page
