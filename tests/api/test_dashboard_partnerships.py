"""Partnership pages over real partnerships run by their workflow on a time-skipping server:
the list and its filters, one partnership's gates, indicators with RAG and reminders, and the
overview's partnership figures."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.web.pages import SESSION_COOKIE
from domain.access import Role
from domain.directory import NeedCategory
from domain.outcome_binding import BoundMeasure, OutcomeBinding
from domain.partnership import Stage
from domain.partnership_schedule import PartnershipSummary
from store.db import Sessions
from store.partnerships import save_partnership
from store.staff import create_user, sign_in
from tests.conftest import StaticTemporal
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_pages import EXPECTED_RAG, implementing, planning
from tests.helpers.partnership_support import act, idle, partnership_worker, start
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

PASSWORD = "a long enough password"


async def signed_in(
    sessions: Sessions, username: str, role: Role, agency: str | None = None
) -> dict[str, str]:
    await create_user(sessions, username=username, password=PASSWORD, role=role, agency_id=agency)
    signed = await sign_in(sessions, username=username, password=PASSWORD, remote="t")
    assert signed is not None
    return {SESSION_COOKIE: signed[0]}


def row_of(page: str, text: str) -> str:
    """The table row of ``page`` that contains ``text``."""
    rows = [r for r in re.findall(r"<tr.*?</tr>", page, re.S) if text in r]
    assert len(rows) == 1, (text, rows)
    return rows[0]


async def test_partnership_list_detail_and_overview(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = time_skipping_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        # One partnership waits in Negotiate on a partner that never commits, until overdue.
        waiting = await start(env, worker)
        await act(waiting, sc.invitations())
        await act(waiting, [sc.commitment(a) for a in sc.PARTNERS if a != "ne-essex-pct"])
        await env.sleep(timedelta(days=25))
        await idle(waiting)
        running = await implementing(env, worker)
        await idle(waiting)
        waiting_id = waiting.id.removeprefix("partnership-")
        running_id = running.id.removeprefix("partnership-")
        # Each test has its own server, yet a partnership left running would hold its clock.
        try:
            app = create_app(
                sessions=sessions,
                temporal=StaticTemporal(env.client),
                task_queue=worker.task_queue,
            )
            async with TestClient(TestServer(app)) as site:
                coordinator = await signed_in(sessions, "cora", Role.COORDINATOR)
                ops = await signed_in(sessions, "olu", Role.OPERATIONS)
                cab = await signed_in(sessions, "cab-1", Role.AGENCY, "tendring-cab")

                # The list, its filters and paging text, from the read model.
                listing = await (await site.get("/partnerships", cookies=ops)).text()
                assert "2 partnerships." in listing
                assert "overdue" in row_of(listing, waiting_id)
                assert "implement" in row_of(listing, running_id)
                only = await (
                    await site.get("/partnerships?stage=implement&overdue=", cookies=ops)
                ).text()
                assert running_id in only
                assert waiting_id not in only
                late = await (await site.get("/partnerships?overdue=true", cookies=ops)).text()
                assert waiting_id in late
                assert running_id not in late
                bad = await site.get("/partnerships?stage=dreaming", cookies=ops)
                assert bad.status == 400
                assert "check the filters: stage" in await bad.text()

                # Detail: gates passed and what the waiting one still lacks.
                resp = await site.get(f"/partnerships/{waiting_id}", cookies=coordinator)
                page = await resp.text()
                assert resp.status == 200, page
                negotiate = row_of(page, '<th scope="row">negotiate</th>')
                assert "current" in negotiate
                assert "partners have not committed: ne-essex-pct" in negotiate
                assert "member approval is required" in negotiate
                assert "overdue: something it waits on is past its deadline" in page
                late_now = page.split('id="late"')[1].split("</section>")[0]
                assert "NE Essex PCT has not committed to Interaction Partnership" in late_now
                assert sc.COORDINATOR.email in late_now
                assert f'/workflows/partnership-{waiting_id}"' in page

                await idle(running)
                page = await (await site.get(f"/partnerships/{running_id}", cookies=ops)).text()
                for stage in ("negotiate", "establish", "plan"):
                    assert "passed" in row_of(page, f'<th scope="row">{stage}</th>')
                assert "current" in row_of(page, '<th scope="row">implement</th>')
                for name, rag in EXPECTED_RAG.items():
                    assert f'<span class="rag rag-{rag}">{rag}</span>' in row_of(page, name)
                assert "no actual yet" in row_of(page, "Incidences of fly-tipping")
                assert "Upcoming reminders" in page
                assert "Nothing the partnership waits on is past its deadline." in page
                assert "stakeholder meeting 1" in page
                assert f'/workflows/partnership-{running_id}"' in page
                # Past Plan the outcome form still posts, and shows the rule's refusal.
                mine = await site.get(f"/partnerships/{running_id}", cookies=coordinator)
                token = csrf_of(await mine.text())
                form = [("csrf_token", token), *AWARDS_FORM.items(), *AWARDS_LISTS]
                resp = await site.post(
                    f"/partnerships/{running_id}/outcomes", data=form, cookies=coordinator
                )
                late_form = outcome_section(await resp.text())
                assert resp.status == 409, late_form
                assert "Not added: the partnership is in implement; this needs plan" in late_form

                # Unknown partnerships are 404 pages; agencies and referrers may not look.
                missing = await site.get("/partnerships/no-such-one", cookies=ops)
                assert missing.status == 404
                refused = await site.get(f"/partnerships/{running_id}", cookies=cab)
                assert refused.status == 403

                # The overview counts them by stage and names the overdue one, for staff only.
                overview = await (await site.get("/", cookies=coordinator)).text()
                assert re.search(
                    r'stage=implement"><span class="num">1</span> in implement', overview
                )
                assert re.search(
                    r'stage=negotiate"><span class="num">1</span> in negotiate', overview
                )
                overdue = overview.split('id="p-overdue"')[1].split("</section>")[0]
                assert waiting_id in overdue
                assert running_id not in overdue
                assert "Partnerships" not in await (await site.get("/", cookies=cab)).text()
        finally:
            for handle in (waiting, running):
                with contextlib.suppress(RPCError):
                    await handle.terminate()


async def test_partnership_list_pages_through_the_read_model(
    api: TestClient[Any, Any], sessions: Sessions
) -> None:
    now = datetime.now(UTC)
    for n in range(30):
        await save_partnership(
            sessions,
            PartnershipSummary(
                id=f"p-{n:02d}",
                name=f"Partnership {n:02d}",
                parent_id=None,
                strategic=False,
                stage=Stage.PLAN if n % 10 else Stage.REVIEW,
                cycle=1,
                next_deadline=now + timedelta(days=n),
                overdue=False,
            ),
        )
    ops = await signed_in(sessions, "olu", Role.OPERATIONS)
    first = await (await api.get("/partnerships?stage=plan", cookies=ops)).text()
    assert "27 partnerships, page 1 of 2." in first
    assert first.count('<a href="/partnerships/p-') == 25
    # Soonest next reminder first, the filter kept on the next page's link.
    assert first.index("p-01") < first.index("p-02")
    assert '<a href="/partnerships?stage=plan&amp;page=2" rel="next">Next</a>' in first
    second = await (await api.get("/partnerships?stage=plan&page=2", cookies=ops)).text()
    assert second.count('<a href="/partnerships/p-') == 2
    assert "p-29" in second
    assert "p-10" not in second + first


def csrf_of(page: str) -> str:
    """The form's CSRF token, as the browser would send it back."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def outcome_section(page: str) -> str:
    return page.split('id="add-outcome"')[1].split("</section>")[0]


