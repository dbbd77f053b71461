"""The resident's tracking page, reached by the signed link in their confirmation email: how
each need is going in plain words, and withdrawing consent (the API's own path: every leg
stops, the agencies are told, and the resident's details are erased)."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from aiohttp import web

from api.find.site import FIND_CONFIG, CalmError, Visit, finder, form_of, page, redirect, render
from api.http.errors import DomainRefusal
from api.http.state import SESSIONS
from api.referrals.consent import withdraw_resident_consent
from clients.temporal import WorkflowRefused
from domain.directory import NeedCategory
from domain.find_words import (
    LEG_COLOURS,
    LEG_WORDS,
    NEED_STATE_COLOURS,
    NEED_STATE_WORDS,
    need_label,
)
from domain.referral import LegState, NeedState, Withdrawal
from domain.signed_link import TRACK_PURPOSE, BadLink, verify_link
from store.referrals import StoredReferral, get_referral

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
RESIDENT_ACTOR = "resident (tracking link)"

_BAD_LINK = CalmError(
    404,
    "This link does not work",
    "It may have expired or been copied wrongly. Links work for 180 days. If you need help "
    "with your request, quote your reference number to the service or to the council.",
)


async def _referral(request: web.Request) -> tuple[str, StoredReferral]:
    token = request.match_info["token"]
    try:
        number = verify_link(
            request.app[FIND_CONFIG].link_keys, token, purpose=TRACK_PURPOSE, now=datetime.now(UTC)
        )
    except BadLink:
        raise _BAD_LINK from None
    stored = await get_referral(request.app[SESSIONS], number)
    if stored is None:
        raise _BAD_LINK
    return token, stored


@routes.get("/find/track/{token}")
@page
async def track(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Each need's progress in plain words."""
    token, stored = await _referral(request)
    directory, _ = await finder(request.app)
    names = {s.id: s.name for s in directory.services}
    rows = []
    for need in stored.needs:
        legs = [leg for leg in stored.legs if leg.need_id == need.need_id]
        service_id = legs[-1].service_id if legs else need.signposted_service_id
        if legs:
            leg_state = LegState(legs[-1].state)
            words, colour = LEG_WORDS[leg_state], LEG_COLOURS[leg_state]
        else:
            need_state = NeedState(need.state)
            words, colour = NEED_STATE_WORDS[need_state], NEED_STATE_COLOURS[need_state]
        rows.append(
            {
                "need": need_label(NeedCategory(need.category)),
                "status": words,
                "colour": colour,
                "service": names.get(service_id or "", ""),
                "service_id": service_id if service_id in names else None,
            }
        )
    return await render(
        request,
        visit,
        "track.html",
        number=stored.summary.number,
        rows=rows,
        erased=stored.summary.personal_data_erased,
        token=token,
        withdrawn=visit.data.pop("withdrawn", None) == stored.summary.number,
    )


@routes.get("/find/track/{token}/withdraw")
@page
async def withdraw_question(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Are you sure? What withdrawing consent does."""
    token, stored = await _referral(request)
    if stored.summary.personal_data_erased:
        return await redirect(request, visit, f"/find/track/{token}")
    return await render(
        request, visit, "track_withdraw.html", number=stored.summary.number, token=token
    )


@routes.post("/find/track/{token}/withdraw")
@page
async def withdraw(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Withdraw consent exactly as the API's ``withdraw-consent`` does."""
    await form_of(request, visit)
    token, stored = await _referral(request)
    try:
        await withdraw_resident_consent(
            request.app,
            stored,
            Withdrawal(
                actor=RESIDENT_ACTOR, reason="The resident withdrew consent on the tracking page"
            ),
        )
    except (DomainRefusal, WorkflowRefused):
        log.info("consent already withdrawn", referral=stored.summary.number)
    visit.data["withdrawn"] = stored.summary.number
    return await redirect(request, visit, f"/find/track/{token}")
