"""Tapered funding through the pages, over a real workflow on a time-skipping server: the
co-ordinator funds a project year by year from the generated form (a bad taper is named beside
its years), the agency answers the step-down email's link with its plan for after the funding,
and the review page sets each year's planned funding against the spend returned."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.find.site import FindConfig
from domain.access import Role
from domain.partnership import AfterFundingRoute, Policy, SubmitQuarterlyReturn
from domain.partnership.model import a_year_after
from domain.partnership.taper import notice_due
from store.db import Sessions
from tests.api.test_dashboard_partnership_actions import summary_links
from tests.api.test_dashboard_partnerships import csrf_of, signed_in
from tests.api.test_partner_links import body, link_in
from tests.conftest import StaticTemporal
from tests.helpers.partnership_support import (
    LINK_KEYS,
    act,
    idle,
    partnership_worker,
    start,
    through_planning,
)
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

AGENCY = "youth@police.example"


def project_form(years: list[datetime], percents: list[str]) -> dict[str, str]:
    posted = {
        "project.id": "youth-diversion",
        "project.name": "Youth diversion",
        "project.agency_id": "essex-police",
        "project.contact.name": "Youth lead",
        "project.contact.email": AGENCY,
        "project.funding_gbp": "£40,000",
        "project.deadline-day": str(years[-1].day),
        "project.deadline-month": "12",
        "project.deadline-year": str(years[-1].year),
        "project.target": "120 young people a year",
    }
    for n, (year, percent) in enumerate(zip(years, percents, strict=True)):
        posted |= {
            f"project.funding_by_year.{n}.year_starting-day": str(year.day),
            f"project.funding_by_year.{n}.year_starting-month": str(year.month),
            f"project.funding_by_year.{n}.year_starting-year": str(year.year),
            f"project.funding_by_year.{n}.percent": percent,
        }
    return posted


async def test_tapered_funding_from_the_form_to_the_review(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = time_skipping_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker, policy=Policy(plan_years=3))
        pid = handle.id.removeprefix("partnership-")
        base = f"/partnerships/{pid}"
        plan_start = (await env.get_current_time()).date() + timedelta(days=1)
        await through_planning(handle, plan_start)
        days = [plan_start, a_year_after(plan_start), a_year_after(a_year_after(plan_start))]
        years = [datetime.combine(d, datetime.min.time(), UTC) for d in days]
        try:
            app = create_app(
                sessions=sessions,
                temporal=StaticTemporal(env.client),
                task_queue=worker.task_queue,
                find_config=FindConfig(link_keys=LINK_KEYS),
            )
            async with TestClient(TestServer(app)) as site:
                cora = await signed_in(sessions, "cora", Role.COORDINATOR)
                form = await site.get(f"{base}/actions/add_funded_project", cookies=cora)
                html = await form.text()
                assert form.status == 200, html
                assert 'name="project.funding_by_year.0.year_starting-day"' in html
                assert 'name="project.funding_by_year.0.percent"' in html
                assert 'name="project.after_funding.route"' in html
                assert "Funding year 1" in html
                token = csrf_of(html)

                # A taper that rises is refused beside its years, and nothing is funded.
                rising = {**project_form(years, ["50", "75", "25"]), "csrf_token": token}
                refused = await site.post(
                    f"{base}/actions/add_funded_project", data=rising, cookies=cora
                )
                html = await refused.text()
                assert refused.status == 422, html
                assert summary_links(html) == ["f-project-funding_by_year"]
                assert "funding tapers: 75 %" in html
                state = await handle.query(PartnershipWorkflow.state)
                assert [p.id for p in state.projects] == ["vsdp"]

                good = {**project_form(years, ["100", "75", "50"]), "csrf_token": token}
                done = await site.post(
                    f"{base}/actions/add_funded_project",
                    data=good,
                    cookies=cora,
                    allow_redirects=False,
                )
                assert done.status == 303, await done.text()
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                project = state.projects[-1]
                assert [s.percent for s in project.funding_by_year] == [100, 75, 50]
                assert project.after_funding is None
                page = await (await site.get(base, cookies=cora)).text()
                assert "The plan for when the funding of Youth diversion ends" in page
                police = await signed_in(sessions, "pc-1", Role.AGENCY, "essex-police")
                mine = await (await site.get(f"{base}/mine", cookies=police)).text()
                assert "actions/plan_after_funding?project_id=youth-diversion" in mine
                assert "75 %, £30,000" in mine

                # The step-down email's link opens the agency's plan for after the funding.
                notice = notice_due(days[1], state.policy.taper_notice_working_days)
                await env.sleep(notice.astimezone(UTC) - await env.get_current_time())
                await env.sleep(timedelta(days=1))
                await idle(handle)
                (email,) = [m for m in smtp_sink.to(AGENCY) if "steps down" in m["Subject"]]
                assert "Answer here, without signing in" in body(email)
                link = link_in(email)
                opened = await site.get(link)
                html = await opened.text()
                assert opened.status == 200, html
                assert "Plan for when a project&#39;s funding ends" in html
                assert "Funding for the project tapers and then ends" in html
                answer = {
                    "csrf_token": csrf_of(html),
                    "project_id": "youth-diversion",
                    "after_funding.route": "exit",
                    "after_funding.plan": "Referrals handed to the youth service by March",
                }
                sent = await site.post(link, data=answer, allow_redirects=False)
                assert sent.status == 303, await sent.text()
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                after = state.projects[-1].after_funding
                assert after is not None
                assert after.route is AfterFundingRoute.EXIT
                mine = await (await site.get(f"{base}/mine", cookies=police)).text()
                assert "After the funding: exit: Referrals handed to the youth service" in mine

                # Funding against plan: each year's share against the spend returned.
                await act(
                    handle,
                    [
                        SubmitQuarterlyReturn(
                            project_id="youth-diversion",
                            quarter=q,
                            spend_gbp=spend,
                            progress="Sessions running",
                            on_target=True,
                        )
                        for q, spend in ((1, 12_000), (2, 9_000), (5, 8_000))
                    ],
                )
                review = await site.get(f"{base}/review", cookies=cora)
                html = await review.text()
                assert review.status == 200, html
                section = html.split("<h2>Funding against plan</h2>")[1].split("<h2>")[0]
                rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(\d+) %</td>", section)
                assert [percent for _, percent in rows] == ["100", "75", "50"]
                assert '£40,000</td><td class="num">£21,000' in section
                assert '£30,000</td><td class="num">£8,000' in section
                assert '£20,000</td><td class="num">£0' in section
                assert "£90,000" in section  # all years planned
                assert "exit: Referrals handed to the youth service by March" in section
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate()
