"""The public website in Debian's Chromium: every page and error state passes axe-core's
WCAG 2.2 AA rules with no violation at desktop width, 320 px and 200 % zoom; the whole
self-referral is done with the keyboard alone, then tracked and withdrawn; and it all works
with JavaScript off. Screenshots land in test-artifacts/screenshots/find-*.png."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from api.app import create_app
from api.referrals import ReferralConfig
from store.db import Sessions
from tests.conftest import StaticTemporal
from tests.helpers.find_checks import check_page
from tests.helpers.find_site import TRACK_LINK, accept_first_leg, find_config, offline_site_app
from tests.helpers.referral_world import World, eventually

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
NARROW = {"viewport": {"width": 320, "height": 640}}
# 200 % zoom of a 1280 px window lays pages out in 640 CSS px at twice the pixel density.
ZOOMED = {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}
RESIDENT = "edna@home.example"


@contextlib.asynccontextmanager
async def serving(app: object) -> AsyncIterator[str]:
    server = TestServer(app)  # type: ignore[arg-type]
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@contextlib.asynccontextmanager
async def offline_site(sessions: Sessions) -> AsyncIterator[str]:
    """The website over the demo borough, with Temporal unreachable (nothing is submitted)."""
    async with serving(await offline_site_app(sessions, find_config())) as site:
        yield site


@contextlib.asynccontextmanager
async def live_site(world: World) -> AsyncIterator[str]:
    """The website over the world's borough and worker, so self-referrals really run."""
    app = create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        referral_config=ReferralConfig(number_prefix=world.prefix),
        find_config=find_config(),
    )
    async with serving(app) as site:
        yield site


async def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until ``selector`` has the focus (it must be reachable by keyboard)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(
            "(s) => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


async def press_on(page: Page, selector: str, key: str = "Enter") -> None:
    """Tab to ``selector`` and press ``key``; Enter follows the link or sends the form."""
    await tab_to(page, selector)
    if key == "Enter":
        async with page.expect_navigation():
            await page.keyboard.press(key)
    else:
        await page.keyboard.press(key)


async def type_into(page: Page, selector: str, text: str) -> None:
    await tab_to(page, selector)
    await page.keyboard.type(text)


async def finder_pages(page: Page, site: str, prefix: str) -> None:
    await page.goto(f"{site}/find/")
    await check_page(page, f"{prefix}-home")
    await page.get_by_label("Postcode or area (optional)").fill("ZZ1 1ZZ")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    await check_page(page, f"{prefix}-home-unknown-postcode")
    await page.get_by_label("What do you need help with?").select_option("benefits_debt")
    await page.get_by_label("Postcode or area (optional)").fill("CO15 6JQ")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("heading", name="3 services for money and debt")).to_be_visible()
    await check_page(page, f"{prefix}-results")
    await page.get_by_role(
        "button", name=re.compile(r"Add to shortlist\W+Benefits and debt advice")
    ).click()
    await page.get_by_role("link", name="Benefits and debt advice").click()
    await expect(page.get_by_role("heading", name="Benefits and debt advice")).to_be_visible()
    await check_page(page, f"{prefix}-service")
    await page.get_by_role("link", name="Your shortlist (1)").click()
    await check_page(page, f"{prefix}-shortlist")
    await page.get_by_label("Email address").fill("not an address")
    await page.get_by_role("button", name="Send the list").click()
    await check_page(page, f"{prefix}-shortlist-email-error")
    await page.goto(f"{site}/find/")
    # The last search is kept in the form: widen it to every service.
    await expect(page.get_by_label("Postcode or area (optional)")).to_have_value("CO15 6JQ")
    await page.get_by_label("What do you need help with?").select_option("")
    await page.get_by_label("Postcode or area (optional)").fill("")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Page 2").click()
    await check_page(page, f"{prefix}-results-page-2")
    for path, name in (
        ("/find/accessibility", "accessibility"),
        ("/find/privacy", "privacy"),
        ("/find/services/no-such-service", "not-found"),
        ("/find/track/not-a-link", "bad-tracking-link"),
    ):
        await page.goto(f"{site}{path}")
        await check_page(page, f"{prefix}-{name}")


async def journey_pages(page: Page, site: str, prefix: str) -> None:
    """Every question page of the self-referral, first with each error shown, then answered."""
    await page.goto(f"{site}/find/refer")
    await check_page(page, f"{prefix}-refer-start")
    await page.get_by_role("button", name="Start now").click()
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("link", name="Select what you need help with")).to_be_visible()
    await check_page(page, f"{prefix}-refer-needs-errors")
    await page.get_by_label("Money and debt").check()
    await page.get_by_label("I need help in the next few days").check()
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("link", name="Enter your full name")).to_be_visible()
    await check_page(page, f"{prefix}-refer-about-errors")
    await page.get_by_label("Year").fill("1951")
    await page.get_by_label("Postcode", exact=True).fill("SW1A 1AA")
    await page.get_by_role("button", name="Continue").click()
    await check_page(page, f"{prefix}-refer-about-more-errors")
    await page.get_by_label("Full name").fill("Edna Pettigrew")
    await page.get_by_label("Day").fill("14")
    await page.get_by_label("Month").fill("3")
    await page.get_by_label("Postcode", exact=True).fill("CO15 6JQ")
    await page.get_by_label("Email address (optional)").fill(RESIDENT)
    await page.get_by_label("By email").check()
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("link", name="Select who we can share")).to_be_visible()
    await check_page(page, f"{prefix}-refer-consent-errors")
    await page.get_by_label("Tendring Citizens Advice").check()
    await check_page(page, f"{prefix}-refer-consent")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    await check_page(page, f"{prefix}-refer-check")
    await page.get_by_role("button", name="Send request").click()
    # Temporal is unreachable here: a calm page, nothing kept, the answers still there.
    await expect(page.get_by_role("heading", name="Sorry, there is a problem")).to_be_visible()
    await check_page(page, f"{prefix}-refer-unavailable")


