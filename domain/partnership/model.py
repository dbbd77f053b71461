"""A partnership's state and its parts: partners, plan, projects, meetings, decisions.

The state of one partnership is one model, :class:`PartnershipState`. The rules come from the
councils' practice (seed 001: cost assessment, member approval, the eight support elements,
SMART outcomes; seed 004: the five stages; seed 000: bi-monthly stakeholder meetings, targets
against actuals, exit options).

Longer than 400 lines on purpose: one pydantic model per part of the partnership's state,
which the commands and rules all use; it is a glossary, read by looking things up.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

from domain.indicators import Indicator, Measure
from domain.numbers import Whole as Whole
from domain.patterns import EMAIL
from domain.text import OneLine

Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Name = Annotated[OneLine, Field(min_length=1, max_length=300)]
Unit = Annotated[str, Field(min_length=1, max_length=50)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Money = Annotated[float, Field(ge=0, le=1e10, description="Pounds sterling.")]
Hours = Annotated[float, Field(ge=0, le=1e7)]
Day = date
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2069, 12, 31)
"""Deadlines must fall in the years the working-day calendar covers."""


Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=EMAIL,
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
    due_soon_working_days: Whole = Field(
        default=5,
        ge=1,
        le=30,
        description="Working days before an action's due date its owner is reminded.",
    )
    plan_years: Whole = Field(default=2, ge=1, le=5, description="Length of an action plan.")
    taper_notice_working_days: Whole = Field(
        default=20,
        ge=1,
        le=120,
        description="Working days before a funded project's funding steps down that its agency "
        "and the co-ordinator are reminded.",
    )
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
    unit: Unit
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


class ActionArising(BaseModel):
    """An action agreed at a meeting: it joins the action plan with the meeting's number."""

    model_config = INPUT

    title: Name
    owner_agency_id: Slug | None = Field(
        default=None, description="The partner that owns it; none: the co-ordinator."
    )
    due: Day


class PlanAction(ActionSpec):
    """An action of the action plan, and when it was done."""

    done_on: Day | None = None
    meeting: int | None = Field(default=None, description="The meeting it arose at, if any.")


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


class TaperStep(BaseModel):
    """One funding year of a tapered project: when it starts and the share of full funding."""

    model_config = INPUT

    year_starting: Day = Field(description="The first day of the funding year, e.g. 1 4 2027.")
    percent: Whole = Field(ge=0, le=100, description="Share of the full yearly funding, 0 to 100.")


def a_year_after(day: date) -> date:
    """The same day a year later (28 February after a 29th)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return date(day.year + 1, 2, 28)


class AfterFundingRoute(StrEnum):
    """What becomes of a project when its funding ends (seed 002: exit strategies)."""

    MAINSTREAM = "mainstream"
    EXIT = "exit"


class AfterFunding(BaseModel):
    """The plan for after the funding: mainstreamed into a partner's budget, or an exit."""

    model_config = INPUT

    route: AfterFundingRoute = Field(
        description="Mainstream: a partner takes the project into its own budget. Exit: the "
        "project ends and its users are handed on."
    )
    plan: Text = Field(description="Who takes it on or how it closes, and by when.")


class ProjectSpec(BaseModel):
    """A project to fund, with a deadline and a target; its funding may taper year by year."""

    model_config = INPUT

    id: Slug
    name: Name
    agency_id: Slug
    contact: Contact
    funding_gbp: Money = Field(
        description="Pounds sterling. With funding by year: the full yearly amount (100 %)."
    )
    deadline: Day
    target: Text
    funding_by_year: list[TaperStep] = Field(
        default_factory=list,
        max_length=10,
        description="For tapered funding: each funding year and its share, e.g. 100, 75, 50, 25.",
    )
    after_funding: AfterFunding | None = Field(
        default=None, description="How the project is mainstreamed or exits when funding ends."
    )

    @field_validator("funding_by_year")
    @classmethod
    def _taper_steps_down(cls, steps: list[TaperStep]) -> list[TaperStep]:
        # Checked by the model, not the rule, so a form shows the fault beside the years.
        for before, step in itertools.pairwise(steps):
            if step.year_starting != a_year_after(before.year_starting):
                raise ValueError(
                    f"funding years follow each other: the year after {before.year_starting} "
                    f"starts on {a_year_after(before.year_starting)}"
                )
            if step.percent > before.percent:
                raise ValueError(
                    f"funding tapers: {step.percent} % from {step.year_starting} is more than "
                    f"the {before.percent} % before it"
                )
        return steps

    @model_validator(mode="after")
    def _funded_until_the_deadline(self) -> ProjectSpec:
        steps = self.funding_by_year
        if steps and steps[-1].year_starting > self.deadline:
            raise ValueError(f"every funding year starts by the deadline ({self.deadline})")
        return self


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
    apologies: list[Slug] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    action_ids: list[Slug] = Field(
        default_factory=list, description="The plan actions that arose at it."
    )


class MeetingReply(BaseModel):
    """A partner's answer to a meeting invitation: it will attend, or sends apologies."""

    number: int = Field(ge=1)
    agency_id: Slug
    attending: bool
    note: str = ""
    replied_at: datetime


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
    wards: list[str] = Field(default_factory=list)
    theme: str | None = None
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
    meeting_replies: list[MeetingReply] = Field(default_factory=list)
    benefits: list[Benefit] = Field(default_factory=list)
    review_started_at: datetime | None = None
    decision: Decision | None = None
    past_cycles: list[CycleSummary] = Field(default_factory=list)
    annual_reviews: list[AnnualReview] = Field(default_factory=list)
    sent: list[str] = Field(default_factory=list, description="Keys of reminders already sent.")
    invitation_emails: bool = Field(
        default=False,
        description="Invited partners are written to at once (partnerships started since this "
        "was added; older ones keep the schedule their history recorded).",
    )
    asks_each_partner: bool = Field(
        default=False,
        description="Each partner gets its own meeting invitation, with a link to answer it, "
        "and a reminder before an action it owns falls due (partnerships started since this "
        "was added; older ones keep the schedule their history recorded).",
    )
    timeline: list[TimelineEvent] = Field(default_factory=list)

    def partner(self, agency_id: str) -> Partner | None:
        """The partner with ``agency_id``, if invited."""
        return next((p for p in self.partners if p.agency_id == agency_id), None)

    def needs_member_approval(self) -> bool:
        """Strategic partnerships, and those costing more than the threshold, need members."""
        cost = self.resources.total_gbp if self.resources else 0.0
        return self.strategic or cost > self.policy.cost_threshold_gbp
