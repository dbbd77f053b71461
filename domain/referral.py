"""Multi-agency referrals: the resident, needs, consent, legs and their rules.

A *referral* is one resident's request for help with one or more *needs*. Each need is
routed to a service; sending it to that service's agency opens a *leg*, which follows the
state machine below until an outcome is recorded, the agency declines or stays silent (then
the need is re-routed), or the referral is withdrawn.

Personal data (:class:`Resident`, the needs' free-text notes, the referrer's contact details)
lives in the store only. Workflows carry :class:`ReferralInput`, which holds none of it, so
erasing a resident's data never has to touch Temporal history.

The names of the workflows' updates, queries and signals are defined here, beside their
models, so the API can call them without importing workflow code.

Longer than 400 lines on purpose: the referral's models and the leg state machine are one
vocabulary that the workflows, the API and the store share; split, each half would import
the other.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from domain.calendar import LONDON, add_working_days, is_working_day, next_working_day
from domain.declines import (
    DECLINE_WORDS,
    DeclineReason,
    decline_problem,
)
from domain.directory import NeedCategory, Urgency
from domain.offers import Offer
from domain.patterns import BLANK, NOT_BLANK
from domain.text import OneLine

# --- Numbers ---------------------------------------------------------------------------------

NUMBER_PATTERN = re.compile(r"^(?P<prefix>[A-Z]{2,8})-(?P<year>\d{4})-(?P<seq>\d{6,})$")


def format_referral_number(prefix: str, year: int, sequence: int) -> str:
    """The human-readable number, e.g. ``TEN-2026-000123``."""
    if not re.fullmatch(r"[A-Z]{2,8}", prefix):
        raise ValueError("the prefix is 2 to 8 capital letters")
    if not sequence >= 1:
        raise ValueError("the sequence starts at 1")
    if not 1000 <= year <= 9999:
        raise ValueError("the year has four digits")
    return f"{prefix}-{year:04d}-{sequence:06d}"


def parse_referral_number(number: str) -> tuple[str, int, int]:
    """``(prefix, year, sequence)`` of a referral number; ``ValueError`` if malformed."""
    match = NUMBER_PATTERN.fullmatch(number)
    if match is None:
        raise ValueError(f"not a referral number: {number!r}")
    return match["prefix"], int(match["year"]), int(match["seq"])


def leg_id(number: str, sequence: int) -> str:
    """A leg's id, which is also its child workflow's id: ``TEN-2026-000123-L1``."""
    return f"{number}-L{sequence}"


# --- What a referrer submits -------------------------------------------------------------------


class ReferralSource(StrEnum):
    """Where a referral came from."""

    REACH_OUT = "reach_out"
    WEB_SIGNPOSTING = "web_signposting"
    AGENCY = "agency"

    @classmethod
    def _missing_(cls, value: object) -> ReferralSource | None:
        # Referrals started before the public website named this source "signposting_web";
        # their workflow inputs still carry it.
        return cls.WEB_SIGNPOSTING if value == "signposting_web" else None


class ConsentMethod(StrEnum):
    """How the resident gave consent to share their details."""

    VERBAL = "verbal"
    WRITTEN = "written"
    ONLINE = "online"
    PHONE = "phone"


class Resident(BaseModel):
    """The resident: personal data, kept in the store only and erased on request."""

    model_config = ConfigDict(extra="forbid")

    name: OneLine = Field(min_length=1, max_length=200)
    date_of_birth: date | None = None
    address: str | None = Field(default=None, max_length=500)
    postcode: str | None = Field(default=None, max_length=10)
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = None

    def age_on(self, day: date) -> int | None:
        """Age in whole years on ``day`` (None if the date of birth is unknown)."""
        if self.date_of_birth is None:
            return None
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Need(BaseModel):
    """One thing the resident needs help with; ``notes`` is personal free text."""

    model_config = ConfigDict(extra="forbid")

    category: NeedCategory
    urgency: Urgency = Urgency.ROUTINE
    notes: str = Field(default="", max_length=4000)
    offer: Offer | None = Field(
        default=None, description="Offer the need to several services; the first to accept wins."
    )


class Consent(BaseModel):
    """Which agencies may receive the resident's details, and when and how that was agreed."""

    model_config = ConfigDict(extra="forbid")

    agency_ids: list[str] = Field(default_factory=list, max_length=100)
    given_at: datetime | None = None
    method: ConsentMethod | None = None
    declined_agency_ids: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Agencies the resident was asked about and did not agree to.",
    )
    recorded_by: OneLine | None = Field(
        default=None, max_length=200, description="Who recorded the consent (staff name)."
    )

    @field_validator("given_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("given_at needs a time zone")
        return value


class Referrer(BaseModel):
    """Who submitted the referral and how to reach them (follow-ups, signposts)."""

    model_config = ConfigDict(extra="forbid")

    name: OneLine = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    agency_id: str | None = None


class ReferralSubmission(BaseModel):
    """Everything a referrer submits, personal data included (the API's request body)."""

    model_config = ConfigDict(extra="forbid")

    source: ReferralSource
    ward: str = Field(min_length=1, max_length=100)
    resident: Resident
    needs: list[Need] = Field(min_length=1, max_length=20)
    consent: Consent = Field(default_factory=Consent)
    referrer: Referrer
    confirm_new: bool = Field(
        default=False,
        description="Make a new referral even though an open referral exists for the same "
        "resident (otherwise 409 names it, and the need can be added to it instead).",
    )


# --- What the workflow carries (no personal data) -----------------------------------------------


class NeedRef(BaseModel):
    """A need as the workflow sees it: no notes."""

    model_config = ConfigDict(frozen=True)

    need_id: str
    category: NeedCategory
    urgency: Urgency
    offer_max: int | None = Field(
        default=None, description="Offer to up to this many services at once (first accept)."
    )


class ReferralPolicy(BaseModel):
    """Timings of the SLA ladder and the follow-up, in working days."""

    model_config = ConfigDict(frozen=True)

    escalate_after_days: int = Field(
        default=2, ge=1, description="Working days after the reminder before escalating."
    )
    follow_up_after_days: int = Field(
        default=20, ge=0, description="Working days after the last outcome to follow up."
    )
    follow_up_wait_days: int = Field(
        default=10, ge=1, description="Working days to wait for the follow-up before closing."
    )
    outcome_days: int = Field(
        default=20,
        ge=1,
        description="Working days from acceptance to a recorded outcome, unless the service "
        "agreed its own.",
    )
    offer_defaults: dict[NeedCategory, int] = Field(
        default_factory=dict,
        description="Per category, how many services a need is offered to at once when the "
        "referrer does not say (1 or absent: one at a time).",
    )
    unallocated_remind_after_days: int = Field(
        default=2,
        ge=1,
        description="Working days an unallocated need waits in the co-ordinator's queue before "
        "the co-ordinator is reminded and the wait shows as a breach.",
    )
    agency_notice_attempts: int = Field(
        default=60,
        ge=1,
        description="Attempts at a notice to an agency before the co-ordinator is told the agency "
        "is unreachable and the need goes to the next service (60 with the default backoff: "
        "about a day).",
    )
    full_after_no_capacity_days: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Working days a service is marked full after declining for lack of capacity.",
    )
    agency_notice_max_backoff: timedelta = Field(
        default=timedelta(minutes=30),
        gt=timedelta(0),
        description="The longest wait between two attempts at a failing agency notice (the wait "
        "starts at 1 s and doubles).",
    )


