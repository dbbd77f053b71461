"""The review of a partnership: results against targets, value for money, health.

Value for money (seed 001: "are the benefits of partnership greater than its costs, officer
time included?") weighs monetised benefits against the council's direct costs plus officer
time priced at the hourly rate:

- **benefits** = for each indicator marked as a benefit (a money value, e.g. new and
  backdated benefit awards), its latest actual's gain over the baseline, plus every
  recorded benefit (e.g. external funding levered in);
- **costs** = direct costs + officer hours * hourly rate (indirect and opportunity costs
  are reported beside them but not priced into the ratio, as the councils do);
- **ratio** = benefits / costs; the partnership gives value for money when it is ≥ 1.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from domain.indicators import IndicatorStatus, Rag, status
from domain.partnership import AfterFunding, Decision, PartnershipState, Stage
from domain.partnership.taper import FundingYear, funding_years


class ValueForMoney(BaseModel):
    """Benefits against costs over the plan period."""

    indicator_benefits_gbp: float
    recorded_benefits_gbp: float
    benefits_gbp: float
    direct_costs_gbp: float
    officer_time_cost_gbp: float
    costs_gbp: float
    indirect_costs_gbp: float
    opportunity_costs_gbp: float
    ratio: float | None = Field(description="Benefits per pound of cost; none without costs.")
    good_value: bool


def value_for_money(state: PartnershipState) -> ValueForMoney:
    """The value-for-money arithmetic of the module docstring."""
    from_indicators = 0.0
    for indicator in state.indicators:
        latest = indicator.latest()
        if indicator.benefit and latest is not None:
            from_indicators += max(0.0, latest.value - indicator.baseline)
    recorded = sum(b.amount_gbp for b in state.benefits)
    res = state.resources
    direct = res.direct_costs_gbp if res else 0.0
    officer = res.officer_time_cost_gbp if res else 0.0
    costs = direct + officer
    benefits = from_indicators + recorded
    ratio = round(benefits / costs, 2) if costs else None
    return ValueForMoney(
        indicator_benefits_gbp=round(from_indicators, 2),
        recorded_benefits_gbp=round(recorded, 2),
        benefits_gbp=round(benefits, 2),
        direct_costs_gbp=round(direct, 2),
        officer_time_cost_gbp=round(officer, 2),
        costs_gbp=round(costs, 2),
        indirect_costs_gbp=round(res.indirect_costs_gbp if res else 0.0, 2),
        opportunity_costs_gbp=round(res.opportunity_costs_gbp if res else 0.0, 2),
        ratio=ratio,
        good_value=benefits >= costs if costs else benefits > 0,
    )


class ActionsSummary(BaseModel):
    """The action plan at review time."""

    total: int
    done: int
    overdue: list[str] = Field(description="Ids of actions past due and not done.")
    open: int


def actions_summary(state: PartnershipState, today: date) -> ActionsSummary:
    """Done, overdue and still open actions."""
    done = [a for a in state.actions if a.done_on is not None]
    overdue = [a.id for a in state.actions if a.done_on is None and a.due < today]
    return ActionsSummary(
        total=len(state.actions),
        done=len(done),
        overdue=overdue,
        open=len(state.actions) - len(done) - len(overdue),
    )


class HealthCheck(BaseModel):
    """One measure of the partnership's own health."""

    name: str
    value: str
    rag: Rag


class ProjectStatus(BaseModel):
    """A funded project at review time."""

    id: str
    name: str
    funding_gbp: float
    spend_gbp: float
    deadline: date
    target: str
    returns: int
    on_target: bool | None
    slipped: bool
    funding_by_year: list[FundingYear] = Field(
        default_factory=list, description="Tapered funding: each year planned against spent."
    )
    after_funding: AfterFunding | None = None

    @property
    def planned_gbp(self) -> float:
        """All the funding planned: the tapered years' sum, or the funding as granted."""
        if not self.funding_by_year:
            return self.funding_gbp
        return round(sum(y.planned_gbp for y in self.funding_by_year), 2)


