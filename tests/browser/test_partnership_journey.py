"""The seed 000 Interaction Partnership in people's hands, in a real browser and through pages
only: a co-ordinator starts it, follows "what is needed next" through every stage's generated
forms to the review's exit decision; two partner agencies answer from the links in their
emails with no account; the Establish stage is done from the keyboard alone. axe-core finds
nothing on each kind of form, nor on its error state; each form is seen at 1366 and 375 px."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from datetime import date, timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from domain.calendar import LONDON
from domain.partnership import DecisionKind, Stage
from store.db import Sessions
from store.staff import create_user
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_partnership_action_pages import dashboard
from tests.browser.test_referral_pages import PASSWORD, sign_in_as
from tests.helpers import partnership_scenario as sc
from tests.helpers.find_checks import check_page
from tests.helpers.partnership_support import PARTNER_LINK_BASE, idle, partnership_worker
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 812}
PID = "interaction"
POLICE, CAB = "essex-police", "tendring-cab"


class Journey:
    """One person's browser tab: the forms it has checked, and the ways it fills them."""

    def __init__(self, page: Page, site: str) -> None:
        self.page = page
        self.site = site
        self.checked: set[str] = set()

    async def follow(self, text: str) -> None:
        """Follow the "what is needed next" link starting with ``text``."""
        section = self.page.locator('section[aria-labelledby="next"]')
        await section.get_by_role("link", name=re.compile("^" + re.escape(text))).first.click()

    async def offered(self, summary: str) -> None:
        """Open one of "everything you can do" now."""
        await self.page.locator("summary", has_text="Everything you can do").click()
        await self.page.get_by_role("link", name=summary, exact=True).click()

    async def arrive(self, kind: str, heading: str, *, errors: bool = True) -> None:
        """On a generated form: the first time, axe at both widths and on its error state
        (asked for by sending it as it came)."""
        page = self.page
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await expect(page.locator("script")).to_have_count(0)
        if kind in self.checked:
            return
        self.checked.add(kind)
        await check_page(page, f"journey-{kind}-1366")
        await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
        await check_page(page, f"journey-{kind}-375")
        await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
        if errors:
            await page.locator('form[novalidate] button[type="submit"]:not([name])').click()
            await expect(page.locator(".govuk-error-summary")).to_contain_text("There is a problem")
            await check_page(page, f"journey-{kind}-error")

    async def send(self, button: str = "Continue") -> None:
        await self.page.get_by_role("button", name=button, exact=True).click()

    async def fill(self, answers: Mapping[str, str | date]) -> None:
        """Type each answer into the input of that name (a date into its three parts)."""
        for name, value in answers.items():
            if isinstance(value, date):
                for part, n in (("day", value.day), ("month", value.month), ("year", value.year)):
                    await self.page.locator(f'[name="{name}-{part}"]').fill(str(n))
            else:
                await self.page.locator(f'[name="{name}"]').fill(value)

    async def pick(self, name: str, value: str) -> None:
        """Tick the radio (or choose the option) ``value`` of ``name``."""
        found = self.page.locator(f'[name="{name}"]')
        shape = await found.first.evaluate("e => e.tagName + ' ' + e.type")
        if shape.startswith("SELECT"):
            await found.select_option(value)
        elif shape in ("INPUT text", "TEXTAREA textarea"):
            await found.fill(value)
        else:
            await self.page.locator(f'[name="{name}"][value="{value}"]').check()

    async def done(self, summary: str) -> None:
        await expect(self.page.get_by_role("status")).to_contain_text(f"Done: {summary}")