class ReferralInput(BaseModel):
    """The referral workflow's input: ids, ward, categories, urgency and consent; no names."""

    number: str
    source: ReferralSource
    ward: str
    age: int | None = Field(default=None, description="For eligibility; not a date of birth.")
    needs: list[NeedRef] = Field(min_length=1)
    consent_agency_ids: list[str] = Field(default_factory=list)
    referrer_agency_id: str | None = None
    submitted_by: str = Field(description="Subject of the user who submitted it.")
    policy: ReferralPolicy = Field(default_factory=ReferralPolicy)
    possible_duplicates: list[str] = Field(
        default_factory=list,
        description="Open referrals for the same resident when this one was made: numbers "
        "for the co-ordinator to link, shown to staff only.",
    )


def referral_input(
    number: str,
    submission: ReferralSubmission,
    *,
    submitted_by: str,
    today: date,
    policy: ReferralPolicy | None = None,
    possible_duplicates: list[str] | None = None,
) -> ReferralInput:
    """The workflow input for a submission: its personal data left out."""
    return ReferralInput(
        policy=policy or ReferralPolicy(),
        number=number,
        source=submission.source,
        ward=submission.ward,
        age=submission.resident.age_on(today),
        needs=[
            NeedRef(
                need_id=f"N{i}",
                category=n.category,
                urgency=n.urgency,
                offer_max=n.offer.max_services if n.offer is not None else None,
            )
            for i, n in enumerate(submission.needs, start=1)
        ],
        consent_agency_ids=list(submission.consent.agency_ids),
        referrer_agency_id=submission.referrer.agency_id,
        submitted_by=submitted_by,
        possible_duplicates=list(possible_duplicates or []),
    )


