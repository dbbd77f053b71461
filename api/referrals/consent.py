"""The referrer's actions on a referral: follow-up, withdrawal, and withdrawal of consent.

Withdrawing consent and an erasure request share :func:`withdraw_consent_in_workflow`: while
the referral runs, its workflow stops the legs, tells the agencies and erases the details.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import structlog
from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator
from temporalio.client import Client

from api.http.errors import DomainRefusal
from api.http.routing import Call
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.common import managed_referral, routes
from api.referrals.legs import _required_text
from clients import temporal
from clients.temporal import ReferralUpdate, WorkflowGone, connect
from domain.access import Action
from domain.patterns import NOT_BLANK
from domain.referral import (
    FollowUp,
    LegView,
    NeedView,
    Outcome,
    ReferralView,
    Withdrawal,
)
from domain.referral_records import ReferralEvent
from store.referral_queries import withdraw_consent_after_close
from store.referrals import StoredReferral, get_referral
from workflows.referral import ReferralWorkflow

log = structlog.get_logger(__name__)


class WithdrawRequest(BaseModel):
    """Why the referral (or the resident's consent) is withdrawn."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, pattern=NOT_BLANK)

    _reason = field_validator("reason")(_required_text)


def _not_text(value: object) -> object:
    # A JSON integer may be written 4.0, but never "4".
    if isinstance(value, str):
        raise ValueError("expected a whole number, not text")
    return value


class FollowUpRequest(BaseModel):
    """What the resident said at follow-up."""

    model_config = ConfigDict(extra="forbid")

    made_difference: StrictBool
    score: Annotated[int | None, BeforeValidator(_not_text)] = Field(
        default=None, ge=1, le=5, description="1 (none) to 5 (a lot)."
    )


async def withdraw_consent_in_workflow(
    client: Client, number: str, withdrawal: Withdrawal
) -> ReferralView | None:
    """Withdraw consent through the running referral's workflow: its legs stop, the agencies
    are told, the details are erased. ``None`` when the workflow has ended (only the store
    holds the details then); a refusal raises :class:`~clients.temporal.WorkflowRefused`."""
    try:
        return await temporal.update_referral(
            client, number, ReferralWorkflow.withdraw_consent, withdrawal
        )
    except WorkflowGone:
        return None


async def _update(
    app: web.Application, number: str, update: ReferralUpdate, arg: BaseModel
) -> ReferralView:
    client = await connect(app[TEMPORAL])
    return await temporal.update_referral(client, number, update, arg)


async def follow_up_referral(
    app: web.Application, number: str, *, actor: str, req: FollowUpRequest
) -> ReferralView:
    """Record the follow-up through the referral's workflow (its rules refuse it when not
    due): the API's and the referrer's pages' one way to do it."""
    follow_up = FollowUp(actor=actor, made_difference=req.made_difference, score=req.score)
    return await _update(app, number, ReferralWorkflow.record_follow_up, follow_up)


async def withdraw_referral_for(
    app: web.Application, number: str, *, actor: str, req: WithdrawRequest
) -> ReferralView:
    """Withdraw the referral through its workflow: every open leg stops, its agency is told."""
    withdrawal = Withdrawal(actor=actor, reason=req.reason)
    return await _update(app, number, ReferralWorkflow.withdraw, withdrawal)


@routes.route(
    "POST",
    "/api/referrals/{number}/follow-up",
    summary="Record the follow-up with the resident",
    action=Action.MANAGE_REFERRAL,
    body=FollowUpRequest,
    response=ReferralView,
    errors=(404, 409, 503),
)
async def record_follow_up(call: Call) -> ReferralView:
    """Whether the help made a difference, once the referral awaits follow-up."""
    await managed_referral(call)
    return await follow_up_referral(
        call.request.app,
        call.path("number"),
        actor=call.user().subject,
        req=call.body_as(FollowUpRequest),
    )


@routes.route(
    "POST",
    "/api/referrals/{number}/withdraw",
    summary="Withdraw a referral",
    action=Action.MANAGE_REFERRAL,
    body=WithdrawRequest,
    strict_body=True,
    response=ReferralView,
    errors=(404, 409, 503),
)
async def withdraw_referral(call: Call) -> ReferralView:
    """Stop every open leg and tell its agency; needs are not routed again."""
    await managed_referral(call)
    return await withdraw_referral_for(
        call.request.app,
        call.path("number"),
        actor=call.user().subject,
        req=call.body_as(WithdrawRequest),
    )


@routes.route(
    "POST",
    "/api/referrals/{number}/withdraw-consent",
    summary="Record that the resident withdrew consent",
    action=Action.MANAGE_REFERRAL,
    body=WithdrawRequest,
    strict_body=True,
    response=ReferralView,
    errors=(404, 409, 503),
)
async def withdraw_consent(call: Call) -> ReferralView:
    """Stop every open leg, tell the agencies to delete the resident's details, and erase
    them from partnerflow; the anonymous statistics stay. A referral that has already ended
    has its details erased all the same."""
    stored = await managed_referral(call)
    reason = call.body_as(WithdrawRequest).reason
    withdrawal = Withdrawal(actor=call.user().subject, reason=reason)
    return await withdraw_resident_consent(call.request.app, stored, withdrawal)


async def withdraw_resident_consent(
    app: web.Application, stored: StoredReferral, withdrawal: Withdrawal
) -> ReferralView:
    """The one way consent is withdrawn, from the API and the resident's tracking page: a
    running referral stops every leg, tells the agencies and erases the resident's details;
    an ended one has them erased in the store. Asking twice is refused (409)."""
    client = await connect(app[TEMPORAL])
    view = await withdraw_consent_in_workflow(client, stored.summary.number, withdrawal)
    if view is not None:
        return view
    if stored.summary.personal_data_erased:
        raise DomainRefusal("consent was already withdrawn")
    sessions = app[SESSIONS]
    await withdraw_consent_after_close(
        sessions,
        ReferralEvent(
            event_id=str(uuid.uuid4()),
            number=stored.summary.number,
            at=datetime.now(UTC),
            kind="consent_withdrawn",
            actor=withdrawal.actor,
            detail="personal data erased after the referral ended",
        ),
    )
    log.info("consent withdrawn after close", referral=stored.summary.number)
    erased = await get_referral(sessions, stored.summary.number)
    assert erased is not None
    return _view_from_store(erased)


def _view_from_store(stored: StoredReferral) -> ReferralView:
    """A finished referral as the read model has it, in the workflow's own shape."""
    s = stored.summary
    legs = [
        LegView(
            **leg.model_dump(
                exclude={"outcome_code", "outcome_value", "outcome_unit", "outcome_note"}
            ),
            number=s.number,
            outcome=Outcome(
                code=leg.outcome_code,
                value=leg.outcome_value,
                unit=leg.outcome_unit,
                note=leg.outcome_note,
            )
            if leg.outcome_code
            else None,
        )
        for leg in stored.legs
    ]
    return ReferralView(
        number=s.number,
        source=s.source,
        ward=s.ward,
        status=s.status,
        urgency=s.urgency,
        needs=[
            NeedView(
                **need.model_dump(),
                leg_ids=[leg.leg_id for leg in stored.legs if leg.need_id == need.need_id],
            )
            for need in stored.needs
        ],
        legs=legs,
        consent_agency_ids=stored.consent_agency_ids,
        created_at=s.created_at,
        updated_at=s.updated_at,
        breached=s.breached,
        next_deadline=s.next_deadline,
        follow_up_due_at=stored.follow_up_due_at,
        personal_data_erased=s.personal_data_erased,
        status_reason=stored.status_reason,
    )