async def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the focus is on an element matching ``selector``."""
    for _ in range(120):
        await page.keyboard.press("Tab")
        if await page.evaluate(
            "s => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def type_into(page: Page, name: str, text: str) -> None:
    await tab_to(page, f'[name="{name}"]')
    await page.keyboard.press("Control+A")
    await page.keyboard.type(text)


async def partner_link(smtp: SmtpSink, address: str, subject: str) -> str:
    """The form link in the latest email to ``address`` whose subject has ``subject``, once
    the worker has sent it."""
    for _ in range(100):
        mails = [m for m in smtp.to(address) if subject in str(m["Subject"])]
        if mails:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no email to {address} about {subject!r}")
    mail = mails[-1]
    text = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    found = re.search(re.escape(PARTNER_LINK_BASE) + r"(/partner/\S+)", text)
    assert found is not None, text
    return found.group(1)


async def test_a_partnership_from_creation_to_its_review_decision(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    browser: Browser,
) -> None:
    env = time_skipping_env
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    handle = env.client.get_workflow_handle_for(  # type: ignore[misc]
        PartnershipWorkflow.run, f"partnership-{PID}"
    )
    async with (
        partnership_worker(env.client, sessions, smtp_sink) as worker,
        dashboard(sessions, env.client, worker.task_queue) as site,
    ):
        context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        page = await context.new_page()
        me = Journey(page, site)
        try:
            await sign_in_as(page, site, "cora")
            await negotiate(me, smtp_sink, browser)
            await idle(handle)
            await establish_by_keyboard(me)
            today = (await env.get_current_time()).astimezone(LONDON).date()
            start = today + timedelta(days=1)
            await plan(me, start)
            await idle(handle)
            # A quarter of the plan passes: the first return falls due, the police's action
            # is overdue, and each partner is asked by email.
            await env.sleep(timedelta(days=100))
            await idle(handle)
            await partners_answer_in_implement(site, smtp_sink, browser, start)
            await implement(me, start)
            await review(me, today=(await env.get_current_time()).astimezone(LONDON).date())
            await idle(handle)
            state = await handle.query(PartnershipWorkflow.state)
            assert state.stage is Stage.CLOSED
            assert state.decision is not None
            assert state.decision.kind is DecisionKind.EXIT
            assert [o.chosen for o in state.decision.exit_options] == [False, False, True]
            police, cab = state.partner(POLICE), state.partner(CAB)
            assert police is not None
            assert police.commitment is not None
            assert cab is not None
            assert cab.commitment is not None
            assert [r.quarter for r in state.projects[0].returns] == [1]
            done = {a.id for a in state.actions if a.done_on is not None}
            assert done == {"reach-out", "fly-tipping-patrols"}
            assert [a.title for a in state.actions if a.id not in done] == ["Patrols in Golf Green"]
        finally:
            await context.close()
            with contextlib.suppress(RPCError):
                await handle.terminate()


async def negotiate(me: Journey, smtp: SmtpSink, browser: Browser) -> None:
    page = me.page
    await page.get_by_role("link", name="Partnerships", exact=True).first.click()
    await page.get_by_role("link", name="Start a partnership").click()
    await me.arrive("new", "Start a partnership")
    await me.fill(
        {
            "id": PID,
            "name": "Interaction Partnership",
            "aims.0": "Improve quality of life in Pier and Golf Green wards",
            "coordinator.name": sc.COORDINATOR.name,
            "coordinator.email": sc.COORDINATOR.email,
        }
    )
    await page.get_by_role("button", name="Add another: aims").click()
    await me.fill({"aims.1": "Increase take-up of services by the most disadvantaged residents"})
    await me.pick("strategic", "yes")
    await me.send("Start the partnership")
    await me.done("Start the partnership")
    await expect(page.get_by_role("heading", name="Interaction Partnership")).to_be_visible()

    for n, agency in enumerate((POLICE, CAB)):
        name, email = sc.PARTNERS[agency]
        if n == 0:
            await me.follow("Invite the partners")
        else:
            await me.offered("Invite a partner")
        await me.arrive("invite_partner", "Invite a partner")
        await me.fill(
            {"agency_id": agency, "name": name, "contact.name": name, "contact.email": email}
        )
        await me.send()
        await me.done("Invite a partner")

    await me.follow("Assess the resources")
    await me.arrive("assess_resources", "Record direct, indirect and opportunity costs")
    await me.fill(
        {
            "assessment.direct_costs_gbp": "120,000",
            "assessment.indirect_costs_gbp": "8,000",
            "assessment.opportunity_costs_gbp": "12,000",
            "assessment.officer_hours": "1500",
            "assessment.officer_hourly_rate_gbp": "30",
        }
    )
    await me.send()
    await me.done("Record direct, indirect and opportunity costs")

    answers = {
        1: "Deprivation in the two wards needs every agency; none can do it alone.",
        2: "Agencies agree to plan services for the wards together.",
    }
    for n, answer in answers.items():
        await me.follow(f"Answer key question {n}")
        await me.arrive("answer_key_questions", "Answer key questions")
        await expect(page.locator('[name="answers.0.number"]')).to_have_value(str(n))
        await me.fill({"answers.0.answer": answer})
        await me.send()
        await me.done("Answer key questions")

    await me.follow("Record members' approval")
    await me.arrive("approve_by_members", "Record member approval")
    await me.fill({"approved_by": "Cabinet", "minute_ref": "CAB-2026-114"})
    await me.send()
    await me.done("Record member approval")

    await partners_commit(site=me.site, smtp=smtp, browser=browser)
    await page.reload()
    await me.follow("Everything is in place: leave Negotiate")
    await me.arrive("complete_negotiation", "Leave Negotiate for Establish", errors=False)
    await me.send("Leave Negotiate for Establish")
    await me.done("Leave Negotiate for Establish")


async def partners_commit(*, site: str, smtp: SmtpSink, browser: Browser) -> None:
    """Each partner commits from its invitation: the police by keyboard, the CAB by mouse."""
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(site + await partner_link(smtp, sc.PARTNERS[POLICE][1], "invites"))
    await expect(
        page.get_by_role("heading", name="A partner commits to the agreement")
    ).to_be_visible()
    await check_page(page, "journey-partner-commit-1366")
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await check_page(page, "journey-partner-commit-375")
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    # Tab reaches the first of the radios; the arrow keys move within them.
    await tab_to(page, '[name="contributions.0.kind"][value="money"]')
    await page.keyboard.press("ArrowDown")
    await expect(page.get_by_label("Staff time")).to_be_checked()
    await type_into(page, "contributions.0.description", "Neighbourhood officer at meetings")
    await type_into(page, "contributions.0.hours_per_month", "6")
    for name in ("agrees_aims", "agrees_targets", "agrees_evaluation"):
        await tab_to(page, f'[name="{name}"][value="yes"]')
        await page.keyboard.press("Space")
    await type_into(page, "signed_by", "Chief Inspector, Tendring")
    await tab_to(page, 'form[novalidate] button[type="submit"]:not([name])')
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    await check_page(page, "journey-partner-done")

    await page.goto(site + await partner_link(smtp, sc.PARTNERS[CAB][1], "invites"))
    await page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_contain_text("Add at least one: contributions")
    await check_page(page, "journey-partner-commit-error")
    await page.get_by_label("Money", exact=True).check()
    await page.locator('[name="contributions.0.description"]').fill("Pooled budget")
    await page.locator('[name="contributions.0.value_gbp"]').fill("5,000")
    for legend in ("Agrees aims", "Agrees targets", "Agrees evaluation"):
        await page.get_by_role("group", name=legend).get_by_label("Yes").check()
    await page.locator('[name="signed_by"]').fill("Director, Tendring Citizens Advice")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    await context.close()


async def establish_by_keyboard(me: Journey) -> None:
    """The eight support elements and the co-ordinator, with Tab, Space and Enter only."""
    page = me.page
    for n in range(8):
        await tab_to(page, 'section[aria-labelledby="next"] a[href*="/actions/agree_element"]')
        await page.keyboard.press("Enter")
        await me.arrive("agree_element", "Agree a support element", errors=False)
        if n == 0:
            await tab_to(page, 'form[novalidate] button[type="submit"]:not([name])')
            await page.keyboard.press("Enter")
            await expect(page.locator(".govuk-error-summary")).to_contain_text("Enter document ref")
            await check_page(page, "journey-agree_element-error")
        await type_into(page, "document_ref", f"IP/{n + 1:02d}")
        await tab_to(page, 'form[novalidate] button[type="submit"]:not([name])')
        await page.keyboard.press("Enter")
        await me.done("Agree a support element")

    await tab_to(page, 'section[aria-labelledby="next"] a[href*="/actions/appoint_coordinator"]')
    await page.keyboard.press("Enter")
    await me.arrive("appoint_coordinator", "Appoint the co-ordinator", errors=False)
    await tab_to(page, 'form[novalidate] button[type="submit"]:not([name])')
    await page.keyboard.press("Enter")
    await expect(page.locator(".govuk-error-summary")).to_contain_text("Enter co-ordinator")
    await check_page(page, "journey-appoint_coordinator-error")
    await type_into(page, "coordinator.name", sc.COORDINATOR.name)
    await type_into(page, "coordinator.email", sc.COORDINATOR.email)
    await tab_to(page, 'form[novalidate] button[type="submit"]:not([name])')
    await page.keyboard.press("Enter")
    await me.done("Appoint the co-ordinator")

    await tab_to(page, 'section[aria-labelledby="next"] a[href*="complete_establishment"]')
    await page.keyboard.press("Enter")
    await me.arrive("complete_establishment", "Leave Establish for Plan", errors=False)
    await tab_to(page, 'form[novalidate] button[type="submit"]:not([name])')
    await page.keyboard.press("Enter")
    await me.done("Leave Establish for Plan")


async def plan(me: Journey, start: date) -> None:
    page = me.page
    await me.follow("Add baseline data")
    await me.arrive("record_baseline", "Add baseline data")
    await me.fill(
        {
            "items.0.name": "Fly-tipping incidents",
            "items.0.value": "121",
            "items.0.unit": "incidents",
            "items.0.source": "Environmental services",
            "items.0.as_of": date(2007, 12, 31),
        }
    )
    await page.get_by_role("button", name="Add another: items").click()
    await me.fill(
        {
            "items.1.name": "Satisfied with quality of life",
            "items.1.value": "61",
            "items.1.unit": "%",
            "items.1.source": "Resident satisfaction survey",
            "items.1.as_of": date(2007, 12, 31),
        }
    )
    await me.send()
    await me.done("Add baseline data")

    await me.follow("Record a consultation event")
    await me.arrive("record_consultation", "Record a consultation event")
    await me.fill(
        {
            "event.kind": "action planning event",
            "event.held_on": start - timedelta(days=7),
            "event.participants": "64",
            "event.summary": "Residents and providers on services in the two wards",
        }
    )
    await me.send()
    await me.done("Record a consultation event")

    await me.follow("Set up an action group")
    await me.arrive("add_action_group", "Add an action group")
    await me.fill({"group.id": "work", "group.theme": "Employment & training", "group.lead": "CAB"})
    await me.send()
    await me.done("Add an action group")

    for n, (aid, title, agency, due) in enumerate(
        (
            ("reach-out", "Run the Reach Out door-to-door advice pilot", CAB, 60),
            ("fly-tipping-patrols", "Joint fly-tipping patrols", POLICE, 30),
        )
    ):
        if n == 0:
            await me.follow("Add an action to the plan")
        else:
            await me.offered("Add an action to the plan")
        await me.arrive("add_action", "Add an action to the plan")
        name, email = sc.PARTNERS[agency]
        await me.fill(
            {
                "action.id": aid,
                "action.title": title,
                "action.owner.name": name,
                "action.owner.email": email,
                "action.due": start + timedelta(days=due),
                "action.resources": "Officers' time",
                "action.monitoring": "Monthly counts",
            }
        )
        await me.pick("action.owner_agency_id", agency)
        await me.pick("action.group_id", "work")
        await me.send()
        await me.done("Add an action to the plan")

    # The outcome's form is the partnership page's own, beside the indicators.
    await me.follow("Add a SMART outcome")
    await page.locator("#o-id").fill("better-off")
    await page.locator("#o-statement").fill("Residents are better off, safer and more satisfied")
    await page.locator("#i-id").fill("benefit-awards")
    await page.locator("#i-name").fill("New and backdated benefit claim awards")
    await page.locator("#i-unit").fill("GBP")
    await page.locator("#i-baseline").fill("0")
    await page.locator("#i-target").fill("100000")
    await page.get_by_role("button", name="Add the outcome").click()
    added = page.get_by_role("status").first
    await expect(added).to_contain_text("Added the indicator New and backdated")

    await me.offered("Fund a project")
    await me.arrive("add_funded_project", "Fund a project")
    name, email = sc.PARTNERS[CAB]
    await me.fill(
        {
            "project.id": "vsdp",
            "project.name": "Voluntary Sector Development Project",
            "project.contact.name": "Project lead",
            "project.contact.email": email,
            "project.funding_gbp": "40,000",
            "project.deadline": start + timedelta(days=365),
            "project.target": "Raise the standards of 6 voluntary organisations",
        }
    )
    await me.pick("project.agency_id", CAB)
    await me.send()
    await me.done("Fund a project")

    await me.follow("Everything is in place: approve the plan")
    await me.arrive("approve_plan", "Approve the plan")
    await me.fill({"start": start})
    await me.send()
    await me.done("Approve the plan")
    await page.screenshot(path=str(ARTIFACTS / "journey-implementing.png"))


async def partners_answer_in_implement(
    site: str, smtp: SmtpSink, browser: Browser, start: date
) -> None:
    """The CAB sends its first quarterly return, the police mark their overdue action done."""
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(site + await partner_link(smtp, sc.PARTNERS[CAB][1], "quarterly return 1"))
    await expect(page.get_by_role("heading", name="Submit a quarterly return")).to_be_visible()
    await check_page(page, "journey-partner-return-1366")
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await check_page(page, "journey-partner-return-375")
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    await page.locator('[name="spend_gbp"]').fill("ten thousand")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator(".govuk-error-summary")).to_contain_text("amount in pounds")
    await check_page(page, "journey-partner-return-error")
    await page.locator('[name="spend_gbp"]').fill("9,500")
    await page.locator('[name="progress"]').fill("Four organisations assessed")
    await page.get_by_role("group", name="On target").get_by_label("Yes").check()
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()

    await page.goto(site + await partner_link(smtp, sc.PARTNERS[POLICE][1], "action overdue"))
    await expect(page.get_by_role("heading", name="Mark an action done")).to_be_visible()
    await check_page(page, "journey-partner-action-1366")
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await check_page(page, "journey-partner-action-375")
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator(".govuk-error-summary")).to_contain_text("Enter done on")
    await check_page(page, "journey-partner-action-error")
    done_on = start + timedelta(days=35)
    for part, n in (("day", done_on.day), ("month", done_on.month), ("year", done_on.year)):
        await page.locator(f'[name="done_on-{part}"]').fill(str(n))
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    await context.close()


async def implement(me: Journey, start: date) -> None:
    page = me.page
    await page.goto(f"{me.site}/partnerships/{PID}")
    await me.follow("Action Run the Reach Out")
    await me.arrive("complete_action", "Mark an action done")
    await me.fill({"done_on": start + timedelta(days=50)})
    await me.send()
    await me.done("Mark an action done")

    await me.offered("Record a meeting")
    await me.arrive("record_meeting", "Record a meeting")
    await me.fill(
        {
            "minutes": "Stakeholder meeting 1: Reach Out pilot reported; patrols agreed.",
            "progress": "Both actions done; first return in.",
        }
    )
    for agency in (POLICE, CAB):
        await page.locator(f'[name="attendees"][value="{agency}"]').check()
    await me.fill({"decisions.0": "Extend the patrols to Golf Green"})
    await me.fill({"actions_arising.0.title": "Patrols in Golf Green"})
    await me.pick("actions_arising.0.owner_agency_id", POLICE)
    await me.fill({"actions_arising.0.due": start + timedelta(days=150)})
    await me.send()
    await me.done("Record a meeting")

    await me.offered("Record an indicator's actual")
    await me.arrive("record_indicator_actual", "Record an indicator's actual")
    await me.pick("indicator_id", "benefit-awards")
    await me.fill({"value": "120000"})
    await me.send()
    await me.done("Record an indicator's actual")

    await me.offered("Record a benefit")
    await me.arrive("record_benefit", "Record a benefit")
    await me.fill({"description": "Levered in: Economic Development Programme"})
    await me.fill({"amount_gbp": "280,000"})
    await me.send()
    await me.done("Record a benefit")

    await me.follow("The plan runs until")
    await me.arrive("start_review", "Start the review now", errors=False)
    await me.send("Start the review now")
    await me.done("Start the review now")


OPTIONS = (
    (
        "Retain the existing focus and structure",
        "Rejected: it overlaps the Jaywick Strategic Leadership Group.",
    ),
    (
        "Re-focus solely on Pier Ward",
        "Rejected: too small an area to gain support or justify the management.",
    ),
    (
        "Extend the brief to other deprived areas of Tendring",
        "Agreed: the good practice applies across the district.",
    ),
)


async def review(me: Journey, *, today: date) -> None:
    page = me.page
    await me.offered("Record an annual review")
    await me.arrive("record_annual_review", "Record an annual review")
    await me.pick("kind", "member_scrutiny")
    await me.fill({"held_on": today - timedelta(days=1), "notes": "Scrutiny panel"})
    await me.send()
    await me.done("Record an annual review")

    await me.follow("Decide: continue, rationalise or exit")
    await me.arrive("decide", "Continue, rationalise or exit")
    await me.pick("kind", "exit")
    await me.fill({"reason": "Funding ends in March 2010; the work goes on under Option 3."})
    for n, (name, appraisal) in enumerate(OPTIONS):
        if n:
            await page.get_by_role("button", name="Add another: exit options").click()
        await me.fill({f"exit_options.{n}.name": name, f"exit_options.{n}.appraisal": appraisal})
    # Nothing chosen yet: the partnership's rules refuse it, and say why.
    await me.send()
    await expect(page.locator("#refusal")).to_contain_text("exactly one option")
    await check_page(page, "journey-decide-refused")
    await page.locator('[name="exit_options.2.chosen"][value="yes"]').check()
    await me.send()
    await me.done("Continue, rationalise or exit")
    await page.goto(f"{me.site}/partnerships/{PID}/review")
    await check_page(page, "journey-review-report")
