"""In a real browser: a co-ordinator opens a partnership from the list and reads an
indicator's RAG status, on a laptop and on a phone; while planning, adds an indicator fed by
referral outcomes with the page's form; and records a stakeholder meeting a partner sent
apologies to from its invitation's link, then reads the meeting's page (axe-core at 1366 and
375 px)."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from store.db import Sessions
from store.staff import create_user
from tests.browser.conftest import screenshot
from tests.browser.test_operations_pages import _charts_drawn
from tests.browser.test_partnership_action_pages import VIEWPORTS, dashboard
from tests.browser.test_referral_pages import PASSWORD, sign_in_as
from tests.helpers import partnership_scenario as sc
from tests.helpers.find_checks import check_page
from tests.helpers.partnership_pages import implementing, planning
from tests.helpers.partnership_support import PARTNER_LINK_BASE, idle, partnership_worker
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
                    page.get_by_role("heading", name="Interaction Partnership")
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


async def test_coordinator_records_a_meeting_and_reads_its_page(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    browser: Browser,
) -> None:
    env = time_skipping_env
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await implementing(env, worker)
        # The first meeting's invitations go out ten working days before it.
        await env.sleep(timedelta(days=50))
        await idle(handle)
        pid = handle.id.removeprefix("partnership-")
        due = (await env.get_current_time()).date() + timedelta(days=30)
        async with dashboard(sessions, env.client, worker.task_queue) as site:
            # A partner answers its invitation from the link, without an account.
            mail = next(
                m
                for m in smtp_sink.to(sc.PARTNERS["essex-police"][1])
                if "stakeholder meeting" in m["Subject"]
            )
            text = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
            found = re.search(re.escape(PARTNER_LINK_BASE) + r"(/partner/\S+)", text)
            assert found is not None
            context = await browser.new_context(viewport={"width": 375, "height": 812})
            page = await context.new_page()
            await page.goto(site + found.group(1))
            await expect(
                page.get_by_role("heading", name="Answer a meeting invitation")
            ).to_be_visible()
            await check_page(page, "meeting-answer-form")
            await page.get_by_role("group", name="Attending").get_by_label("No").check()
            await page.get_by_label("Note").fill("On a late shift")
            await page.get_by_role("button", name="Continue").click()
            await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
            await context.close()

            # The co-ordinator records the meeting from its generated form. axe runs as a
            # script; the pages themselves have none to need.
            context = await browser.new_context(viewport={"width": 1366, "height": 900})
            page = await context.new_page()
            await sign_in_as(page, site, "cora")
            await page.goto(f"{site}/partnerships/{pid}/actions/record_meeting")
            await expect(page.locator("script")).to_have_count(0)
            await check_page(page, "meeting-record-form")
            await page.get_by_label("Minutes").fill("Met at the Pier. The patrols are working.")
            attended = page.get_by_role("group", name="Attendees")
            for name in ("Tendring Citizens Advice", "Tendring District Council housing"):
                await attended.get_by_label(name).check()
            await page.get_by_label("Decision 1").fill("Extend the patrols to Golf Green")
            arising = page.get_by_role("group", name="Action arising 1")
            await arising.get_by_label("Title").fill("Map the fly-tipping sites")
            await arising.get_by_label("Essex Police").check()
            await arising.get_by_label("Day").fill(str(due.day))
            await arising.get_by_label("Month").fill(str(due.month))
            await arising.get_by_label("Year").fill(str(due.year))
            await page.get_by_role("button", name="Continue").click()
            await expect(page.get_by_role("status")).to_contain_text("Done: Record a meeting.")
            await page.get_by_role("link", name="Meeting 1", exact=True).click()
            for name, viewport in VIEWPORTS:
                await page.set_viewport_size(viewport)  # type: ignore[arg-type]
                await expect(
                    page.get_by_role("heading", name="Stakeholder meeting 1")
                ).to_be_visible()
                await expect(page.get_by_text("Essex Police: On a late shift")).to_be_visible()
                await expect(page.get_by_text("Extend the patrols to Golf Green")).to_be_visible()
                await expect(
                    page.get_by_role(
                        "link", name=re.compile("Record as done.+Map the fly-tipping sites")
                    )
                ).to_be_visible()
                await expect(page.locator("script")).to_have_count(0)
                await check_page(page, f"meeting-page-{name}")
            await context.close()
        with contextlib.suppress(RPCError):
            await handle.terminate()
