"""Partner callbacks: an agency's own case system reports its actions on a leg, signed.

``POST /api/callbacks/{agency_id}`` takes no bearer token: the body is signed with the
agency's callback secret (``X-Partnerflow-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"t.body">``, five minutes' replay window) and carries an ``Idempotency-Key``. A verified
callback acts as that agency's user would, through :mod:`api.referrals.legs`, so the
leg must have been sent to the agency in the path. Admins read an agency's secret from
``GET /api/callbacks/{agency_id}/secret``; secrets are derived, never stored.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Literal

import structlog
from aiohttp import web
from pydantic import BaseModel

from api.http.errors import TEMPORAL_ERRORS, DomainRefusal
from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.legs import LegAction, LegNotFound, act_on_leg, leg_for
from clients.temporal import TemporalUnavailable, connect
from domain.access import Action, Principal, Role
from domain.callbacks import (
    CALLBACK_KEY_RETENTION,
    IDEMPOTENCY_HEADER,
    LegAccepted,
    LegClosed,
    LegDeclined,
    LegEvent,
    LegOutcomeRecorded,
    LegStarted,
    PartnerCallback,
    callback_subject,
    valid_idempotency_key,
)
from domain.referral import AgencyAction, Decline, LegView, RecordOutcome
from domain.signature import (
    DEFAULT_TOLERANCE_SECONDS,
    SIGNATURE_HEADER,
    callback_secret,
    verify,
)
from store.callbacks import claim_callback, release_callback, settle_callback
from store.directory import organisation_exists

routes = RouteTable("callbacks")
log = structlog.get_logger(__name__)

# The master callback secret's values, newest first (several only while it is rotated).
CALLBACK_MASTER_SECRETS = web.AppKey("callback_master_secrets", tuple[str, ...])
_CHALLENGE = {"WWW-Authenticate": f'{SIGNATURE_HEADER} realm="partnerflow callbacks"'}


def _refuse(reason: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(reason=reason, headers=_CHALLENGE)


async def verify_callback(request: web.Request) -> Principal:
    """The agency in the path, if the body is signed with its secret within the window."""
    masters = request.app.get(CALLBACK_MASTER_SECRETS)
    if not masters:
        raise _refuse("inbound callbacks are not configured")
    agency_id = request.match_info["agency_id"]
    if len(agency_id) > 100:
        raise _refuse("unknown agency")
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        raise _refuse(f"the {SIGNATURE_HEADER} header is missing")
    body = await request.read()
    try:
        secrets = [callback_secret(master, agency_id) for master in masters]
        verify(secrets, header, body, now=int(time.time()))
    except ValueError as exc:
        raise _refuse(str(exc)) from None
    return Principal(subject=callback_subject(agency_id), role=Role.AGENCY, agency_id=agency_id)


class CallbackReceipt(BaseModel):
    """What became of a callback."""

    event: str
    leg_id: str
    duplicate: bool
    """The Idempotency-Key was seen before: nothing was done this time."""
    first_status: int | None = None
    """For a duplicate: 200 once the first delivery acted; none while it is still acting."""
    leg: LegView | None = None
    """The leg after the action (none for a duplicate)."""


def _action(event: LegEvent, agency_id: str) -> tuple[LegAction, BaseModel]:
    who = AgencyAction(agency_id=agency_id, actor=event.actor)
    match event:
        case LegAccepted():
            return LegAction.ACCEPT, who
        case LegStarted():
            return LegAction.START, who
        case LegDeclined(reason=reason, why=why, service_id=service_id):
            return LegAction.DECLINE, Decline(
                **who.model_dump(), reason=reason.strip(), why=why, service_id=service_id
            )
        case LegOutcomeRecorded(outcome=outcome):
            return LegAction.RECORD_OUTCOME, RecordOutcome(**who.model_dump(), outcome=outcome)
        case LegClosed():
            return LegAction.CLOSE, who


@routes.route(
    "POST",
    "/api/callbacks/{agency_id}",
    summary="A partner agency's signed callback on one of its legs",
    public=True,
    verify=verify_callback,
    headers=(IDEMPOTENCY_HEADER,),
    body=PartnerCallback,
    response=CallbackReceipt,
    errors=(404, 409, 503),
)
async def partner_callback(call: Call) -> CallbackReceipt:
    """Act on a leg as the agency in the path: accept, start, decline, record an outcome, close.

    Signed with the agency's callback secret; a repeated ``Idempotency-Key`` of a callback
    that acted (kept seven days) is acknowledged without acting again. Refusals by the leg's
    state come back as 409 with the reason; a leg not sent to this agency is 404; neither
    uses up the key.
    """
    principal = call.user()
    agency_id = principal.agency_id
    assert agency_id is not None
    key = call.request.headers.get(IDEMPOTENCY_HEADER, "")
    if not valid_idempotency_key(key):
        raise web.HTTPBadRequest(
            reason=f"an {IDEMPOTENCY_HEADER} header of 1-200 printable ASCII characters is required"
        )
    event = call.body_as(PartnerCallback).root
    sessions = call.request.app[SESSIONS]
    digest = hashlib.sha256(await call.request.read()).hexdigest()
    seen = await claim_callback(
        sessions,
        agency_id=agency_id,
        key=key,
        body_sha256=digest,
        event=event.event,
        leg_id=event.leg_id,
        at=datetime.now(UTC),
        retention=CALLBACK_KEY_RETENTION,
    )
    if seen is not None:
        if seen.body_sha256 != digest:
            raise DomainRefusal(
                f"this {IDEMPOTENCY_HEADER} was used for a different callback", status=422
            )
        log.info(
            "callback repeated", agency_id=agency_id, leg_id=event.leg_id, callback=event.event
        )
        return CallbackReceipt(
            event=event.event, leg_id=event.leg_id, duplicate=True, first_status=seen.status
        )
    # Only an action taken keeps the key; when nothing was done (no such leg, a refusal,
    # Temporal away) the key is let go, so the partner's retry with it may act later.
    try:
        try:
            leg = await leg_for(sessions, principal, event.leg_id)
        except LegNotFound:
            raise web.HTTPNotFound(reason=f"no leg {event.leg_id} sent to {agency_id}") from None
        action, body = _action(event, agency_id)
        try:
            client = await connect(call.request.app[TEMPORAL])
            view = await act_on_leg(client, leg, action, body)
        except (DomainRefusal, *TEMPORAL_ERRORS):
            raise
        except Exception as exc:  # Temporal failing some other way: nothing was done
            log.warning("callback not acted on", agency_id=agency_id, error=repr(exc))
            raise TemporalUnavailable(repr(exc)) from None
    except BaseException:
        await release_callback(sessions, agency_id=agency_id, key=key)
        raise
    await settle_callback(sessions, agency_id=agency_id, key=key, status=200)
    log.info("callback acted on", agency_id=agency_id, leg_id=leg.leg_id, callback=event.event)
    return CallbackReceipt(event=event.event, leg_id=event.leg_id, duplicate=False, leg=view)


class CallbackSecret(BaseModel):
    """The secret an agency's system signs its callbacks with, and how to use it."""

    agency_id: str
    secret: str
    url_path: str
    signature_header: Literal["X-Partnerflow-Signature"] = "X-Partnerflow-Signature"
    signature_format: str = 't=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>'
    idempotency_header: Literal["Idempotency-Key"] = "Idempotency-Key"
    replay_window_seconds: int = DEFAULT_TOLERANCE_SECONDS


@routes.route(
    "GET",
    "/api/callbacks/{agency_id}/secret",
    summary="Show an agency's callback signing secret",
    action=Action.MANAGE_TOKENS,
    response=CallbackSecret,
    errors=(404,),
)
async def callback_signing_secret(call: Call) -> web.StreamResponse:
    """The secret a directory agency signs its callbacks with (derived; the same each time).

    Hand it to the agency over a safe channel. Changing the master callback secret changes
    every agency's secret at once.
    """
    agency_id = call.path("agency_id")
    masters = call.request.app.get(CALLBACK_MASTER_SECRETS)
    if not masters:
        raise web.HTTPNotFound(reason="inbound callbacks are not configured")
    if not await organisation_exists(call.request.app[SESSIONS], agency_id):
        raise web.HTTPNotFound(reason="no such agency in the directory")
    secret = callback_secret(masters[0], agency_id)
    shown = CallbackSecret(
        agency_id=agency_id,
        secret=secret,
        url_path=f"/api/callbacks/{agency_id}",
    )
    return web.Response(
        body=shown.model_dump_json(),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
