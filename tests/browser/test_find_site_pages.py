"""The public website's own pages in Debian's Chromium at 320 px and 1366 px, each passing
axe-core (WCAG 2.2 AA and the landmark rule) with nothing scrolling sideways: its "Page not
found" page, the accessibility statement and privacy notice from the council's settings, the
shortlist with JavaScript off and after emailing it, the filter panel's errors, the "Exit this
page" button on pages about staying safe, and the safeguarding notice of the self-referral."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from api.find.site import CouncilContacts
from domain.accessibility import Compliance
from domain.capacity import CapacityReport
from store.db import Sessions
from store.directory import report_capacity
from tests.browser.test_find_site import live_site, serving
from tests.helpers.find_checks import check_page
from tests.helpers.find_site import find_config, offline_site_app
from tests.helpers.referral_world import World

pytestmark = pytest.mark.browser

WIDTHS = [320, 1366]
CONTACTS = CouncilContacts(
    email="web-help@borough.example",
    phone="01632 960123",
    address="Civic Centre, 1 High Street, Exampleton EX1 1AA",
    dpo_email="data.protection@borough.example",
    safeguarding_phone="01632 960456",
    compliance=Compliance.PARTIAL,
    known_issues=("Maps of venues have no text alternative.",),
    statement_prepared=date(2026, 3, 3),
    statement_reviewed=date(2026, 11, 4),
)


@contextlib.asynccontextmanager
async def site_at(
    browser: Browser, sessions: Sessions, width: int, **options: object
) -> AsyncIterator[tuple[str, Page]]:
    """The website over the demo borough with the council's contacts above (Temporal
    unreachable), and a browser page ``width`` CSS pixels wide."""
    app = await offline_site_app(sessions, find_config(contacts=CONTACTS))
    async with serving(app) as site:
        context: BrowserContext = await browser.new_context(
            viewport={"width": width, "height": 800},
            **options,  # type: ignore[arg-type]
        )
        try:
            yield site, await context.new_page()
        finally:
            await context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_every_unknown_address_under_find_is_the_sites_own_page(
    browser: Browser, sessions: Sessions, width: int
) -> None:
    async with site_at(browser, sessions, width) as (site, page):
        for path in (
            "/find/no-such-page",
            "/find/refer/no-such-step",
            "/find/services/",
            "/find/track/",
        ):
            response = await page.goto(f"{site}{path}")
            assert response is not None
            assert response.status == 404, path
            assert response.headers["content-type"].startswith("text/html"), path
            await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
            footer = page.get_by_role("contentinfo")
            await expect(footer.get_by_role("link", name="Accessibility statement")).to_be_visible()
            await check_page(page, f"find-{width}-not-found-{path.strip('/').replace('/', '-')}")
        # The API keeps its JSON.
        api = await page.request.get(f"{site}/api/no-such-thing")
        assert api.status == 404
        assert api.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_statements_give_the_councils_contacts_from_every_footer(
    browser: Browser, sessions: Sessions, width: int
) -> None:
    async with site_at(browser, sessions, width) as (site, page):
        for start in ("/find/", "/find/refer", "/find/no-such-page"):
            await page.goto(f"{site}{start}")
            footer = page.get_by_role("contentinfo")
            await expect(footer.get_by_role("link", name=CONTACTS.email)).to_be_visible()
            await expect(footer.get_by_role("link", name=CONTACTS.phone)).to_be_visible()
        await (
            page.get_by_role("contentinfo")
            .get_by_role("link", name="Accessibility statement")
            .click()
        )
        main = page.get_by_role("main")
        await expect(
            main.get_by_role("heading", name="Feedback and contact information")
        ).to_be_visible()
        await expect(
            main.get_by_role("heading", name="Reporting accessibility problems with this website")
        ).to_be_visible()
        await expect(main.get_by_role("link", name=CONTACTS.email).first).to_have_attribute(
            "href", f"mailto:{CONTACTS.email}"
        )
        await expect(main.get_by_role("link", name=CONTACTS.phone).first).to_have_attribute(
            "href", "tel:01632960123"
        )
        await expect(main.get_by_text("in a different format like accessible PDF")).to_be_visible()
        await expect(main.get_by_role("heading", name="Compliance status")).to_be_visible()
        await expect(
            main.get_by_text("This website is partially compliant with the Web Content")
        ).to_be_visible()
        await expect(main.get_by_text("Maps of venues have no text alternative.")).to_be_visible()
        await expect(
            main.get_by_text(
                "This statement was prepared on 3 March 2026. It was last reviewed on "
                "4 November 2026."
            )
        ).to_be_visible()
        await check_page(page, f"find-{width}-accessibility-statement")

        await page.get_by_role("contentinfo").get_by_role("link", name="Privacy notice").click()
        main = page.get_by_role("main")
        await expect(main.get_by_text(f"by post at {CONTACTS.address}")).to_be_visible()
        await expect(
            main.get_by_role("heading", name="Our data protection officer")
        ).to_be_visible()
        await expect(main.get_by_role("link", name=CONTACTS.dpo_email).first).to_have_attribute(
            "href", f"mailto:{CONTACTS.dpo_email}"
        )
        await check_page(page, f"find-{width}-privacy-notice")


async def _shortlist_one(page: Page, site: str) -> None:
    await page.goto(f"{site}/find/")
    await page.get_by_label("What do you need help with?").select_option("benefits_debt")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role(
        "button", name=re.compile(r"Add to shortlist\W+Benefits and debt advice")
    ).first.click()
    await page.get_by_role("link", name="Your shortlist (1)").click()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_shortlist_offers_printing_only_with_javascript(
    browser: Browser, sessions: Sessions, width: int
) -> None:
    async with site_at(browser, sessions, width, java_script_enabled=False) as (site, page):
        await _shortlist_one(page, site)
        await expect(page.get_by_role("heading", name="Your shortlist")).to_be_visible()
        # Scripts cannot run here, so axe runs on the same page below, with them.
        await expect(page.locator("[data-find-print]")).to_be_hidden()
        await page.screenshot(path=f"test-artifacts/screenshots/find-{width}-shortlist-nojs.png")
    async with site_at(browser, sessions, width) as (site, page):
        await _shortlist_one(page, site)
        await expect(page.get_by_role("button", name="Print this page")).to_be_visible()
        await check_page(page, f"find-{width}-shortlist")


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_long_address_in_the_sent_banner_wraps(
    browser: Browser, site_world: World, width: int
) -> None:
    async with live_site(site_world) as site:
        context = await browser.new_context(viewport={"width": width, "height": 800})
        page = await context.new_page()
        await _shortlist_one(page, site)
        address = "edna.pettigrew.of.marine.parade.east@clacton-on-sea.example"
        await page.get_by_label("Email address").fill(address)
        await page.get_by_role("button", name="Send the list").click()
        await expect(
            page.get_by_text(f"We are emailing your shortlist to {address}")
        ).to_be_visible()
        await check_page(page, f"find-{width}-shortlist-sent")
        await context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_filter_panels_errors_are_readable(
    browser: Browser, sessions: Sessions, width: int
) -> None:
    async with site_at(browser, sessions, width) as (site, page):
        await page.goto(f"{site}/find/")
        await page.get_by_role("button", name="Search").click()
        panel = page.locator(".find-filters")
        await panel.get_by_text("More filters").click()
        await panel.get_by_label("Age of the person who needs help (optional)").fill("forty")
        await panel.get_by_role("button", name="Search").click()
        await expect(page.locator("#age-error")).to_be_visible()
        await check_page(page, f"find-{width}-results-age-error")


@pytest.mark.parametrize("width", WIDTHS)
async def test_pages_about_staying_safe_have_exit_this_page(
    browser: Browser, sessions: Sessions, width: int
) -> None:
    async with site_at(browser, sessions, width) as (site, page):
        exit_button = page.get_by_role("button", name="Emergency Exit this page")
        await page.goto(f"{site}/find/")
        await page.get_by_label("What do you need help with?").select_option("community_safety")
        await page.get_by_role("button", name="Search").click()
        await expect(
            page.get_by_role("heading", name=re.compile("for feeling safe"))
        ).to_be_visible()
        await expect(exit_button).to_be_visible()
        await expect(exit_button).to_have_attribute("href", "https://www.bbc.co.uk/weather")
        await check_page(page, f"find-{width}-results-exit-this-page")
        await page.get_by_role(
            "link", name=re.compile(r"Community policing\W+Clacton and Jaywick")
        ).click()
        await expect(exit_button).to_be_visible()
        await check_page(page, f"find-{width}-service-exit-this-page")
        await page.goto(f"{site}/find/services/surestart-family-support")
        await expect(exit_button).to_be_visible()
        # Pages about other needs have none.
        await page.goto(f"{site}/find/")
        await page.get_by_label("What do you need help with?").select_option("benefits_debt")
        await page.get_by_role("button", name="Search").click()
        await expect(
            page.get_by_role("heading", name=re.compile("for money and debt"))
        ).to_be_visible()
        await expect(exit_button).to_have_count(0)
        await page.goto(f"{site}/find/services/cab-benefits-debt")
        await expect(exit_button).to_have_count(0)


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_self_referral_says_it_is_not_for_emergencies_and_who_to_call(
    browser: Browser, sessions: Sessions, width: int
) -> None:
    async with site_at(browser, sessions, width) as (site, page):
        await page.goto(f"{site}/find/refer")
        for step in ("start", "needs"):
            main = page.get_by_role("main")
            await expect(main.get_by_text("This service is not for emergencies.")).to_be_visible()
            await expect(main.get_by_text("call 999")).to_be_visible()
            safeguarding = main.get_by_role("link", name=CONTACTS.safeguarding_phone)
            await expect(safeguarding).to_have_attribute("href", "tel:01632960456")
            await check_page(page, f"find-{width}-refer-{step}-safeguarding")
            if step == "start":
                await page.get_by_role("button", name="Start now").click()


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_full_service_says_so_in_the_results_and_on_its_page(
    browser: Browser, sessions: Sessions, width: int
) -> None:
    async with site_at(browser, sessions, width) as (site, page):
        now = datetime.now(UTC)
        await report_capacity(
            sessions, "surestart-family-support", CapacityReport(full_for_working_days=3), now
        )
        await page.goto(f"{site}/find/services/surestart-family-support")
        await expect(page.get_by_text("This service is full at the moment")).to_be_visible()
        await check_page(page, f"find-{width}-service-full")
        await page.goto(f"{site}/find/")
        await page.get_by_label("What do you need help with?").select_option("family_support")
        await page.get_by_role("button", name="Search").click()
        result = page.locator(".find-result", has_text="Family support workers")
        await expect(result.get_by_text("Full now")).to_be_visible()
        await check_page(page, f"find-{width}-results-with-a-full-service")