AWARDS_FORM = {
    "outcome_id": "more-income",
    "statement": "Residents of Pier claim the benefits they are owed",
    "indicator_id": "cab-awards",
    "indicator_name": "Benefit awards won through referrals",
    "unit": "GBP",
    "baseline": "0",
    "target": "50000",
    "direction": "higher_is_better",
    "measure": "sum_of_values",
    "binding_unit": "GBP",
}
AWARDS_LISTS = [
    ("outcome_codes", "got_help"),
    ("wards", "pier"),
    ("categories", "benefits_debt"),
]


async def test_coordinator_adds_a_bound_indicator_from_the_partnership_page(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = time_skipping_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await planning(env, worker)
        await idle(handle)
        pid = handle.id.removeprefix("partnership-")
        try:
            app = create_app(
                sessions=sessions, temporal=StaticTemporal(env.client), task_queue=worker.task_queue
            )
            async with TestClient(TestServer(app)) as site:
                coordinator = await signed_in(sessions, "cora", Role.COORDINATOR)
                ops = await signed_in(sessions, "olu", Role.OPERATIONS)
                page = await (await site.get(f"/partnerships/{pid}", cookies=coordinator)).text()
                form = outcome_section(page)
                assert f'action="/partnerships/{pid}/outcomes"' in form
                assert 'value="sum_of_values"' in form
                assert '<input type="checkbox" name="wards" value="pier"> Pier' in form
                token = csrf_of(page)
                before = await handle.query(PartnershipWorkflow.state)

                # A bad value: the command's own validation, shown beside its field, kept.
                bad = [
                    ("csrf_token", token),
                    *{**AWARDS_FORM, "target": "lots", "binding_unit": ""}.items(),
                    *AWARDS_LISTS,
                ]
                resp = await site.post(
                    f"/partnerships/{pid}/outcomes", data=bad, cookies=coordinator
                )
                shown = outcome_section(await resp.text())
                assert resp.status == 422, shown
                assert re.search(r'id="err-target">[^<]*valid number', shown)
                assert re.search(r'id="err-measure">[^<]*needs the unit it adds up', shown)
                assert 'value="Benefit awards won through referrals"' in shown
                assert 'value="pier" checked' in shown
                assert 'value="lots"' in shown
                assert (await handle.query(PartnershipWorkflow.state)) == before

                # Operations staff read the page but get no form, and may not post it.
                ops_page = await (await site.get(f"/partnerships/{pid}", cookies=ops)).text()
                assert 'id="add-outcome"' not in ops_page
                good = [("csrf_token", token), *AWARDS_FORM.items(), *AWARDS_LISTS]
                refused = await site.post(f"/partnerships/{pid}/outcomes", data=good, cookies=ops)
                assert refused.status == 403
                assert (await handle.query(PartnershipWorkflow.state)) == before
                # Without the session's CSRF token nothing is added either.
                forged = [("csrf_token", "forged"), *AWARDS_FORM.items()]
                resp = await site.post(
                    f"/partnerships/{pid}/outcomes", data=forged, cookies=coordinator
                )
                assert resp.status == 403

                # The good form: the add_outcome Update, then the page shows the binding.
                resp = await site.post(
                    f"/partnerships/{pid}/outcomes",
                    data=good,
                    cookies=coordinator,
                    allow_redirects=False,
                )
                assert resp.status == 303, await resp.text()
                location = resp.headers["Location"]
                assert location == f"/partnerships/{pid}?added=cab-awards#indicators"
                page = await (await site.get(location, cookies=coordinator)).text()
                assert "Added the indicator Benefit awards won through referrals." in page
                row = row_of(page, "Benefit awards won through referrals")
                assert (
                    "Fed by referral outcomes: sum of got help outcome values in GBP, "
                    "from Pier; needs: benefits debt" in row
                )
                state = await handle.query(PartnershipWorkflow.state)
                indicator = next(i for i in state.indicators if i.id == "cab-awards")
                assert indicator.target == 50_000
                assert indicator.binding == OutcomeBinding(
                    measure=BoundMeasure.SUM_OF_VALUES,
                    unit="GBP",
                    wards=["pier"],
                    categories=[NeedCategory.BENEFITS_DEBT],
                )
                assert [o.id for o in state.outcomes] == ["more-income"]

                # Again: the workflow's rule refuses it (409), shown by the form, unchanged.
                resp = await site.post(
                    f"/partnerships/{pid}/outcomes", data=good, cookies=coordinator
                )
                shown = outcome_section(await resp.text())
                assert resp.status == 409, shown
                assert "Not added: outcome more-income already exists" in shown
                assert 'value="cab-awards"' in shown
                assert (await handle.query(PartnershipWorkflow.state)) == state
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate()
