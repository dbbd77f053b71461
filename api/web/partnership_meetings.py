"""A stakeholder meeting's page: when it was held, who attended and who sent apologies, the
minutes, what it decided, and the plan actions that arose at it with where each stands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from aiohttp import web

from api.http.state import SESSIONS
from api.partnerships import query_partnership
from api.web.pages import PageCall, PageTable, render
from api.web.partnership_actions import offered_now, step_href
from domain.access import Action
from domain.calendar import LONDON
from domain.partnership import BY_UPDATE, PartnershipState, PlanAction
from store.partnerships import get_partnership
from workflows.partnership import PartnershipWorkflow

pages = PageTable()

COMPLETE = BY_UPDATE["complete_action"]


@dataclass(frozen=True)
class Arising:
    """A plan action that arose at the meeting, as the page shows it."""

    action: PlanAction
    owner: str
    status: str
    late: bool
    href: str
    """The form that records it done, for a user who may; ``""``: none."""


def meeting_path(pid: str, number: int) -> str:
    """The page of stakeholder meeting ``number`` of partnership ``pid``."""
    return f"/partnerships/{pid}/meetings/{number}"


def _status(action: PlanAction, today: date) -> tuple[str, bool]:
    if action.done_on is not None:
        return f"Done on {action.done_on:%d %B %Y}", False
    if action.due < today:
        return f"Overdue: it was due on {action.due:%d %B %Y}", True
    return f"Due on {action.due:%d %B %Y}", False


def _owner(state: PartnershipState, action: PlanAction) -> str:
    partner = state.partner(action.owner_agency_id) if action.owner_agency_id else None
    return partner.name if partner else f"{action.owner.name} (co-ordinator)"


@pages.page(
    "GET",
    "/partnerships/{partnership_id}/meetings/{number}",
    summary="One stakeholder meeting: attendance, minutes, decisions and actions arising",
    action=Action.READ_PARTNERSHIPS,
)
async def meeting_page(call: PageCall) -> web.StreamResponse:
    """The meeting as recorded, its actions arising linked to their forms while open."""
    pid = call.request.match_info["partnership_id"]
    text = call.request.match_info["number"]
    if await get_partnership(call.request.app[SESSIONS], pid) is None:
        raise web.HTTPNotFound(reason=f"no partnership {pid}")
    if not re.fullmatch(r"[1-9]\d{0,3}", text):
        raise web.HTTPNotFound(reason=f"no meeting {text[:20]}: meetings are numbered 1, 2, 3 ...")
    state = await query_partnership(call.request, pid, PartnershipWorkflow.state)
    meeting = next((m for m in state.meetings if m.number == int(text)), None)
    if meeting is None:
        raise web.HTTPNotFound(reason=f"meeting {text} of {state.name} has not been recorded")
    principal = call.me().principal
    may_complete = COMPLETE in offered_now(state, principal)
    today = datetime.now(UTC).astimezone(LONDON).date()
    by_id = {a.id: a for a in state.actions}
    arising = []
    for action in (by_id[i] for i in meeting.action_ids if i in by_id):
        status, late = _status(action, today)
        open_form = may_complete and action.done_on is None
        arising.append(
            Arising(
                action=action,
                owner=_owner(state, action),
                status=status,
                late=late,
                href=step_href(pid, COMPLETE, {"action_id": action.id}) if open_form else "",
            )
        )
    names = {p.agency_id: p.name for p in state.partners}
    notes = {
        r.agency_id: r.note for r in state.meeting_replies if r.number == meeting.number and r.note
    }
    return render(
        call,
        "partnership_action/meeting.html",
        state=state,
        meeting=meeting,
        held=meeting.held_at.astimezone(LONDON),
        attended=[names.get(a, a) for a in meeting.attendees],
        apologies=[(names.get(a, a), notes.get(a, "")) for a in meeting.apologies],
        arising=arising,
        errors=False,
        may_read=True,
    )
