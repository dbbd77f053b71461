"""An agency with no account acts from its notice's links in Debian's Chromium: every link page,
its error state and the calm pages for links that cannot be used pass axe-core with no
violation, at phone and desktop widths, keyboard only where a form is filled in."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from domain.referral import LegState
from tests.api.test_leg_links import CAB, links_in
from tests.helpers.find_checks import check_page
from tests.helpers.referral_server import serve_dashboard
from tests.helpers.referral_world import RESIDENT_NAME, World, eventually, submission

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [375, 1280])
async def test_every_link_page_and_its_error_states_are_accessible(
    world: World, time_skipping_env: WorkflowEnvironment, browser: Browser, width: int
) -> None:
    handle = await world.submit(submission())
    await eventually(lambda: bool(world.smtp.to(CAB)))
    links = links_in(world.smtp.to(CAB)[0])
    async with serve_dashboard(world.sessions, time_skipping_env.client, world.task_queue) as site:
        context = await browser.new_context(viewport={"width": width, "height": 800})
        page = await context.new_page()
        try:
            # The view link: the facts, then the resident's details after the button.
            await page.goto(site + links["See the referral"])
            await expect(page.get_by_role("heading", name="See the referral")).to_be_visible()
            await check_page(page, f"leg-view-{width}")
            await page.get_by_role("button", name="Show the resident's details").click()
            await expect(page.get_by_text(RESIDENT_NAME)).to_be_visible()
            await check_page(page, f"leg-details-{width}")

            # The decline form, refused for want of the rule's words, by keyboard alone.
            await page.goto(site + links["Decline the referral"])
            await check_page(page, f"leg-decline-{width}")
            await page.get_by_label("Not eligible").focus()
            await page.keyboard.press("Space")
            await page.get_by_role("button", name="Decline the referral").focus()
            await page.keyboard.press("Enter")
            await expect(page.locator(".govuk-error-summary")).to_be_visible()
            await expect(page.get_by_label("Not eligible")).to_be_checked()
            await check_page(page, f"leg-decline-{width}-error")

            # Accepting instead: a confirmation page, then thanks and what to do next.
            await page.goto(site + links["Accept the referral"])
            await check_page(page, f"leg-accept-{width}")
            await page.get_by_role("button", name="Accept the referral").click()
            await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
            await check_page(page, f"leg-accepted-{width}")

            # Links that cannot be used get calm pages.
            for name, path in (
                ("used", links["Accept the referral"]),
                ("closed", links["Decline the referral"]),
                ("tampered", links["Accept the referral"][:-4] + "AAAA"),
            ):
                response = await page.goto(site + path)
                assert response is not None
                assert response.status in (404, 410), name
                await check_page(page, f"leg-{name}-{width}")
        finally:
            await context.close()
    view = await world.until(handle, lambda v: v.legs[0].state is LegState.ACCEPTED)
    assert view.legs[0].agency_id == "cab"