# --- Legs: the state machine --------------------------------------------------------------------


class LegState(StrEnum):
    """Where one agency's part of a referral is."""

    SENT = "sent"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    OUTCOME_RECORDED = "outcome_recorded"
    CLOSED = "closed"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


# Recording an outcome straight after accepting is allowed: "could not contact" needs no work.
_TRANSITIONS: dict[LegState, frozenset[LegState]] = {
    LegState.SENT: frozenset({LegState.ACCEPTED, LegState.DECLINED, LegState.EXPIRED}),
    LegState.ACCEPTED: frozenset({LegState.IN_PROGRESS, LegState.OUTCOME_RECORDED}),
    LegState.IN_PROGRESS: frozenset({LegState.OUTCOME_RECORDED}),
    LegState.OUTCOME_RECORDED: frozenset({LegState.CLOSED}),
}
FINAL_LEG_STATES = frozenset(
    {LegState.CLOSED, LegState.DECLINED, LegState.EXPIRED, LegState.WITHDRAWN}
)
OPEN_LEG_STATES = frozenset(LegState) - FINAL_LEG_STATES
WAITING_LEG_STATES = frozenset({LegState.SENT, LegState.ACCEPTED, LegState.IN_PROGRESS})
"""Open legs still waiting on their service: a withdrawn service re-routes these."""


