"""Tapered funding: the money by year, the steps down, when each is warned of, the review's
funding against plan, and the partner's plan for after the funding."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from domain.calendar import LONDON, is_working_day, working_days_between
from domain.partnership import (
    AddFundedProject,
    AfterFunding,
    AfterFundingRoute,
    Contact,
    PlanAfterFunding,
    Policy,
    ProjectSpec,
    Refusal,
    SubmitQuarterlyReturn,
    TaperStep,
    apply,
)
from domain.partnership.taper import (
    funding_years,
    next_step_down,
    notice_due,
    quarter_start,
    step_downs,
    year_amount,
)
from domain.partnership_schedule import ReminderKind, schedule
from domain.review import build_report
from tests.unit.test_partnership import T0, implementing

START = date(2027, 4, 1)


def tapered(**changes: object) -> ProjectSpec:
    fields: dict[str, object] = {
        "id": "youth-diversion",
        "name": "Youth diversion",
        "agency_id": "essex-police",
        "contact": Contact(name="Youth lead", email="youth@police.example"),
        "funding_gbp": 40_000,
        "deadline": date(2031, 3, 31),
        "target": "120 young people a year",
        "funding_by_year": [
            TaperStep(year_starting=date(2027, 4, 1), percent=100),
            TaperStep(year_starting=date(2028, 4, 1), percent=75),
            TaperStep(year_starting=date(2029, 4, 1), percent=50),
            TaperStep(year_starting=date(2030, 4, 1), percent=25),
        ],
    }
    return ProjectSpec(**{**fields, **changes})  # type: ignore[arg-type]


def test_each_year_gets_its_share_of_the_full_yearly_funding() -> None:
    project = tapered()
    assert [year_amount(project, s) for s in project.funding_by_year] == [
        40_000,
        30_000,
        20_000,
        10_000,
    ]


def test_the_steps_down_and_the_next_one_for_a_date() -> None:
    project = tapered()
    downs = step_downs(project)
    assert [(d.year_starting, d.from_percent, d.to_percent) for d in downs] == [
        (date(2028, 4, 1), 100, 75),
        (date(2029, 4, 1), 75, 50),
        (date(2030, 4, 1), 50, 25),
    ]
    assert (downs[0].from_gbp, downs[0].to_gbp) == (40_000, 30_000)
    assert next_step_down(project, date(2027, 6, 1)) == downs[0]
    assert next_step_down(project, date(2028, 4, 1)) == downs[1]
    assert next_step_down(project, date(2030, 4, 1)) is None


def test_a_level_year_is_not_a_step_down() -> None:
    steps = [
        TaperStep(year_starting=date(2027, 4, 1), percent=100),
        TaperStep(year_starting=date(2028, 4, 1), percent=100),
        TaperStep(year_starting=date(2029, 4, 1), percent=0),
    ]
    downs = step_downs(tapered(funding_by_year=steps))
    assert [(d.year_starting, d.to_percent) for d in downs] == [(date(2029, 4, 1), 0)]


def test_the_notice_counts_working_days_back_over_easter() -> None:
    # 1 April 2028 is a Saturday; Good Friday is 14 April 2028, so it does not count here,
    # but the notice lands on a working day the policy's number of working days before.
    due = notice_due(date(2028, 4, 1), 20)
    assert due.tzinfo == LONDON
    assert due.hour == 9
    assert is_working_day(due.date())
    assert working_days_between(due, datetime(2028, 3, 31, 9, tzinfo=LONDON)) == 19
    # Easter 2027: Good Friday 26 March and Easter Monday 29 March are skipped.
    assert notice_due(date(2027, 4, 1), 3).date() == date(2027, 3, 25)


def test_the_default_notice_is_in_the_policy() -> None:
    assert Policy().taper_notice_working_days == 20
    with pytest.raises(ValidationError):
        Policy(taper_notice_working_days=0)


@pytest.mark.parametrize(
    ("steps", "says"),
    [
        ([(date(2027, 4, 1), 100), (date(2028, 4, 1), 110)], "less than or equal to 100"),
        ([(date(2027, 4, 1), 50), (date(2028, 4, 1), 75)], "funding tapers"),
        ([(date(2027, 4, 1), 100), (date(2029, 4, 1), 75)], "funding years follow each other"),
        ([(date(2028, 4, 1), 100), (date(2027, 4, 1), 75)], "funding years follow each other"),
        ([(date(2027, 4, 1), -5)], "greater than or equal to 0"),
        ([(date(2032, 4, 1), 100)], "every funding year starts by the deadline"),
    ],
)
def test_a_taper_that_does_not_step_down_year_by_year_is_refused(
    steps: list[tuple[date, int]], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        tapered(funding_by_year=[TaperStep(year_starting=d, percent=p) for d, p in steps])


def test_without_a_taper_a_project_is_as_before() -> None:
    project = tapered(funding_by_year=[])
    assert step_downs(project) == []
    assert ProjectSpec.model_validate_json(project.model_dump_json()) == project
    # Stored projects from before the taper still load.
    old = project.model_dump(mode="json")
    del old["funding_by_year"], old["after_funding"]
    assert ProjectSpec.model_validate(old, strict=False).funding_by_year == []


def test_the_co_ordinator_and_agency_are_reminded_before_each_step_down_only() -> None:
    state = apply(implementing(START), AddFundedProject(project=tapered()), T0)
    early = datetime(2027, 5, 1, tzinfo=UTC)
    reminders = [r for r in schedule(state, early) if r.kind is ReminderKind.FUNDING_STEP_DOWN]
    assert len(reminders) == 6  # three steps down, two people each
    police = [r for r in reminders if r.to == ["youth@police.example"]]
    assert [r.due_at for r in police] == [
        notice_due(d, state.policy.taper_notice_working_days)
        for d in (date(2028, 4, 1), date(2029, 4, 1), date(2030, 4, 1))
    ]
    first = police[0]
    assert first.ask is not None
    assert first.ask.update == "plan_after_funding"
    assert first.ask.answers == {"project_id": "youth-diversion"}
    assert "£30,000 for the year, down from £40,000 (100 %)" in first.text
    assert "no plan yet" in first.text
    coordinator = [r for r in reminders if r.to == [state.coordinator.email]]
    assert len(coordinator) == 3
    assert all(r.ask is None for r in coordinator)
    # Once a step has happened it is not warned of; after the last, nothing more.
    later = [
        r
        for r in schedule(state, datetime(2029, 4, 2, tzinfo=UTC))
        if r.kind is ReminderKind.FUNDING_STEP_DOWN
    ]
    assert {r.key.split(":")[3] for r in later} == {"2030-04-01"}


def test_an_untapered_project_has_no_step_down_reminders() -> None:
    state = apply(implementing(START), AddFundedProject(project=tapered(funding_by_year=[])), T0)
    assert not [r for r in schedule(state, T0) if r.kind is ReminderKind.FUNDING_STEP_DOWN]


def test_the_agency_sets_its_plan_for_after_the_funding() -> None:
    state = apply(implementing(START), AddFundedProject(project=tapered()), T0)
    plan = AfterFunding(route=AfterFundingRoute.MAINSTREAM, plan="Essex Police youth budget")
    state = apply(state, PlanAfterFunding(project_id="youth-diversion", after_funding=plan), T0)
    assert state.projects[-1].after_funding == plan
    assert state.timeline[-1].detail == "Youth diversion: after the funding, mainstream"
    reminder = next(
        r
        for r in schedule(state, T0)
        if r.kind is ReminderKind.FUNDING_STEP_DOWN and r.ask is not None
    )
    assert "(mainstream): Essex Police youth budget." in reminder.text
    with pytest.raises(Refusal, match="no funded project nope"):
        apply(state, PlanAfterFunding(project_id="nope", after_funding=plan), T0)


def test_funding_against_plan_by_year_in_the_review() -> None:
    state = apply(implementing(START), AddFundedProject(project=tapered()), T0)
    for quarter, spend in ((1, 9_000), (4, 11_000), (5, 7_000), (9, 4_000)):
        state = apply(
            state,
            SubmitQuarterlyReturn(
                project_id="youth-diversion",
                quarter=quarter,
                spend_gbp=spend,
                progress="ok",
                on_target=True,
            ),
            T0,
        )
    assert quarter_start(START, 5) == date(2028, 4, 1)
    report = build_report(state, T0, meetings_due=0)
    project = next(p for p in report.projects if p.id == "youth-diversion")
    assert [(y.percent, y.planned_gbp, y.spent_gbp) for y in project.funding_by_year] == [
        (100, 40_000, 20_000),
        (75, 30_000, 7_000),
        (50, 20_000, 4_000),
        (25, 10_000, 0),
    ]
    assert project.funding_by_year[0].year_ending == date(2028, 3, 31)
    assert project.planned_gbp == 100_000
    assert project.spend_gbp == 31_000
    untapered = next(p for p in report.projects if p.id == "vsdp")
    assert untapered.funding_by_year == []
    assert untapered.planned_gbp == 40_000
    assert funding_years(state.projects[-1], None)[0].spent_gbp == 0
