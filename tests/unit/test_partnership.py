"""The partnership's rules: gates, RAG, value for money, reminders and meeting cadence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.calendar import LONDON, is_working_day
from domain.indicators import Actual, Direction, Indicator, Rag, rag
from domain.partnership import (
    AddFundedProject,
    AnnualReviewKind,
    ApprovePlan,
    Command,
    CompleteEstablishment,
    CompleteNegotiation,
    Decide,
    DecisionKind,
    ExitOption,
    PartnershipState,
    Policy,
    RecordAnnualReview,
    RecordBenefit,
    RecordIndicatorActual,
    Refusal,
    Stage,
    StartReview,
    SupportElement,
    apply,
    new_partnership,
)
from domain.partnership_schedule import (
    ReminderKind,
    due,
    is_overdue,
    meeting_slots,
    next_due,
    quarter_ends,
    schedule,
)
from domain.review import build_report, value_for_money
from tests.helpers import partnership_scenario as sc

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def run(state: PartnershipState, commands: list[Command], now: datetime = T0) -> PartnershipState:
    for command in commands:
        state = apply(state, command, now)
    return state


def negotiated(*, strategic: bool = True) -> PartnershipState:
    state = new_partnership(sc.new_partnership("ip", strategic=strategic), T0)
    state = run(state, sc.invitations())
    state = run(state, [sc.commitment(a) for a in sc.PARTNERS])
    return run(state, sc.negotiation_rest())


def implementing(start: date = date(2026, 12, 1)) -> PartnershipState:
    state = run(negotiated(), [sc.member_approval(), CompleteNegotiation()])
    state = run(state, sc.establishment())
    return run(state, [*sc.planning(start), ApprovePlan(start=start)])


def test_strategic_partnership_cannot_leave_negotiate_without_member_approval() -> None:
    state = negotiated()
    with pytest.raises(Refusal, match="member approval is required because it is a strategic"):
        apply(state, CompleteNegotiation(), T0)
    assert state.stage is Stage.NEGOTIATE
    moved = run(state, [sc.member_approval(), CompleteNegotiation()])
    assert moved.stage is Stage.ESTABLISH
    assert state.stage is Stage.NEGOTIATE, "apply never changes the state it is given"


def test_cost_threshold_decides_member_approval_for_non_strategic() -> None:
    state = negotiated(strategic=False)  # total cost 120k + 8k + 12k + 45k = 185k
    with pytest.raises(Refusal, match="cost £185,000 is over the threshold £25,000"):
        apply(state, CompleteNegotiation(), T0)
    state.policy = Policy(cost_threshold_gbp=200_000)
    assert apply(state, CompleteNegotiation(), T0).stage is Stage.ESTABLISH


def test_negotiate_gate_lists_every_gap() -> None:
    state = new_partnership(sc.new_partnership("ip"), T0)
    state = run(state, sc.invitations()[:1])
    with pytest.raises(Refusal) as err:
        apply(state, CompleteNegotiation(), T0)
    reason = str(err.value)
    assert "partners have not committed: tdc-housing" in reason
    assert "resource assessment" in reason
    assert "key questions not answered: 1, 2" in reason


def test_commitment_must_agree_aims_targets_and_evaluation() -> None:
    state = run(new_partnership(sc.new_partnership("ip"), T0), sc.invitations())
    half = sc.commitment("tendring-cab").model_copy(update={"agrees_targets": False})
    with pytest.raises(Refusal, match="not agreed: targets"):
        apply(state, half, T0)
    with pytest.raises(Refusal, match="has not been invited"):
        apply(state, sc.commitment("someone-else"), T0)


def test_establish_needs_all_eight_elements_and_a_coordinator() -> None:
    state = run(negotiated(), [sc.member_approval(), CompleteNegotiation()])
    some = sc.establishment()[:3]
    state = run(state, some)
    with pytest.raises(Refusal) as err:
        apply(state, CompleteEstablishment(), T0)
    assert "reporting_to_parent_bodies" in str(err.value)
    assert "no co-ordinator has been appointed" in str(err.value)
    done = run(state, sc.establishment())
    assert done.stage is Stage.PLAN
    assert set(done.elements) == set(SupportElement)


def test_plan_approval_checks_the_plan() -> None:
    state = run(negotiated(), [sc.member_approval(), CompleteNegotiation(), *sc.establishment()])
    with pytest.raises(Refusal, match="no baseline data; no consultation event"):
        apply(state, ApprovePlan(start=date(2026, 12, 1)), T0)
    state = implementing()
    assert (state.plan_start, state.plan_end) == (date(2026, 12, 1), date(2028, 12, 1))


def test_rag_rule() -> None:
    def ind(target: float, *values: float, direction: Direction = Direction.HIGHER_IS_BETTER):
        return Indicator(
            id="i",
            name="i",
            unit="n",
            baseline=50,
            target=target,
            direction=direction,
            actuals=[Actual(value=v, at=T0 + timedelta(days=n)) for n, v in enumerate(values)],
        )

    assert rag(ind(100)) is None
    assert rag(ind(100_000, 285_360)) is Rag.GREEN  # exceeding a target is green
    assert rag(ind(100, 90)) is Rag.GREEN  # exactly 10 % short
    assert rag(ind(100, 89)) is Rag.AMBER  # 11 % short, better than the baseline of 50
    assert rag(ind(100, 80, 70)) is Rag.RED  # short and worse than last time
    assert rag(ind(100, 40)) is Rag.RED  # short and worse than the baseline
    lower = Direction.LOWER_IS_BETTER
    assert rag(ind(100, 91, direction=lower)) is Rag.GREEN
    assert rag(ind(100, 115, 112, direction=lower)) is Rag.AMBER
    assert rag(ind(100, 112, 115, direction=lower)) is Rag.RED


def test_value_for_money_arithmetic() -> None:
    state = implementing()
    state = run(
        state,
        [
            RecordIndicatorActual(indicator_id="benefit-awards", value=285_360),
            RecordBenefit(description="ECC Economic Development Programme", amount_gbp=280_000),
        ],
    )
    vfm = value_for_money(state)
    assert vfm.indicator_benefits_gbp == 285_360
    assert vfm.benefits_gbp == 565_360
    assert vfm.officer_time_cost_gbp == 45_000  # 1,500 hours at £30
    assert vfm.costs_gbp == 165_000  # direct £120,000 + officer time
    assert vfm.ratio == round(565_360 / 165_000, 2)
    assert vfm.good_value


def test_meeting_cadence_every_two_months_on_working_days() -> None:
    state = implementing(date(2026, 12, 1))
    slots = meeting_slots(state)
    assert len(slots) == 11  # months 2, 4, ..., 22 of a two-year plan
    days = [s.starts_at.astimezone(LONDON).date() for s in slots]
    assert all(is_working_day(d) for d in days)
    assert days[0] == date(2027, 2, 1)
    assert days[5] == date(2027, 12, 1)
    # 1 Feb 2026 is a Sunday: a plan from 1 Dec 2025 meets on Monday 2 Feb.
    state.plan_start, state.plan_end = date(2025, 12, 1), date(2027, 12, 1)
    assert meeting_slots(state)[0].starts_at.astimezone(LONDON).date() == date(2026, 2, 2)
    assert quarter_ends(state, date(2026, 12, 1))[:2] == [date(2026, 3, 1), date(2026, 6, 1)]


def test_silent_partner_is_reminded_then_the_coordinator_told() -> None:
    state = run(new_partnership(sc.new_partnership("ip"), T0), sc.invitations()[:1])
    kinds = [(r.kind, r.due_at.astimezone(LONDON).date()) for r in schedule(state, T0)]
    # Invited Monday 23 Nov 2026: asked at once, reminded after 5 and 10 working days,
    # escalated after 15.
    assert kinds[:4] == [
        (ReminderKind.PARTNER_INVITATION, date(2026, 11, 23)),
        (ReminderKind.COMMITMENT_REMINDER, date(2026, 11, 30)),
        (ReminderKind.COMMITMENT_REMINDER, date(2026, 12, 7)),
        (ReminderKind.COMMITMENT_ESCALATION, date(2026, 12, 14)),
    ]
    later = T0 + timedelta(days=25)
    assert [r.kind for r in due(state, later)][:4] == [k for k, _ in kinds[:4]]
    assert is_overdue(state, later)
    committed = run(state, [sc.commitment("tdc-housing")])
    assert not any(r.key.startswith("cycle1:commit") for r in schedule(committed, later))
    assert not is_overdue(committed, later)
    # A partnership whose history began before invitations were emailed keeps its schedule.
    older = state.model_copy(update={"invitation_emails": False})
    assert ReminderKind.PARTNER_INVITATION not in {r.kind for r in schedule(older, T0)}


def test_overdue_action_is_reminded_then_escalated() -> None:
    state = implementing(date(2026, 12, 1))
    after = datetime(2027, 5, 1, tzinfo=UTC)
    kinds = {r.kind for r in due(state, after)}
    assert {ReminderKind.ACTION_OVERDUE, ReminderKind.ACTION_ESCALATION} <= kinds
    assert ReminderKind.RETURN_ESCALATION in kinds
    assert is_overdue(state, after)


def test_annual_reviews_for_strategic_partnerships() -> None:
    state = new_partnership(sc.new_partnership("ip", strategic=True), T0)
    after_a_year = T0 + timedelta(days=370)
    kinds = [r.kind for r in due(state, after_a_year)]
    assert kinds == [ReminderKind.DEPARTMENTAL_REVIEW, ReminderKind.MEMBER_SCRUTINY]
    assert next_due(state, after_a_year) is not None
    plain = new_partnership(sc.new_partnership("ip", strategic=False), T0)
    assert [r.kind for r in due(plain, after_a_year)] == [ReminderKind.DEPARTMENTAL_REVIEW]
    with pytest.raises(Refusal, match="member scrutiny is for strategic"):
        apply(
            plain, RecordAnnualReview(kind=AnnualReviewKind.MEMBER_SCRUTINY, held_on=T0.date()), T0
        )


def test_seed_000_review_report() -> None:
    state = implementing()
    for indicator_id, values in sc.ACTUALS.items():
        for value in values:
            state = apply(state, RecordIndicatorActual(indicator_id=indicator_id, value=value), T0)
    state = run(state, [RecordBenefit(description="ECC", amount_gbp=sc.LEVERED_IN), StartReview()])
    report = build_report(state, T0, meetings_due=0)
    by_id = {i.id: i.rag for i in report.indicators}
    assert by_id["benefit-awards"] is Rag.GREEN
    assert by_id["fly-tipping"] is Rag.GREEN
    assert by_id["quality-of-life"] is Rag.GREEN
    assert by_id["neighbourhood"] is Rag.AMBER
    assert (report.rag_counts.green, report.rag_counts.amber, report.rag_counts.red) == (6, 1, 0)
    assert report.value_for_money.benefits_gbp == 285_360 + 280_000


def test_continue_starts_next_cycle_with_review_as_baseline() -> None:
    state = implementing()
    state = run(
        state,
        [RecordIndicatorActual(indicator_id="fly-tipping", value=91), StartReview()],
    )
    nxt = apply(state, Decide(kind=DecisionKind.CONTINUE, reason="Good results"), T0)
    assert (nxt.cycle, nxt.stage) == (2, Stage.PLAN)
    fly = next(i for i in nxt.indicators if i.id == "fly-tipping")
    assert (fly.baseline, fly.actuals) == (91, [])
    assert nxt.past_cycles[0].decision.kind is DecisionKind.CONTINUE


def test_exit_needs_an_options_appraisal() -> None:
    state = run(implementing(), [StartReview()])
    with pytest.raises(Refusal, match="at least two options"):
        apply(state, Decide(kind=DecisionKind.EXIT, reason="Funding ends"), T0)
    options = [
        ExitOption(name="Retain the structure", appraisal="Overlaps the Jaywick group"),
        ExitOption(name="Join the LSP theme group", appraisal="Most progressive", chosen=True),
    ]
    done = apply(
        state, Decide(kind=DecisionKind.EXIT, reason="Funding ends", exit_options=options), T0
    )
    assert done.stage is Stage.CLOSED
    assert schedule(done, T0) == []


def test_deadlines_outside_the_working_day_calendar_are_refused() -> None:
    state = run(negotiated(), [sc.member_approval(), CompleteNegotiation(), *sc.establishment()])
    project = next(c for c in sc.planning(date(2026, 12, 1)) if isinstance(c, AddFundedProject))
    far = project.model_copy(
        update={"project": project.project.model_copy(update={"deadline": date(2100, 1, 1)})}
    )
    with pytest.raises(Refusal, match="outside the working-day calendar"):
        apply(state, far, T0)


def test_rationalise_merges_and_closes_or_reduces_into_a_new_cycle() -> None:
    state = run(implementing(), [StartReview()])
    merged = apply(
        state,
        Decide(kind=DecisionKind.RATIONALISE, reason="Overlaps the LSP", merge_into="tendring-lsp"),
        T0,
    )
    assert merged.stage is Stage.CLOSED
    assert merged.past_cycles[-1].decision.merge_into == "tendring-lsp"
    reduced = apply(state, Decide(kind=DecisionKind.RATIONALISE, reason="Less officer time"), T0)
    assert (reduced.stage, reduced.cycle) == (Stage.PLAN, 2)
    with pytest.raises(Refusal, match="only a rationalise decision merges"):
        apply(state, Decide(kind=DecisionKind.CONTINUE, reason="x", merge_into="other"), T0)
