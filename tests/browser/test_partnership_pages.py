"""In a real browser: a co-ordinator opens a partnership from the list and reads an
indicator's RAG status, on a laptop and on a phone; and, while planning, adds an indicator fed
by referral outcomes with the page's form."""

from __future__ import annotations

import contextlib

import pytest
from playwright.async_api import Browser, expect
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from store.db import Sessions
from store.staff import create_user
from tests.browser.conftest import screenshot
from tests.browser.test_operations_pages import _charts_drawn
from tests.browser.test_referral_pages import PASSWORD, sign_in_as
from tests.helpers.partnership_pages import implementing, planning
from tests.helpers.partnership_support import idle, partnership_worker
from tests.helpers.referral_server import serve_dashboard
from tests.helpers.sinks import SmtpSink

pytestmark = pytest.mark.browser


async def test_coordinator_opens_a_partnership_and_sees_indicator_rag(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    browser: Browser,
) -> None:
    env = time_skipping_env
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await implementing(env, worker)
        await idle(handle)
        async with serve_dashboard(sessions, env.client, worker.task_queue) as site:
            for name, viewport in (
                ("partnership-desktop", {"width": 1366, "height": 900}),
                ("partnership-phone", {"width": 375, "height": 812}),
            ):
                context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
                page = await context.new_page()
                await sign_in_as(page, site, "cora")
                await page.get_by_role("link", name="Partnerships", exact=True).first.click()
                await expect(page.get_by_role("heading", name="Partnerships")).to_be_visible()
                await page.get_by_label("Stage").select_option("implement")
                await page.get_by_role("button", name="Filter").click()
                await page.get_by_role("link", name="Interaction Partnership").click()
                await expect(
                    page.get_by_role("heading", name="Partnership Interaction Partnership")
                ).to_be_visible()
                row = page.get_by_role("row").filter(has_text="Satisfied with the neighbourhood")
                await expect(row).to_contain_text("red")
                await expect(
                    page.get_by_role("row").filter(has_text="benefit claim awards")
                ).to_contain_text("green")
                await expect(page.get_by_role("heading", name="Stages and gates")).to_be_visible()
                await expect(
                    page.get_by_role("link", name="Open in the Temporal UI")
                ).to_have_attribute(
                    "href", f"http://127.0.0.1:8233/namespaces/default/workflows/{handle.id}"
                )
                # Each indicator is charted against its baseline and target, with a table.
                indicators = page.locator(
                    'section[aria-labelledby="indicators"] > table > tbody > tr'
                )
                await expect(page.locator("figure.chart")).to_have_count(await indicators.count())
                await expect(
                    page.get_by_text(
                        "New and backdated benefit claim awards: the figures as a table"
                    )
                ).to_be_visible()
                await _charts_drawn(page, name)
                await screenshot(page, name)
                await context.close()
            with contextlib.suppress(RPCError):
                await handle.terminate()


async def test_coordinator_adds_an_indicator_bound_to_referral_outcomes(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    browser: Browser,
) -> None:
    env = time_skipping_env
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await planning(env, worker)
        await idle(handle)
        pid = handle.id.removeprefix("partnership-")
        async with serve_dashboard(sessions, env.client, worker.task_queue) as site:
            context = await browser.new_context(
                viewport={"width": 1366, "height": 900},
                java_script_enabled=False,  # the form needs none
            )
            page = await context.new_page()
            await sign_in_as(page, site, "cora")
            await page.goto(f"{site}/partnerships/{pid}")
            form = page.locator('section[aria-labelledby="add-outcome"] form')
            await form.get_by_label("Outcome id").fill("more-income")
            await form.get_by_label("Outcome statement").fill("Residents claim what they are owed")
            await form.get_by_label("Indicator id").fill("cab-awards")
            await form.get_by_label("Name").fill("Benefit awards won through referrals")
            await form.get_by_label("Unit", exact=True).fill("GBP")
            await form.get_by_label("Baseline").fill("0")
            await form.get_by_label("Target").fill("a lot")
            await form.get_by_label("Binding").select_option("sum_of_values")
            await form.get_by_label("Unit of the values summed").fill("GBP")
            await form.get_by_label("Pier").check()
            await form.get_by_role("button", name="Add the outcome").click()
            # The refused value is named beside its field; what was entered stays.
            await expect(form.locator("#err-target")).to_contain_text("valid number")
            await expect(form.get_by_label("Pier")).to_be_checked()
            await screenshot(page, "partnership-outcome-form-error")
            await form.get_by_label("Target").fill("50000")
            await form.get_by_role("button", name="Add the outcome").click()
            await expect(page.get_by_role("status")).to_contain_text(
                "Added the indicator Benefit awards won through referrals"
            )
            await expect(
                page.get_by_role("row").filter(has_text="Benefit awards won through referrals")
            ).to_contain_text("Fed by referral outcomes: sum of got help outcome values in GBP")
            await screenshot(page, "partnership-outcome-added")
            await context.close()
            with contextlib.suppress(RPCError):
                await handle.terminate()
