"""In a real browser, on pages that carry no JavaScript: a co-ordinator follows "what is
needed next" to a generated form, is told what is wrong in its error summary, puts it right
and is back on the partnership's page; a partner answers from the link in its email, keyboard
only. axe-core finds nothing on each form, nor on its error state, at 1366 and 375 px."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.find.site import FindConfig
from domain.access import Role
from store.db import Sessions
from store.staff import create_user
from tests.browser.test_referral_pages import PASSWORD, sign_in_as
from tests.conftest import StaticTemporal
from tests.helpers import partnership_scenario as sc
from tests.helpers.find_checks import check_page
from tests.helpers.partnership_support import (
    LINK_KEYS,
    PARTNER_LINK_BASE,
    act,
    idle,
    partnership_worker,
    start,
)
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.browser

VIEWPORTS = (("desktop", {"width": 1366, "height": 900}), ("phone", {"width": 375, "height": 812}))


@contextlib.asynccontextmanager
async def dashboard(sessions: Sessions, client: Client, task_queue: str) -> AsyncIterator[str]:
    """The app served for a browser, verifying partners' links with the workers' key."""
    server = TestServer(
        create_app(
            sessions=sessions,
            temporal=StaticTemporal(client),
            task_queue=task_queue,
            find_config=FindConfig(link_keys=LINK_KEYS),
        )
    )
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_a_generated_form_with_an_error_then_done(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    browser: Browser,
) -> None:
    env = time_skipping_env
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        await act(handle, sc.invitations())
        await env.sleep(timedelta(days=8))
        await idle(handle)
        pid = handle.id.removeprefix("partnership-")
        try:
            async with dashboard(sessions, env.client, worker.task_queue) as site:
                for name, viewport in VIEWPORTS:
                    # axe runs as a script; the pages themselves have none to need.
                    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
                    page = await context.new_page()
                    await sign_in_as(page, site, "cora")
                    await page.goto(f"{site}/partnerships/{pid}")
                    needed = page.locator('section[aria-labelledby="next"]')
                    await needed.get_by_role(
                        "link", name=re.compile("Assess the resources")
                    ).click()
                    await expect(
                        page.get_by_role(
                            "heading", name="Record direct, indirect and opportunity costs"
                        )
                    ).to_be_visible()
                    await expect(page.locator("script")).to_have_count(0)
                    await check_page(page, f"action-form-{name}")
                    await page.get_by_label("Direct costs", exact=True).fill("lots")
                    await page.get_by_label("Officer hours").fill("120")
                    await page.get_by_role("button", name="Continue").click()
                    summary = page.locator(".govuk-error-summary")
                    await expect(summary).to_contain_text(
                        "Direct costs must be an amount in pounds"
                    )
                    await expect(page.get_by_label("Officer hours")).to_have_value("120")
                    await check_page(page, f"action-form-error-{name}")
                    await summary.get_by_role("link").first.click()
                    await expect(page).to_have_url(re.compile("#f-assessment-direct_costs_gbp$"))
                    if name == "phone":
                        await page.get_by_label("Direct costs", exact=True).fill("18,000")
                        await page.get_by_role("button", name="Continue").click()
                        await expect(page.get_by_role("status")).to_contain_text(
                            "Done: Record direct, indirect and opportunity costs."
                        )
                    await context.close()
                state = await handle.query(PartnershipWorkflow.state)
                assert state.resources is not None
                assert state.resources.direct_costs_gbp == 18_000

                # A partner answers from its email: no account, keyboard only.
                mail = smtp_sink.to(sc.PARTNERS["essex-police"][1])[-1]
                text = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
                found = re.search(re.escape(PARTNER_LINK_BASE) + r"(/partner/\S+)", text)
                assert found is not None
                context = await browser.new_context(viewport={"width": 1366, "height": 900})
                page = await context.new_page()
                await page.goto(site + found.group(1))
                await expect(
                    page.get_by_role("heading", name="A partner commits to the agreement")
                ).to_be_visible()
                await check_page(page, "partner-link-form")
                kind = page.get_by_label("Staff time")
                await kind.focus()
                await page.keyboard.press("Space")
                await page.keyboard.press("Tab")
                await page.keyboard.type("Neighbourhood officer at meetings")
                for field, value in (
                    ("Hours per month", "6"),
                    ("Signed by", "Chief Inspector, Tendring"),
                ):
                    await page.get_by_label(field).focus()
                    await page.keyboard.press("Control+A")  # over the default 0
                    await page.keyboard.type(value)
                for legend in ("Agrees aims", "Agrees targets", "Agrees evaluation"):
                    group = page.get_by_role("group", name=legend)
                    await group.get_by_label("Yes").focus()
                    await page.keyboard.press("Space")
                await page.get_by_role("button", name="Continue").focus()
                await page.keyboard.press("Enter")
                await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
                await check_page(page, "partner-link-done")
                await context.close()
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                police = state.partner("essex-police")
                assert police is not None
                assert police.commitment is not None
                assert police.commitment.contributions[0].hours_per_month == 6
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate()
