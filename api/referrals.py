"""Referrals: submit, read, list, an agency's worklist, and every action on a referral or a leg.

Lists and details come from the store's read model; actions go to the workflows as Updates, so
the caller gets the workflow's real answer, or the validator's reason as a 409. Records a
caller may not see answer 404, exactly as if they did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.audit import audit_personal_read
from api.errors import DomainRefusal
from api.referral_actions import WorkflowGone, run_update
from api.routing import Call, QueryDateTime, RouteTable
from api.state import SESSIONS, TASK_QUEUE, TEMPORAL
from domain.access import (
    Action,
    Role,
    may_act_for_agency,
    may_manage_referral,
    may_read_notes,
    may_see_referral,
    sees_all_referrals,
)
from domain.directory import Urgency
from domain.referral import (
    ACCEPT_UPDATE,
    CLOSE_UPDATE,
    DECLINE_UPDATE,
    RECORD_FOLLOW_UP_UPDATE,
    RECORD_OUTCOME_UPDATE,
    REFERRAL_WORKFLOW,
    START_UPDATE,
    STATE_QUERY,
    WITHDRAW_CONSENT_UPDATE,
    WITHDRAW_UPDATE,
    AgencyAction,
    Decline,
    FollowUp,
    LegView,
    NeedView,
    Outcome,
    RecordOutcome,
    ReferralPolicy,
    ReferralSource,
    ReferralStatus,
    ReferralSubmission,
    ReferralView,
    Referrer,
    Resident,
    Withdrawal,
    referral_input,
)
from domain.referral_records import ReferralEvent
from store.referral_queries import discard_referral, withdraw_consent_after_close
from store.referrals import (
    ReferralFilter,
    ReferralSummary,
    StoredEvent,
    StoredLeg,
    StoredNeed,
    StoredReferral,
    agency_worklist,
    get_leg,
    get_referral,
    list_referrals,
    load_personal_data,
    next_referral_number,
    save_referral,
)

log = structlog.get_logger(__name__)
routes = RouteTable("referrals")

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True, kw_only=True)
class ReferralConfig:
    """How the API numbers new referrals and which SLA and follow-up timings they carry."""

    number_prefix: str = "TEN"
    policy: ReferralPolicy = field(default_factory=ReferralPolicy)


REFERRAL_CONFIG = web.AppKey("referral_config", ReferralConfig)
NOT_FOUND = "no such referral"
LIVE_STATE_TIMEOUT = timedelta(seconds=3)
NO_LEG = "no such leg"

# --- Request and response models ------------------------------------------------------------


class ReferralCreated(BaseModel):
    """A submitted referral: its number, and its workflow running."""

    number: str
    status: ReferralStatus
    created_at: datetime


class ReferralQuery(BaseModel):
    """Filters of the referral list, all optional, and its page (newest first)."""

    model_config = ConfigDict(extra="forbid")

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
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=500)


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


class ReferralDetail(BaseModel):
    """One referral: the read model's needs, legs and events, the workflow's live state, and
    the personal details when the caller may read them."""

    number: str
    source: ReferralSource
    ward: str
    status: ReferralStatus
    urgency: Urgency
    breached: bool
    next_deadline: datetime | None
    created_at: datetime
    updated_at: datetime
    submitted_by: str
    referrer_agency_id: str | None
    consent_agency_ids: list[str]
    status_reason: str
    follow_up_due_at: datetime | None
    follow_up_made_difference: bool | None
    follow_up_score: int | None
    personal_data_erased: bool
    needs: list[StoredNeed]
    legs: list[StoredLeg]
    events: list[StoredEvent]
    live: ReferralView | None = Field(
        default=None, description="The workflow's state now; none if Temporal is unreachable."
    )
    personal: PersonalDetails | None = Field(
        default=None, description="Only for callers who may read notes, and until erased."
    )


class WorklistQuery(BaseModel):
    """A page of an agency's worklist."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=100, ge=1, le=500)


class Worklist(BaseModel):
    """An agency's open legs, the most pressing deadline first."""

    agency_id: str
    page: int
    per_page: int
    items: list[StoredLeg]


def _required_text(value: str) -> str:
    # The schema says "some non-space character"; this holds it to Python's idea of space.
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


