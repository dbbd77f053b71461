"""An agency in Debian's Chromium says its service is full from the dashboard, then declines a
referral for lack of capacity from the worklist: both pages pass axe-core with no violation
at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from domain.referral import LegState
from store.directory import get_service
from tests.browser.test_referral_pages import create_olu_and_cab_1, sign_in_as
from tests.helpers.find_checks import check_page
from tests.helpers.referral_server import serve_dashboard
from tests.helpers.referral_world import World, submission

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [375, 1280])
async def test_an_agency_says_its_room_and_declines_for_lack_of_it(
    world: World, time_skipping_env: WorkflowEnvironment, browser: Browser, width: int
) -> None:
    await create_olu_and_cab_1(world.sessions)
    handle = await world.submit(submission())
    view = await world.until(handle, lambda v: bool(v.legs))
    leg_id = view.legs[0].leg_id
    async with serve_dashboard(world.sessions, time_skipping_env.client, world.task_queue) as site:
        context = await browser.new_context(viewport={"width": width, "height": 800})
        page = await context.new_page()
        try:
            await sign_in_as(page, site, "cab-1")
            await page.get_by_role("link", name="Room for referrals").click()
            await expect(page.get_by_role("heading", name="CAB debt advice")).to_be_visible()
            await check_page(page, f"capacity-{width}")
            places = page.get_by_label("Places available now")
            await places.fill("none")
            await page.get_by_role("button", name="Save CAB debt advice").click()
            await expect(page.get_by_role("alert")).to_contain_text("Not saved")
            await expect(places).to_have_value("none")
            await check_page(page, f"capacity-{width}-error")
            await places.fill("0")
            await page.get_by_role("button", name="Save CAB debt advice").click()
            await expect(page.get_by_role("status")).to_contain_text("CAB debt advice updated")
            await expect(page.get_by_text("Full", exact=True)).to_be_visible()

            await page.get_by_role("link", name="Worklist").click()
            await page.locator(f'summary[aria-label="Decline {leg_id}…"]').click()
            await page.get_by_label(f"Reason for declining {leg_id}").select_option(
                "resident_declined"
            )
            await check_page(page, f"worklist-{width}-decline-reasons")
            await page.get_by_role("button", name=f"Decline {leg_id}").click()
            await expect(page.get_by_role("status")).to_contain_text(f"{leg_id}: declined")
        finally:
            await context.close()
    final = await world.until(handle, lambda v: v.legs[0].state is LegState.DECLINED)
    assert len(final.legs) == 1  # the resident declined: not routed on
    cab = await get_service(world.sessions, "cab-debt")
    assert cab is not None
    assert cab.places_available == 0
