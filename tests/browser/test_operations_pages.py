"""In a real browser, on a laptop (1366 px) and a phone (375 px): operations staff see who
everything waits on and the charts; an agency works its worklist table, accepting inline and
declining in a dialog with JavaScript turned off; the agencies page explains its figures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from domain.referral import STATE_QUERY, LegState, LegView
from store.demo import demo_wards
from store.demo.history import HistoryShape, seed_history, services_of
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_referral_pages import create_olu_and_cab_1, sign_in_as
from tests.helpers.referral_server import serve_dashboard
from tests.helpers.referral_world import World, directory, submission

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}


async def _charts_drawn(page: Page, name: str) -> None:
    """Every chart image on the page loaded and has a text alternative; each is kept as a
    screenshot of its own."""
    images = page.locator("figure.chart img")
    assert await images.count() > 0
    for n in range(await images.count()):
        image = images.nth(n)
        width = await image.evaluate("i => i.decode().then(() => i.naturalWidth, () => 0)")
        assert width > 0, await image.get_attribute("src")
        assert len(await image.get_attribute("alt") or "") > 20
        await image.screenshot(path=str(ARTIFACTS / f"{name}-chart-{n + 1}.png"))


async def test_overview_worklist_and_agencies_at_desktop_and_phone_widths(
    world: World, time_skipping_env: WorkflowEnvironment, browser: Browser
) -> None:
    await create_olu_and_cab_1(world.sessions)
    to_accept = await world.submit(submission())
    to_decline = await world.submit(submission())
    for handle in (to_accept, to_decline):
        await world.until(handle, lambda v: bool(v.legs))
    await seed_history(
        world.sessions,
        HistoryShape(
            referrals=40,
            services=services_of(directory(world.webhooks.url).services),
            wards=[w.id for w in demo_wards()],
            now=datetime.now(UTC),
            days=180,
        ),
    )
    async with serve_dashboard(world.sessions, time_skipping_env.client, world.task_queue) as site:
        for width, viewport in WIDTHS.items():
            context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
            ops = await context.new_page()
            await sign_in_as(ops, site, "olu")
            waiting = ops.get_by_role("table").filter(has_text="Who must act")
            cab = waiting.get_by_role("row").filter(has_text="Citizens Advice")
            await expect(cab.filter(has_text="referrals to accept or decline")).to_have_count(1)
            await expect(ops.get_by_role("heading", name="Referrals at a glance")).to_be_visible()
            await _charts_drawn(ops, f"overview-{width}")
            await screenshot(ops, f"overview-{width}")

            await ops.get_by_role("link", name="Agencies", exact=True).click()
            await expect(
                ops.get_by_role("heading", name="How agencies answer referrals")
            ).to_be_visible()
            await expect(ops.locator("main")).to_contain_text("Not answered in time")
            await _charts_drawn(ops, f"agencies-{width}")
            await screenshot(ops, f"agencies-{width}")

            await ops.goto(f"{site}/referrals?waiting_on=agency&agency=cab")
            await expect(ops.get_by_label("Waiting on")).to_have_value("agency")
            await expect(ops.get_by_role("cell", name=to_accept.id)).to_be_visible()
            await context.close()

        accept_leg, decline_leg = f"{to_accept.id}-L1", f"{to_decline.id}-L1"
        for width, viewport in WIDTHS.items():
            context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
            agency = await context.new_page()
            await sign_in_as(agency, site, "cab-1")
            await agency.get_by_role("link", name="Worklist").click()
            await expect(
                agency.get_by_role("heading", name="Worklist · Citizens Advice")
            ).to_be_visible()
            await expect(agency.get_by_role("list", name="Referrals by state")).to_contain_text(
                "to accept or decline"
            )
            await screenshot(agency, f"worklist-{width}")
            await context.close()

        # Accept inline.
        context = await browser.new_context(viewport=WIDTHS["desktop"])  # type: ignore[arg-type]
        agency = await context.new_page()
        await sign_in_as(agency, site, "cab-1")
        await agency.goto(f"{site}/worklist")
        await agency.get_by_role("button", name=f"Accept {accept_leg}").click()
        await expect(agency.get_by_role("status")).to_contain_text(f"{accept_leg}: accepted")
        await context.close()

        # Decline in the dialog, with JavaScript off: the form works without it.
        context = await browser.new_context(
            viewport=WIDTHS["phone"],  # type: ignore[arg-type]
            java_script_enabled=False,
        )
        agency = await context.new_page()
        await sign_in_as(agency, site, "cab-1")
        await agency.goto(f"{site}/worklist")
        await agency.locator(f'summary[aria-label="Decline {decline_leg}…"]').click()
        await agency.get_by_label(f"Why can you not take {decline_leg}?").fill(
            "No adviser free this month"
        )
        await screenshot(agency, "worklist-decline-dialog-phone")
        await agency.get_by_role("button", name=f"Decline {decline_leg}").click()
        await expect(agency.get_by_role("status")).to_contain_text(f"{decline_leg}: declined")
        await agency.get_by_role("link", name="Recent: finished in the last 30 days").click()
        await expect(agency.get_by_role("rowheader", name=decline_leg)).to_be_visible()
        await context.close()

        client = time_skipping_env.client
        accepted = await client.get_workflow_handle(accept_leg).query(
            STATE_QUERY, result_type=LegView
        )
        declined = await client.get_workflow_handle(decline_leg).query(
            STATE_QUERY, result_type=LegView
        )
        assert (accepted.state, declined.state) == (LegState.ACCEPTED, LegState.DECLINED)
        assert declined.decline_reason == "No adviser free this month"
