"""Referral pages over real referrals: the list and timeline each role may see, and agency
actions from the worklist through the same Updates as the API."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.web.pages import SESSION_COOKIE
from domain.access import Role
from domain.referral import STATE_QUERY, LegState, LegView, Need
from store.db import Sessions
from store.schema import AuditEvent
from store.staff import create_user, sign_in
from store.tokens import issue_token
from tests.conftest import StaticTemporal
from tests.helpers.referral_world import RESIDENT_NAME, World, submission

PASSWORD = "a long enough password"


async def signed_in(
    sessions: Sessions, username: str, role: Role, agency: str | None = None
) -> tuple[dict[str, str], str]:
    await create_user(sessions, username=username, password=PASSWORD, role=role, agency_id=agency)
    signed = await sign_in(sessions, username=username, password=PASSWORD, remote="t")
    assert signed is not None
    cookie, user = signed
    return {SESSION_COOKIE: cookie}, user.csrf_token


async def test_roles_see_their_share_and_agencies_act_from_the_worklist(
    world: World, time_skipping_env: WorkflowEnvironment
) -> None:
    debt = await world.submit(submission())
    housing = await world.submit(
        submission(Need(category="housing", notes="Damp flat"), consent=["council"])
    )
    for handle in (debt, housing):
        await world.until(handle, lambda v: bool(v.legs))
    debt_leg = f"{debt.id}-L1"

    app = create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(time_skipping_env.client),
        task_queue=world.task_queue,
    )
    async with TestClient(TestServer(app)) as site:
        ops, _ = await signed_in(world.sessions, "olu", Role.OPERATIONS)
        coordinator, _ = await signed_in(world.sessions, "cora", Role.COORDINATOR)
        cab, cab_csrf = await signed_in(world.sessions, "cab-1", Role.AGENCY, "cab")
        police, police_csrf = await signed_in(world.sessions, "pc-1", Role.AGENCY, "police")

        # Operations see every referral and its timeline, but no personal details.
        listing = await (await site.get("/referrals", cookies=ops)).text()
        assert debt.id in listing
        assert housing.id in listing
        detail = await site.get(f"/referrals/{debt.id}", cookies=ops)
        page = await detail.text()
        assert detail.status == 200
        assert "sent" in page
        assert "CAB debt advice" in page
        assert RESIDENT_NAME not in page
        assert f"/workflows/{debt.id}" in page

        # A co-ordinator sees the resident, and that read is audited.
        page = await (await site.get(f"/referrals/{debt.id}", cookies=coordinator)).text()
        assert RESIDENT_NAME in page
        async with world.sessions() as session:
            reads = (
                await session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "read_personal_data")
                )
            ).all()
        assert [(r.subject, r.path) for r in reads] == [("cora", f"/referrals/{debt.id}")]

        # Filters narrow the list.
        listing = await (
            await site.get("/referrals", params={"ward": "nowhere"}, cookies=ops)
        ).text()
        assert debt.id not in listing
        bad = await site.get("/referrals", params={"urgency": "whenever"}, cookies=ops)
        assert bad.status == 400

        # The CAB sees its own referral only, and cannot open the council's.
        listing = await (await site.get("/referrals", cookies=cab)).text()
        assert debt.id in listing
        assert housing.id not in listing
        assert (await site.get(f"/referrals/{housing.id}", cookies=cab)).status == 404

        # Another agency cannot act on the CAB's leg; it learns nothing about it.
        refused = await site.post(
            f"/worklist/{debt_leg}/accept",
            data={"csrf_token": police_csrf},
            cookies=police,
            allow_redirects=False,
        )
        assert refused.status == 404

        # The CAB accepts from its worklist: the leg's Update runs.
        worklist = await (await site.get("/worklist", cookies=cab)).text()
        assert f"Accept {debt_leg}" in worklist
        accepted = await site.post(
            f"/worklist/{debt_leg}/accept",
            data={"csrf_token": cab_csrf},
            cookies=cab,
            allow_redirects=False,
        )
        assert accepted.status == 303
        leg = await time_skipping_env.client.get_workflow_handle(debt_leg).query(
            STATE_QUERY, result_type=LegView
        )
        assert leg.state is LegState.ACCEPTED

        # Accepting twice is refused with the state machine's reason; nothing changes.
        again = await site.post(
            f"/worklist/{debt_leg}/accept", data={"csrf_token": cab_csrf}, cookies=cab
        )
        assert again.status == 409
        assert re.search(r"accepted", await again.text())

        # A form without its CSRF token does nothing.
        forged = await site.post(f"/worklist/{debt_leg}/outcome", data={}, cookies=cab)
        assert forged.status == 403

        recorded = await site.post(
            f"/worklist/{debt_leg}/outcome",
            data={"csrf_token": cab_csrf, "code": "got_help", "value": "1240", "unit": "GBP"},
            cookies=cab,
            allow_redirects=False,
        )
        assert recorded.status == 303
        leg = await time_skipping_env.client.get_workflow_handle(debt_leg).query(
            STATE_QUERY, result_type=LegView
        )
        assert leg.state is LegState.OUTCOME_RECORDED
        assert leg.outcome is not None
        assert leg.outcome.value == 1240

        # Per-agency statistics count the CAB's answer.
        await world.until(debt, lambda v: v.legs[0].state is LegState.OUTCOME_RECORDED)
        stats = await (await site.get("/agencies", cookies=ops)).text()
        row = re.search(r'agency=cab">Citizens Advice</a></th>(.*?)</tr>', stats, re.S)
        assert row is not None, stats
        assert re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))[:4] == [
            "1",
            "100.0 %",
            "0.0 %",
            "0.0 %",
        ]
        # Every agency in the directory is listed, those not yet sent anything too.
        assert "Essex Police" in stats
        # Answer times by month: the busiest agency's unless another (or all) is chosen.
        assert "Working days to answer, Citizens Advice: the figures" in stats
        every = await (await site.get("/agencies?agency=all", cookies=ops)).text()
        assert "Working days to answer, every agency: the figures" in every
        assert (await site.get("/agencies?agency=nobody", cookies=ops)).status == 404
        assert "Not sent a referral yet" in stats
        _, token = await issue_token(world.sessions, subject="ops-api", role=Role.OPERATIONS)
        api = await site.get("/api/agencies/stats", headers={"Authorization": f"Bearer {token}"})
        figures = {a["agency_id"]: a for a in (await api.json())["items"]}
        assert (figures["cab"]["received"], figures["cab"]["accepted_percent"]) == (1, 100.0)
        # Nothing received: no percentages, rather than a "0 %" verdict.
        police = figures["police"]
        assert (police["received"], police["accepted_percent"]) == (0, None)
        assert (police["late_percent"], police["outcome_percent"]) == (None, None)
        assert (await site.get("/agencies", cookies=cab)).status == 403
