"""The commands on a partnership: one model per stage action, each the body of its endpoint."""

from __future__ import annotations

from pydantic import BaseModel, Field, HttpUrl

from domain.indicators import (
    Direction,
    Measure,
)
from domain.outcome_binding import OutcomeBinding, ReferralOutcomeFact, Ward
from domain.outreach import OutreachSessionFact
from domain.partnership.model import (
    INPUT,
    KEY_QUESTIONS,
    ActionArising,
    ActionGroup,
    ActionSpec,
    AfterFunding,
    AnnualReviewKind,
    BaselineItem,
    ConsultationEvent,
    Contact,
    Contribution,
    Day,
    DecisionKind,
    ExitOption,
    Money,
    Name,
    Policy,
    ProjectSpec,
    ResourceAssessment,
    Slug,
    SupportElement,
    Text,
    Unit,
    Whole,
)

# Commands: one per stage action. Each is also the body of its API endpoint.


class Command(BaseModel):
    """Base of every action on a partnership."""

    model_config = INPUT


class NewPartnership(Command):
    """Start a partnership: its aims, its co-ordinator, and where it sits."""

    id: Slug
    name: Name
    aims: list[Text] = Field(min_length=1, max_length=50)
    wards: list[Ward] = Field(
        default_factory=list, max_length=100, description="The wards it works in."
    )
    theme: Name | None = Field(
        default=None, description="For a thematic partnership: its theme, e.g. community safety."
    )
    strategic: bool = Field(
        default=False,
        description="A strategic partnership (a Local Strategic Partnership, say) always needs "
        "members' approval.",
    )
    parent_id: Slug | None = Field(
        default=None,
        description="For a thematic partnership: the Local Strategic Partnership it sits under.",
    )
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
    unit: Unit
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
    """Record a stakeholder meeting: who came, the minutes, what it decided and the actions
    arising, which join the action plan."""

    minutes: Text
    progress: str = Field(default="", max_length=4000)
    attendees: list[Slug] = Field(
        default_factory=list, max_length=200, description="The partners who attended."
    )
    apologies: list[Slug] = Field(
        default_factory=list,
        max_length=200,
        description="The partners who sent apologies (those sent from the invitation are "
        "added by themselves).",
    )
    decisions: list[Name] = Field(
        default_factory=list,
        max_length=50,
        description="What the meeting decided, one decision a row.",
    )
    actions_arising: list[ActionArising] = Field(
        default_factory=list,
        max_length=50,
        description="Each becomes an action of the plan, reminded and chased like the others.",
    )


class ReplyToMeeting(Command):
    """A partner says whether it will attend a stakeholder meeting, or sends apologies."""

    agency_id: Slug = Field(description="The partner answering.")
    meeting: Whole = Field(
        ge=1, le=60, description="The stakeholder meeting's number, as in the invitation."
    )
    attending: bool = Field(description="Will your organisation attend?")
    note: str = Field(default="", max_length=1000, description="Who will come, or your apologies.")


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


class RecordOutreachSession(Command):
    """A logged Reach Out session offered to the partnership's indicators bound to outreach
    figures; refused when no indicator counts it."""

    session: OutreachSessionFact


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


class PlanAfterFunding(Command):
    """A funded project's plan for when its funding ends: mainstreaming or exit."""

    project_id: Slug
    after_funding: AfterFunding
