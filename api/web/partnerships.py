"""Partnership pages: the list from the read model, and one partnership's stages, gates,
indicators with RAG and upcoming reminders, asked of its workflow through the JSON API's
queries."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from api.http.headers import csp_nonce
from api.http.state import SESSIONS, TEMPORAL
from api.partnership_report import review_html
from api.partnerships import checked_id, query_partnership
from api.web import outcome_form
from api.web.charts import indicator_chart, svg_response
from api.web.pages import PageCall, PageTable, render, require_form
from api.web.partnership_actions import next_links, offered_now, step_href
from clients.temporal import WorkflowRefused, connect, partnership_workflow_id, update_partnership
from domain.access import Action, may
from domain.calendar import LONDON
from domain.directory import NeedCategory
from domain.indicators import Direction
from domain.outcome_binding import BoundMeasure, describe
from domain.partnership import BY_UPDATE, Stage
from domain.partnership.actions import action_for
from domain.partnership.commands import AddOutcome
from domain.partnership_gates import gates
from domain.partnership_schedule import overdue_items
from domain.referral import OutcomeCode
from store.names import read_names
from store.partnerships import get_partnership, list_partnerships
from workflows.partnership import PartnershipWorkflow

pages = PageTable()

ADD_OUTCOME = action_for(AddOutcome)

PER_PAGE = 25
TIMELINE_SHOWN = 50
"""The latest events the page lists; the API's timeline has them all."""


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


Optional = BeforeValidator(_blank_is_none)


class PartnershipListForm(BaseModel):
    """The list's filter form, as the browser sends it (empty fields mean "any")."""

    model_config = ConfigDict(extra="ignore")

    stage: Annotated[Stage | None, Optional] = None
    overdue: Annotated[bool | None, Optional] = None
    page: Annotated[Annotated[int, Field(ge=1, le=10_000)] | None, Optional] = None


