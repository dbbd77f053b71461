"""Stakeholder meetings through the pages and the partners' emails, on a real partnership run
by its workflow (time-skipping server, real SMTP sink, the real app): each partner's
invitation says what, when and why and links to a form to answer it; the co-ordinator records
the meeting from its generated form, its actions arising join the plan and show on the
meeting's page; the owner of an action is reminded before it falls due, with a link to record
it done. Each link opens its form without an account and acts once."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from aiohttp.test_utils import TestClient, TestServer
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.find.site import FindConfig
from domain.access import Role
from domain.partnership import Stage
from store.db import Sessions
from tests.api.test_dashboard_partnerships import csrf_of, signed_in
from tests.api.test_partner_links import body, link_in
from tests.conftest import StaticTemporal
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import (
    LINK_KEYS,
    idle,
    partnership_worker,
    start,
    through_planning,
)
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

POLICE = sc.PARTNERS["essex-police"][1]
CAB = sc.PARTNERS["tendring-cab"][1]


def posted_day(name: str, day: date) -> dict[str, str]:
    return {
        f"{name}-day": str(day.day),
        f"{name}-month": str(day.month),
        f"{name}-year": str(day.year),
    }


async def test_meetings_from_invitation_to_actions_arising(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = time_skipping_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        pid = handle.id.removeprefix("partnership-")
        base = f"/partnerships/{pid}"
        try:
            today = (await env.get_current_time()).date()
            state = await through_planning(handle, today + timedelta(days=1))
            assert state.stage is Stage.IMPLEMENT
            # Ten working days before the first meeting, two months in, each partner is asked.
            await env.sleep(timedelta(days=50))
            await idle(handle)
            (invitation,) = [
                m for m in smtp_sink.to(POLICE) if "stakeholder meeting" in m["Subject"]
            ]
            text = body(invitation)
            assert (
                "Essex Police is invited to stakeholder meeting 1 of Interaction Partnership"
                in text
            )
            assert "to monitor progress on the action plan" in text
            assert "whether your organisation will attend, or send its apologies" in text
            assert "Answer here, without signing in: http://dashboard.test/partner/" in text
            assert [p.get_content_type() for p in invitation.iter_attachments()] == [
                "text/calendar"
            ]
            police_link = link_in(invitation)
            (cab_invitation,) = [
                m for m in smtp_sink.to(CAB) if "stakeholder meeting" in m["Subject"]
            ]
            assert link_in(cab_invitation) != police_link
            coordinator = [
                m
                for m in smtp_sink.to(sc.COORDINATOR.email)
                if "stakeholder meeting" in m["Subject"]
            ]
            assert len(coordinator) == 1
            assert "/partner/" not in body(coordinator[0])

            app = create_app(
                sessions=sessions,
                temporal=StaticTemporal(env.client),
                task_queue=worker.task_queue,
                find_config=FindConfig(link_keys=LINK_KEYS),
            )
            async with TestClient(TestServer(app)) as site:
                # The link opens the answer form for that partner and meeting; nothing changes.
                opened = await site.get(police_link)
                html = await opened.text()
                assert opened.status == 200, html
                assert "Answer a meeting invitation" in html
                assert 'value="essex-police" checked' in html
                assert "tendring-cab" not in html
                assert (await handle.query(PartnershipWorkflow.state)).meeting_replies == []
                token = csrf_of(html)
                answer = {"attending": "no", "note": "On a late shift", "meeting": "1"}
                assert (await site.post(police_link, data=answer)).status == 403
                done = await site.post(
                    police_link,
                    data={**answer, "meeting": "2", "csrf_token": token},
                    allow_redirects=False,
                )
                assert done.status == 303, await done.text()
                thanks = await (await site.get(done.headers["Location"])).text()
                assert "Answer a meeting invitation: recorded for Essex Police" in thanks
                await idle(handle)
                (reply,) = (await handle.query(PartnershipWorkflow.state)).meeting_replies
                # The link's own answers hold, whatever the form says.
                assert (reply.agency_id, reply.number, reply.attending) == (
                    "essex-police",
                    1,
                    False,
                )
                again = await site.post(police_link, data={**answer, "csrf_token": token})
                assert again.status == 410
                used = await (await site.get(police_link)).text()
                assert "Essex Police has already answered the invitation to meeting 1" in used

                # The co-ordinator records the meeting from its generated form.
                cora = await signed_in(sessions, "cora", Role.COORDINATOR)
                form = await (await site.get(f"{base}/actions/record_meeting", cookies=cora)).text()
                assert 'name="attendees" type="checkbox" value="tendring-cab"' in form
                assert "Tendring Citizens Advice" in form
                now = (await env.get_current_time()).date()
                due = now + timedelta(days=30)
                meeting = {
                    "csrf_token": csrf_of(form),
                    "minutes": "Met at the Pier.\nThe patrols are working.",
                    "attendees": ["tendring-cab", "tdc-housing"],
                    "decisions.0": "Extend the patrols to Golf Green",
                    "decisions.1": "Report to the board in June",
                    "actions_arising.0.title": "Map the fly-tipping sites",
                    "actions_arising.0.owner_agency_id": "essex-police",
                    **posted_day("actions_arising.0.due", due),
                }
                late = {**meeting, **posted_day("actions_arising.0.due", now + timedelta(days=900))}
                refused = await site.post(f"{base}/actions/record_meeting", data=late, cookies=cora)
                assert refused.status == 409
                assert "action arising 1: the action is due outside the plan period" in (
                    await refused.text()
                )
                assert (await handle.query(PartnershipWorkflow.state)).meetings == []
                recorded = await site.post(
                    f"{base}/actions/record_meeting",
                    data=meeting,
                    cookies=cora,
                    allow_redirects=False,
                )
                assert recorded.status == 303, await recorded.text()
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                (arising,) = [a for a in state.actions if a.meeting == 1]
                assert (arising.id, arising.owner_agency_id, arising.due) == (
                    "meeting-1-1",
                    "essex-police",
                    due,
                )

                # The partnership's page lists it; its page says who, what and what next.
                page = await (await site.get(base, cookies=cora)).text()
                assert f'<a href="{base}/meetings/1">Meeting 1</a>' in page
                shown = await site.get(f"{base}/meetings/1", cookies=cora)
                html = await shown.text()
                assert shown.status == 200, html
                assert "Stakeholder meeting 1" in html
                assert "<li>Tendring Citizens Advice</li>" in html
                assert "<li>Essex Police: On a late shift</li>" in html
                assert '<p class="govuk-body">The patrols are working.</p>' in html
                assert "<li>Report to the board in June</li>" in html
                assert "Map the fly-tipping sites" in html
                assert "Owner: Essex Police" in html
                assert f'href="{base}/actions/complete_action?action_id=meeting-1-1"' in html, html
                ops = await signed_in(sessions, "olly", Role.OPERATIONS)
                read_only = await (await site.get(f"{base}/meetings/1", cookies=ops)).text()
                assert "Map the fly-tipping sites" in read_only
                assert "actions/complete_action" not in read_only
                cab = await signed_in(sessions, "cab-1", Role.AGENCY, "tendring-cab")
                assert (await site.get(f"{base}/meetings/1", cookies=cab)).status == 403
                for missing in ("2", "abc", "0"):
                    gone = await site.get(f"{base}/meetings/{missing}", cookies=cora)
                    assert gone.status == 404
                assert (await site.get("/partnerships/nope/meetings/1", cookies=cora)).status == 404

                # Five working days before it is due, its owner is asked to record it done.
                await env.sleep(timedelta(days=28))
                await idle(handle)
                (soon,) = [m for m in smtp_sink.to(POLICE) if "action due on" in m["Subject"]]
                assert soon["Subject"] == (
                    f"Interaction Partnership: action due on {due:%d %B %Y}: "
                    "Map the fly-tipping sites"
                )
                words = body(soon)
                assert "agreed at stakeholder meeting 1" in words
                assert f"falls due on {due:%A %d %B %Y}" in words
                assert "Please record it as done once it is" in words
                action_link = link_in(soon)
                form = await site.get(action_link)
                html = await form.text()
                assert form.status == 200, html
                assert "Mark an action done" in html
                assert 'value="meeting-1-1" checked' in html
                done_on = (await env.get_current_time()).date()
                completed = await site.post(
                    action_link,
                    data={"csrf_token": csrf_of(html), **posted_day("done_on", done_on)},
                    allow_redirects=False,
                )
                assert completed.status == 303, await completed.text()
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                assert next(a for a in state.actions if a.id == "meeting-1-1").done_on == done_on
                assert (await site.get(action_link)).status == 410
                shown = await (await site.get(f"{base}/meetings/1", cookies=cora)).text()
                assert f"Done on {done_on:%d %B %Y}" in shown
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate()
