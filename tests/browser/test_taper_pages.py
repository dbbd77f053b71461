"""In a real browser: the co-ordinator funds a project year by year from the generated form,
with a row added for each year and no JavaScript; a taper that rises is named beside its
years; the plan for after the funding has its form. axe-core finds nothing at 1366 and 375 px."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from domain.partnership import Policy
from domain.partnership.model import a_year_after
from store.db import Sessions
from store.staff import create_user
from tests.browser.test_partnership_action_pages import VIEWPORTS, dashboard
from tests.browser.test_referral_pages import PASSWORD, sign_in_as
from tests.helpers.find_checks import check_page
from tests.helpers.partnership_support import idle, partnership_worker, start, through_planning
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.browser


async def fill(page: Page, answers: dict[str, str]) -> None:
    for name, value in answers.items():
        await page.locator(f'[name="{name}"]').fill(value)


async def test_a_tapered_project_from_its_form(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    browser: Browser,
) -> None:
    env = time_skipping_env
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker, policy=Policy(plan_years=3))
        pid = handle.id.removeprefix("partnership-")
        first = (await env.get_current_time()).date() + timedelta(days=1)
        await through_planning(handle, first)
        second = a_year_after(first)
        try:
            async with dashboard(sessions, env.client, worker.task_queue) as site:
                for name, viewport in VIEWPORTS:
                    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
                    page = await context.new_page()
                    await sign_in_as(page, site, "cora")
                    await page.goto(f"{site}/partnerships/{pid}/actions/add_funded_project")
                    await expect(page.get_by_role("heading", name="Fund a project")).to_be_visible()
                    await expect(page.locator("script")).to_have_count(0)
                    await check_page(page, f"taper-form-{name}")
                    project = f"{name}-youth"
                    await fill(
                        page,
                        {
                            "project.id": project,
                            "project.name": "Youth diversion",
                            "project.agency_id": "essex-police",
                            "project.contact.name": "Youth lead",
                            "project.contact.email": "youth@police.example",
                            "project.funding_gbp": "40,000",
                            "project.deadline-day": "1",
                            "project.deadline-month": "12",
                            "project.deadline-year": str(second.year + 1),
                            "project.target": "120 young people a year",
                            "project.funding_by_year.0.year_starting-day": str(first.day),
                            "project.funding_by_year.0.year_starting-month": str(first.month),
                            "project.funding_by_year.0.year_starting-year": str(first.year),
                            "project.funding_by_year.0.percent": "50",
                        },
                    )
                    await page.get_by_role("button", name="Add another: funding years").click()
                    await fill(
                        page,
                        {
                            "project.funding_by_year.1.year_starting-day": str(second.day),
                            "project.funding_by_year.1.year_starting-month": str(second.month),
                            "project.funding_by_year.1.year_starting-year": str(second.year),
                            "project.funding_by_year.1.percent": "75",
                        },
                    )
                    await page.get_by_role("button", name="Continue").click()
                    summary = page.locator(".govuk-error-summary")
                    await expect(summary).to_contain_text("funding tapers: 75 %")
                    await expect(
                        page.locator('[name="project.funding_by_year.1.percent"]')
                    ).to_have_value("75")
                    await check_page(page, f"taper-form-error-{name}")
                    await summary.get_by_role("link").first.click()
                    await expect(page).to_have_url(re.compile("#f-project-funding_by_year$"))
                    await fill(page, {"project.funding_by_year.1.percent": "25"})
                    await page.get_by_role("button", name="Continue").click()
                    await expect(page.get_by_role("status")).to_contain_text("Done: Fund a project")

                    await page.goto(f"{site}/partnerships/{pid}/actions/plan_after_funding")
                    await expect(
                        page.get_by_role("heading", name="Plan for when a project's funding ends")
                    ).to_be_visible()
                    await check_page(page, f"after-funding-form-{name}")
                    await context.close()
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                tapered = [p for p in state.projects if p.funding_by_year]
                assert [[s.percent for s in p.funding_by_year] for p in tapered] == [[50, 25]] * 2
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate()
