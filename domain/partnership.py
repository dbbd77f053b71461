"""A local service partnership and its cycle: negotiate → establish → plan → implement → review.

The state of one partnership is one model, :class:`PartnershipState`. Every action a
co-ordinator, a partner agency or the members take is a command model; :func:`apply` checks
the stage gate and returns the new state, or raises :class:`Refusal` with the reason and
leaves the given state untouched. The rules come from the councils' practice (seed 001:
cost assessment, member approval, the eight support elements, SMART outcomes; seed 004: the
five stages; seed 000: bi-monthly stakeholder meetings, targets against actuals, exit options).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl

from domain.indicators import Actual, Direction, Indicator, Measure
from domain.labels import money
from domain.outcome_binding import (
    OutcomeBinding,
    ReferralOutcomeFact,
    bound_total,
    contribution,
    counted_key,
)

Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=300)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Money = Annotated[float, Field(ge=0, le=1e10, description="Pounds sterling.")]
Hours = Annotated[float, Field(ge=0, le=1e7)]
Day = date
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2069, 12, 31)
"""Deadlines must fall in the years the working-day calendar covers."""


def _integral(value: object) -> object:
    # JSON Schema counts 2.0 as an integer; strict mode alone would refuse it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Whole = Annotated[int, BeforeValidator(_integral)]
"""A whole number: 2 or 2.0, never true or "2"."""


Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="An email address; one that cannot be delivered to is skipped.",
    ),
]
INPUT = ConfigDict(extra="forbid", strict=True)
"""Input models refuse unknown fields and lax coercions (``false`` is not £0)."""


class Refusal(ValueError):
    """An action the partnership's rules refuse; the message says why."""


class Stage(StrEnum):
    """Where a partnership is in its cycle."""

    NEGOTIATE = "negotiate"
    ESTABLISH = "establish"
    PLAN = "plan"
    IMPLEMENT = "implement"
    REVIEW = "review"
    CLOSED = "closed"


class Contact(BaseModel):
    """Someone partnerflow writes to."""

    model_config = INPUT

    name: Name
    email: Email


class Policy(BaseModel):
    """The partnership's configurable rules (defaults from the councils' strategies)."""

    model_config = INPUT

    cost_threshold_gbp: Money = Field(
        default=25_000, description="Total cost above which members must approve."
    )
    response_working_days: Whole = Field(
        default=5, ge=1, le=60, description="Working days a partner has to answer each chase."
    )
    partner_reminders: Whole = Field(
        default=2, ge=0, le=5, description="Reminders to a silent partner before escalation."
    )
    meeting_interval_months: Whole = Field(
        default=2, ge=1, le=12, description="Stakeholder meetings: at least every N months."
    )
    invite_working_days: Whole = Field(
        default=10, ge=1, le=40, description="Working days' notice of a meeting."
    )
    grace_working_days: Whole = Field(
        default=10,
        ge=1,
        le=60,
        description="Working days after a due date before a reminder is escalated.",
    )
    plan_years: Whole = Field(default=2, ge=1, le=5, description="Length of an action plan.")
    max_history_events: Whole = Field(
        default=10_000, ge=100, le=40_000, description="Start a fresh run beyond this history."
    )


class ContributionKind(StrEnum):
    """What a partner puts in."""

    MONEY = "money"
    STAFF_TIME = "staff_time"
    EQUIPMENT = "equipment"
    PREMISES = "premises"


class Contribution(BaseModel):
    """One thing a partner contributes."""

    model_config = INPUT

    kind: ContributionKind
    description: Text
    value_gbp: Money = 0
    hours_per_month: Hours = 0


class Commitment(BaseModel):
    """A partner's written commitment to the partnership agreement."""

    contributions: list[Contribution]
    agrees_aims: bool
    agrees_targets: bool
    agrees_evaluation: bool
    signed_by: Name
    committed_at: datetime


class Partner(BaseModel):
    """An organisation invited into the partnership."""

    agency_id: Slug
    name: Name
    contact: Contact
    webhook_url: HttpUrl | None = None
    invited_at: datetime
    commitment: Commitment | None = None


class ResourceAssessment(BaseModel):
    """What the partnership costs the council over one plan period."""

    model_config = INPUT

    direct_costs_gbp: Money
    indirect_costs_gbp: Money = 0
    opportunity_costs_gbp: Money = 0
    officer_hours: Hours = Field(default=0, description="Officer time over the plan period.")
    officer_hourly_rate_gbp: Money = 0
    notes: str = Field(default="", max_length=4000)

    @property
    def officer_time_cost_gbp(self) -> float:
        """Officer time priced at the hourly rate."""
        return self.officer_hours * self.officer_hourly_rate_gbp

    @property
    def total_gbp(self) -> float:
        """Direct, indirect and opportunity costs plus officer time."""
        return (
            self.direct_costs_gbp
            + self.indirect_costs_gbp
            + self.opportunity_costs_gbp
            + self.officer_time_cost_gbp
        )