def projects_status(state: PartnershipState, today: date) -> list[ProjectStatus]:
    """Each funded project: spend so far, whether it has slipped, and for tapered funding
    each year's plan against its spend."""
    result: list[ProjectStatus] = []
    for p in state.projects:
        last = max(p.returns, key=lambda r: r.quarter) if p.returns else None
        on_target = last.on_target if last else None
        result.append(
            ProjectStatus(
                id=p.id,
                name=p.name,
                funding_gbp=p.funding_gbp,
                spend_gbp=round(sum(r.spend_gbp for r in p.returns), 2),
                deadline=p.deadline,
                target=p.target,
                returns=len(p.returns),
                on_target=on_target,
                slipped=on_target is False or (p.deadline < today and on_target is not True),
                funding_by_year=funding_years(p, state.plan_start),
                after_funding=p.after_funding,
            )
        )
    return result


def _ratio_rag(good: int, total: int) -> Rag:
    if total == 0 or good / total >= 0.9:
        return Rag.GREEN
    return Rag.AMBER if good / total >= 0.6 else Rag.RED


def health(state: PartnershipState, today: date, meetings_due: int) -> list[HealthCheck]:
    """The health of the partnership itself: commitment, meetings, returns, delivery."""
    committed = sum(p.commitment is not None for p in state.partners)
    held = len(state.meetings)
    attendance = [len(m.attendees) for m in state.meetings]
    mean_attendance = sum(attendance) / len(attendance) if attendance else 0.0
    partners = len(state.partners) or 1
    actions = actions_summary(state, today)
    due_returns = sum(len(p.returns) for p in state.projects)
    on_target = sum(r.on_target for p in state.projects for r in p.returns)
    return [
        HealthCheck(
            name="partners committed",
            value=f"{committed} of {len(state.partners)}",
            rag=_ratio_rag(committed, len(state.partners)),
        ),
        HealthCheck(
            name="stakeholder meetings held",
            value=f"{held} of {meetings_due} due",
            rag=_ratio_rag(min(held, meetings_due), meetings_due),
        ),
        HealthCheck(
            name="partners attending meetings (mean)",
            value=f"{mean_attendance:.1f} of {len(state.partners)}",
            rag=_ratio_rag(round(mean_attendance), partners) if attendance else Rag.AMBER,
        ),
        HealthCheck(
            name="actions not overdue",
            value=f"{actions.total - len(actions.overdue)} of {actions.total}",
            rag=_ratio_rag(actions.total - len(actions.overdue), actions.total),
        ),
        HealthCheck(
            name="quarterly returns on target",
            value=f"{on_target} of {due_returns}",
            rag=_ratio_rag(on_target, due_returns),
        ),
    ]


class RagCounts(BaseModel):
    """How many indicators are at each status."""

    green: int = 0
    amber: int = 0
    red: int = 0
    not_measured: int = 0


class ReviewReport(BaseModel):
    """The review report of one cycle: the basis of the continue/rationalise/exit decision."""

    partnership_id: str
    name: str
    cycle: int
    stage: Stage
    produced_at: datetime
    plan_start: date | None
    plan_end: date | None
    indicators: list[IndicatorStatus]
    rag_counts: RagCounts
    actions: ActionsSummary
    projects: list[ProjectStatus]
    value_for_money: ValueForMoney
    health: list[HealthCheck]
    decision: Decision | None


def build_report(state: PartnershipState, now: datetime, meetings_due: int) -> ReviewReport:
    """The review report as of ``now``."""
    today = now.date()
    statuses = [status(i) for i in state.indicators]
    counts = RagCounts(
        green=sum(s.rag is Rag.GREEN for s in statuses),
        amber=sum(s.rag is Rag.AMBER for s in statuses),
        red=sum(s.rag is Rag.RED for s in statuses),
        not_measured=sum(s.rag is None for s in statuses),
    )
    last_decision = state.decision or (
        state.past_cycles[-1].decision if state.past_cycles else None
    )
    return ReviewReport(
        partnership_id=state.id,
        name=state.name,
        cycle=state.cycle,
        stage=state.stage,
        produced_at=now,
        plan_start=state.plan_start,
        plan_end=state.plan_end,
        indicators=statuses,
        rag_counts=counts,
        actions=actions_summary(state, today),
        projects=projects_status(state, today),
        value_for_money=value_for_money(state),
        health=health(state, today, meetings_due),
        decision=last_decision,
    )
