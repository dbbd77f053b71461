"""Tapered funding (seed 002): a funded project's money by year as it steps down, when its
agency is told before each step, and what it spent each year against the plan.

A project with ``funding_by_year`` gets, in each funding year, ``funding_gbp * percent / 100``
(``funding_gbp`` being the full yearly amount). A *step down* is a year whose share is below
the year before; the co-ordinator and the project's agency hear of it a number of working days
before (the partnership policy's ``taper_notice_working_days``), so the plan for mainstreaming
or exit is in hand before the money falls ("it sharpens the need for robust exit strategies").
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from domain.calendar import LONDON, START_OF_DAY, is_working_day
from domain.partnership.commands import PlanAfterFunding
from domain.partnership.model import (
    FundedProject,
    PartnershipState,
    ProjectSpec,
    Refusal,
    Stage,
    TaperStep,
    a_year_after,
)
from domain.partnership.rules import add_months, require


class StepDown(BaseModel):
    """A funding year whose share is below the year before."""

    year_starting: date
    from_percent: int
    to_percent: int
    from_gbp: float
    to_gbp: float


class FundingYear(BaseModel):
    """One funding year of a tapered project: planned against spent."""

    year_starting: date
    year_ending: date
    percent: int
    planned_gbp: float
    spent_gbp: float


def year_amount(project: ProjectSpec, step: TaperStep) -> float:
    """The funding of ``step``'s year: the full yearly amount times its share."""
    return round(project.funding_gbp * step.percent / 100, 2)


def step_downs(project: ProjectSpec) -> list[StepDown]:
    """Every year whose share falls below the year before, in order."""
    steps = project.funding_by_year
    return [
        StepDown(
            year_starting=step.year_starting,
            from_percent=before.percent,
            to_percent=step.percent,
            from_gbp=year_amount(project, before),
            to_gbp=year_amount(project, step),
        )
        for before, step in itertools.pairwise(steps)
        if step.percent < before.percent
    ]


def next_step_down(project: ProjectSpec, today: date) -> StepDown | None:
    """The first step down after ``today`` (none: the funding falls no further)."""
    return next((s for s in step_downs(project) if s.year_starting > today), None)


def notice_due(step_day: date, working_days: int) -> datetime:
    """When the reminder of a step down on ``step_day`` is due: the start of the working day
    ``working_days`` working days before it (London time)."""
    day = step_day
    while working_days > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            working_days -= 1
    return datetime.combine(day, START_OF_DAY, tzinfo=LONDON)


def quarter_start(plan_start: date, quarter: int) -> date:
    """The first day of plan quarter ``quarter`` (1 is the plan's first three months)."""
    return add_months(plan_start, 3 * (quarter - 1))


def funding_years(project: FundedProject, plan_start: date | None) -> list[FundingYear]:
    """Each funding year planned against the spend its quarterly returns report; a return
    counts in the year its quarter starts in (none placed without a plan start)."""
    years: list[FundingYear] = []
    for step in project.funding_by_year:
        end = a_year_after(step.year_starting)
        spent = (
            sum(
                r.spend_gbp
                for r in project.returns
                if step.year_starting <= quarter_start(plan_start, r.quarter) < end
            )
            if plan_start is not None
            else 0.0
        )
        years.append(
            FundingYear(
                year_starting=step.year_starting,
                year_ending=end - timedelta(days=1),
                percent=step.percent,
                planned_gbp=year_amount(project, step),
                spent_gbp=round(spent, 2),
            )
        )
    return years


def plan_after_funding(s: PartnershipState, c: PlanAfterFunding, now: datetime) -> str:
    """The rule of PlanAfterFunding: the project's plan for when its funding ends, replaced."""
    require(s, Stage.PLAN, Stage.IMPLEMENT, Stage.REVIEW)
    project = next((p for p in s.projects if p.id == c.project_id), None)
    if project is None:
        raise Refusal(f"no funded project {c.project_id}")
    project.after_funding = c.after_funding
    return f"{project.name}: after the funding, {c.after_funding.route.value}"