class TransitionRefused(ValueError):
    """An action that the leg's state does not allow; ``reason`` says why, for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_transition(current: LegState, target: LegState) -> None:
    """Raise :class:`TransitionRefused` unless a leg may go from ``current`` to ``target``."""
    if current in FINAL_LEG_STATES:
        raise TransitionRefused(f"the leg is already {current.value}")
    if target is LegState.WITHDRAWN or target in _TRANSITIONS.get(current, frozenset()):
        return
    allowed = sorted(s.value for s in _TRANSITIONS.get(current, frozenset()))
    raise TransitionRefused(
        f"a leg cannot go from {current.value} to {target.value}"
        + (f" (it can become: {', '.join(allowed)}, withdrawn)" if allowed else "")
    )


class OutcomeCode(StrEnum):
    """What happened for the resident."""

    GOT_HELP = "got_help"
    NOT_ELIGIBLE = "not_eligible"
    COULD_NOT_CONTACT = "could_not_contact"
    NO_CAPACITY = "no_capacity"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    RESIDENT_DECLINED = "resident_declined"


OUTCOME_NOTE_MAX = 1000
"""The longest outcome note, in characters."""
_EDGE_BLANKS = re.compile(rf"^[{BLANK}]+|[{BLANK}]+$")


class Outcome(BaseModel):
    """An outcome with an optional value, e.g. ``got_help`` 1240 GBP (benefit awarded), and
    an optional note in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: OutcomeCode
    value: float | None = Field(default=None, ge=0, le=1e9)
    unit: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z_ ]+$")
    note: str | None = Field(
        default=None,
        max_length=OUTCOME_NOTE_MAX,
        description="What happened, in the agency's words: free text about the resident, "
        "shown only to those who may read it and erased with the resident's details.",
    )

    @field_validator("note")
    @classmethod
    def _note_or_none(cls, value: str | None) -> str | None:
        # A blank note is no note; the length is checked before stripping, as the schema says.
        if value is None or re.search(NOT_BLANK, value) is None:
            return None
        return _EDGE_BLANKS.sub("", value)

    def note_replaced_by(self, marker: str) -> Outcome:
        """This outcome with its note, if it has one, replaced by ``marker`` (erased, withheld)."""
        return self.model_copy(update={"note": marker}) if self.note else self


# --- Deadlines ------------------------------------------------------------------------------

DEFAULT_RESPONSE_DAYS: dict[Urgency, int] = {Urgency.ROUTINE: 5, Urgency.URGENT: 1}
EMERGENCY_CUTOFF = time(12, 0)
EMERGENCY_SAME_DAY = time(17, 0)
EMERGENCY_NEXT_DAY = time(12, 0)


def response_deadline(
    sent_at: datetime, urgency: Urgency, response_days: dict[Urgency, int] | None = None
) -> datetime:
    """When the agency must have responded (UTC).

    Routine and urgent needs count working days (5 and 1 unless the service agreed
    otherwise in ``response_days``). An emergency (or an agreed 0 days) is due by 17:00 the
    same working day when sent before noon, else by noon on the next working day.
    """
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")
    days = (response_days or {}).get(urgency, DEFAULT_RESPONSE_DAYS.get(urgency, 0))
    if days > 0:
        return add_working_days(sent_at, days).astimezone(sent_at.tzinfo)
    local = sent_at.astimezone(LONDON)
    if is_working_day(local.date()) and local.time() < EMERGENCY_CUTOFF:
        due = datetime.combine(local.date(), EMERGENCY_SAME_DAY, tzinfo=LONDON)
    else:
        due = datetime.combine(next_working_day(local.date()), EMERGENCY_NEXT_DAY, tzinfo=LONDON)
    return due.astimezone(sent_at.tzinfo)


URGENCY_RANK = {Urgency.ROUTINE: 0, Urgency.URGENT: 1, Urgency.EMERGENCY: 2}


def highest_urgency(urgencies: list[Urgency]) -> Urgency:
    """The most pressing of ``urgencies`` (routine if none)."""
    return max(urgencies, key=URGENCY_RANK.__getitem__, default=Urgency.ROUTINE)


# Temporal's task priority keys (1 runs first) by urgency: when the workers are behind, an
# urgent referral's tasks are taken before routine ones. 3 is the server's default, so routine
# work is what anything unmarked is, and 4-5 stay free for background jobs.
TASK_PRIORITY: dict[Urgency, int] = {Urgency.EMERGENCY: 1, Urgency.URGENT: 2, Urgency.ROUTINE: 3}


def task_priority(urgencies: list[Urgency]) -> int:
    """The task priority key of work for needs of ``urgencies``: the most pressing one's."""
    return TASK_PRIORITY[highest_urgency(urgencies)]


# --- Workflow views and messages ---------------------------------------------------------------


class ReferralStatus(StrEnum):
    """Where a whole referral is."""

    OPEN = "open"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    UNALLOCATED = "unallocated"
    WITHDRAWN = "withdrawn"
    CONSENT_WITHDRAWN = "consent_withdrawn"


