"""A page for every action on a partnership, generated from the one table of actions.

``GET /partnerships/{id}/actions/{update}`` shows the form :mod:`api.web.command_form` builds
from the action's command; the POST runs the same Update the JSON API runs. A refusal by the
command's validation comes back beside the fields, one by the partnership's rules as the
reason, with nothing changed. An action may have a bespoke page instead (``BESPOKE``): its
generated address then sends the browser there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import structlog
from aiohttp import web

from api.http.state import SESSIONS, TEMPORAL
from api.partnerships import checked_id, query_partnership
from api.web import command_form as cf
from api.web.pages import PageCall, PageTable, render, require_form
from clients.temporal import WorkflowRefused, connect, update_partnership
from domain.access import Action, Principal, Role, may
from domain.calendar import LONDON
from domain.partnership import ACTIONS, BY_UPDATE, PartnershipAction, PartnershipState
from domain.partnership_next import NextStep, needed_next
from store.partnerships import get_partnership
from workflows.partnership import PartnershipWorkflow

pages = PageTable()
log = structlog.get_logger(__name__)

OFFERED: tuple[PartnershipAction, ...] = tuple(a for a in ACTIONS if not a.by_system)
"""The actions a person takes (the rest are sent by partnerflow itself)."""

BESPOKE: Mapping[str, Callable[[str], str]] = {
    # The outcome form lives on the partnership's page, beside the indicators it adds to.
    "add_outcome": lambda pid: f"/partnerships/{pid}#add-outcome",
}
"""Actions with a page of their own instead of the generated one: the address of that page."""

# Why each action is asked for, in words, shown above its form.
WHY: Mapping[str, str] = {
    "commit_partner": "Say what your organisation puts in and that it agrees the partnership's "
    "aims, targets and how it will be evaluated.",
    "submit_quarterly_return": "Each funded project reports its spend and progress every quarter.",
    "plan_after_funding": "Funding for the project tapers and then ends. Say how it carries on: "
    "taken into a partner's own budget (mainstreamed), or closed with its users handed on (exit).",
    "reply_to_meeting": "The partners meet to monitor progress on the action plan; the "
    "co-ordinator needs to know who will be there.",
    "record_meeting": "Each action arising joins the action plan, and its owner is reminded "
    "before it falls due.",
    "complete_negotiation": "The partnership moves on to Establish once every partner has "
    "committed, the costs are assessed and, where needed, members have approved.",
    "complete_establishment": "The partnership moves on to Plan once the eight support "
    "elements are agreed and a co-ordinator is appointed.",
}


def form_path(pid: str, action: PartnershipAction) -> str:
    """The generated page of ``action`` on partnership ``pid``."""
    return f"/partnerships/{pid}/actions/{action.update}"


def form_href(pid: str, action: PartnershipAction) -> str:
    """Where a person goes to take ``action``: its bespoke page, or the generated one."""
    bespoke = BESPOKE.get(action.update)
    return bespoke(pid) if bespoke else form_path(pid, action)


def step_href(pid: str, action: PartnershipAction, answers: Mapping[str, str]) -> str:
    """The address of ``action``'s form, starting with ``answers``."""
    if action.update in BESPOKE or not answers:
        return form_href(pid, action)
    return f"{form_path(pid, action)}?{urlencode(answers)}"


def offered_now(state: PartnershipState, principal: Principal) -> list[PartnershipAction]:
    """The actions ``principal`` may take on the partnership in its current stage."""
    return [a for a in OFFERED if a.offered_in(state) and may(principal, a.access)]


def next_links(
    state: PartnershipState, principal: Principal, today: date
) -> list[tuple[NextStep, str]]:
    """What the partnership needs next, each with the link to its form (``""``: nothing to
    do but wait, or not this user's to do); a partner agency's user sees only its own."""
    links: list[tuple[NextStep, str]] = []
    own = principal.agency_id if principal.role is Role.AGENCY else None
    offered = {a.update: a for a in offered_now(state, principal)}
    for step in needed_next(state, today):
        if own is not None and step.agency_id != own:
            continue
        action = offered.get(step.update or "")
        links.append((step, step_href(state.id, action, step.answers) if action else ""))
    return links


