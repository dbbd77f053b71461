"""Reach Out sessions: a worker logs a session's figures; they feed the partnerships.

``POST /api/outreach-sessions`` (and the dashboard's form, through :func:`log_outreach_session`)
keeps the session and offers it to every partnership in Implement or Review as the
``record_outreach_session`` Update, with the session's id as the Update id: an indicator bound
to one of the figures counts it once, and a partnership none of whose indicators counts it
refuses it and is left as it was.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import structlog
from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from api.http.errors import DomainRefusal
from api.http.routing import Call, RouteTable, json_response
from api.http.state import SESSIONS, TEMPORAL
from clients.temporal import (
    TemporalUnavailable,
    WorkflowGone,
    WorkflowRefused,
    connect,
    update_partnership,
)
from domain.access import Action
from domain.callbacks import IDEMPOTENCY_HEADER, valid_idempotency_key
from domain.outreach import OutreachLog, OutreachSessionFact
from domain.partnership import RecordOutreachSession, action_for
from store.oruk import get_mapping
from store.outcome_feed import partnerships_taking_actuals
from store.outreach import get_outreach_session, save_outreach_session

routes = RouteTable("outreach")
log = structlog.get_logger(__name__)
FEED = action_for(RecordOutreachSession)


class OutreachLogged(BaseModel):
    """A logged session, and the partnerships whose indicators counted it."""

    session: OutreachSessionFact
    counted_by: list[str]
    """Partnerships that counted it now; none while Temporal is away (kept all the same)."""


def keyed_session_id(logged_by: str, key: str) -> str:
    """The id of the session ``logged_by`` sends under ``key``: the same on every resend."""
    return "outreach-" + hashlib.sha256(f"{logged_by}\n{key}".encode()).hexdigest()[:32]


def _same_session(kept: OutreachSessionFact, entry: OutreachLog) -> OutreachSessionFact:
    if OutreachLog.model_validate(kept.model_dump(include=set(OutreachLog.model_fields))) != entry:
        raise DomainRefusal(f"this {IDEMPOTENCY_HEADER} was used for a different session")
    return kept


async def log_outreach_session(
    app: web.Application, entry: OutreachLog, *, logged_by: str, key: str | None = None
) -> tuple[OutreachLogged, bool]:
    """Keep the session (its ward must be one of the borough's, else 422) and offer it to the
    partnerships taking actuals; with whether it was kept before under ``key``. The one way a
    session is logged, from the API, the dashboard and the offline app alike.

    Under an idempotency key the session's id comes from the key, so a resend (its first
    answer lost, or two copies at once) keeps one session and offers it again under the same
    Update id, which the partnerships count once; the same key with other figures is 409."""
    sessions = app[SESSIONS]
    wards = {ward.id for ward in (await get_mapping(sessions)).wards}
    if entry.ward not in wards:
        raise DomainRefusal(
            "the session is not valid",
            status=422,
            detail=[{"field": "ward", "message": "not a ward of the borough"}],
        )
    session_id = (
        keyed_session_id(logged_by, key) if key is not None else f"outreach-{uuid.uuid4().hex[:16]}"
    )
    kept = await get_outreach_session(sessions, session_id) if key is not None else None
    replayed = kept is not None
    if kept is not None:
        fact = _same_session(kept, entry)
    else:
        fact = OutreachSessionFact(
            session_id=session_id, logged_at=datetime.now(UTC), **entry.model_dump()
        )
        try:
            await save_outreach_session(sessions, fact, logged_by=logged_by)
        except IntegrityError:
            # Another copy under the same key was kept a moment ago.
            raced = await get_outreach_session(sessions, session_id)
            if raced is None:
                raise
            fact, replayed = _same_session(raced, entry), True
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
    log.info(
        "outreach session logged", session=fact.session_id, counted_by=counted, resent=replayed
    )
    return OutreachLogged(session=fact, counted_by=counted), replayed


@routes.route(
    "POST",
    "/api/outreach-sessions",
    summary="Log a Reach Out session",
    action=Action.SUBMIT_REFERRAL,
    body=OutreachLog,
    strict_body=True,
    response=OutreachLogged,
    status=201,
    optional_headers=(IDEMPOTENCY_HEADER,),
    errors=(409,),
)
async def log_session(call: Call) -> web.StreamResponse:
    """Keep a session's date, ward, area and figures (doors knocked, conversations, residents
    helped on the spot, referrals made) and offer it to the partnerships' indicators bound to
    those figures; which counted it.

    With an ``Idempotency-Key`` header a resend keeps no second session: the same key and
    figures answer 201 with the first session and ``Idempotent-Replayed: true``; the same key
    with other figures is refused (409)."""
    key = call.request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not valid_idempotency_key(key):
        raise web.HTTPBadRequest(
            reason=f"the {IDEMPOTENCY_HEADER} header must be 1-200 printable ASCII characters"
        )
    logged, replayed = await log_outreach_session(
        call.request.app, call.body_as(OutreachLog), logged_by=call.user().subject, key=key
    )
    resp = json_response(logged, 201)
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp
