"""In a real browser: operations staff find a breached referral and open its timeline; an
agency user accepts a referral from the worklist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from domain.referral import STATE_QUERY, LegState, LegView, Need
from store.db import Sessions
from store.staff import create_user
from tests.browser.conftest import screenshot
from tests.helpers.referral_server import serve_dashboard
from tests.helpers.referral_world import World, submission

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"


async def sign_in_as(page: Page, site: str, username: str) -> None:
    await page.goto(f"{site}/login")
    await page.get_by_label("User name").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def create_olu_and_cab_1(sessions: Sessions) -> None:
    """Olu of operations staff and cab-1 of the CAB, both signing in with ``PASSWORD``."""
    await create_user(sessions, username="olu", password=PASSWORD, role=Role.OPERATIONS)
    await create_user(
        sessions, username="cab-1", password=PASSWORD, role=Role.AGENCY, agency_id="cab"
    )


async def test_breached_referral_timeline_and_agency_accept(
    world: World, time_skipping_env: WorkflowEnvironment, browser: Browser
) -> None:
    await create_olu_and_cab_1(world.sessions)
    late = await world.submit(submission())
    fresh = await world.submit(submission())
    view = await world.until(late, lambda v: v.next_deadline is not None)
    assert view.next_deadline is not None
    # Let the first referral's response deadline pass without an answer.
    now = await time_skipping_env.get_current_time()
    await time_skipping_env.sleep(view.next_deadline - now + timedelta(hours=1))
    await world.until(late, lambda v: v.breached)
    await world.until(fresh, lambda v: bool(v.legs))

    async with serve_dashboard(world.sessions, time_skipping_env.client, world.task_queue) as site:
        ops = await (await browser.new_context()).new_page()
        await sign_in_as(ops, site, "olu")
        await ops.get_by_role("link", name="Referrals").click()
        await ops.get_by_label("Deadline").select_option("true")
        await ops.get_by_role("button", name="Filter").click()
        await ops.get_by_role("link", name=late.id).click()
        await expect(ops.get_by_role("heading", name=f"Referral {late.id}")).to_be_visible()
        await expect(ops.get_by_text("response deadline breached")).to_be_visible()
        await expect(ops.get_by_role("heading", name="Timeline")).to_be_visible()
        await expect(ops.get_by_text("reminded").first).to_be_visible()
        await screenshot(ops, "breached-referral-timeline")

        agency = await (await browser.new_context()).new_page()
        await sign_in_as(agency, site, "cab-1")
        await agency.get_by_role("link", name="Worklist").click()
        leg_id = f"{fresh.id}-L1"
        await agency.get_by_role("button", name=f"Accept {leg_id}").click()
        await expect(agency.get_by_role("status")).to_contain_text(f"{leg_id}: accepted")
        await screenshot(agency, "agency-worklist-accepted")
        leg = await time_skipping_env.client.get_workflow_handle(leg_id).query(
            STATE_QUERY, result_type=LegView
        )
        assert leg.state is LegState.ACCEPTED


async def test_each_agency_reads_only_the_notes_written_for_it(
    world: World, time_skipping_env: WorkflowEnvironment, browser: Browser
) -> None:
    for username, agency in (("cab-2", "cab"), ("council-2", "council")):
        await create_user(
            world.sessions, username=username, password=PASSWORD, role=Role.AGENCY, agency_id=agency
        )
    await create_user(world.sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    await create_user(world.sessions, username="olu-2", password=PASSWORD, role=Role.OPERATIONS)
    debt, housing = "Rent arrears since May", "Damp flat, child with asthma"
    two = await world.submit(
        submission(
            Need(category="benefits_debt", notes=debt), Need(category="housing", notes=housing)
        )
    )
    await world.until(two, lambda v: len(v.legs) == 2)
    async with serve_dashboard(world.sessions, time_skipping_env.client, world.task_queue) as site:
        for username, shown, hidden in (
            ("cab-2", [debt], [housing]),
            ("council-2", [housing], [debt]),
            ("cora", [debt, housing], []),
            ("olu-2", [], [debt, housing]),
        ):
            page = await (await browser.new_context()).new_page()
            await sign_in_as(page, site, username)
            await page.goto(f"{site}/referrals/{two.id}")
            await expect(page.get_by_role("heading", name=f"Referral {two.id}")).to_be_visible()
            for note in shown:
                await expect(page.get_by_text(note)).to_be_visible()
            for note in hidden:
                await expect(page.get_by_text(note)).to_have_count(0)
            await page.context.close()
