"""Submitting a referral: stored with the resident's details, then its workflow started."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import structlog
from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from api.codec import new_data_key
from api.http.errors import DomainRefusal
from api.http.routing import Call, json_response
from api.http.state import SESSIONS, TASK_QUEUE, TEMPORAL
from api.referrals.common import REFERRAL_CONFIG, routes
from api.referrals.same_resident import refuse_same_resident, same_resident_referrals
from clients import temporal
from clients.temporal import TemporalUnavailable, connect
from domain.access import (
    Action,
    Principal,
    Role,
)
from domain.callbacks import IDEMPOTENCY_HEADER, valid_idempotency_key
from domain.referral import (
    ReferralStatus,
    ReferralSubmission,
    referral_input,
)
from domain.referral_intake import SUBMISSION_KEY_RETENTION, submission_problems
from store.db import Sessions
from store.directory import known_agencies
from store.oruk import get_mapping
from store.referral_queries import discard_referral
from store.referrals import (
    next_referral_number,
    save_referral,
)
from store.submission_keys import claim_submission, release_submission, settle_submission

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
    optional_headers=(IDEMPOTENCY_HEADER,),
    errors=(409, 503),
)
async def submit_referral(call: Call) -> web.StreamResponse:
    """Store the referral with the resident's details and start its workflow (id = the
    number). If Temporal cannot take it, nothing is kept and the answer is 503.

    With an ``Idempotency-Key`` header, a resend (its first answer lost, or two copies at
    once) makes no second referral: the same key and body answer 201 with the first
    referral's number and ``Idempotent-Replayed: true``; the same key with another body is
    refused (409), as is a resend while the first is still being made (409, retry). A refused
    or failed submission does not use up its key. Keys are kept seven days per caller.

    When an open referral exists for the same resident (same name and date of birth, or same
    name and postcode), the answer is 409 unless the body says ``"confirm_new": true``: with
    ``existing_referral`` (its number) when the caller may see it, and ``add_need`` (where to
    POST the need instead) when the caller may add to it; otherwise only that one exists and
    the co-ordinator will link them.
    """
    user = call.user()
    key = call.request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not valid_idempotency_key(key):
        raise web.HTTPBadRequest(
            reason=f"the {IDEMPOTENCY_HEADER} header must be 1-200 printable ASCII characters"
        )
    submission = as_submitted_by(user, call.body_as(ReferralSubmission))
    created, replayed = await take_referral_once(
        call.request.app, submission, submitted_by=user.subject, key=key, caller=user
    )
    resp = json_response(created, 201)
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def as_submitted_by(user: Principal, submission: ReferralSubmission) -> ReferralSubmission:
    """The submission as ``user`` may make it: agency staff refer for their own agency."""
    if user.role is not Role.AGENCY:
        return submission
    if submission.referrer.agency_id not in (None, user.agency_id):
        raise DomainRefusal("agency staff refer on behalf of their own agency", status=422)
    return submission.model_copy(
        update={"referrer": submission.referrer.model_copy(update={"agency_id": user.agency_id})}
    )


async def take_referral_once(
    app: web.Application,
    submission: ReferralSubmission,
    *,
    submitted_by: str,
    key: str | None,
    caller: Principal | None = None,
) -> tuple[ReferralCreated, bool]:
    """:func:`take_referral` under an idempotency key (none: no protection): the referral
    and whether it was made before under the same key and body. The key is claimed in the
    store before anything is made, so copies racing through different API processes make one
    referral; a refusal or failure lets the key go so a corrected resend can use it."""
    if key is None:
        created = await take_referral(app, submission, submitted_by=submitted_by, caller=caller)
        return created, False
    sessions = app[SESSIONS]
    # Whether the referrer confirmed a new referral does not make it another referral.
    digest = hashlib.sha256(
        submission.model_dump_json(exclude={"confirm_new"}).encode()
    ).hexdigest()
    seen = await claim_submission(
        sessions,
        submitted_by=submitted_by,
        key=key,
        body_sha256=digest,
        at=datetime.now(UTC),
        retention=SUBMISSION_KEY_RETENTION,
    )
    if seen is not None:
        if seen.body_sha256 != digest:
            raise DomainRefusal(f"this {IDEMPOTENCY_HEADER} was used for a different referral")
        if seen.number is None or seen.created_at is None:
            raise DomainRefusal(
                f"a referral with this {IDEMPOTENCY_HEADER} is still being made; send it again"
                " in a few seconds for its number"
            )
        log.info("referral resent", workflow_id=seen.number)
        created = ReferralCreated(
            number=seen.number, status=ReferralStatus.OPEN, created_at=seen.created_at
        )
        return created, True
    try:
        created = await take_referral(app, submission, submitted_by=submitted_by, caller=caller)
    except BaseException:
        await release_submission(sessions, submitted_by=submitted_by, key=key)
        raise
    await settle_submission(
        sessions,
        submitted_by=submitted_by,
        key=key,
        number=created.number,
        created_at=created.created_at,
    )
    return created, False


async def take_referral(
    app: web.Application,
    submission: ReferralSubmission,
    *,
    submitted_by: str,
    caller: Principal | None = None,
) -> ReferralCreated:
    """Number and store a validated submission and start its workflow: the one way in for
    every referral, from the API and from the public website alike. If the database or
    Temporal cannot take it, nothing is kept (503, or :class:`TemporalUnavailable`).

    When an open referral serves the same resident, a ``caller`` who did not confirm a new
    referral is refused (:class:`~api.referrals.same_resident.SameResident`, 409); without a
    caller (the public site's anonymous visitor, who may be told nothing of other referrals)
    it goes ahead. Either way a new referral carries the numbers for the co-ordinator."""
    config = app[REFERRAL_CONFIG]
    sessions = app[SESSIONS]
    now = datetime.now(UTC)
    await _check_submission(sessions, submission, now.date())
    same = await same_resident_referrals(sessions, submission)
    if same and caller is not None and not submission.confirm_new:
        await refuse_same_resident(sessions, caller, same)
    client = await connect(app[TEMPORAL])
    try:
        number = await next_referral_number(sessions, config.number_prefix, now.year)
        await save_referral(
            sessions,
            number,
            submission,
            submitted_by=submitted_by,
            at=now,
            data_key=new_data_key(app, number),
        )
    except DBAPIError as exc:
        # One transaction each: a failure keeps nothing of the submission.
        log.warning("referral not stored", error=repr(exc))
        raise web.HTTPServiceUnavailable(
            reason="the database is busy or unreachable; nothing was kept, submit it again",
            headers={"Retry-After": "5"},
        ) from None
    inp = referral_input(
        number,
        submission,
        submitted_by=submitted_by,
        today=now.date(),
        policy=config.policy,
        possible_duplicates=[r.number for r in same],
    )
    try:
        await temporal.start_referral(client, inp, task_queue=app[TASK_QUEUE], since=now)
    except TemporalUnavailable:
        await discard_referral(sessions, number)
        raise
    log.info("referral submitted", workflow_id=number, needs=len(submission.needs))
    return ReferralCreated(number=number, status=ReferralStatus.OPEN, created_at=now)


async def _check_submission(
    sessions: Sessions, submission: ReferralSubmission, today: date
) -> None:
    """Refuse (422, each field with its reason) a submission the directory cannot take."""
    wards = [ward.id for ward in (await get_mapping(sessions)).wards]
    agencies = await known_agencies(sessions, submission.consent.agency_ids)
    problems = submission_problems(submission, today=today, agency_ids=agencies, wards=wards)
    if problems:
        raise DomainRefusal(
            "the referral is not valid",
            status=422,
            detail=[problem.model_dump() for problem in problems],
        )