@pages.page(
    "GET", "/partnerships", summary="Partnerships, filtered", action=Action.READ_PARTNERSHIPS
)
async def partnership_list(call: PageCall) -> web.StreamResponse:
    """Partnerships soonest deadline first, filtered by stage and overdue, and paged."""
    try:
        form = PartnershipListForm.model_validate(dict(call.request.query))
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise web.HTTPBadRequest(reason=f"check the filters: {fields}") from None
    page = form.page or 1
    total, items = await list_partnerships(
        call.request.app[SESSIONS],
        stage=form.stage,
        overdue=form.overdue,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    chosen = {k: v for k, v in call.request.query.items() if v and k != "page"}
    return render(
        call,
        "partnerships.html",
        total=total,
        items=items,
        form=form,
        page=page,
        last_page=max(1, -(-total // PER_PAGE)),
        stages=list(Stage),
        page_link=lambda n: "/partnerships?" + urlencode({**chosen, "page": n}),
        may_start=may(call.me().principal, Action.MANAGE_PARTNERSHIPS),
    )


@pages.page(
    "GET",
    "/partnerships/{partnership_id}",
    summary="One partnership's stages, gates, indicators and reminders",
    action=Action.READ_PARTNERSHIPS,
)
async def partnership_detail(call: PageCall) -> web.StreamResponse:
    """Stages and what each gate still lacks, indicators with RAG, the next reminders."""
    return await _detail(call, outcome_form.blank(), added=call.request.query.get("added", ""))


async def _detail(
    call: PageCall,
    entered: dict[str, Any],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    added: str = "",
) -> web.Response:
    """The partnership's page, with the outcome form holding ``entered`` and its ``errors``;
    ``added`` names the indicator just added (confirmed only if the workflow holds it)."""
    pid = call.request.match_info["partnership_id"]
    request = call.request
    # The list links only what the read model holds; anything else is not asked of Temporal.
    summary = await get_partnership(request.app[SESSIONS], pid)
    if summary is None:
        raise web.HTTPNotFound(reason=f"no partnership {pid}")
    state = await query_partnership(request, pid, PartnershipWorkflow.state)
    report = await query_partnership(request, pid, PartnershipWorkflow.indicators)
    upcoming = await query_partnership(request, pid, PartnershipWorkflow.upcoming)
    names = await read_names(request.app[SESSIONS])
    _, thematic = await list_partnerships(request.app[SESSIONS], parent_id=pid, limit=100)
    parent = (
        await get_partnership(request.app[SESSIONS], state.parent_id) if state.parent_id else None
    )
    # The workflow's clock, so the page agrees with what the workflow sends and when.
    now = upcoming.as_of
    principal = call.me().principal
    done_now = request.query.get("done", "")
    done = BY_UPDATE.get(done_now)
    return render(
        call,
        "partnership.html",
        status=status,
        state=state,
        summary=summary,
        gates=gates(state, now.astimezone(LONDON).date()),
        next_steps=next_links(state, principal, now.astimezone(LONDON).date()),
        offered=[(a, step_href(state.id, a, {})) for a in offered_now(state, principal)],
        thematic=thematic,
        parent=parent,
        timeline=list(reversed(state.timeline[-TIMELINE_SHOWN:])),
        ward_names=[names.wards.get(w, w) for w in state.wards],
        partner_names={p.agency_id: p.name for p in state.partners},
        done=done.summary if done else ("Start the partnership" if done_now == "created" else ""),
        indicators=report.indicators,
        indicator_history={i.id: sorted(i.actuals, key=lambda a: a.at) for i in state.indicators},
        bindings={
            i.id: describe(i.binding, names.ward) for i in state.indicators if i.binding is not None
        },
        overdue=overdue_items(state, now),
        reminders=upcoming.reminders,
        workflow_id=partnership_workflow_id(state.id),
        now=now,
        may_add_outcome=may(call.me().principal, ADD_OUTCOME.access),
        outcome=entered,
        outcome_errors=errors or {},
        outcome_added=next((i.name for i in state.indicators if added and i.id == added), ""),
        # The form binds to referral outcomes; an outreach figure is bound through the API.
        measures=[m for m in BoundMeasure if m is not BoundMeasure.OUTREACH_FIGURE],
        directions=list(Direction),
        outcome_codes=list(OutcomeCode),
        categories=list(NeedCategory),
        wards=sorted(names.wards.items(), key=lambda w: w[1]),
    )


@pages.page(
    "POST",
    "/partnerships/{partnership_id}/outcomes",
    summary="Add a SMART outcome with an indicator, optionally fed by referral outcomes",
    action=ADD_OUTCOME.access,
)
async def add_outcome_form(call: PageCall) -> web.StreamResponse:
    """The add_outcome Update, as the JSON API runs it; a refusal (the command's validation
    or the workflow's rules) is shown beside the form, which keeps what was entered."""
    form = await require_form(call)
    posted = await call.request.post()
    entered = outcome_form.entered(
        form, {name: [str(v) for v in posted.getall(name, [])] for name in outcome_form.LISTS}
    )
    pid = call.request.match_info["partnership_id"]
    if await get_partnership(call.request.app[SESSIONS], pid) is None:
        raise web.HTTPNotFound(reason=f"no partnership {pid}")
    try:
        command = outcome_form.command_from(entered)
    except ValidationError as exc:
        return await _detail(call, entered, status=422, errors=outcome_form.field_errors(exc))
    client = await connect(call.request.app[TEMPORAL])
    try:
        await update_partnership(client, checked_id(pid), ADD_OUTCOME, command)
    except WorkflowRefused as exc:
        return await _detail(call, entered, status=409, errors={"form": exc.reason})
    added = urlencode({"added": command.indicators[0].id})
    raise web.HTTPSeeOther(f"/partnerships/{pid}?{added}#indicators")


@pages.page(
    "GET",
    "/partnerships/{partnership_id}/indicators/{indicator_id}.svg",
    summary="Chart: one indicator's actuals against its baseline and target",
    action=Action.READ_PARTNERSHIPS,
)
async def indicator_chart_svg(call: PageCall) -> web.StreamResponse:
    """The indicator's actuals over time, its baseline and target, and the green band's edge."""
    pid = call.request.match_info["partnership_id"]
    indicator_id = call.request.match_info["indicator_id"]
    if await get_partnership(call.request.app[SESSIONS], pid) is None:
        raise web.HTTPNotFound(reason=f"no partnership {pid}")
    state = await query_partnership(call.request, pid, PartnershipWorkflow.state)
    indicator = next((i for i in state.indicators if i.id == indicator_id), None)
    if indicator is None:
        raise web.HTTPNotFound(reason=f"no indicator {indicator_id}")
    narrow = call.request.query.get("size") == "narrow"
    return svg_response(indicator_chart(indicator, narrow=narrow))


@pages.page(
    "GET",
    "/partnerships/{partnership_id}/review",
    summary="One partnership's review report, printable, for member scrutiny",
    action=Action.READ_PARTNERSHIPS,
)
async def review_page(call: PageCall) -> web.StreamResponse:
    """The review report as the API's review.html gives it (print stylesheet included):
    indicators against baseline and target, actions, funded projects, value for money,
    health, and the decision with the exit options appraised."""
    pid = call.request.match_info["partnership_id"]
    if await get_partnership(call.request.app[SESSIONS], pid) is None:
        raise web.HTTPNotFound(reason=f"no partnership {pid}")
    report = await query_partnership(call.request, pid, PartnershipWorkflow.review_report)
    html = review_html(report, nonce=csp_nonce(call.request))
    response = web.Response(text=html, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