KEY_QUESTIONS: tuple[str, ...] = (
    "Does the organisation have a clear and sound reason for being in this partnership?",
    "Are changes in behaviour or in decision making processes needed to avoid setting up a "
    "partnership with only limited success?",
    "How are prospective partners identified?",
    "Does the partnership have an executive group that all partners trust to make decisions "
    "on their behalf?",
    "Do all the partners have an appropriately structured board or other decision-making forum?",
    "Do partners share the same main objectives?",
    "Are the partnership objectives consistent with those of the partner organisation?",
    "Do partners know where the boundaries between the activities of the partnership and "
    "their own organisation lie?",
    "Are project planning techniques used to ensure the separate agreement of all the "
    "partners to a course of action in good time, when necessary?",
    "Is the partnership prepared to delegate responsibility for parts of their work to "
    "particular partners?",
    "Have partnership staff been selected for their technical competence and their ability to "
    "operate both inside and outside the conventional public sector framework?",
    "If members have dropped out of a partnership, have lessons been learned about how to "
    "maintain involvement in the future?",
    "Can partnership decisions be implemented effectively?",
    "Have positive and discrete actions been taken to build and maintain trust between partners?",
    "Is the partnership accountable to the individual partners, external stakeholders, service "
    "users and the public at large?",
    "Does the partnership have a shared understanding of the outcomes that it expects to "
    "achieve, both in the short and long term?",
    "Has the partnership identified its own performance indicators and set jointly agreed targets?",
    "Has the partnership identified the means of measuring progress towards expected outcomes "
    "and the health of the partnership itself?",
    "Has the partnership clearly identified the direct, indirect and opportunity costs of the "
    "partnership?",
    "Are the partnership costs being actively monitored and weighed against the benefits the "
    "partnership delivers?",
)
"""Castle Point's key questions (seed 001, Appendix B), numbered 1 to 20."""

DECIDING_QUESTIONS = (1, 2)
"""Questions to answer before deciding to go into partnership."""


class MemberApproval(BaseModel):
    """Elected members' approval, as minuted."""

    approved_by: Name
    minute_ref: Name
    approved_at: datetime


class SupportElement(StrEnum):
    """The eight support elements a partnership agrees when it is established (seed 001)."""

    CONSTITUTION = "constitution"
    TERMS_OF_REFERENCE = "terms_of_reference"
    MANAGEMENT_STRUCTURE = "management_structure"
    REPORTING_TO_PARENT_BODIES = "reporting_to_parent_bodies"
    DECISION_MAKING = "decision_making"
    CONSULTATION_STRATEGY = "consultation_strategy"
    COMMUNICATION_SYSTEMS = "communication_systems"
    MONITORING_AND_REVIEW = "monitoring_and_review"


class ElementAgreement(BaseModel):
    """A support element agreed, with the document that records it."""

    document_ref: Name
    agreed_at: datetime


class BaselineItem(BaseModel):
    """One piece of baseline data collected before planning."""

    model_config = INPUT

    name: Name
    value: Measure
    unit: Annotated[str, Field(min_length=1, max_length=50)]
    source: Name
    as_of: Day


class ConsultationEvent(BaseModel):
    """A consultation held while planning (door-to-door survey, estate conference, ...)."""

    model_config = INPUT

    kind: Name
    held_on: Day
    participants: Whole = Field(ge=0, le=1_000_000)
    summary: Text


class ActionGroup(BaseModel):
    """An issue-based action group (housing, health promotion, community safety, ...)."""

    model_config = INPUT

    id: Slug
    theme: Name
    lead: Name


class ActionSpec(BaseModel):
    """An action as planned: owner, due date, resources and how it is monitored."""

    model_config = INPUT

    id: Slug
    title: Name
    owner: Contact
    owner_agency_id: Slug | None = None
    group_id: Slug | None = None
    due: Day
    resources: Text
    monitoring: Text = Field(description="How progress on the action is monitored.")


class PlanAction(ActionSpec):
    """An action of the action plan, and when it was done."""

    done_on: Day | None = None


class PlanOutcome(BaseModel):
    """A SMART outcome measured by performance indicators."""

    id: Slug
    statement: Text
    indicator_ids: list[Slug]


class QuarterlyReturn(BaseModel):
    """A funded project's quarterly return."""

    quarter: int = Field(ge=1, le=40)
    submitted_at: datetime
    spend_gbp: Money
    progress: Text
    on_target: bool


class ProjectSpec(BaseModel):
    """A project to fund, with a deadline and a target."""

    model_config = INPUT

    id: Slug
    name: Name
    agency_id: Slug
    contact: Contact
    funding_gbp: Money
    deadline: Day
    target: Text


