"""Start a partnership from the dashboard: the form generated from :class:`NewPartnership`,
the body the JSON API's ``POST /api/partnerships`` takes, and the same workflow start."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from api.http.state import SESSIONS, TASK_QUEUE, TEMPORAL
from api.web import command_form as cf
from api.web.pages import PageCall, PageTable, render, require_form
from api.web.partnership_actions import values_of
from clients import temporal
from clients.temporal import WorkflowRefused, connect
from domain.access import Action
from domain.partnership import NewPartnership, new_partnership
from store.names import read_names
from store.partnerships import get_partnership, list_partnerships

pages = PageTable()
log = structlog.get_logger(__name__)

PATH = "/partnerships/new"
HIDDEN = {"policy.max_history_events"}
"""Fields left to their default: how the workflow keeps its history short is not a person's
choice."""
READ_MODEL_WAIT = 5.0
"""Seconds to wait for the new partnership to reach the list before showing its page."""


async def _fields(call: PageCall) -> tuple[cf.FormField, ...]:
    sessions = call.request.app[SESSIONS]
    names = await read_names(sessions)
    _, strategic = await list_partnerships(sessions, limit=200)
    choices = {
        "wards": sorted(names.wards.items(), key=lambda w: w[1]),
        "parent_id": [(p.id, p.name) for p in strategic if p.strategic],
    }
    fields = cf.without(cf.fields_of(NewPartnership), HIDDEN)
    return cf.with_choices(fields, {k: v for k, v in choices.items() if v})


def _context(
    call: PageCall,
    fields: tuple[cf.FormField, ...],
    values: cf.Values,
    *,
    errors: dict[str, str] | None = None,
    refusal: str = "",
    another: str = "",
) -> dict[str, Any]:
    errors = errors or {}
    listed = [(cf.field_id(n), m) for n, m in errors.items()]
    if refusal:
        listed.append(("refusal", f"Nothing was changed: {refusal}"))
    return {
        "title": "Start a partnership",
        "partnership_name": "Partnerships",
        "why": "It starts in Negotiate: invite the partners next. The co-ordinator is written "
        "to about everything the partnership waits on.",
        "fields": cf.controls(fields, values, errors, another=another),
        "summary_errors": listed,
        "errors": bool(listed),
        "refusal": refusal,
        "form_action": PATH,
        "back": "/partnerships",
        "button": "Start the partnership",
        "radio_limit": cf.RADIO_LIMIT,
        "form_csrf": call.me().csrf_token,
        "may_read": True,
    }


@pages.page("GET", PATH, summary="Form: start a partnership", action=Action.MANAGE_PARTNERSHIPS)
async def start_form(call: PageCall) -> web.StreamResponse:
    """The empty form, with the policy's defaults filled in."""
    fields = await _fields(call)
    return render(
        call, "partnership_action/form.html", **_context(call, fields, cf.initial(fields))
    )


@pages.page("POST", PATH, summary="Start a partnership", action=Action.MANAGE_PARTNERSHIPS)
async def start_submit(call: PageCall) -> web.StreamResponse:
    """Start the partnership's workflow, as the API does; then its page."""
    await require_form(call)
    posted = await call.request.post()
    values = values_of(posted)
    fields = await _fields(call)
    another = str(posted.get("_another", ""))
    if another:
        return render(
            call, "partnership_action/form.html", **_context(call, fields, values, another=another)
        )
    parsed = cf.parse(NewPartnership, fields, values)
    if isinstance(parsed, cf.Refused):
        context = _context(call, fields, cf.compact(fields, values), errors=parsed.errors)
        return render(call, "partnership_action/form.html", 422, **context)
    client = await connect(call.request.app[TEMPORAL])
    try:
        wid = await temporal.start_partnership(
            client,
            new_partnership(parsed, datetime.now(UTC)),
            task_queue=call.request.app[TASK_QUEUE],
        )
    except WorkflowRefused as exc:
        context = _context(call, fields, values, refusal=exc.reason)
        return render(call, "partnership_action/form.html", 409, **context)
    log.info("partnership started from a page", partnership_id=parsed.id, workflow_id=wid)
    # Its page reads the list's record first, which the workflow writes as it starts.
    sessions = call.request.app[SESSIONS]
    for _ in range(int(READ_MODEL_WAIT / 0.1)):
        if await get_partnership(sessions, parsed.id) is not None:
            break
        await asyncio.sleep(0.1)
    raise web.HTTPSeeOther(f"/partnerships/{parsed.id}?done=created")
