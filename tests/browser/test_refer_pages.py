"""A Reach Out worker refers a resident from the dashboard in Debian's Chromium: every page
and error state passes axe-core's WCAG 2.2 AA rules with no violation, at desktop width and at
320 px without scrolling sideways; the referral is made, and shows up in "my referrals"."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import delete, select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.web.pages import SESSION_COOKIE, WebConfig
from domain.access import Role
from store.db import Sessions
from store.demo import demo_directory, load_demo_postcodes
from store.referrals import get_referral
from store.schema import OrganisationRow, OutreachSessionRow, ReferralRow, ServiceRow
from store.staff import create_user, sign_out
from tests.conftest import StaticTemporal
from tests.helpers.find_checks import check_page
from tests.helpers.referral_world import World, open_world
from tests.helpers.sinks import SmtpSink, WebhookSink

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
NARROW = {"viewport": {"width": 320, "height": 640}}


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


@contextlib.asynccontextmanager
async def dashboard(world: World) -> AsyncIterator[str]:
    await create_user(
        world.sessions, username="sam", password=PASSWORD, role=Role.REFERRER, display_name="Sam"
    )
    app = create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        web_config=WebConfig(secure_cookies=False),
    )
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def sign_in(page: Page, site: str) -> None:
    await page.goto(f"{site}/refer")
    await page.get_by_label("User name").fill("sam")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Refer a resident")).to_be_visible()


async def continue_(page: Page) -> None:
    await page.get_by_role("button", name="Continue").click()


async def refer(page: Page, site: str, prefix: str) -> str:
    """Every page of the journey, each error state shown and checked, then answered."""
    await check_page(page, f"{prefix}-start")
    await page.get_by_role("button", name="Start now").click()
    await continue_(page)
    await expect(page.get_by_role("link", name="Enter the resident's full name")).to_be_visible()
    await check_page(page, f"{prefix}-resident-errors")
    await page.get_by_label("Full name").fill("Edna Pettigrew")
    await page.get_by_label("Day").fill("14")
    await page.get_by_label("Month").fill("3")
    await page.get_by_label("Year").fill("1951")
    await page.get_by_label("Postcode", exact=True).fill("CO15 6JQ")
    await page.get_by_label("Phone number (optional)").fill("01255 000000")
    await page.get_by_label("By phone").check()
    await check_page(page, f"{prefix}-resident")
    await continue_(page)
    await continue_(page)
    await expect(page.get_by_role("link", name="Select what the resident needs")).to_be_visible()
    await check_page(page, f"{prefix}-needs-errors")
    await page.get_by_label("Money and debt").check()
    await continue_(page)
    await continue_(page)
    await expect(page.get_by_role("link", name="Select how soon")).to_be_visible()
    await check_page(page, f"{prefix}-details-errors")
    await page.get_by_label("Urgent: in the next few days").check()
    await page.get_by_label("Notes on money and debt (optional)").fill("Rent arrears since May")
    await continue_(page)
    await page.get_by_label("Who recorded the consent").fill("")
    await continue_(page)
    await expect(page.get_by_role("link", name="Enter the name of who recorded")).to_be_visible()
    await check_page(page, f"{prefix}-consent-errors")
    for agreed in await page.get_by_label("The resident agreed to share their details").all():
        await agreed.check()
    await page.get_by_label("Verbally, at the door").check()
    await page.get_by_label("Who recorded the consent").fill("Sam")
    await continue_(page)
    await continue_(page)
    await check_page(page, f"{prefix}-told-errors")
    await page.get_by_label("What did you tell the resident?").fill("CAB will phone this week")
    await continue_(page)
    await expect(page.get_by_role("heading", name="Check the referral")).to_be_visible()
    await check_page(page, f"{prefix}-check")
    await page.get_by_role("button", name="Send the referral").click()
    await expect(page.get_by_role("heading", name="Referral sent")).to_be_visible()
    await check_page(page, f"{prefix}-done")
    number = (await page.locator(".govuk-panel__body strong").inner_text()).strip()
    await page.get_by_role("link", name="Follow this referral").click()
    await expect(page.get_by_role("heading", name=f"Referral {number}")).to_be_visible()
    await check_page(page, f"{prefix}-mine-one")
    await page.get_by_role("button", name="Withdraw the referral").click()
    await expect(
        page.get_by_role("link", name="Enter why the referral is withdrawn")
    ).to_be_visible()
    await check_page(page, f"{prefix}-mine-one-errors")
    await page.get_by_role("link", name="My referrals", exact=True).first.click()
    await check_page(page, f"{prefix}-mine")
    await page.get_by_role("link", name="Outreach log").click()
    await page.get_by_role("button", name="Log the session").click()
    await expect(page.get_by_role("link", name="Select the ward")).to_be_visible()
    await check_page(page, f"{prefix}-outreach-errors")
    await page.get_by_label("Ward").select_option(label="Pier")
    await page.get_by_label("Streets or area covered").fill("Marine Parade")
    for label, figure in (("Doors knocked", "80"), ("Conversations", "41")):
        await page.get_by_label(label).fill(figure)
    await page.get_by_label("Residents helped on the spot").fill("21")
    await page.get_by_label("Referrals made").fill("7")
    await page.get_by_role("button", name="Log the session").click()
    await expect(page.get_by_role("heading", name="Sessions you logged")).to_be_visible()
    await check_page(page, f"{prefix}-outreach")
    await page.goto(f"{site}/refer/app")
    await expect(page.get_by_role("button", name="Keep and send")).to_be_visible()
    await check_page(page, f"{prefix}-app")
    return number


@pytest.mark.parametrize(("name", "device"), [("desktop", DESKTOP), ("320px", NARROW)])
async def test_the_journey_online_is_accessible_and_makes_the_referral(
    demo_world: World, browser: Browser, name: str, device: dict[str, object]
) -> None:
    async with dashboard(demo_world) as site:
        context = await browser.new_context(**device)  # type: ignore[arg-type]
        page = await context.new_page()
        try:
            await sign_in(page, site)
            number = await refer(page, site, f"refer-{name}")
        finally:
            await context.close()
    stored = await get_referral(demo_world.sessions, number)
    assert stored is not None
    assert stored.submitted_by == "sam"
    assert stored.summary.source == "reach_out"


PHONE = {"viewport": {"width": 390, "height": 844}}


@contextlib.asynccontextmanager
async def app_on_phone(
    world: World, browser: Browser, ready: str
) -> AsyncIterator[tuple[str, BrowserContext, Page]]:
    """The offline app opened on a phone-sized browser by a signed-in referrer, its service
    worker ready and the button ``ready`` shown."""
    async with dashboard(world) as site:
        context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        page = await context.new_page()
        try:
            await sign_in(page, site)
            await page.goto(f"{site}/refer/app")
            await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            await expect(page.get_by_role("button", name=ready)).to_be_visible()
            yield site, context, page
        finally:
            await context.close()


async def keep(page: Page, name: str, agencies: list[str]) -> None:
    """Answer the app's form for one resident and keep it."""
    await page.get_by_label("Resident's full name").fill(name)
    await page.get_by_label("Postcode").fill("CO15 6JQ")
    await page.get_by_label("Phone number (optional)").fill("01255 000000")
    await page.get_by_label("Money and debt").check()
    await page.get_by_label("Urgent: in the next few days").check()
    for agency in agencies:
        await page.get_by_label(agency, exact=True).check()
    await page.get_by_label("Verbally, at the door").check()
    await page.get_by_label("What did you tell the resident?").fill("An agency will phone")
    await page.get_by_role("button", name="Keep and send").click()


