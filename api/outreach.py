"""Reach Out sessions: a worker logs a session's figures; they feed the partnerships.

``POST /api/outreach-sessions`` (and the dashboard's form, through :func:`log_outreach_session`)
keeps the session and offers it to every partnership in Implement or Review as the
``record_outreach_session`` Update, with the session's id as the Update id: an indicator bound
to one of the figures counts it once, and a partnership none of whose indicators counts it
refuses it and is left as it was.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog
from aiohttp import web
from pydantic import BaseModel

from api.http.errors import DomainRefusal
from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS, TEMPORAL
from clients.temporal import (
    TemporalUnavailable,
    WorkflowGone,
    WorkflowRefused,
    connect,
    update_partnership,
)
from domain.access import Action
from domain.outreach import OutreachLog, OutreachSessionFact
from domain.partnership import RecordOutreachSession, action_for
from store.oruk import get_mapping
from store.outcome_feed import partnerships_taking_actuals
from store.outreach import save_outreach_session

routes = RouteTable("outreach")
log = structlog.get_logger(__name__)
FEED = action_for(RecordOutreachSession)


class OutreachLogged(BaseModel):
    """A logged session, and the partnerships whose indicators counted it."""

    session: OutreachSessionFact
    counted_by: list[str]
    """Partnerships that counted it now; none while Temporal is away (kept all the same)."""


async def log_outreach_session(
    app: web.Application, entry: OutreachLog, *, logged_by: str
) -> OutreachLogged:
    """Keep the session (its ward must be one of the borough's, else 422) and offer it to the
    partnerships taking actuals. The one way a session is logged, from the API and the
    dashboard alike."""
    sessions = app[SESSIONS]
    wards = {ward.id for ward in (await get_mapping(sessions)).wards}
    if entry.ward not in wards:
        raise DomainRefusal(
            "the session is not valid",
            status=422,
            detail=[{"field": "ward", "message": "not a ward of the borough"}],
        )
    fact = OutreachSessionFact(
        session_id=f"outreach-{uuid.uuid4().hex[:16]}",
        logged_at=datetime.now(UTC),
        **entry.model_dump(),
    )
    await save_outreach_session(sessions, fact, logged_by=logged_by)
    counted: list[str] = []
    try:
        client = await connect(app[TEMPORAL])
        for partnership_id in await partnerships_taking_actuals(sessions):
            try:
                await update_partnership(
                    client,
                    partnership_id,
                    FEED,
                    RecordOutreachSession(session=fact),
                    update_id=fact.session_id,
                )
            except (WorkflowRefused, WorkflowGone):
                continue  # none of its indicators counts it, or the partnership has ended
            counted.append(partnership_id)
    except TemporalUnavailable:
        log.warning("outreach session kept, not yet offered", session=fact.session_id)
    log.info("outreach session logged", session=fact.session_id, counted_by=counted)
    return OutreachLogged(session=fact, counted_by=counted)


@routes.route(
    "POST",
    "/api/outreach-sessions",
    summary="Log a Reach Out session",
    action=Action.SUBMIT_REFERRAL,
    body=OutreachLog,
    strict_body=True,
    response=OutreachLogged,
    status=201,
)
async def log_session(call: Call) -> OutreachLogged:
    """Keep a session's date, ward, area and figures (doors knocked, conversations, residents
    helped on the spot, referrals made) and offer it to the partnerships' indicators bound to
    those figures; which counted it."""
    return await log_outreach_session(
        call.request.app, call.body_as(OutreachLog), logged_by=call.user().subject
    )
