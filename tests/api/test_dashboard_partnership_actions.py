"""The generated action pages over a real partnership run by its workflow on a time-skipping
server: the partnership page leads to what is needed next, a form refuses bad answers beside
their fields and keeps them, runs the Update the API runs, and refuses what the stage or the
caller may not do, with the reason and nothing changed."""

from __future__ import annotations

import contextlib
import re

from aiohttp.test_utils import TestClient, TestServer
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.access import Role
from store.db import Sessions
from tests.api.test_dashboard_partnerships import csrf_of, signed_in
from tests.conftest import StaticTemporal
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import (
    act,
    idle,
    partnership_worker,
    register_search_attributes,
    start,
)
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

CAB_COMMITMENT = {
    "agency_id": "tendring-cab",
    "contributions.0.kind": "staff_time",
    "contributions.0.description": "An adviser at the Pier surgery",
    "contributions.0.value_gbp": "0",
    "contributions.0.hours_per_month": "8",
    "contributions.1.kind": "money",
    "contributions.1.description": "Pooled budget",
    "contributions.1.value_gbp": "£2,500",
    "agrees_aims": "yes",
    "agrees_targets": "yes",
    "agrees_evaluation": "yes",
    "signed_by": "Chief executive, Tendring CAB",
}


def summary_links(page: str) -> list[str]:
    """The error summary's links, in order."""
    box = page.split('class="govuk-error-summary"')[1].split("</div>\n</div>")[0]
    return re.findall(r'<a href="#([^"]+)">', box)