@pytest.mark.parametrize(
    ("name", "device"), [("desktop", DESKTOP), ("320px", NARROW), ("zoom200", ZOOMED)]
)
async def test_every_page_and_error_state_is_accessible(
    browser: Browser, sessions: Sessions, name: str, device: dict[str, object]
) -> None:
    async with offline_site(sessions) as site:
        context = await browser.new_context(**device)  # type: ignore[arg-type]
        page = await context.new_page()
        await finder_pages(page, site, f"find-{name}")
        await journey_pages(page, site, f"find-{name}")
        await context.close()


async def test_whole_journey_with_the_keyboard_then_tracked_and_withdrawn(
    site_world: World, browser: Browser
) -> None:
    async with live_site(site_world) as site:
        context = await browser.new_context(**DESKTOP)  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(f"{site}/find/")
        await tab_to(page, "#need")
        await page.keyboard.type("Money")
        await type_into(page, "#location", "CO15 6JQ")
        await press_on(page, "button[type=submit]")
        await expect(page.get_by_role("heading", name="3 services")).to_be_visible()
        await press_on(page, "a[href='/find/refer']")
        await press_on(page, "a.govuk-button--start")
        await press_on(page, "#needs", "Space")
        await press_on(page, "#urgency", "ArrowDown")  # the second choice: in a few days
        await type_into(page, "#details", "Rent arrears since May")
        await press_on(page, "main button[type=submit]")
        await type_into(page, "#name", "Edna Pettigrew")
        await type_into(page, "#dob-day", "14")
        await type_into(page, "#dob-month", "3")
        await type_into(page, "#dob-year", "1951")
        await type_into(page, "#address", "14 Marine Parade East, Clacton")
        await type_into(page, "#postcode", "CO15 6JQ")
        await type_into(page, "#email", RESIDENT)
        await type_into(page, "#phone", "01255 000000")
        await press_on(page, "#contact_by", "ArrowDown")  # by phone
        await press_on(page, "main button[type=submit]")
        await expect(page.get_by_role("heading", name="Who can we share")).to_be_visible()
        await press_on(page, "#consent", "Space")  # the council's housing services
        await press_on(page, "main button[type=submit]")
        await expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
        await expect(page.get_by_text("I need help in the next few days")).to_be_visible()
        await expect(page.get_by_text("By phone")).to_be_visible()
        await press_on(page, "main form button[type=submit]")
        await expect(page.get_by_role("heading", name="Request sent")).to_be_visible()
        await check_page(page, "find-keyboard-confirmation")
        number = (await page.locator(".govuk-panel__body strong").inner_text()).strip()

        await eventually(lambda: bool(site_world.smtp.to(RESIDENT)))
        text = site_world.smtp.to(RESIDENT)[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = TRACK_LINK.search(text)
        assert found is not None
        await page.goto(f"{site}{found.group(1)}")
        await expect(page.get_by_role("heading", name="How your request is going")).to_be_visible()
        await check_page(page, "find-tracking")
        sent = page.locator(".govuk-tag", has_text="Sent: waiting for the service to reply")
        sent_class = await sent.get_attribute("class")

        await accept_first_leg(site_world, number, "tdc-housing")
        await page.reload()
        accepted = page.get_by_text("Accepted: the service will contact you")
        await expect(accepted).to_be_visible()
        # Each state has its own colour as well as its own words.
        assert sent_class != await accepted.get_attribute("class")
        for width in (320, 1366):
            await page.set_viewport_size({"width": width, "height": 800})
            await check_page(page, f"find-tracking-accepted-{width}")
        await page.set_viewport_size(DESKTOP["viewport"])
        await check_page(page, "find-tracking-accepted")
        await press_on(page, "a.govuk-button--warning")
        await check_page(page, "find-tracking-withdraw-question")
        await press_on(page, "main form button[type=submit]")
        await expect(page.get_by_text("Your consent is withdrawn")).to_be_visible()
        await check_page(page, "find-tracking-withdrawn")
        await context.close()


async def test_journey_without_javascript_and_without_consent(
    site_world: World, browser: Browser
) -> None:
    async with live_site(site_world) as site:
        context = await browser.new_context(java_script_enabled=False, **DESKTOP)  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(f"{site}/find/refer")
        await page.get_by_role("button", name="Start now").click()
        await page.get_by_label("Feeling lonely").check()
        await page.get_by_label("It can wait a week or two").check()
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("Full name").fill("Albert Finch")
        await page.get_by_label("Postcode", exact=True).fill("CO14 8AA")
        await page.get_by_label("Email address (optional)").fill("albert@home.example")
        await page.get_by_label("Either is fine").check()
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("No, do not share my details").check()
        await page.get_by_role("button", name="Continue").click()
        await expect(
            page.get_by_text("Nobody: send me the services' contact details")
        ).to_be_visible()
        await page.get_by_role("button", name="Send request").click()
        await expect(page.get_by_role("heading", name="Request sent")).to_be_visible()
        await page.screenshot(path="test-artifacts/screenshots/find-nojs-confirmation.png")
        await eventually(
            lambda: any(
                "Where to get help" in m["Subject"]
                for m in site_world.smtp.to("albert@home.example")
            )
        )
        await context.close()
