"""The partnership's rules: stage gates, and what each command does to the state.

Each rule checks the stage gate and changes the (copied) state it is given, or raises
:class:`Refusal` with the reason. :func:`domain.partnership.actions.apply` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from domain.indicators import (
    Indicator,
)
from domain.partnership.commands import (
    AddAction,
    AddActionGroup,
    AddFundedProject,
    AddOutcome,
    AgreeElement,
    AnswerKeyQuestions,
    AppointCoordinator,
    ApproveByMembers,
    ApprovePlan,
    AssessResources,
    CommitPartner,
    CompleteEstablishment,
    CompleteNegotiation,
    InvitePartner,
    NewPartnership,
    RecordBaseline,
    RecordConsultation,
)
from domain.partnership.model import (
    DECIDING_QUESTIONS,
    FIRST_DAY,
    LAST_DAY,
    TIMELINE_LIMIT,
    Commitment,
    ElementAgreement,
    FundedProject,
    MemberApproval,
    Partner,
    PartnershipState,
    PlanAction,
    PlanOutcome,
    Refusal,
    Stage,
    SupportElement,
    TimelineEvent,
)

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


def require(state: PartnershipState, *stages: Stage) -> None:
    """Refuse unless the partnership is in one of ``stages``."""
    if state.stage not in stages:
        allowed = " or ".join(s.value for s in stages)
        raise Refusal(f"the partnership is in {state.stage.value}; this needs {allowed}")


def add_event(state: PartnershipState, now: datetime, kind: str, detail: str) -> None:
    """Append a timeline event, keeping the timeline within its limit."""
    state.timeline.append(TimelineEvent(at=now, cycle=state.cycle, kind=kind, detail=detail))
    del state.timeline[:-TIMELINE_LIMIT]


def new_partnership(cmd: NewPartnership, now: datetime) -> PartnershipState:
    """The state of a partnership just started, in Negotiate."""
    state = PartnershipState(
        id=cmd.id,
        name=cmd.name,
        aims=cmd.aims,
        wards=cmd.wards,
        theme=cmd.theme,
        strategic=cmd.strategic,
        parent_id=cmd.parent_id,
        coordinator=cmd.coordinator,
        policy=cmd.policy,
        created_at=now,
        invitation_emails=True,
        asks_each_partner=True,
    )
    add_event(state, now, "created", f"partnership {cmd.name!r} started in negotiate")
    return state


def invite_partner(s: PartnershipState, c: InvitePartner, now: datetime) -> str:
    """The rule of InvitePartner: what it changes, or why it is refused."""
    require(s, Stage.NEGOTIATE)
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


def commit_partner(s: PartnershipState, c: CommitPartner, now: datetime) -> str:
    """The rule of CommitPartner: what it changes, or why it is refused."""
    require(s, Stage.NEGOTIATE)
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


def assess_resources(s: PartnershipState, c: AssessResources, now: datetime) -> str:
    """The rule of AssessResources: what it changes, or why it is refused."""
    require(s, Stage.NEGOTIATE)
    s.resources = c.assessment
    return f"resources assessed: total £{c.assessment.total_gbp:,.0f}"


def answer_key_questions(s: PartnershipState, c: AnswerKeyQuestions, now: datetime) -> str:
    """The rule of AnswerKeyQuestions: what it changes, or why it is refused."""
    if s.stage is Stage.CLOSED:
        raise Refusal("the partnership is closed")
    s.key_answers.update({a.number: a.answer for a in c.answers})
    s.key_answers = dict(sorted(s.key_answers.items()))
    numbers = sorted({a.number for a in c.answers})
    return f"key questions answered: {', '.join(str(n) for n in numbers)}"


def approve_by_members(s: PartnershipState, c: ApproveByMembers, now: datetime) -> str:
    """The rule of ApproveByMembers: what it changes, or why it is refused."""
    require(s, Stage.NEGOTIATE)
    s.member_approval = MemberApproval(
        approved_by=c.approved_by, minute_ref=c.minute_ref, approved_at=now
    )
    return f"approved by {c.approved_by} ({c.minute_ref})"


def _leave_stage(
    s: PartnershipState,
    stage: Stage,
    gaps_of: Callable[[PartnershipState], list[str]],
    then: Stage,
) -> None:
    """Move ``s`` from ``stage`` on to ``then``, or refuse with what is still missing."""
    require(s, stage)
    gaps = gaps_of(s)
    if gaps:
        raise Refusal(f"cannot leave {stage.value}: " + "; ".join(gaps))
    s.stage = then


def complete_negotiation(s: PartnershipState, c: CompleteNegotiation, now: datetime) -> str:
    """The rule of CompleteNegotiation: what it changes, or why it is refused."""
    _leave_stage(s, Stage.NEGOTIATE, negotiation_gaps, Stage.ESTABLISH)
    return "negotiation complete; establishing"


def agree_element(s: PartnershipState, c: AgreeElement, now: datetime) -> str:
    """The rule of AgreeElement: what it changes, or why it is refused."""
    require(s, Stage.ESTABLISH)
    s.elements[c.element] = ElementAgreement(document_ref=c.document_ref, agreed_at=now)
    return f"{c.element.value} agreed ({c.document_ref})"


def appoint_coordinator(s: PartnershipState, c: AppointCoordinator, now: datetime) -> str:
    """The rule of AppointCoordinator: what it changes, or why it is refused."""
    require(s, Stage.ESTABLISH, Stage.PLAN, Stage.IMPLEMENT, Stage.REVIEW)
    s.coordinator = c.coordinator
    s.coordinator_appointed = True
    return f"co-ordinator appointed: {c.coordinator.name}"


def complete_establishment(s: PartnershipState, c: CompleteEstablishment, now: datetime) -> str:
    """The rule of CompleteEstablishment: what it changes, or why it is refused."""
    _leave_stage(s, Stage.ESTABLISH, establishment_gaps, Stage.PLAN)
    return "established; planning"


def record_baseline(s: PartnershipState, c: RecordBaseline, now: datetime) -> str:
    """The rule of RecordBaseline: what it changes, or why it is refused."""
    require(s, Stage.PLAN)
    s.baseline.extend(c.items)
    return f"{len(c.items)} baseline items recorded"


def record_consultation(s: PartnershipState, c: RecordConsultation, now: datetime) -> str:
    """The rule of RecordConsultation: what it changes, or why it is refused."""
    require(s, Stage.PLAN)
    s.consultations.append(c.event)
    return f"consultation: {c.event.kind} on {c.event.held_on}"


def add_action_group(s: PartnershipState, c: AddActionGroup, now: datetime) -> str:
    """The rule of AddActionGroup: what it changes, or why it is refused."""
    require(s, Stage.PLAN)
    if any(g.id == c.group.id for g in s.groups):
        raise Refusal(f"action group {c.group.id} already exists")
    s.groups.append(c.group)
    return f"action group {c.group.theme}"


def _within_calendar(what: str, day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Refusal(
            f"{what} {day} is outside the working-day calendar ({FIRST_DAY} to {LAST_DAY})"
        )


def add_action(s: PartnershipState, c: AddAction, now: datetime) -> str:
    """The rule of AddAction: what it changes, or why it is refused."""
    require(s, Stage.PLAN, Stage.IMPLEMENT)
    _within_calendar("the due date", c.action.due)
    if any(a.id == c.action.id for a in s.actions):
        raise Refusal(f"action {c.action.id} already exists")
    if c.action.group_id and not any(g.id == c.action.group_id for g in s.groups):
        raise Refusal(f"no action group {c.action.group_id}")
    if s.plan_start and s.plan_end and not s.plan_start <= c.action.due <= s.plan_end:
        raise Refusal(f"the action is due outside the plan period ending {s.plan_end}")
    s.actions.append(PlanAction(**dict(c.action)))
    return f"action {c.action.title} (due {c.action.due})"


def add_outcome(s: PartnershipState, c: AddOutcome, now: datetime) -> str:
    """The rule of AddOutcome: what it changes, or why it is refused."""
    require(s, Stage.PLAN)
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


def add_funded_project(s: PartnershipState, c: AddFundedProject, now: datetime) -> str:
    """The rule of AddFundedProject: what it changes, or why it is refused."""
    require(s, Stage.PLAN, Stage.IMPLEMENT)
    _within_calendar("the deadline", c.project.deadline)
    if c.project.funding_by_year:
        _within_calendar("the first funding year", c.project.funding_by_year[0].year_starting)
    if any(p.id == c.project.id for p in s.projects):
        raise Refusal(f"project {c.project.id} already exists")
    s.projects.append(FundedProject(**dict(c.project)))
    return f"project {c.project.name} funded £{c.project.funding_gbp:,.0f}"


def approve_plan(s: PartnershipState, c: ApprovePlan, now: datetime) -> str:
    """The rule of ApprovePlan: what it changes, or why it is refused."""
    require(s, Stage.PLAN)
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
