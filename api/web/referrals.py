"""Referral pages: the filtered list, one referral's timeline, an agency's worklist and actions,
and per-agency response statistics. Every action goes through the same Updates as the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import Annotated
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from api.audit import audit_personal_read
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.legs import LegAction, LegNotFound, act_on_leg, leg_for
from api.web.pages import PageCall, PageTable, render, require_form
from clients.temporal import connect
from domain.access import (
    Action,
    Principal,
    Role,
    referral_share,
    sees_all_referrals,
)
from domain.directory import Urgency
from domain.referral import (
    AgencyAction,
    Decline,
    OutcomeCode,
    RecordOutcome,
    ReferralStatus,
)
from store.referral_queries import sent_notifications
from store.referral_stats import agency_statistics_from_store
from store.referrals import (
    ReferralFilter,
    agency_worklist,
    get_referral,
    list_referrals,
    load_personal_data,
)

pages = PageTable()

PER_PAGE = 25


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


Optional = BeforeValidator(_blank_is_none)
Name = Annotated[str, Field(max_length=100)]


class ListForm(BaseModel):
    """The list's filter form, as the browser sends it (empty fields mean "any")."""

    model_config = ConfigDict(extra="ignore")

    status: Annotated[ReferralStatus | None, Optional] = None
    ward: Annotated[Name | None, Optional] = None
    agency: Annotated[Name | None, Optional] = None
    urgency: Annotated[Urgency | None, Optional] = None
    breached: Annotated[bool | None, Optional] = None
    created_from: Annotated[date | None, Optional] = None
    created_to: Annotated[date | None, Optional] = None
    page: Annotated[Annotated[int, Field(ge=1, le=10_000)] | None, Optional] = None


def _filter_for(principal: Principal, form: ListForm) -> ReferralFilter:
    """The store filter: the form's choices narrowed to what this user may see."""
    where = ReferralFilter(
        status=form.status.value if form.status else None,
        ward=form.ward,
        agency_id=form.agency,
        urgency=form.urgency.value if form.urgency else None,
        breached=form.breached,
        created_from=datetime.combine(form.created_from, time.min, UTC)
        if form.created_from
        else None,
        created_to=datetime.combine(form.created_to, time.max, UTC) if form.created_to else None,
        limit=PER_PAGE,
        offset=((form.page or 1) - 1) * PER_PAGE,
    )
    if sees_all_referrals(principal):
        return where
    if principal.role is Role.AGENCY:
        return where.model_copy(update={"agency_id": principal.agency_id})
    return where.model_copy(update={"submitted_by": principal.subject})