class FundedProject(ProjectSpec):
    """A funded project and its quarterly returns."""

    returns: list[QuarterlyReturn] = Field(default_factory=list)


class Meeting(BaseModel):
    """A stakeholder meeting held, with its minutes."""

    number: int = Field(ge=1)
    held_at: datetime
    minutes: Text
    progress: str = Field(default="", max_length=4000)
    attendees: list[Slug] = Field(default_factory=list)


class Benefit(BaseModel):
    """A monetised benefit of the partnership (e.g. external funding levered in)."""

    description: Name
    amount_gbp: Money
    recorded_at: datetime


class DecisionKind(StrEnum):
    """What the review decides."""

    CONTINUE = "continue"
    RATIONALISE = "rationalise"
    EXIT = "exit"


class ExitOption(BaseModel):
    """One option of an exit strategy's appraisal (seed 000, section 6)."""

    model_config = INPUT

    name: Name
    appraisal: Text
    chosen: bool = False


class Decision(BaseModel):
    """The outcome of a review."""

    kind: DecisionKind
    reason: Text
    decided_at: datetime
    merge_into: Slug | None = None
    exit_options: list[ExitOption] = Field(default_factory=list)


class AnnualReviewKind(StrEnum):
    """The yearly reviews every partnership gets, independent of its stage."""

    DEPARTMENTAL = "departmental"
    MEMBER_SCRUTINY = "member_scrutiny"


class AnnualReview(BaseModel):
    """An annual review held."""

    kind: AnnualReviewKind
    held_on: Day
    notes: str = Field(default="", max_length=4000)


class TimelineEvent(BaseModel):
    """Something that happened to the partnership."""

    at: datetime
    cycle: int
    kind: str
    detail: str


class CycleSummary(BaseModel):
    """What a finished cycle decided (kept when the next cycle starts)."""

    cycle: int
    plan_start: date | None
    plan_end: date | None
    decision: Decision


TIMELINE_LIMIT = 1000
"""Events kept in the state; older ones stay in the workflow histories."""


class PartnershipState(BaseModel):
    """Everything about one partnership, carried across cycles."""

    id: Slug
    name: Name
    aims: list[Text] = Field(min_length=1, max_length=50)
    strategic: bool = False
    parent_id: Slug | None = None
    coordinator: Contact
    coordinator_appointed: bool = False
    policy: Policy = Field(default_factory=Policy)
    created_at: datetime
    cycle: int = 1
    stage: Stage = Stage.NEGOTIATE
    partners: list[Partner] = Field(default_factory=list)
    resources: ResourceAssessment | None = None
    key_answers: dict[int, str] = Field(default_factory=dict)
    member_approval: MemberApproval | None = None
    elements: dict[SupportElement, ElementAgreement] = Field(default_factory=dict)
    baseline: list[BaselineItem] = Field(default_factory=list)
    consultations: list[ConsultationEvent] = Field(default_factory=list)
    groups: list[ActionGroup] = Field(default_factory=list)
    actions: list[PlanAction] = Field(default_factory=list)
    outcomes: list[PlanOutcome] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    projects: list[FundedProject] = Field(default_factory=list)
    plan_start: date | None = None
    plan_end: date | None = None
    meetings: list[Meeting] = Field(default_factory=list)
    benefits: list[Benefit] = Field(default_factory=list)
    review_started_at: datetime | None = None
    decision: Decision | None = None
    past_cycles: list[CycleSummary] = Field(default_factory=list)
    annual_reviews: list[AnnualReview] = Field(default_factory=list)
    sent: list[str] = Field(default_factory=list, description="Keys of reminders already sent.")
    timeline: list[TimelineEvent] = Field(default_factory=list)

    def partner(self, agency_id: str) -> Partner | None:
        """The partner with ``agency_id``, if invited."""
        return next((p for p in self.partners if p.agency_id == agency_id), None)

    def needs_member_approval(self) -> bool:
        """Strategic partnerships, and those costing more than the threshold, need members."""
        cost = self.resources.total_gbp if self.resources else 0.0
        return self.strategic or cost > self.policy.cost_threshold_gbp


# Commands: one per stage action. Each is also the body of its API endpoint.


class Command(BaseModel):
    """Base of every action on a partnership."""

    model_config = INPUT


class NewPartnership(Command):
    """Start a partnership: its aims, its co-ordinator, and where it sits."""

    id: Slug
    name: Name
    aims: list[Text] = Field(min_length=1, max_length=50)
    strategic: bool = False
    parent_id: Slug | None = None
    coordinator: Contact
    policy: Policy = Field(default_factory=Policy)


class InvitePartner(Command):
    """Invite an organisation (from the directory or new) to commit to the partnership."""

    agency_id: Slug
    name: Name
    contact: Contact
    webhook_url: HttpUrl | None = None