class DeclineRequest(BaseModel):
    """Why the agency declines; the need is routed to the next service."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, pattern=r"\S")

    _reason = field_validator("reason")(_required_text)


class WithdrawRequest(BaseModel):
    """Why the referral (or the resident's consent) is withdrawn."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, pattern=r"\S")

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


# --- Submitting, reading, listing ------------------------------------------------------------


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
    app = call.request.app
    config = app[REFERRAL_CONFIG]
    client = await _client(call)
    sessions = app[SESSIONS]
    now = datetime.now(UTC)
    try:
        number = await next_referral_number(sessions, config.number_prefix, now.year)
        await save_referral(sessions, number, submission, submitted_by=user.subject, at=now)
    except DBAPIError as exc:
        # One transaction each: a failure keeps nothing of the submission.
        log.warning("referral not stored", error=repr(exc))
        raise web.HTTPServiceUnavailable(
            reason="the database is busy or unreachable; nothing was kept, submit it again",
            headers={"Retry-After": "5"},
        ) from None
    inp = referral_input(
        number, submission, submitted_by=user.subject, today=now.date(), policy=config.policy
    )
    try:
        await client.start_workflow(
            REFERRAL_WORKFLOW,
            inp,
            id=number,
            task_queue=app[TASK_QUEUE],
            result_type=ReferralView,
            # A number names one referral for ever: never a second run under it.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except Exception as exc:
        lost_answer = not isinstance(exc, WorkflowAlreadyStartedError)
        if not (lost_answer and await _started_since(client, number, now)):
            log.warning("referral not started", referral=number, error=repr(exc))
            await discard_referral(sessions, number)
            raise web.HTTPServiceUnavailable(
                reason="Temporal did not take the referral; nothing was kept, submit it again"
            ) from None
    log.info("referral submitted", workflow_id=number, needs=len(submission.needs))
    return ReferralCreated(number=number, status=ReferralStatus.OPEN, created_at=now)


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
        offset=(q.page - 1) * q.per_page,
    )
    if not sees_all_referrals(user):
        if user.role is Role.AGENCY:
            if q.agency_id not in (None, user.agency_id):
                return ReferralList(total=0, page=q.page, per_page=q.per_page, items=[])
            where.agency_id = user.agency_id
        else:
            where.submitted_by = user.subject
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
    stored = await _visible_referral(call, number)
    needs, legs, events = stored.needs, stored.legs, stored.events
    live = await _live_state(call, number)
    if user.role is Role.AGENCY:
        # An agency sees what was sent to it: its legs, their needs, and their events.
        mine = {leg.leg_id for leg in legs if leg.agency_id == user.agency_id}
        legs = [leg for leg in legs if leg.leg_id in mine]
        their_needs = {leg.need_id for leg in legs}
        needs = [n for n in needs if n.need_id in their_needs]
        events = [
            e
            for e in events
            if e.leg_id in mine or (e.leg_id is None and e.need_id in (None, *their_needs))
        ]
        if live is not None:
            live = live.model_copy(
                update={
                    "legs": [leg for leg in live.legs if leg.leg_id in mine],
                    "needs": [n for n in live.needs if n.need_id in their_needs],
                }
            )
    personal = None
    if may_read_notes(user, referrer=stored.submitted_by, agency_ids=_agencies(stored)):
        data = await load_personal_data(sessions, number)
        if data is not None:
            notes = data.need_notes
            if user.role is Role.AGENCY:
                their_needs = {leg.need_id for leg in legs}
                notes = {k: v for k, v in notes.items() if k in their_needs}
            personal = PersonalDetails(
                resident=data.resident, referrer=data.referrer, need_notes=notes
            )
            await _audit_personal_read(call, number)
    s = stored.summary
    return ReferralDetail(
        number=s.number,
        source=ReferralSource(s.source),
        ward=s.ward,
        status=ReferralStatus(s.status),
        urgency=Urgency(s.urgency),
        breached=s.breached,
        next_deadline=s.next_deadline,
        created_at=s.created_at,
        updated_at=s.updated_at,
        submitted_by=stored.submitted_by,
        referrer_agency_id=stored.referrer_agency_id,
        consent_agency_ids=stored.consent_agency_ids,
        status_reason=stored.status_reason,
        follow_up_due_at=stored.follow_up_due_at,
        follow_up_made_difference=stored.follow_up_made_difference,
        follow_up_score=stored.follow_up_score,
        personal_data_erased=s.personal_data_erased,
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
    """The agency's open legs, the most pressing deadline first. Agency staff see only their
    own agency's; staff see any."""
    user = call.user()
    agency_id = call.path("agency_id")
    if not (sees_all_referrals(user) or may_act_for_agency(user, agency_id)):
        raise web.HTTPNotFound(reason="no such worklist")
    q = call.query_as(WorklistQuery)
    items = await agency_worklist(
        call.request.app[SESSIONS], agency_id, limit=q.per_page, offset=(q.page - 1) * q.per_page
    )
    return Worklist(agency_id=agency_id, page=q.page, per_page=q.per_page, items=items)


# --- Agency actions on a leg -----------------------------------------------------------------


@routes.route(
    "POST",
    "/api/legs/{leg_id}/accept",
    summary="Accept a leg",
    action=Action.ACT_ON_LEG,
    response=LegView,
    errors=(404, 409, 503),
)
async def accept_leg(call: Call) -> LegView:
    """The agency takes the referral on."""
    leg, action = await _agency_action(call)
    return await _leg_update(call, leg, ACCEPT_UPDATE, action)


@routes.route(
    "POST",
    "/api/legs/{leg_id}/start",
    summary="Start work on a leg",
    action=Action.ACT_ON_LEG,
    response=LegView,
    errors=(404, 409, 503),
)
async def start_leg(call: Call) -> LegView:
    """The agency starts working with the resident."""
    leg, action = await _agency_action(call)
    return await _leg_update(call, leg, START_UPDATE, action)


@routes.route(
    "POST",
    "/api/legs/{leg_id}/decline",
    summary="Decline a leg (reason required)",
    action=Action.ACT_ON_LEG,
    body=DeclineRequest,
    strict_body=True,
    response=LegView,
    errors=(404, 409, 503),
)
async def decline_leg(call: Call) -> LegView:
    """The agency declines; the referral routes the need to the next suitable service."""
    leg, action = await _agency_action(call)
    reason = call.body_as(DeclineRequest).reason
    return await _leg_update(
        call, leg, DECLINE_UPDATE, Decline(**action.model_dump(), reason=reason)
    )


@routes.route(
    "POST",
    "/api/legs/{leg_id}/outcome",
    summary="Record a leg's outcome",
    action=Action.ACT_ON_LEG,
    body=Outcome,
    strict_body=True,
    response=LegView,
    errors=(404, 409, 503),
)
async def record_leg_outcome(call: Call) -> LegView:
    """What happened for the resident, with an optional value (e.g. 1240 GBP awarded)."""
    leg, action = await _agency_action(call)
    outcome = call.body_as(Outcome)
    record = RecordOutcome(**action.model_dump(), outcome=outcome)
    return await _leg_update(call, leg, RECORD_OUTCOME_UPDATE, record)


@routes.route(
    "POST",
    "/api/legs/{leg_id}/close",
    summary="Close a leg",
    action=Action.ACT_ON_LEG,
    response=LegView,
    errors=(404, 409, 503),
)
async def close_leg(call: Call) -> LegView:
    """The agency closes the leg once its outcome is recorded."""
    leg, action = await _agency_action(call)
    return await _leg_update(call, leg, CLOSE_UPDATE, action)


# --- The referrer's actions on a referral ----------------------------------------------------


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
    await _managed_referral(call)
    req = call.body_as(FollowUpRequest)
    follow_up = FollowUp(
        actor=call.user().subject, made_difference=req.made_difference, score=req.score
    )
    return await _referral_update(call, RECORD_FOLLOW_UP_UPDATE, follow_up)


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
    await _managed_referral(call)
    reason = call.body_as(WithdrawRequest).reason
    withdrawal = Withdrawal(actor=call.user().subject, reason=reason)
    return await _referral_update(call, WITHDRAW_UPDATE, withdrawal)


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
    stored = await _managed_referral(call)
    reason = call.body_as(WithdrawRequest).reason
    withdrawal = Withdrawal(actor=call.user().subject, reason=reason)
    try:
        return await _referral_update(call, WITHDRAW_CONSENT_UPDATE, withdrawal)
    except WorkflowGone:
        if stored.summary.personal_data_erased:
            raise DomainRefusal("consent was already withdrawn") from None
    sessions = call.request.app[SESSIONS]
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


# --- Internals -------------------------------------------------------------------------------


async def _client(call: Call) -> Client:
    try:
        return await call.request.app[TEMPORAL].client()
    except Exception as exc:
        log.warning("temporal unreachable", error=repr(exc))
        raise web.HTTPServiceUnavailable(
            reason="Temporal is unreachable; try again later"
        ) from None


async def _started_since(client: Client, workflow_id: str, since: datetime) -> bool:
    """Whether the workflow started although starting it raised (its answer was lost)."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except Exception:
        return False
    return described.start_time >= since - timedelta(seconds=5)


def _agencies(stored: StoredReferral) -> Iterable[str]:
    return {leg.agency_id for leg in stored.legs}


async def _visible_referral(call: Call, number: str) -> StoredReferral:
    stored = await get_referral(call.request.app[SESSIONS], number)
    if stored is None or not may_see_referral(
        call.user(), referrer=stored.submitted_by, agency_ids=_agencies(stored)
    ):
        raise web.HTTPNotFound(reason=NOT_FOUND)
    return stored


async def _managed_referral(call: Call) -> StoredReferral:
    stored = await _visible_referral(call, call.path("number"))
    if not may_manage_referral(call.user(), referrer=stored.submitted_by):
        raise web.HTTPNotFound(reason=NOT_FOUND)
    return stored


async def _live_state(call: Call, number: str) -> ReferralView | None:
    try:
        client = await call.request.app[TEMPORAL].client()
        # With no worker polling, a query waits; the page must not.
        view: ReferralView = await client.get_workflow_handle(number).query(
            STATE_QUERY, result_type=ReferralView, rpc_timeout=LIVE_STATE_TIMEOUT
        )
    except Exception as exc:
        # The read model still answers; the live state is a bonus.
        log.info("referral state not queried", referral=number, error=repr(exc))
        return None
    return view


async def _audit_personal_read(call: Call, number: str) -> None:
    await audit_personal_read(call.request, call.user(), f"/api/referrals/{number}")


async def _agency_action(call: Call) -> tuple[StoredLeg, AgencyAction]:
    """The leg, if the caller may act on it (others' legs are 404), and who acts."""
    user = call.user()
    leg = await get_leg(call.request.app[SESSIONS], call.path("leg_id"))
    if leg is None or not may_act_for_agency(user, leg.agency_id):
        raise web.HTTPNotFound(reason=NO_LEG)
    return leg, AgencyAction(agency_id=leg.agency_id, actor=user.subject)


async def _leg_update(call: Call, leg: StoredLeg, update: str, arg: BaseModel) -> LegView:
    return await _update(call, leg.leg_id, update, arg, LegView, gone=f"the leg is {leg.state}")


async def _referral_update(call: Call, update: str, arg: BaseModel) -> ReferralView:
    number = call.path("number")
    return await _update(
        call, number, update, arg, ReferralView, gone="the referral is no longer running"
    )


def _view_from_store(stored: StoredReferral) -> ReferralView:
    """A finished referral as the read model has it, in the workflow's own shape."""
    s = stored.summary
    legs = [
        LegView(
            **leg.model_dump(exclude={"outcome_code", "outcome_value", "outcome_unit"}),
            number=s.number,
            outcome=Outcome(code=leg.outcome_code, value=leg.outcome_value, unit=leg.outcome_unit)
            if leg.outcome_code
            else None,
        )
        for leg in stored.legs
    ]
    return ReferralView(
        number=s.number,
        source=ReferralSource(s.source),
        ward=s.ward,
        status=ReferralStatus(s.status),
        urgency=Urgency(s.urgency),
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


async def _update(
    call: Call, workflow_id: str, update: str, arg: BaseModel, result: type[R], *, gone: str
) -> R:
    return await run_update(await _client(call), workflow_id, update, arg, result, gone=gone)
