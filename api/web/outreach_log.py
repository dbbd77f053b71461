"""The outreach log in the referrer's pages: a Reach Out session's figures, logged with the
same function as ``POST /api/outreach-sessions``, and the sessions logged so far."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from api.http.errors import DomainRefusal
from api.http.state import SESSIONS
from api.outreach import log_outreach_session
from api.web.pages import PageCall, PageTable, render, require_form
from domain.access import Action
from domain.outreach import FIGURE_WORDS, OutreachFigure, OutreachLog
from store.names import read_names
from store.outreach import outreach_sessions_of

pages = PageTable()
FIELDS = ("held_on", "ward", "area", *(f.value for f in OutreachFigure))
_MESSAGES = {
    "held_on": "Enter the date of the session, like 2027-01-04",
    "ward": "Select the ward",
    "area": "Enter the streets or area covered",
}


def session_problems(exc: ValidationError) -> dict[str, str]:
    """A refused session's problems in words, by field (the first for each)."""
    errors: dict[str, str] = {}
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else "conversations"
        if field in _MESSAGES:
            message = _MESSAGES[field]
        elif e["loc"] and field in FIELDS:
            words = FIGURE_WORDS[OutreachFigure(field)]
            message = f"Enter the number of {words}, a whole number of 0 or more"
        elif e["loc"]:
            message = f"{field}: {e['msg']}"
        else:  # the figures disagree with each other
            message = str(e["msg"]).removeprefix("Value error, ").capitalize()
        errors.setdefault(field, message)
    return errors


async def _page(
    call: PageCall, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.Response:
    sessions = call.request.app[SESSIONS]
    names = await read_names(sessions)
    logged = await outreach_sessions_of(sessions, call.me().principal.subject)
    return render(
        call,
        "refer/outreach.html",
        status,
        values=values,
        errors=errors,
        wards=sorted(names.wards.items(), key=lambda w: w[1]),
        ward_names=names.wards,
        figures=[(f.value, FIGURE_WORDS[f].capitalize()) for f in OutreachFigure],
        logged=logged,
        done=call.request.query.get("done", ""),
    )


@pages.page("GET", "/refer/outreach", summary="The outreach log", action=Action.SUBMIT_REFERRAL)
async def outreach_page(call: PageCall) -> web.StreamResponse:
    """The form for a Reach Out session, and the sessions logged so far."""
    return await _page(call, {"held_on": datetime.now(UTC).date().isoformat()}, {})


@pages.page(
    "POST", "/refer/outreach", summary="Log a Reach Out session", action=Action.SUBMIT_REFERRAL
)
async def outreach_answer(call: PageCall) -> web.StreamResponse:
    """Log the session and offer it to the partnerships' bound indicators."""
    form = await require_form(call)
    values = {f: form.get(f, "").strip() for f in FIELDS}
    try:
        entry = OutreachLog.model_validate({k: v or None for k, v in values.items()})
    except ValidationError as exc:
        return await _page(call, values, session_problems(exc), 400)
    try:
        logged, _ = await log_outreach_session(
            call.request.app, entry, logged_by=call.me().principal.subject
        )
    except DomainRefusal as exc:
        return await _page(call, values, {"ward": "Select a ward of the borough"}, exc.status)
    counted = len(logged.counted_by)
    done = f"Session of {entry.held_on:%d %B %Y} logged" + (
        f": counted by {counted} partnership{'s' if counted != 1 else ''}" if counted else ""
    )
    raise web.HTTPSeeOther("/refer/outreach?" + urlencode({"done": done}))