class CommitPartner(Command):
    """A partner's commitment: what it contributes and its agreement to aims and targets."""

    agency_id: Slug
    contributions: list[Contribution] = Field(min_length=1, max_length=50)
    agrees_aims: bool
    agrees_targets: bool
    agrees_evaluation: bool
    signed_by: Name


class AssessResources(Command):
    """Record the resource assessment: direct, indirect and opportunity costs, officer time."""

    assessment: ResourceAssessment


class KeyAnswer(BaseModel):
    """The answer to one key question."""

    model_config = INPUT

    number: Whole = Field(ge=1, le=len(KEY_QUESTIONS))
    answer: Text


class AnswerKeyQuestions(Command):
    """Answer some of the key questions (numbered 1 to 20)."""

    answers: list[KeyAnswer] = Field(min_length=1, max_length=len(KEY_QUESTIONS))


class ApproveByMembers(Command):
    """Record elected members' approval."""

    approved_by: Name
    minute_ref: Name


class CompleteNegotiation(Command):
    """Close Negotiate and move to Establish (the gate checks everything is in place)."""


class AgreeElement(Command):
    """Mark one support element agreed, with its document reference."""

    element: SupportElement
    document_ref: Name


class AppointCoordinator(Command):
    """Appoint the partnership co-ordinator."""

    coordinator: Contact


class CompleteEstablishment(Command):
    """Close Establish and move to Plan."""


class RecordBaseline(Command):
    """Add baseline data."""

    items: list[BaselineItem] = Field(min_length=1, max_length=100)


class RecordConsultation(Command):
    """Record a consultation event."""

    event: ConsultationEvent


class AddActionGroup(Command):
    """Set up an issue-based action group."""

    group: ActionGroup


class AddAction(Command):
    """Add an action to the action plan."""

    action: ActionSpec


class IndicatorDefinition(BaseModel):
    """A performance indicator as planned."""

    model_config = INPUT

    id: Slug
    name: Name
    unit: Annotated[str, Field(min_length=1, max_length=50)]
    baseline: Measure
    target: Measure
    direction: Direction = Direction.HIGHER_IS_BETTER
    benefit: bool = False
    binding: OutcomeBinding | None = Field(
        default=None,
        description="Fed by referral outcomes as they are recorded, instead of by hand.",
    )


class AddOutcome(Command):
    """Add a SMART outcome with its performance indicators."""

    id: Slug
    statement: Text
    indicators: list[IndicatorDefinition] = Field(min_length=1, max_length=20)


class AddFundedProject(Command):
    """Fund a project with a deadline and a target; it sends quarterly returns."""

    project: ProjectSpec


class ApprovePlan(Command):
    """Approve the action plan; implementation starts on ``start``."""

    start: Day


class RecordMeeting(Command):
    """Record a stakeholder meeting: minutes and progress."""

    minutes: Text
    progress: str = Field(default="", max_length=4000)
    attendees: list[Slug] = Field(default_factory=list, max_length=200)


class SubmitQuarterlyReturn(Command):
    """A funded project's quarterly return."""

    project_id: Slug
    quarter: Whole = Field(ge=1, le=40)
    spend_gbp: Money
    progress: Text
    on_target: bool


class CompleteAction(Command):
    """Mark an action done."""

    action_id: Slug
    done_on: Day


class RecordIndicatorActual(Command):
    """Record a measured value of an indicator (by hand, or fed by the referral service)."""

    indicator_id: Slug
    value: Measure
    source: str = Field(default="manual", min_length=1, max_length=100)


class RecordReferralOutcome(Command):
    """A referral outcome offered to the partnership's bound indicators (by the referral
    service, as each outcome is recorded); refused when no indicator counts it."""

    outcome: ReferralOutcomeFact


class RecordBenefit(Command):
    """Record a monetised benefit (e.g. external funding levered in)."""

    description: Name
    amount_gbp: Money


class StartReview(Command):
    """Start the review now, before the end of the plan."""


class RecordAnnualReview(Command):
    """Record an annual departmental review or member scrutiny."""

    kind: AnnualReviewKind
    held_on: Day
    notes: str = Field(default="", max_length=4000)


class Decide(Command):
    """The review's decision: continue, rationalise (merge or reduce) or exit."""

    kind: DecisionKind
    reason: Text
    merge_into: Slug | None = None
    exit_options: list[ExitOption] = Field(default_factory=list, max_length=20)


# Stage gates.


