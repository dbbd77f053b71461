"""Submitting a referral: stored with the resident's details, then its workflow started."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from api.http.errors import DomainRefusal
from api.http.routing import Call
from api.http.state import SESSIONS, TASK_QUEUE, TEMPORAL
from api.referrals.common import REFERRAL_CONFIG, routes
from clients import temporal
from clients.temporal import TemporalUnavailable, connect
from domain.access import (
    Action,
    Role,
)
from domain.referral import (
    ReferralStatus,
    ReferralSubmission,
    referral_input,
)
from store.referral_queries import discard_referral
from store.referrals import (
    next_referral_number,
    save_referral,
)

log = structlog.get_logger(__name__)


class ReferralCreated(BaseModel):
    """A submitted referral: its number, and its workflow running."""

    number: str
    status: ReferralStatus
    created_at: datetime


@routes.route(
    "POST",
    "/api/referrals",
    summary="Submit a referral",
    action=Action.SUBMIT_REFERRAL,
    body=ReferralSubmission,
    strict_body=True,
    response=ReferralCreated,
    status=201,
    errors=(503,),
)
async def submit_referral(call: Call) -> ReferralCreated:
    """Store the referral with the resident's details and start its workflow (id = the
    number). If Temporal cannot take it, nothing is kept and the answer is 503."""
    user = call.user()
    submission = call.body_as(ReferralSubmission)
    if user.role is Role.AGENCY:
        if submission.referrer.agency_id not in (None, user.agency_id):
            raise DomainRefusal("agency staff refer on behalf of their own agency", status=422)
        submission = submission.model_copy(
            update={
                "referrer": submission.referrer.model_copy(update={"agency_id": user.agency_id})
            }
        )
    return await take_referral(call.request.app, submission, submitted_by=user.subject)


async def take_referral(
    app: web.Application, submission: ReferralSubmission, *, submitted_by: str
) -> ReferralCreated:
    """Number and store a validated submission and start its workflow: the one way in for
    every referral, from the API and from the public website alike. If the database or
    Temporal cannot take it, nothing is kept (503, or :class:`TemporalUnavailable`)."""
    config = app[REFERRAL_CONFIG]
    client = await connect(app[TEMPORAL])
    sessions = app[SESSIONS]
    now = datetime.now(UTC)
    try:
        number = await next_referral_number(sessions, config.number_prefix, now.year)
        await save_referral(sessions, number, submission, submitted_by=submitted_by, at=now)
    except DBAPIError as exc:
        # One transaction each: a failure keeps nothing of the submission.
        log.warning("referral not stored", error=repr(exc))
        raise web.HTTPServiceUnavailable(
            reason="the database is busy or unreachable; nothing was kept, submit it again",
            headers={"Retry-After": "5"},
        ) from None
    inp = referral_input(
        number, submission, submitted_by=submitted_by, today=now.date(), policy=config.policy
    )
    try:
        await temporal.start_referral(client, inp, task_queue=app[TASK_QUEUE], since=now)
    except TemporalUnavailable:
        await discard_referral(sessions, number)
        raise
    log.info("referral submitted", workflow_id=number, needs=len(submission.needs))
    return ReferralCreated(number=number, status=ReferralStatus.OPEN, created_at=now)