async def test_a_partnership_is_driven_from_its_pages(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = time_skipping_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        await act(handle, sc.invitations())
        pid = handle.id.removeprefix("partnership-")
        base = f"/partnerships/{pid}"
        try:
            app = create_app(
                sessions=sessions, temporal=StaticTemporal(env.client), task_queue=worker.task_queue
            )
            async with TestClient(TestServer(app)) as site:
                cora = await signed_in(sessions, "cora", Role.COORDINATOR)
                cab = await signed_in(sessions, "cab-1", Role.AGENCY, "tendring-cab")
                police = await signed_in(sessions, "pc-1", Role.AGENCY, "essex-police")
                stranger = await signed_in(sessions, "x-1", Role.AGENCY, "not-a-partner")

                # The page leads: each missing gate item links to the form that supplies it.
                page = await (await site.get(base, cookies=cora)).text()
                needed = page.split('id="next"')[1].split("</section>")[0]
                assert (
                    f'<a href="{base}/actions/commit_partner?agency_id=tendring-cab">'
                    "Tendring Citizens Advice has not committed" in needed
                )
                assert f'href="{base}/actions/assess_resources"' in needed
                assert f'href="{base}/actions/approve_by_members"' in needed
                # What this stage does not allow is not offered, and refused if asked for.
                assert "actions/agree_element" not in page
                assert "actions/record_meeting" not in page
                not_now = await site.get(f"{base}/actions/agree_element", cookies=cora)
                assert not_now.status == 409
                assert "the partnership is in negotiate" in await not_now.text()
                token = csrf_of(page)
                forced = await site.post(
                    f"{base}/actions/agree_element",
                    data={"csrf_token": token, "element": "constitution", "document_ref": "C-1"},
                    cookies=cora,
                )
                assert forced.status == 409
                assert (
                    "Nothing was changed: the partnership is in negotiate; this needs establish"
                    in (await forced.text())
                )
                assert (await handle.query(PartnershipWorkflow.state)).elements == {}

                # A partner agency sees its own part only, and acts only for itself.
                mine = await (await site.get(f"{base}/mine", cookies=cab)).text()
                assert "actions/commit_partner?agency_id=tendring-cab" in mine
                assert "essex-police" not in mine
                assert (await site.get(base, cookies=cab)).status == 403
                assert (await site.get(f"{base}/mine", cookies=stranger)).status == 404
                assert (
                    await site.get(f"{base}/actions/commit_partner", cookies=stranger)
                ).status == 404
                assert (
                    await site.get(f"{base}/actions/assess_resources", cookies=cab)
                ).status == 403
                form = await site.get(
                    f"{base}/actions/commit_partner?agency_id=tendring-cab", cookies=cab
                )
                html = await form.text()
                assert form.status == 200, html
                assert 'value="tendring-cab" checked' in html
                assert 'value="essex-police"' not in html
                cab_token = csrf_of(html)

                # Without its CSRF token the form does nothing.
                stale = await site.post(
                    f"{base}/actions/commit_partner", data=CAB_COMMITMENT, cookies=cab
                )
                assert stale.status == 403

                # Bad answers: named in the summary, linked to their fields, and kept.
                bad = {
                    **CAB_COMMITMENT,
                    "contributions.1.value_gbp": "lots",
                    "signed_by": "",
                    "csrf_token": cab_token,
                }
                refused = await site.post(f"{base}/actions/commit_partner", data=bad, cookies=cab)
                html = await refused.text()
                assert refused.status == 422, html
                assert summary_links(html) == ["f-contributions-1-value_gbp", "f-signed_by"]
                assert "Value must be an amount in pounds" in html
                assert "Enter signed by" in html
                assert 'value="An adviser at the Pier surgery"' not in html  # a text area
                assert ">An adviser at the Pier surgery</textarea>" in html
                assert 'value="lots"' in html
                assert (await handle.query(PartnershipWorkflow.state)).partner(
                    "tendring-cab"
                ).commitment is None  # type: ignore[union-attr]

                # "Add another" gives one more row and submits nothing.
                more = await site.post(
                    f"{base}/actions/commit_partner",
                    data={**bad, "_another": "contributions"},
                    cookies=cab,
                )
                assert more.status == 200
                assert 'name="contributions.2.kind"' in await more.text()

                # For another agency: refused, with the reason.
                other = {**CAB_COMMITMENT, "agency_id": "essex-police", "csrf_token": cab_token}
                wrong = await site.post(f"{base}/actions/commit_partner", data=other, cookies=cab)
                assert wrong.status == 403
                assert "a partner agency may only act for itself" in await wrong.text()

                good = {**CAB_COMMITMENT, "csrf_token": cab_token}
                done = await site.post(
                    f"{base}/actions/commit_partner", data=good, cookies=cab, allow_redirects=False
                )
                assert done.status == 303, await done.text()
                assert done.headers["Location"] == f"{base}/mine?done=commit_partner"
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                commitment = state.partner("tendring-cab").commitment  # type: ignore[union-attr]
                assert commitment is not None
                assert [c.value_gbp for c in commitment.contributions] == [0, 2500]
                assert commitment.signed_by == "Chief executive, Tendring CAB"
                after = await (
                    await site.get(f"{base}/mine?done=commit_partner", cookies=cab)
                ).text()
                assert "A partner commits to the agreement" in after
                assert "Signed by Chief executive, Tendring CAB" in after
                police_page = await (await site.get(f"{base}/mine", cookies=police)).text()
                assert "actions/commit_partner?agency_id=essex-police" in police_page

                # The co-ordinator's form for a nested model (the resource assessment).
                resp = await site.post(
                    f"{base}/actions/assess_resources",
                    data={
                        "csrf_token": token,
                        "assessment.direct_costs_gbp": "£18,000",
                        "assessment.officer_hours": "120",
                        "assessment.officer_hourly_rate_gbp": "35",
                    },
                    cookies=cora,
                    allow_redirects=False,
                )
                assert resp.status == 303, await resp.text()
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                assert state.resources is not None
                assert state.resources.total_gbp == 18_000 + 120 * 35
                page = await (await site.get(f"{base}?done=assess_resources", cookies=cora)).text()
                assert "Done: Record direct, indirect and opportunity costs." in page
                assert "actions/commit_partner?agency_id=tendring-cab" not in page
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate()


NEW_PARTNERSHIP = {
    "id": "pier-safety",
    "name": "Pier community safety",
    "aims.0": "Fewer incidents of anti-social behaviour on the seafront",
    "aims.1": "",
    "theme": "Community safety",
    "strategic": "no",
    "coordinator.name": "Community safety officer",
    "coordinator.email": "safety@tendring.example",
    "policy.cost_threshold_gbp": "25,000",
    "policy.response_working_days": "5",
    "policy.partner_reminders": "2",
    "policy.meeting_interval_months": "3",
    "policy.invite_working_days": "10",
    "policy.grace_working_days": "10",
    "policy.plan_years": "2",
}


async def test_a_partnership_is_started_from_the_dashboard(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = time_skipping_env
    await register_search_attributes(env)
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        app = create_app(
            sessions=sessions, temporal=StaticTemporal(env.client), task_queue=worker.task_queue
        )
        handle = env.client.get_workflow_handle("partnership-pier-safety")
        try:
            async with TestClient(TestServer(app)) as site:
                cora = await signed_in(sessions, "cora", Role.COORDINATOR)
                cab = await signed_in(sessions, "cab-1", Role.AGENCY, "tendring-cab")
                listing = await (await site.get("/partnerships", cookies=cora)).text()
                assert '<a href="/partnerships/new">Start a partnership</a>' in listing
                assert (await site.get("/partnerships/new", cookies=cab)).status == 403
                form = await site.get("/partnerships/new", cookies=cora)
                html = await form.text()
                assert form.status == 200, html
                # The meeting and reminder policy starts at its defaults.
                assert (
                    'name="policy.meeting_interval_months" type="text" inputmode="numeric" '
                    'value="2"' in html
                )
                assert "max_history_events" not in html
                token = csrf_of(html)

                bad = {
                    **NEW_PARTNERSHIP,
                    "csrf_token": token,
                    "name": "",
                    "aims.0": "",
                    "coordinator.email": "not an address",
                }
                refused = await site.post("/partnerships/new", data=bad, cookies=cora)
                html = await refused.text()
                assert refused.status == 422, html
                assert summary_links(html) == ["f-name", "f-aims", "f-coordinator-email"]
                assert 'value="Community safety"' in html

                good = {**NEW_PARTNERSHIP, "csrf_token": token}
                made = await site.post(
                    "/partnerships/new", data=good, cookies=cora, allow_redirects=False
                )
                assert made.status == 303, await made.text()
                assert made.headers["Location"] == "/partnerships/pier-safety?done=created"
                page = await (await site.get(made.headers["Location"], cookies=cora)).text()
                assert "Done: Start the partnership." in page
                assert (
                    'href="/partnerships/pier-safety/actions/invite_partner">Invite the partners'
                    in page
                )
                state = await handle.query(PartnershipWorkflow.state)
                assert state.theme == "Community safety"
                assert state.aims == ["Fewer incidents of anti-social behaviour on the seafront"]
                assert state.policy.meeting_interval_months == 3

                assert "Theme: Community safety." in page
                review = await site.get("/partnerships/pier-safety/review", cookies=cora)
                assert review.status == 200
                report = await review.text()
                assert "Review report: Pier community safety" in report
                assert "@media print" in report
                assert "created: partnership &#39;Pier community safety&#39; started" in page

                # A thematic partnership under it: each page names the other.
                form = await (await site.get("/partnerships/new", cookies=cora)).text()
                assert 'name="parent_id" type="radio" value="pier-safety"' not in form
                child = {
                    **good,
                    "id": "pier-youth",
                    "name": "Pier youth activities",
                    "parent_id": "pier-safety",
                }
                made = await site.post(
                    "/partnerships/new", data=child, cookies=cora, allow_redirects=False
                )
                assert made.status == 303, await made.text()
                child_page = await (await site.get("/partnerships/pier-youth", cookies=cora)).text()
                assert (
                    'A thematic partnership of <a href="/partnerships/pier-safety">'
                    "Pier community safety</a>" in child_page
                )
                parent_page = await (
                    await site.get("/partnerships/pier-safety", cookies=cora)
                ).text()
                thematic = parent_page.split('id="thematic"')[1].split("</section>")[0]
                assert '<a href="/partnerships/pier-youth">Pier youth activities</a>' in thematic

                again = await site.post("/partnerships/new", data=good, cookies=cora)
                assert again.status == 409
                assert "Nothing was changed: partnership pier-safety already exists" in (
                    await again.text()
                )
        finally:
            for h in (handle, env.client.get_workflow_handle("partnership-pier-youth")):
                with contextlib.suppress(RPCError):
                    await h.terminate()