FINAL_REFERRAL_STATUSES = frozenset(
    {
        ReferralStatus.CLOSED,
        ReferralStatus.UNALLOCATED,
        ReferralStatus.WITHDRAWN,
        ReferralStatus.CONSENT_WITHDRAWN,
    }
)


class NeedState(StrEnum):
    """Where one need is."""

    ROUTING = "routing"
    REFERRED = "referred"
    SIGNPOSTED = "signposted"
    UNALLOCATED = "unallocated"
    OUTCOME_RECORDED = "outcome_recorded"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


SETTLED_NEED_STATES = frozenset(
    {
        NeedState.SIGNPOSTED,
        NeedState.UNALLOCATED,
        NeedState.OUTCOME_RECORDED,
        NeedState.WITHDRAWN,
        NeedState.CLOSED,
    }
)


class LegView(BaseModel):
    """One leg as queried: state, deadlines, outcome; no personal data."""

    leg_id: str
    number: str
    need_id: str
    category: NeedCategory
    urgency: Urgency
    service_id: str
    agency_id: str
    route_reason: str
    state: LegState = LegState.SENT
    sent_at: datetime
    deadline: datetime
    breached: bool = False
    reminded_at: datetime | None = None
    escalate_at: datetime | None = Field(
        default=None, description="When silence is escalated, once the reminder has gone."
    )
    escalated_at: datetime | None = None
    decline_reason: str | None = None
    decline_why: DeclineReason | None = None
    better_service_id: str | None = Field(
        default=None, description="The service the agency named as serving the resident better."
    )
    withdraw_reason: str | None = None
    outcome: Outcome | None = None
    outcome_at: datetime | None = None
    accepted_at: datetime | None = None
    outcome_due_at: datetime | None = Field(
        default=None, description="When the outcome is due, counted from acceptance."
    )
    outcome_overdue: bool = Field(default=False, description="Accepted, and no outcome in time.")
    reroute: bool = Field(default=False, description="Whether the need is routed again.")
    offered: bool = Field(
        default=False, description="One of several offers of the need: the first to accept wins."
    )
    offer_lost: bool = Field(
        default=False, description="Withdrawn because another offered service accepted first."
    )
    updated_at: datetime


class NeedView(BaseModel):
    """One need as queried."""

    need_id: str
    category: NeedCategory
    urgency: Urgency
    state: NeedState = NeedState.ROUTING
    leg_ids: list[str] = Field(default_factory=list)
    tried_service_ids: list[str] = Field(default_factory=list)
    signposted_service_id: str | None = None
    signposted_service_ids: list[str] = Field(
        default_factory=list, description="Every service the resident was signposted to."
    )
    reason: str = ""
    unallocated_at: datetime | None = Field(
        default=None, description="When it joined the co-ordinator's queue."
    )
    queue_overdue: bool = Field(
        default=False, description="Waited in the co-ordinator's queue past its SLA."
    )


class FollowUp(BaseModel):
    """The referrer's follow-up with the resident: did the help make a difference?"""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=200)
    made_difference: bool
    score: int | None = Field(default=None, ge=1, le=5, description="1 (none) to 5 (a lot).")


class ReferralView(BaseModel):
    """The whole referral as queried: every need and leg; no personal data."""

    number: str
    source: ReferralSource
    ward: str
    status: ReferralStatus = ReferralStatus.OPEN
    urgency: Urgency
    needs: list[NeedView]
    legs: list[LegView] = Field(default_factory=list)
    consent_agency_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    breached: bool = False
    outcome_overdue: bool = Field(
        default=False, description="An accepted leg is past its outcome deadline."
    )
    next_deadline: datetime | None = None
    follow_up_due_at: datetime | None = None
    follow_up: FollowUp | None = None
    personal_data_erased: bool = False
    status_reason: str = ""