def choices(
    state: PartnershipState, principal: Principal | None
) -> dict[str, list[tuple[str, str]]]:
    """Choices drawn from the partnership for the fields that name its parts; a partner
    agency's user is offered only its own."""
    own = principal.agency_id if principal and principal.role is Role.AGENCY else None
    partners = [p for p in state.partners if own is None or p.agency_id == own]
    return {
        "agency_id": [(p.agency_id, p.name) for p in partners if p.commitment is None]
        or [(p.agency_id, p.name) for p in partners],
        "project_id": [(p.id, p.name) for p in state.projects if own is None or p.agency_id == own],
        "indicator_id": [(i.id, i.name) for i in state.indicators],
        "action_id": [
            (a.id, a.title)
            for a in state.actions
            if a.done_on is None and (own is None or a.owner_agency_id == own)
        ],
        "group_id": [(g.id, g.theme) for g in state.groups],
        "attendees": [(p.agency_id, p.name) for p in state.partners],
        "apologies": [(p.agency_id, p.name) for p in state.partners],
        "owner_agency_id": [(p.agency_id, p.name) for p in partners],
    }


def fields_for(
    action: PartnershipAction, state: PartnershipState, principal: Principal | None
) -> tuple[cf.FormField, ...]:
    # Choices only where the partnership has some, and never for a new partner's own id.
    known = {k: v for k, v in choices(state, principal).items() if v}
    if action.update in ("invite_partner", "add_funded_project"):
        known.pop("agency_id", None)
    return cf.with_choices(cf.fields_of(action.command), known)


@dataclass(frozen=True, kw_only=True)
class FormPage:
    """What one rendering of an action's page needs beyond the request."""

    pid: str
    action: PartnershipAction
    state: PartnershipState
    principal: Principal | None
    form_action: str
    back: str
    csrf_token: str


def values_of(posted: Any) -> dict[str, list[str]]:
    """Every posted value by name, the form's own machinery left out."""
    return {
        key: [v for v in posted.getall(key) if isinstance(v, str)]
        for key in set(posted.keys())
        if key not in ("csrf_token", "_another")
    }


def page_context(
    page: FormPage,
    values: cf.Values,
    *,
    errors: Mapping[str, str] | None = None,
    refusal: str = "",
    another: str = "",
) -> dict[str, Any]:
    """The template's context for ``page`` holding ``values``."""
    errors = dict(errors or {})
    fields = fields_for(page.action, page.state, page.principal)
    listed: list[tuple[str, str]] = [(cf.field_id(n), m) for n, m in errors.items()]
    if refusal:
        listed.append(("refusal", f"Nothing was changed: {refusal}"))
    return {
        "title": page.action.summary,
        "partnership_name": page.state.name,
        "why": WHY.get(page.action.update, ""),
        "fields": cf.controls(fields, values, errors, another=another),
        "summary_errors": listed,
        "errors": bool(listed),
        "refusal": refusal,
        "form_action": page.form_action,
        "back": page.back,
        "button": "Continue" if fields else page.action.summary,
        "radio_limit": cf.RADIO_LIMIT,
        "form_csrf": page.csrf_token,
        "may_read": page.principal is not None and may(page.principal, Action.READ_PARTNERSHIPS),
    }


def initial_values(page: FormPage, query: Mapping[str, str]) -> dict[str, list[str]]:
    """A fresh form: the model's defaults, then anything the link that opened it names."""
    fields = fields_for(page.action, page.state, page.principal)
    values = cf.initial(fields)
    # Nested names too: a key question's link names the question (``answers.0.number``).
    names = cf.input_names(fields)
    values.update({k: [v] for k, v in query.items() if k in names})
    return values


async def submit(
    request: web.Request, page: FormPage, values: dict[str, list[str]], another: str
) -> tuple[int, dict[str, Any]] | None:
    """Run the posted form: ``None`` once the Update is done, else the status and context of
    the page to show again (another row asked for, the answers refused, or the rules said no)."""
    fields = fields_for(page.action, page.state, page.principal)
    if another:
        return 200, page_context(page, values, another=another)
    parsed = cf.parse(page.action.command, fields, values)
    if isinstance(parsed, cf.Refused):
        kept = cf.compact(fields, values)
        return 422, page_context(page, kept, errors=parsed.errors)
    principal = page.principal
    if page.action.agency_of is not None and (principal is None or principal.role is Role.AGENCY):
        acting = page.action.agency_of(page.state, parsed)
        own = principal.agency_id if principal else None
        if acting is None or acting != own:
            return 403, page_context(
                page, values, refusal="a partner agency may only act for itself"
            )
    client = await connect(request.app[TEMPORAL])
    try:
        await update_partnership(client, checked_id(page.pid), page.action, parsed)
    except WorkflowRefused as exc:
        return 409, page_context(page, values, refusal=exc.reason)
    log.info("partnership action from a page", partnership_id=page.pid, update=page.action.update)
    return None