def negotiation_gaps(state: PartnershipState) -> list[str]:
    """What still stops the partnership leaving Negotiate (empty: it may go)."""
    gaps: list[str] = []
    if not state.partners:
        gaps.append("no partner has been invited")
    waiting = [p.agency_id for p in state.partners if p.commitment is None]
    if waiting:
        gaps.append(f"partners have not committed: {', '.join(waiting)}")
    if state.resources is None:
        gaps.append("the resource assessment (direct, indirect, opportunity costs) is missing")
    unanswered = [str(n) for n in DECIDING_QUESTIONS if not state.key_answers.get(n)]
    if unanswered:
        gaps.append(f"key questions not answered: {', '.join(unanswered)}")
    if state.member_approval is None and state.needs_member_approval():
        cost = state.resources.total_gbp if state.resources else 0.0
        why = (
            "it is a strategic partnership"
            if state.strategic
            else f"its cost £{cost:,.0f} is over the threshold "
            f"£{state.policy.cost_threshold_gbp:,.0f}"
        )
        gaps.append(f"member approval is required because {why}")
    return gaps


def establishment_gaps(state: PartnershipState) -> list[str]:
    """What still stops the partnership leaving Establish."""
    gaps: list[str] = []
    missing = [e.value for e in SupportElement if e not in state.elements]
    if missing:
        gaps.append(f"support elements not agreed: {', '.join(missing)}")
    if not state.coordinator_appointed:
        gaps.append("no co-ordinator has been appointed")
    return gaps


def plan_gaps(state: PartnershipState, start: date) -> list[str]:
    """What still stops the action plan being approved to start on ``start``."""
    gaps: list[str] = []
    if not state.baseline:
        gaps.append("no baseline data")
    if not state.consultations:
        gaps.append("no consultation event")
    if not state.groups:
        gaps.append("no action group")
    if not state.actions:
        gaps.append("no action in the plan")
    if not state.outcomes:
        gaps.append("no SMART outcome with indicators")
    end = plan_end(start, state.policy.plan_years)
    late = [a.id for a in state.actions if not start <= a.due <= end]
    if late:
        gaps.append(f"actions due outside the plan period {start} to {end}: {', '.join(late)}")
    return gaps