class AgencyAction(BaseModel):
    """An agency user's accept, start or close of a leg."""

    model_config = ConfigDict(extra="forbid")

    agency_id: str = Field(min_length=1, max_length=100)
    actor: str = Field(min_length=1, max_length=200)


class Decline(AgencyAction):
    """An agency declines a leg, with a reason from the list (``why``) and words where they
    help: which rule for "not eligible", what was tried for "cannot contact", the reason for
    "other" (the default, for callers that send words only)."""

    reason: str = Field(default="", max_length=1000, description="The reason in words.")
    why: DeclineReason = DeclineReason.OTHER
    service_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="With better_served_elsewhere: the service that would serve the resident "
        "better.",
    )

    @model_validator(mode="after")
    def _complete(self) -> Decline:
        problem = decline_problem(self.why, self.reason, self.service_id)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def words(self) -> str:
        """The reason as the timeline shows it."""
        text = self.reason.strip()
        if self.why is DeclineReason.OTHER:
            return text
        head = DECLINE_WORDS[self.why]
        if self.service_id:
            head += f" ({self.service_id})"
        return f"{head}: {text}" if text else head


class RecordOutcome(AgencyAction):
    """An agency records the outcome of a leg."""

    outcome: Outcome


class Withdrawal(BaseModel):
    """The referrer withdraws the referral, or the resident withdraws consent."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)


class AddNeed(BaseModel):
    """The referrer adds a need to their open referral instead of making a second one for the
    same resident: routed like the referral's first needs (its notes are in the store)."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=200)
    need: NeedRef


MAX_NEEDS = 20
"""The most needs one referral carries, as submitted or added later."""


class LegStop(BaseModel):
    """The referral tells a leg to stop: withdrawn, re-routed, or closed after follow-up."""

    reason: str
    reroute: bool = False
    close: bool = Field(default=False, description="Close a leg whose outcome is recorded.")
    consent_withdrawn: bool = False
    offer_lost: bool = Field(default=False, description="Another offered service accepted.")


class LegInput(BaseModel):
    """A leg workflow's input: which service, and the timings of its SLA ladder."""

    number: str
    leg_id: str
    need: NeedRef
    ward: str
    service_id: str
    agency_id: str
    route_reason: str
    response_days: dict[Urgency, int] = Field(default_factory=dict)
    outcome_days: int | None = Field(
        default=None, description="The service's agreed days to an outcome, if it has its own."
    )
    offered: bool = Field(default=False, description="One of several offers of the need.")
    policy: ReferralPolicy = Field(default_factory=ReferralPolicy)


# Workflow types, and the names of their updates, queries and signals.
REFERRAL_WORKFLOW = "ReferralWorkflow"
LEG_WORKFLOW = "ReferralLegWorkflow"
STATE_QUERY = "state"
# On the referral (workflow id = the referral number):
WITHDRAW_UPDATE = "withdraw"  # Withdrawal -> ReferralView
WITHDRAW_CONSENT_UPDATE = "withdraw_consent"  # Withdrawal -> ReferralView
RECORD_FOLLOW_UP_UPDATE = "record_follow_up"  # FollowUp -> ReferralView
ADD_NEED_UPDATE = "add_need"  # AddNeed -> ReferralView
LEG_CHANGED_SIGNAL = "leg_changed"  # LegView, from a leg to its referral
# On a leg (workflow id = the leg id):
ACCEPT_UPDATE = "accept"  # AgencyAction -> LegView
START_UPDATE = "start"  # AgencyAction -> LegView
DECLINE_UPDATE = "decline"  # Decline -> LegView
RECORD_OUTCOME_UPDATE = "record_outcome"  # RecordOutcome -> LegView
CLOSE_UPDATE = "close"  # AgencyAction -> LegView
STOP_SIGNAL = "stop"  # LegStop, from the referral to a leg
