"""Reading referrals: the filtered list, one referral as each caller may see it, a worklist.

Lists and details come from the store's read model, filtered by the one share rule of
:mod:`domain.access`; the workflow's live state is added when Temporal answers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from api.audit import audit_personal_read
from api.http.paging import Paging
from api.http.routing import Call, QueryDateTime
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.common import NOT_FOUND, routes
from clients import temporal
from clients.temporal import TemporalUnavailable, connect
from domain.access import (
    Action,
    may_act_for_agency,
    referral_list_share,
    referral_share,
    sees_all_referrals,
)
from domain.directory import Urgency
from domain.referral import (
    ReferralStatus,
    ReferralView,
    Referrer,
    Resident,
)
from store.referrals import (
    ReferralFacts,
    ReferralFilter,
    ReferralSummary,
    StoredEvent,
    StoredLeg,
    StoredNeed,
    get_referral,
    list_referrals,
    load_personal_data,
)
from store.worklists import worklist_legs

LIVE_STATE_WAIT = timedelta(seconds=3)


class ReferralQuery(Paging):
    """Filters of the referral list, all optional, and its page (newest first)."""

    status: ReferralStatus | None = None
    ward: str | None = Field(default=None, min_length=1, max_length=100)
    agency_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="Referrals with a leg to it."
    )
    urgency: Urgency | None = None
    breached: bool | None = None
    waiting_on: Literal["agency", "coordinator", "referrer"] | None = Field(
        default=None,
        description="Who must act next: an agency (the one named by agency_id, if given) "
        "owes an answer or outcome, the co-ordinator an unallocated need or escalation, the "
        "referrer the follow-up.",
    )
    created_from: QueryDateTime | None = Field(default=None, description="Created at or after.")
    created_to: QueryDateTime | None = Field(default=None, description="Created before.")


class ReferralList(BaseModel):
    """A page of referrals the caller may see, and how many match in all."""

    total: int
    page: int
    per_page: int
    items: list[ReferralSummary]


class PersonalDetails(BaseModel):
    """The resident, the referrer and the needs' notes: shown only to those allowed."""

    resident: Resident
    referrer: Referrer
    need_notes: dict[str, str] = Field(description="Notes by need id.")


class ReferralDetail(ReferralFacts, ReferralSummary):
    """One referral: the read model's needs, legs and events, the workflow's live state, and
    the personal details when the caller may read them."""

    needs: list[StoredNeed]
    legs: list[StoredLeg]
    events: list[StoredEvent]
    live: ReferralView | None = Field(
        default=None, description="The workflow's state now; none if Temporal is unreachable."
    )
    personal: PersonalDetails | None = Field(
        default=None, description="Only for callers who may read notes, and until erased."
    )


class WorklistQuery(Paging):
    """A page of an agency's worklist."""

    per_page: int = Field(default=100, ge=1, le=500)


class Worklist(BaseModel):
    """An agency's open legs, the most pressing deadline first."""

    agency_id: str
    page: int
    per_page: int
    items: list[StoredLeg]


@routes.route(
    "GET",
    "/api/referrals",
    summary="List and filter referrals",
    action=Action.READ_REFERRALS,
    query=ReferralQuery,
    response=ReferralList,
)
async def list_referrals_endpoint(call: Call) -> ReferralList:
    """Referrals newest first, filtered by status, ward, agency, urgency, breach and creation
    time. Agency staff see only referrals with a leg to their agency, referrers only their own."""
    user = call.user()
    q = call.query_as(ReferralQuery)
    where = ReferralFilter(
        status=q.status.value if q.status else None,
        ward=q.ward,
        agency_id=q.agency_id,
        urgency=q.urgency.value if q.urgency else None,
        breached=q.breached,
        waiting_on=q.waiting_on,
        created_from=q.created_from,
        created_to=q.created_to,
        limit=q.per_page,
        offset=q.offset,
    )
    share = referral_list_share(user, q.agency_id)
    if share.empty:
        return ReferralList(total=0, page=q.page, per_page=q.per_page, items=[])
    where.agency_id, where.submitted_by = share.agency_id, share.submitted_by
    found = await list_referrals(call.request.app[SESSIONS], where)
    return ReferralList(total=found.total, page=q.page, per_page=q.per_page, items=found.items)


@routes.route(
    "GET",
    "/api/referrals/{number}",
    summary="One referral: needs, legs, events and live state",
    action=Action.READ_REFERRALS,
    response=ReferralDetail,
    errors=(404,),
)
async def get_referral_endpoint(call: Call) -> ReferralDetail:
    """The referral as recorded and as its workflow sees it now. Agency staff see only their
    own legs; the resident's details and notes only callers who may read notes, and every such
    read is written to the audit trail."""
    user = call.user()
    number = call.path("number")
    sessions = call.request.app[SESSIONS]
    stored = await get_referral(sessions, number)
    share = referral_share(user, referrer=stored.submitted_by, legs=stored.legs) if stored else None
    if stored is None or share is None:
        raise web.HTTPNotFound(reason=NOT_FOUND)
    stored = share.shown(stored)
    needs = [n for n in stored.needs if share.sees_need(n.need_id)]
    legs = [leg for leg in stored.legs if share.sees_leg(leg.leg_id)]
    events = [e for e in stored.events if share.sees_event(e.leg_id, e.need_id, e.kind)]
    live = await live_state(call, number)
    if live is not None:
        live = share.shown(live)
    if live is not None and not share.everything:
        live = live.model_copy(
            update={
                "legs": [leg for leg in live.legs if share.sees_leg(leg.leg_id)],
                "needs": [n for n in live.needs if share.sees_need(n.need_id)],
            }
        )
    personal = None
    if share.personal:
        data = await load_personal_data(sessions, number)
        if data is not None:
            personal = PersonalDetails(
                resident=data.resident,
                referrer=data.referrer,
                need_notes=share.notes(data.need_notes),
            )
            await audit_personal_read(call.request, user, f"/api/referrals/{number}")
    return ReferralDetail(
        **stored.summary.model_dump(),
        **stored.model_dump(include=set(ReferralFacts.model_fields)),
        needs=needs,
        legs=legs,
        events=events,
        live=live,
        personal=personal,
    )


@routes.route(
    "GET",
    "/api/agencies/{agency_id}/worklist",
    summary="An agency's open legs",
    action=Action.READ_REFERRALS,
    query=WorklistQuery,
    response=Worklist,
    errors=(404,),
)
async def worklist(call: Call) -> Worklist:
    """The legs on which the agency owes something, as its dashboard worklist lists them:
    those to answer first, by deadline, then outcomes due, oldest first. Agency staff see only
    their own agency's; staff see any."""
    user = call.user()
    agency_id = call.path("agency_id")
    if not (sees_all_referrals(user) or may_act_for_agency(user, agency_id)):
        raise web.HTTPNotFound(reason="no such worklist")
    q = call.query_as(WorklistQuery)
    items = await worklist_legs(
        call.request.app[SESSIONS], agency_id, limit=q.per_page, offset=q.offset
    )
    return Worklist(agency_id=agency_id, page=q.page, per_page=q.per_page, items=items)


async def live_state(call: Call, number: str) -> ReferralView | None:
    """The workflow's state now, or none if Temporal cannot say within a moment."""
    try:
        client = await connect(call.request.app[TEMPORAL])
        # With no worker polling, a query waits; the page must not.
        return await temporal.query_referral(client, number, wait=LIVE_STATE_WAIT)
    except TemporalUnavailable:
        # The read model still answers; the live state is a bonus.
        return None