def plan_end(start: date, years: int) -> date:
    """The last day of a plan of ``years`` years starting on ``start``."""
    return add_months(start, 12 * years)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (clamped to the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# Applying commands.


def _require(state: PartnershipState, *stages: Stage) -> None:
    if state.stage not in stages:
        allowed = " or ".join(s.value for s in stages)
        raise Refusal(f"the partnership is in {state.stage.value}; this needs {allowed}")


def _event(state: PartnershipState, now: datetime, kind: str, detail: str) -> None:
    state.timeline.append(TimelineEvent(at=now, cycle=state.cycle, kind=kind, detail=detail))
    del state.timeline[:-TIMELINE_LIMIT]


def new_partnership(cmd: NewPartnership, now: datetime) -> PartnershipState:
    """The state of a partnership just started, in Negotiate."""
    state = PartnershipState(
        id=cmd.id,
        name=cmd.name,
        aims=cmd.aims,
        strategic=cmd.strategic,
        parent_id=cmd.parent_id,
        coordinator=cmd.coordinator,
        policy=cmd.policy,
        created_at=now,
    )
    _event(state, now, "created", f"partnership {cmd.name!r} started in negotiate")
    return state


def _invite(s: PartnershipState, c: InvitePartner, now: datetime) -> str:
    _require(s, Stage.NEGOTIATE)
    if s.partner(c.agency_id):
        raise Refusal(f"{c.agency_id} has already been invited")
    s.partners.append(
        Partner(
            agency_id=c.agency_id,
            name=c.name,
            contact=c.contact,
            webhook_url=c.webhook_url,
            invited_at=now,
        )
    )
    return f"{c.name} invited"


def _commit(s: PartnershipState, c: CommitPartner, now: datetime) -> str:
    _require(s, Stage.NEGOTIATE)
    partner = s.partner(c.agency_id)
    if partner is None:
        raise Refusal(f"{c.agency_id} has not been invited to this partnership")
    if partner.commitment is not None:
        raise Refusal(f"{c.agency_id} has already committed")
    refused = [
        what
        for what, ok in (
            ("aims", c.agrees_aims),
            ("targets", c.agrees_targets),
            ("evaluation", c.agrees_evaluation),
        )
        if not ok
    ]
    if refused:
        raise Refusal(
            "a commitment must agree to the shared aims, targets and evaluation; "
            f"not agreed: {', '.join(refused)}"
        )
    partner.commitment = Commitment(
        contributions=c.contributions,
        agrees_aims=True,
        agrees_targets=True,
        agrees_evaluation=True,
        signed_by=c.signed_by,
        committed_at=now,
    )
    return f"{partner.name} committed ({len(c.contributions)} contributions)"


def _assess(s: PartnershipState, c: AssessResources, now: datetime) -> str:
    _require(s, Stage.NEGOTIATE)
    s.resources = c.assessment
    return f"resources assessed: total £{c.assessment.total_gbp:,.0f}"


def _answer(s: PartnershipState, c: AnswerKeyQuestions, now: datetime) -> str:
    if s.stage is Stage.CLOSED:
        raise Refusal("the partnership is closed")
    s.key_answers.update({a.number: a.answer for a in c.answers})
    s.key_answers = dict(sorted(s.key_answers.items()))
    numbers = sorted({a.number for a in c.answers})
    return f"key questions answered: {', '.join(str(n) for n in numbers)}"


def _approve(s: PartnershipState, c: ApproveByMembers, now: datetime) -> str:
    _require(s, Stage.NEGOTIATE)
    s.member_approval = MemberApproval(
        approved_by=c.approved_by, minute_ref=c.minute_ref, approved_at=now
    )
    return f"approved by {c.approved_by} ({c.minute_ref})"


def _complete_negotiation(s: PartnershipState, c: CompleteNegotiation, now: datetime) -> str:
    _require(s, Stage.NEGOTIATE)
    gaps = negotiation_gaps(s)
    if gaps:
        raise Refusal("cannot leave negotiate: " + "; ".join(gaps))
    s.stage = Stage.ESTABLISH
    return "negotiation complete; establishing"


def _agree(s: PartnershipState, c: AgreeElement, now: datetime) -> str:
    _require(s, Stage.ESTABLISH)
    s.elements[c.element] = ElementAgreement(document_ref=c.document_ref, agreed_at=now)
    return f"{c.element.value} agreed ({c.document_ref})"


def _appoint(s: PartnershipState, c: AppointCoordinator, now: datetime) -> str:
    _require(s, Stage.ESTABLISH, Stage.PLAN, Stage.IMPLEMENT, Stage.REVIEW)
    s.coordinator = c.coordinator
    s.coordinator_appointed = True
    return f"co-ordinator appointed: {c.coordinator.name}"


def _complete_establishment(s: PartnershipState, c: CompleteEstablishment, now: datetime) -> str:
    _require(s, Stage.ESTABLISH)
    gaps = establishment_gaps(s)
    if gaps:
        raise Refusal("cannot leave establish: " + "; ".join(gaps))
    s.stage = Stage.PLAN
    return "established; planning"


def _baseline(s: PartnershipState, c: RecordBaseline, now: datetime) -> str:
    _require(s, Stage.PLAN)
    s.baseline.extend(c.items)
    return f"{len(c.items)} baseline items recorded"


def _consult(s: PartnershipState, c: RecordConsultation, now: datetime) -> str:
    _require(s, Stage.PLAN)
    s.consultations.append(c.event)
    return f"consultation: {c.event.kind} on {c.event.held_on}"


def _group(s: PartnershipState, c: AddActionGroup, now: datetime) -> str:
    _require(s, Stage.PLAN)
    if any(g.id == c.group.id for g in s.groups):
        raise Refusal(f"action group {c.group.id} already exists")
    s.groups.append(c.group)
    return f"action group {c.group.theme}"


def _within_calendar(what: str, day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Refusal(
            f"{what} {day} is outside the working-day calendar ({FIRST_DAY} to {LAST_DAY})"
        )


def _action(s: PartnershipState, c: AddAction, now: datetime) -> str:
    _require(s, Stage.PLAN, Stage.IMPLEMENT)
    _within_calendar("the due date", c.action.due)
    if any(a.id == c.action.id for a in s.actions):
        raise Refusal(f"action {c.action.id} already exists")
    if c.action.group_id and not any(g.id == c.action.group_id for g in s.groups):
        raise Refusal(f"no action group {c.action.group_id}")
    if s.plan_start and s.plan_end and not s.plan_start <= c.action.due <= s.plan_end:
        raise Refusal(f"the action is due outside the plan period ending {s.plan_end}")
    s.actions.append(PlanAction(**dict(c.action)))
    return f"action {c.action.title} (due {c.action.due})"


def _outcome(s: PartnershipState, c: AddOutcome, now: datetime) -> str:
    _require(s, Stage.PLAN)
    known = {i.id for i in s.indicators}
    if any(o.id == c.id for o in s.outcomes):
        raise Refusal(f"outcome {c.id} already exists")
    clash = [i.id for i in c.indicators if i.id in known]
    if clash or len({i.id for i in c.indicators}) != len(c.indicators):
        raise Refusal(f"indicator ids must be unique: {', '.join(clash) or 'repeated'}")
    s.indicators.extend(Indicator(**i.model_dump()) for i in c.indicators)
    s.outcomes.append(
        PlanOutcome(id=c.id, statement=c.statement, indicator_ids=[i.id for i in c.indicators])
    )
    return f"outcome {c.id} with {len(c.indicators)} indicators"


def _project(s: PartnershipState, c: AddFundedProject, now: datetime) -> str:
    _require(s, Stage.PLAN, Stage.IMPLEMENT)
    _within_calendar("the deadline", c.project.deadline)
    if any(p.id == c.project.id for p in s.projects):
        raise Refusal(f"project {c.project.id} already exists")
    s.projects.append(FundedProject(**dict(c.project)))
    return f"project {c.project.name} funded £{c.project.funding_gbp:,.0f}"


def _approve_plan(s: PartnershipState, c: ApprovePlan, now: datetime) -> str:
    _require(s, Stage.PLAN)
    if c.start < now.date():
        raise Refusal(f"the plan cannot start in the past ({c.start})")
    if c.start > add_months(now.date(), 12):
        raise Refusal(f"the plan must start within a year ({c.start})")
    gaps = plan_gaps(s, c.start)
    if gaps:
        raise Refusal("cannot approve the plan: " + "; ".join(gaps))
    s.plan_start, s.plan_end = c.start, plan_end(c.start, s.policy.plan_years)
    s.stage = Stage.IMPLEMENT
    return f"plan approved: {s.plan_start} to {s.plan_end}"


def _meeting(s: PartnershipState, c: RecordMeeting, now: datetime) -> str:
    _require(s, Stage.IMPLEMENT)
    unknown = [a for a in c.attendees if s.partner(a) is None]
    if unknown:
        raise Refusal(f"not partners: {', '.join(unknown)}")
    number = len(s.meetings) + 1
    s.meetings.append(
        Meeting(
            number=number,
            held_at=now,
            minutes=c.minutes,
            progress=c.progress,
            attendees=c.attendees,
        )
    )
    return f"meeting {number} recorded"


def _return(s: PartnershipState, c: SubmitQuarterlyReturn, now: datetime) -> str:
    _require(s, Stage.IMPLEMENT, Stage.REVIEW)
    project = next((p for p in s.projects if p.id == c.project_id), None)
    if project is None:
        raise Refusal(f"no funded project {c.project_id}")
    if any(r.quarter == c.quarter for r in project.returns):
        raise Refusal(f"the return for quarter {c.quarter} has already been submitted")
    project.returns.append(
        QuarterlyReturn(
            quarter=c.quarter,
            submitted_at=now,
            spend_gbp=c.spend_gbp,
            progress=c.progress,
            on_target=c.on_target,
        )
    )
    return f"{project.name}: quarter {c.quarter} return ({'on' if c.on_target else 'off'} target)"


def _complete_action(s: PartnershipState, c: CompleteAction, now: datetime) -> str:
    _require(s, Stage.IMPLEMENT, Stage.REVIEW)
    action = next((a for a in s.actions if a.id == c.action_id), None)
    if action is None:
        raise Refusal(f"no action {c.action_id}")
    if action.done_on is not None:
        raise Refusal(f"action {c.action_id} was done on {action.done_on}")
    if c.done_on > now.date():
        raise Refusal("an action cannot be done in the future")
    action.done_on = c.done_on
    return f"action {action.title} done"


def _actual(s: PartnershipState, c: RecordIndicatorActual, now: datetime) -> str:
    _require(s, Stage.IMPLEMENT, Stage.REVIEW)
    indicator = next((i for i in s.indicators if i.id == c.indicator_id), None)
    if indicator is None:
        raise Refusal(f"no indicator {c.indicator_id}")
    indicator.actuals.append(Actual(value=c.value, at=now, source=c.source))
    return f"{indicator.name}: {c.value:g} {indicator.unit} ({c.source})"


def _referral_outcome(s: PartnershipState, c: RecordReferralOutcome, now: datetime) -> str:
    _require(s, Stage.IMPLEMENT, Stage.REVIEW)
    fact, moved = c.outcome, []
    for indicator in s.indicators:
        if indicator.binding is None:
            continue
        key = counted_key(indicator.binding, fact)
        share = contribution(
            indicator.binding, fact, period_start=s.plan_start, period_end=s.plan_end
        )
        if share is None or key in indicator.counted:
            continue
        indicator.counted[key] = share
        total = bound_total(indicator.counted)
        indicator.actuals.append(Actual(value=total, at=now, source=f"referral {fact.number}"))
        moved.append(f"{indicator.name} now {money(total, indicator.unit)}")
    if not moved:
        raise Refusal(
            f"no indicator counts the outcome of {fact.outcome_id}, or it is counted already"
        )
    return f"referral {fact.number}'s outcome: " + "; ".join(moved)


def _benefit(s: PartnershipState, c: RecordBenefit, now: datetime) -> str:
    _require(s, Stage.IMPLEMENT, Stage.REVIEW)
    s.benefits.append(Benefit(description=c.description, amount_gbp=c.amount_gbp, recorded_at=now))
    return f"benefit £{c.amount_gbp:,.0f}: {c.description}"


def _start_review(s: PartnershipState, c: StartReview, now: datetime) -> str:
    _require(s, Stage.IMPLEMENT)
    s.stage, s.review_started_at = Stage.REVIEW, now
    return "review started"


def _annual(s: PartnershipState, c: RecordAnnualReview, now: datetime) -> str:
    if s.stage is Stage.CLOSED:
        raise Refusal("the partnership is closed")
    if c.kind is AnnualReviewKind.MEMBER_SCRUTINY and not s.strategic:
        raise Refusal("member scrutiny is for strategic partnerships")
    if c.held_on > now.date():
        raise Refusal("a review cannot be held in the future")
    s.annual_reviews.append(AnnualReview(kind=c.kind, held_on=c.held_on, notes=c.notes))
    return f"annual {c.kind.value} review held on {c.held_on}"


def _decide(s: PartnershipState, c: Decide, now: datetime) -> str:
    _require(s, Stage.REVIEW)
    if c.kind is DecisionKind.EXIT:
        if len(c.exit_options) < 2:
            raise Refusal("an exit strategy must appraise at least two options")
        if sum(o.chosen for o in c.exit_options) != 1:
            raise Refusal("an exit strategy must choose exactly one option")
    elif c.exit_options:
        raise Refusal("exit options belong to an exit decision")
    if c.merge_into is not None and c.kind is not DecisionKind.RATIONALISE:
        raise Refusal("only a rationalise decision merges into another partnership")
    if c.merge_into == s.id:
        raise Refusal("a partnership cannot merge into itself")
    s.decision = Decision(
        kind=c.kind,
        reason=c.reason,
        decided_at=now,
        merge_into=c.merge_into,
        exit_options=c.exit_options,
    )
    s.past_cycles.append(
        CycleSummary(
            cycle=s.cycle, plan_start=s.plan_start, plan_end=s.plan_end, decision=s.decision
        )
    )
    if c.kind is DecisionKind.EXIT or c.merge_into is not None:
        s.stage = Stage.CLOSED
        where = f" into {c.merge_into}" if c.merge_into else ""
        return f"decided to {c.kind.value}{where}; partnership closed"
    _next_cycle(s, now)
    return f"decided to {c.kind.value}; cycle {s.cycle} starts at plan"


def _next_cycle(s: PartnershipState, now: datetime) -> None:
    """Start the next cycle at Plan; the review's latest actuals become the new baselines."""
    for indicator in s.indicators:
        latest = indicator.latest()
        if latest is not None:
            indicator.baseline = latest.value
        indicator.actuals = []
        indicator.counted = {}
    s.baseline = [
        BaselineItem(
            name=i.name,
            value=i.baseline,
            unit=i.unit,
            source=f"review of cycle {s.cycle}",
            as_of=now.date(),
        )
        for i in s.indicators
    ]
    s.cycle += 1
    s.stage = Stage.PLAN
    s.consultations, s.actions, s.projects, s.meetings, s.benefits = [], [], [], [], []
    s.plan_start = s.plan_end = s.review_started_at = None
    s.decision = None
    # Reminder keys of past cycles can never be due again.
    s.sent = [k for k in s.sent if not k.startswith("cycle")]


_HANDLERS: dict[type[Command], Callable[[PartnershipState, Any, datetime], str]] = {
    InvitePartner: _invite,
    CommitPartner: _commit,
    AssessResources: _assess,
    AnswerKeyQuestions: _answer,
    ApproveByMembers: _approve,
    CompleteNegotiation: _complete_negotiation,
    AgreeElement: _agree,
    AppointCoordinator: _appoint,
    CompleteEstablishment: _complete_establishment,
    RecordBaseline: _baseline,
    RecordConsultation: _consult,
    AddActionGroup: _group,
    AddAction: _action,
    AddOutcome: _outcome,
    AddFundedProject: _project,
    ApprovePlan: _approve_plan,
    RecordMeeting: _meeting,
    SubmitQuarterlyReturn: _return,
    CompleteAction: _complete_action,
    RecordIndicatorActual: _actual,
    RecordReferralOutcome: _referral_outcome,
    RecordBenefit: _benefit,
    StartReview: _start_review,
    RecordAnnualReview: _annual,
    Decide: _decide,
}


def apply(state: PartnershipState, command: Command, now: datetime) -> PartnershipState:
    """The state after ``command``; raises :class:`Refusal` (state untouched) if refused."""
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise Refusal(f"unknown action {type(command).__name__}")
    new = state.model_copy(deep=True)
    detail = handler(new, command, now)
    _event(new, now, _kind(command), detail)
    return new


def _kind(command: Command) -> str:
    name = type(command).__name__
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("_")


def begin_review_if_due(state: PartnershipState, now: datetime) -> PartnershipState:
    """Move to Review when the plan period has ended (a timer, not a person, does this)."""
    if state.stage is not Stage.IMPLEMENT or state.plan_end is None:
        return state
    if now.date() < state.plan_end:
        return state
    new = state.model_copy(deep=True)
    new.stage, new.review_started_at = Stage.REVIEW, now
    _event(new, now, "review_due", f"the plan ended on {state.plan_end}; review started")
    return new
