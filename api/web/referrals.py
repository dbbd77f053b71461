"""Referral pages: the filtered list, one referral's timeline, an agency's worklist and actions,
and per-agency response statistics. Every action goes through the same Updates as the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
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
    referral_list_share,
    referral_share,
    sees_agency_part,
)
from domain.declines import DECLINE_WORDS, DeclineReason
from domain.directory import Urgency
from domain.labels import SOURCE_NAMES
from domain.referral import (
    OUTCOME_NOTE_MAX,
    AgencyAction,
    Decline,
    OutcomeCode,
    RecordOutcome,
    ReferralStatus,
)
from domain.waiting import waiting_on
from store.names import read_names
from store.referral_queries import sent_notifications
from store.referral_stats import agency_statistics_from_store
from store.referrals import (
    ReferralFilter,
    ReferralPage,
    get_referral,
    list_referrals,
    load_personal_data,
)
from store.trends import answers_by_month
from store.waiting import agencies_of, open_legs_of, unallocated_counts
from store.worklists import worklist_view

pages = PageTable()

PER_PAGE = 25
WORKLIST_PAGE = 50
EVERY_AGENCY = "all"


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
    waiting_on: Annotated[Literal["agency", "coordinator", "referrer"] | None, Optional] = None
    created_from: Annotated[date | None, Optional] = None
    created_to: Annotated[date | None, Optional] = None
    page: Annotated[Annotated[int, Field(ge=1, le=10_000)] | None, Optional] = None


def _filter_for(principal: Principal, form: ListForm) -> ReferralFilter | None:
    """The store filter: the form's choices narrowed to what this user may see (none: the
    user asked for a part that is not theirs). A date range takes in both days whole."""
    share = referral_list_share(principal, form.agency)
    if share.empty:
        return None
    return ReferralFilter(
        status=form.status.value if form.status else None,
        ward=form.ward,
        urgency=form.urgency.value if form.urgency else None,
        breached=form.breached,
        waiting_on=form.waiting_on,
        created_from=datetime.combine(form.created_from, time.min, UTC)
        if form.created_from
        else None,
        # The store's bound is exclusive, as the API's is: the day after, at midnight.
        created_to=datetime.combine(form.created_to + timedelta(days=1), time.min, UTC)
        if form.created_to
        else None,
        limit=PER_PAGE,
        offset=((form.page or 1) - 1) * PER_PAGE,
        agency_id=share.agency_id,
        submitted_by=share.submitted_by,
    )


@pages.page("GET", "/referrals", summary="Referrals, filtered", action=Action.READ_REFERRALS)
async def referral_list(call: PageCall) -> web.StreamResponse:
    """Referrals newest first, filtered and paged; each user sees only their share."""
    try:
        form = ListForm.model_validate(dict(call.request.query))
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise web.HTTPBadRequest(reason=f"check the filters: {fields}") from None
    principal = call.me().principal
    sessions = call.request.app[SESSIONS]
    where = _filter_for(principal, form)
    page = (
        await list_referrals(sessions, where)
        if where is not None
        else ReferralPage(total=0, items=[], limit=PER_PAGE, offset=0)
    )
    chosen = {k: v for k, v in call.request.query.items() if v and k != "page"}
    last_page = max(1, -(-page.total // PER_PAGE))
    form.page = form.page or 1
    numbers = [r.number for r in page.items]
    open_legs = await open_legs_of(sessions, numbers)
    unallocated = await unallocated_counts(sessions, numbers)
    agencies = await agencies_of(sessions, numbers)
    agencies = {
        n: [a for a in ids if sees_agency_part(principal, a)] for n, ids in agencies.items()
    }
    open_legs = {
        n: [leg for leg in legs if sees_agency_part(principal, leg.agency_id)]
        for n, legs in open_legs.items()
    }
    names = await read_names(sessions)
    return render(
        call,
        "referrals.html",
        page=page,
        form=form,
        names=names,
        agencies=agencies,
        waiting={
            r.number: waiting_on(
                status=r.status,
                open_legs=open_legs.get(r.number, []),
                unallocated_needs=unallocated.get(r.number, 0),
            )
            for r in page.items
        },
        agency_options=sorted(names.agencies.items(), key=lambda a: a[1]),
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
    # their notes only, not where else the resident was referred; free text only to those
    # who may read it.
    stored = share.shown(stored)
    stored.needs = [n for n in stored.needs if share.sees_need(n.need_id)]
    stored.legs = [leg for leg in stored.legs if share.sees_leg(leg.leg_id)]
    stored.events = [e for e in stored.events if share.sees_event(e.leg_id, e.need_id, e.kind)]
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
        names=await read_names(sessions),
        source_names=SOURCE_NAMES,
        personal=personal,
        notifications=notifications,
        now=datetime.now(UTC),
    )


@pages.page("GET", "/worklist", summary="An agency's open referrals", action=Action.ACT_ON_LEG)
async def worklist(call: PageCall) -> web.StreamResponse:
    """The agency's legs as a table: those to answer by deadline, then outcomes due; the
    finished ones under "recent"; counts by state at the top."""
    principal = call.me().principal
    query = call.request.query
    agency_id = principal.agency_id or query.get("agency", "")
    recent = query.get("tab") == "recent"
    try:
        page = max(1, min(int(query.get("page", "1")), 10_000))
    except ValueError:
        raise web.HTTPBadRequest(reason="check the page number") from None
    sessions = call.request.app[SESSIONS]
    now = datetime.now(UTC)
    view = (
        await worklist_view(
            sessions,
            agency_id,
            recent=recent,
            now=now,
            limit=WORKLIST_PAGE,
            offset=(page - 1) * WORKLIST_PAGE,
        )
        if agency_id
        else None
    )
    names = await read_names(sessions)
    base = {"agency": agency_id} if principal.agency_id is None and agency_id else {}
    return render(
        call,
        "worklist.html",
        agency_id=agency_id,
        view=view,
        recent=recent,
        names=names,
        page_number=page,
        last_page=max(1, -(-view.total // WORKLIST_PAGE)) if view else 1,
        link=lambda **more: "/worklist?" + urlencode({**base, **more}),
        agency_options=sorted(names.agencies.items(), key=lambda a: a[1]),
        outcomes=list(OutcomeCode),
        outcome_note_max=OUTCOME_NOTE_MAX,
        decline_reasons=[(r.value, w.capitalize()) for r, w in DECLINE_WORDS.items()],
        services=sorted(names.services.items(), key=lambda s: s[1]),
        done=query.get("done", ""),
        now=now,
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
            body = Decline(
                **base,
                reason=form.get("reason", "").strip(),
                why=form.get("why") or DeclineReason.OTHER,
                service_id=form.get("service_id") or None,
            )
        elif action is LegAction.RECORD_OUTCOME:
            value = form.get("value", "").strip()
            body = RecordOutcome(
                **base,
                outcome={
                    "code": form.get("code", ""),
                    "value": float(value) if value else None,
                    "unit": form.get("unit", "").strip() or None,
                    "note": form.get("note") or None,
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
    back = {"done": done}
    if principal.agency_id is None:
        back["agency"] = leg.agency_id
    raise web.HTTPSeeOther("/worklist?" + urlencode(back))


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
    """Per agency in the directory: referrals received, % accepted, declined and not answered
    in time, median and 90th percentile working days to answer, % with an outcome; declines by
    reason; and a chart of answer times by month for every agency or the one chosen."""
    sessions = call.request.app[SESSIONS]
    stats = await agency_statistics_from_store(sessions)
    asked = call.request.query.get("agency") or None
    if asked is not None and asked != EVERY_AGENCY and asked not in {s.agency_id for s in stats}:
        raise web.HTTPNotFound(reason=f"no agency {asked}")
    # Per agency by default, the busiest first: the question is how each agency answers.
    busiest = max(stats, key=lambda s: s.received, default=None)
    chosen = (
        (busiest.agency_id if busiest and busiest.received else None) if asked is None else asked
    )
    chosen = None if chosen == EVERY_AGENCY else chosen
    months = await answers_by_month(sessions, now=datetime.now(UTC), agency_id=chosen)
    return render(
        call,
        "agencies.html",
        stats=stats,
        chosen=chosen,
        chosen_name=next((s.name for s in stats if s.agency_id == chosen), "every agency"),
        months=months,
        every_agency=EVERY_AGENCY,
        chart_query=urlencode({"agency": chosen}) if chosen else "",
        decline_reasons=[(r, w.capitalize()) for r, w in DECLINE_WORDS.items()],
        declining=[s for s in stats if sum(s.declines_by_reason.values())],
    )