def _register(action: PartnershipAction) -> None:
    path = f"/partnerships/{{partnership_id}}/actions/{action.update}"

    async def load(call: PageCall) -> FormPage:
        pid = call.request.match_info["partnership_id"]
        if await get_partnership(call.request.app[SESSIONS], pid) is None:
            raise web.HTTPNotFound(reason=f"no partnership {pid}")
        state = await query_partnership(call.request, pid, PartnershipWorkflow.state)
        principal = call.me().principal
        own = principal.role is Role.AGENCY
        if own and state.partner(principal.agency_id or "") is None:
            # Answered as if it did not exist, like a referral outside an agency's share.
            raise web.HTTPNotFound(reason=f"no partnership {pid}")
        return FormPage(
            pid=pid,
            action=action,
            state=state,
            principal=principal,
            form_action=form_path(pid, action),
            back=f"/partnerships/{pid}/mine" if own else f"/partnerships/{pid}",
            csrf_token=call.me().csrf_token,
        )

    async def show(call: PageCall) -> web.StreamResponse:
        pid = call.request.match_info["partnership_id"]
        if action.update in BESPOKE:
            raise web.HTTPSeeOther(BESPOKE[action.update](pid))
        page = await load(call)
        if not action.offered_in(page.state):
            reason = f"the partnership is in {page.state.stage.value}; this is not offered now"
            context = page_context(page, {}, refusal=reason)
            context["fields"] = ()
            return render(call, "partnership_action/not_now.html", 409, **context)
        values = initial_values(page, call.request.query)
        return render(call, "partnership_action/form.html", **page_context(page, values))

    async def post(call: PageCall) -> web.StreamResponse:
        await require_form(call)
        page = await load(call)
        posted = await call.request.post()
        another = str(posted.get("_another", ""))
        shown = await submit(call.request, page, values_of(posted), another)
        if shown is not None:
            status, context = shown
            return render(call, "partnership_action/form.html", status, **context)
        raise web.HTTPSeeOther(f"{page.back}?done={action.update}")

    show.__name__ = show.__qualname__ = f"action_page_{action.update}"
    post.__name__ = post.__qualname__ = f"action_submit_{action.update}"
    pages.page("GET", path, summary=f"Form: {action.summary}", action=action.access)(show)
    pages.page("POST", path, summary=action.summary, action=action.access)(post)


for _action in OFFERED:
    _register(_action)


@pages.page(
    "GET",
    "/partnerships/{partnership_id}/mine",
    summary="A partner agency's part in a partnership: what it is asked to do",
    action=Action.SUBMIT_PARTNER_RETURN,
)
async def partner_part(call: PageCall) -> web.StreamResponse:
    """An agency's own commitment, projects and returns, and plan actions, with what the
    partnership asks of it next; staff see the whole partnership instead."""
    pid = call.request.match_info["partnership_id"]
    principal = call.me().principal
    if principal.role is not Role.AGENCY:
        raise web.HTTPSeeOther(f"/partnerships/{pid}")
    if await get_partnership(call.request.app[SESSIONS], pid) is None:
        raise web.HTTPNotFound(reason=f"no partnership {pid}")
    state = await query_partnership(call.request, pid, PartnershipWorkflow.state)
    partner = state.partner(principal.agency_id or "")
    if partner is None:
        raise web.HTTPNotFound(reason=f"no partnership {pid}")
    done = BY_UPDATE.get(call.request.query.get("done", ""))
    return render(
        call,
        "partnership_action/mine.html",
        state=state,
        partner=partner,
        projects=[p for p in state.projects if p.agency_id == partner.agency_id],
        actions=[a for a in state.actions if a.owner_agency_id == partner.agency_id],
        next_steps=next_links(state, principal, datetime.now(UTC).astimezone(LONDON).date()),
        done=done.summary if done else "",
        errors=False,
        may_read=False,
    )