async def _remove_agency(sessions: Sessions, agency_id: str) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(ServiceRow).where(ServiceRow.organisation_id == agency_id))
        await session.execute(delete(OrganisationRow).where(OrganisationRow.id == agency_id))


async def _numbers(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        return sorted((await session.scalars(select(ReferralRow.number))).all())


async def test_offline_referrals_are_kept_encrypted_then_sent_once_each(
    demo_world: World, browser: Browser
) -> None:
    async with app_on_phone(demo_world, browser, "Keep and send") as (site, context, page):
        await check_page(page, "refer-app-online")

        # No signal on the doorstep: three residents referred, kept on the device.
        await context.set_offline(True)
        await keep(page, "Edna Pettigrew", ["Tendring Citizens Advice"])
        await keep(page, "Albert Rose", ["Tendring Citizens Advice", "Open Road Tendring"])
        await keep(page, "Mary Jones", [])
        await expect(page.get_by_text("Waiting for signal")).to_have_count(3)
        await check_page(page, "refer-app-offline-queue")
        # At rest on the device the answers are ciphertext: no name can be read there.
        kept = await page.evaluate(
            """() => new Promise((resolve) => {
              const open = indexedDB.open("refer-app", 1);
              open.onsuccess = () => {
                const get = open.result.transaction("queue").objectStore("queue").getAll();
                get.onsuccess = () => resolve(JSON.stringify(get.result.map(
                  (i) => ({state: i.state, sealed: Array.from(i.sealed || [])}))));
              };
            })"""
        )
        assert "Edna" not in kept
        assert "Pettigrew" not in kept
        assert '"state":"waiting"' in kept
        assert await _numbers(demo_world.sessions) == []

        # The app is closed and opened again, still with no signal: its page is kept.
        await page.close()
        page = await context.new_page()
        await page.goto(f"{site}/refer/app")
        await expect(page.get_by_text("Waiting for signal")).to_have_count(3)
        await expect(page.get_by_text("No signal")).to_be_visible()

        # Meanwhile one agency leaves the directory; then the signal comes back.
        await _remove_agency(demo_world.sessions, "open-road")
        await context.set_offline(False)
        await page.evaluate("window.dispatchEvent(new Event('online'))")
        await expect(page.get_by_text("Sent: number")).to_have_count(2, timeout=20_000)
        await expect(page.get_by_text("Not sent: put these right")).to_have_count(1)
        await expect(page.get_by_text("not agencies of the directory: open-road")).to_be_visible()
        await check_page(page, "refer-app-sent-and-refused")
        sent = await _numbers(demo_world.sessions)
        assert len(sent) == 2
        for number in sent:
            await expect(page.get_by_text(f"Sent: number {number}")).to_be_visible()

        # Put right (the agency unticked) and sent again under the same key: made once.
        await page.get_by_role("button", name="Put referral 2 right").click()
        await expect(page.get_by_label("Resident's full name")).to_have_value("Albert Rose")
        await page.get_by_label("Open Road Tendring", exact=True).uncheck()
        await page.get_by_role("button", name="Keep and send").click()
        await expect(page.get_by_text("Sent: number")).to_have_count(3, timeout=20_000)
        assert len(await _numbers(demo_world.sessions)) == 3

        # An answer lost on the way back: the device sends again, one referral is made.
        dropped = asyncio.Event()

        async def drop_answer(route: Route) -> None:
            await route.fetch()
            await route.abort()
            dropped.set()

        await page.route("**/refer/app/send", drop_answer)
        await keep(page, "Joan Smith", ["Tendring Citizens Advice"])
        await asyncio.wait_for(dropped.wait(), 20)
        await expect(page.get_by_text("Waiting for signal")).to_have_count(1)
        assert len(await _numbers(demo_world.sessions)) == 4
        await page.unroute("**/refer/app/send")
        await page.evaluate("window.dispatchEvent(new Event('online'))")
        await expect(page.get_by_text("Sent: number")).to_have_count(4, timeout=20_000)
        assert len(await _numbers(demo_world.sessions)) == 4

        # The service is busy for a moment: the queue is tried again by itself, no event.
        busy = asyncio.Event()

        async def answer_busy(route: Route) -> None:
            await route.fulfill(
                status=503, content_type="application/json", body='{"error":"busy"}'
            )
            busy.set()

        await page.route("**/refer/app/send", answer_busy)
        await keep(page, "Ivy Clarke", ["Tendring Citizens Advice"])
        await asyncio.wait_for(busy.wait(), 20)
        await expect(page.get_by_text("Waiting for signal")).to_have_count(1)
        await page.unroute("**/refer/app/send")
        await expect(page.get_by_text("Sent: number")).to_have_count(5, timeout=40_000)
        assert len(await _numbers(demo_world.sessions)) == 5
        await check_page(page, "refer-app-all-sent")
        # Each sent referral leads to its page in "my referrals", where its legs move.
        first = (await _numbers(demo_world.sessions))[0]
        await page.get_by_role("link", name=f"how {first} is going").click()
        await expect(page.get_by_role("heading", name=f"Referral {first}")).to_be_visible()


async def _sessions_kept(sessions: Sessions) -> list[tuple[str, int]]:
    async with sessions() as session:
        rows = (await session.scalars(select(OutreachSessionRow))).all()
        return sorted((r.area, r.residents_helped) for r in rows)


async def log_session(page: Page, area: str, doors: str, talked: str, helped: str) -> None:
    """Answer the app's session form and keep it."""
    await page.get_by_label("Date of the session").fill("2026-11-02")
    await page.get_by_label("Ward", exact=True).select_option(label="Pier")
    await page.get_by_label("Streets or area covered").fill(area)
    await page.get_by_label("Doors knocked").fill(doors)
    await page.get_by_label("Conversations").fill(talked)
    await page.get_by_label("Residents helped on the spot").fill(helped)
    await page.get_by_label("Referrals made").fill("1")
    await page.get_by_role("button", name="Log the session").click()


async def test_a_reach_out_session_is_logged_from_the_app_without_signal(
    demo_world: World, browser: Browser
) -> None:
    async with app_on_phone(demo_world, browser, "Log the session") as (site, context, page):
        # Two sessions at the end of a day in the streets, no signal: kept on the device.
        await context.set_offline(True)
        await log_session(page, "Pier Avenue", "40", "22", "19")
        await log_session(page, "Rosemary Road", "10", "12", "3")  # more talks than doors
        await expect(page.get_by_text("Waiting for signal")).to_have_count(2)
        await check_page(page, "refer-app-sessions-offline")
        assert await _sessions_kept(demo_world.sessions) == []

        # Signal again: one is logged once, the other comes back to put right.
        await context.set_offline(False)
        await page.evaluate("window.dispatchEvent(new Event('online'))")
        await expect(page.get_by_text("Session logged")).to_have_count(1, timeout=20_000)
        await expect(
            page.get_by_text("there cannot be more conversations than doors knocked")
        ).to_be_visible()
        assert await _sessions_kept(demo_world.sessions) == [("Pier Avenue", 19)]

        # Put right; its first answer is lost on the way back; sent again, kept once.
        dropped = asyncio.Event()

        async def drop_answer(route: Route) -> None:
            await route.fetch()
            await route.abort()
            dropped.set()

        await page.route("**/refer/app/outreach", drop_answer)
        await page.get_by_role("button", name="Put session 2 right").click()
        await expect(page.get_by_label("Streets or area covered")).to_have_value("Rosemary Road")
        await page.get_by_label("Conversations").fill("8")
        await page.get_by_role("button", name="Log the session").click()
        await asyncio.wait_for(dropped.wait(), 20)
        await page.unroute("**/refer/app/outreach")
        await expect(page.get_by_text("Session logged")).to_have_count(2, timeout=40_000)
        assert await _sessions_kept(demo_world.sessions) == [
            ("Pier Avenue", 19),
            ("Rosemary Road", 3),
        ]
        await check_page(page, "refer-app-sessions-sent")

        # The outreach log page lists both, as if logged there.
        await page.goto(f"{site}/refer/outreach")
        await expect(page.get_by_text("Rosemary Road")).to_be_visible()
        await expect(page.get_by_text("Pier Avenue")).to_be_visible()


async def test_after_the_session_is_revoked_what_the_device_kept_stays_unreadable(
    demo_world: World, browser: Browser
) -> None:
    async with app_on_phone(demo_world, browser, "Keep and send") as (_site, context, page):
        await context.set_offline(True)
        await keep(page, "Edna Pettigrew", ["Tendring Citizens Advice"])
        await expect(page.get_by_text("Waiting for signal")).to_have_count(1)

        # The phone is reported lost: the session is ended on the server.
        cookie = next(c for c in await context.cookies() if c.get("name") == SESSION_COOKIE)
        await sign_out(demo_world.sessions, str(cookie.get("value")))
        await context.set_offline(False)
        await page.evaluate("window.dispatchEvent(new Event('online'))")
        await expect(page.get_by_text("You are signed out")).to_be_visible(timeout=20_000)
        await expect(page.get_by_role("button", name="Keep and send")).to_be_hidden()
        await expect(page.get_by_text("Waiting for signal")).to_have_count(1)
        assert await _numbers(demo_world.sessions) == []
        kept = await page.evaluate(
            """() => new Promise((resolve) => {
              const open = indexedDB.open("refer-app", 1);
              open.onsuccess = () => {
                const get = open.result.transaction("queue").objectStore("queue").getAll();
                get.onsuccess = () => resolve(JSON.stringify(get.result.map(
                  (i) => Array.from(i.sealed || []))));
              };
            })"""
        )
        assert "Edna" not in kept
        assert "Pettigrew" not in kept
        await check_page(page, "refer-app-signed-out")

        # Signed in again, a new session has a new key: the old answers cannot be opened,
        # nothing is sent, and the worker is told to make the referral again.
        await page.get_by_role("link", name="sign in again").click()
        await page.get_by_label("User name").fill("sam")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("Cannot be read")).to_be_visible(timeout=20_000)
        assert await _numbers(demo_world.sessions) == []
        await check_page(page, "refer-app-unreadable")
        await page.get_by_role("button", name="Remove referral 1").click()
        await expect(page.get_by_text("None yet.")).to_be_visible()