@pages.page("GET", "/referrals", summary="Referrals, filtered", action=Action.READ_REFERRALS)
async def referral_list(call: PageCall) -> web.StreamResponse:
    """Referrals newest first, filtered and paged; each user sees only their share."""
    try:
        form = ListForm.model_validate(dict(call.request.query))
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise web.HTTPBadRequest(reason=f"check the filters: {fields}") from None
    principal = call.me().principal
    page = await list_referrals(call.request.app[SESSIONS], _filter_for(principal, form))
    chosen = {k: v for k, v in call.request.query.items() if v and k != "page"}
    last_page = max(1, -(-page.total // PER_PAGE))
    form.page = form.page or 1
    return render(
        call,
        "referrals.html",
        page=page,
        form=form,
        statuses=list(ReferralStatus),
        urgencies=list(Urgency),
        own_agency=principal.agency_id,
        last_page=last_page,
        page_link=lambda n: "/referrals?" + urlencode({**chosen, "page": n}),
    )


@pages.page(
    "GET", "/referrals/{number}", summary="One referral's timeline", action=Action.READ_REFERRALS
)
async def referral_detail(call: PageCall) -> web.StreamResponse:
    """Every event, who acted, each leg's state and deadline, and the notifications sent."""
    sessions = call.request.app[SESSIONS]
    number = call.request.match_info["number"]
    principal = call.me().principal
    stored = await get_referral(sessions, number)
    share = (
        referral_share(principal, referrer=stored.submitted_by, legs=stored.legs)
        if stored
        else None
    )
    if stored is None or share is None:
        raise web.HTTPNotFound(reason=f"no referral {number} that you may see")
    # One rule for the API and the dashboard: an agency sees its own legs, their needs and
    # their notes only, not where else the resident was referred.
    stored.needs = [n for n in stored.needs if share.sees_need(n.need_id)]
    stored.legs = [leg for leg in stored.legs if share.sees_leg(leg.leg_id)]
    stored.events = [e for e in stored.events if share.sees_event(e.leg_id, e.need_id)]
    personal = None
    if not stored.summary.personal_data_erased and share.personal:
        personal = await load_personal_data(sessions, number)
        if personal is not None:
            personal.need_notes = share.notes(personal.need_notes)
            await audit_personal_read(call.request, principal, call.request.path)
    notifications = await sent_notifications(sessions, number) if share.notifications else []
    return render(
        call,
        "referral.html",
        referral=stored,
        personal=personal,
        notifications=notifications,
        now=datetime.now(UTC),
    )


@pages.page("GET", "/worklist", summary="An agency's open referrals", action=Action.ACT_ON_LEG)
async def worklist(call: PageCall) -> web.StreamResponse:
    """The agency's open legs, most pressing deadline first, with their actions."""
    principal = call.me().principal
    agency_id = principal.agency_id or call.request.query.get("agency", "")
    legs = await agency_worklist(call.request.app[SESSIONS], agency_id) if agency_id else []
    return render(
        call,
        "worklist.html",
        agency_id=agency_id,
        legs=legs,
        outcomes=list(OutcomeCode),
        done=call.request.query.get("done", ""),
        now=datetime.now(UTC),
    )


async def _form_action(call: PageCall, action: LegAction) -> web.StreamResponse:
    form = await require_form(call)
    principal = call.me().principal
    sessions = call.request.app[SESSIONS]
    try:
        leg = await leg_for(sessions, principal, call.request.match_info["leg_id"])
    except LegNotFound:
        raise web.HTTPNotFound(reason="no such open referral for your agency") from None
    base = {"agency_id": leg.agency_id, "actor": principal.subject}
    try:
        body: AgencyAction
        if action is LegAction.DECLINE:
            body = Decline(**base, reason=form.get("reason", "").strip())
        elif action is LegAction.RECORD_OUTCOME:
            value = form.get("value", "").strip()
            body = RecordOutcome(
                **base,
                outcome={
                    "code": form.get("code", ""),
                    "value": float(value) if value else None,
                    "unit": form.get("unit", "").strip() or None,
                },
            )
        else:
            body = AgencyAction(**base)
    except (ValidationError, ValueError) as exc:
        message = (
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        raise web.HTTPUnprocessableEntity(reason=f"check the form: {message}") from None
    client = await connect(call.request.app[TEMPORAL])
    view = await act_on_leg(client, leg, action, body)
    done = f"{leg.leg_id}: {view.state.value.replace('_', ' ')}"
    raise web.HTTPSeeOther("/worklist?" + urlencode({"done": done}))


# The worklist's forms: (action, path, summary, page name, what it does).
_FORMS = (
    (LegAction.ACCEPT, "accept", "Accept a referral", "accept_leg", "Accept the leg."),
    (
        LegAction.DECLINE,
        "decline",
        "Decline a referral",
        "decline_leg",
        "Decline the leg with a reason; the need is re-routed.",
    ),
    (
        LegAction.RECORD_OUTCOME,
        "outcome",
        "Record an outcome",
        "record_leg_outcome",
        "Record the leg's outcome with an optional value.",
    ),
)


def _form_page(
    action: LegAction, name: str, doc: str
) -> Callable[[PageCall], Awaitable[web.StreamResponse]]:
    async def page(call: PageCall) -> web.StreamResponse:
        return await _form_action(call, action)

    page.__name__ = page.__qualname__ = name
    page.__doc__ = f"{doc} (the {action.value} Update)"
    return page


for _action, _path, _summary, _name, _doc in _FORMS:
    pages.page("POST", f"/worklist/{{leg_id}}/{_path}", summary=_summary, action=Action.ACT_ON_LEG)(
        _form_page(_action, _name, _doc)
    )


@pages.page(
    "GET", "/agencies", summary="Per-agency response statistics", action=Action.READ_STATISTICS
)
async def agency_stats(call: PageCall) -> web.StreamResponse:
    """Median days to respond, share accepted and share with an outcome, per agency."""
    stats = await agency_statistics_from_store(call.request.app[SESSIONS])
    return render(call, "agencies.html", stats=stats)
