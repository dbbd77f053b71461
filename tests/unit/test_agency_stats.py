"""The agencies' statistics: working days, percentiles and the "not answered in time" rule."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.agency_stats import (
    AgencyTally,
    LegFacts,
    agency_statistics,
    answer_working_days,
    answered_late,
    percentile,
    tally,
    waiting_past_deadline,
)
from domain.calendar import working_days_elapsed
from domain.declines import DeclineReason

# Monday 2 November 2026, 09:00 UTC (GMT: the same in London).
MON = datetime(2026, 11, 2, 9, tzinfo=UTC)
NOW = MON + timedelta(days=14)


def leg(
    agency: str,
    *,
    answered_after: timedelta | None = None,
    answer: str | None = None,
    state: str = "sent",
    deadline: timedelta = timedelta(days=7),
    late: bool | None = None,
) -> LegFacts:
    answered_at = MON + answered_after if answered_after is not None else None
    due = MON + deadline
    return LegFacts(
        agency_id=agency,
        state=state,
        sent_at=MON,
        deadline=due,
        answered_at=answered_at,
        answer=answer,
        answered_late=late
        if late is not None
        else (answered_at is not None and answered_late(answered_at=answered_at, deadline=due)),
    )


def test_working_days_leave_out_weekends_and_bank_holidays() -> None:
    friday_4pm = datetime(2026, 11, 6, 16, tzinfo=UTC)
    monday_10am = datetime(2026, 11, 9, 10, tzinfo=UTC)
    assert working_days_elapsed(friday_4pm, monday_10am) == pytest.approx(0.75)
    # Christmas 2026: Friday 25th and Monday 28th (Boxing Day substitute) are bank holidays.
    thursday = datetime(2026, 12, 24, 12, tzinfo=UTC)
    tuesday = datetime(2026, 12, 29, 12, tzinfo=UTC)
    assert working_days_elapsed(thursday, tuesday) == pytest.approx(1.0)
    # Saturday to Monday 06:00: only Monday's first six hours count.
    saturday = datetime(2026, 11, 7, 12, tzinfo=UTC)
    assert working_days_elapsed(saturday, datetime(2026, 11, 9, 6, tzinfo=UTC)) == 0.25
    assert working_days_elapsed(monday_10am, friday_4pm) == 0.0


def test_working_days_across_the_clocks_going_back() -> None:
    # 25 October 2026 is a Sunday; Friday 23 09:00 BST to Monday 26 09:00 GMT is one day.
    friday = datetime(2026, 10, 23, 8, tzinfo=UTC)
    monday = datetime(2026, 10, 26, 9, tzinfo=UTC)
    assert working_days_elapsed(friday, monday) == pytest.approx(1.0)


def test_nearest_rank_percentiles() -> None:
    days = {0.5: 1, 1.0: 1, 2.0: 1, 3.0: 1, 10.0: 1}
    assert percentile(days, 0.5) == 2.0
    assert percentile(days, 0.9) == 10.0
    # Ten answers, nine within a day: nine in ten answered within 1 working day.
    assert percentile({1.0: 9, 6.0: 1}, 0.9) == 1.0
    assert percentile({1.0: 8, 6.0: 2}, 0.9) == 6.0
    assert percentile({}, 0.5) is None
    with pytest.raises(ValueError, match="fraction"):
        percentile(days, 0)


def test_not_answered_in_time() -> None:
    due = MON + timedelta(days=1)
    assert answered_late(answered_at=due + timedelta(minutes=1), deadline=due)
    assert not answered_late(answered_at=due, deadline=due)
    # Unanswered: late once the deadline passed while still waiting, or expired; not when
    # withdrawn unanswered (nobody kept waiting on it), nor before the deadline.
    assert waiting_past_deadline(state="sent", deadline=due, now=due + timedelta(seconds=1))
    assert not waiting_past_deadline(state="sent", deadline=due, now=due - timedelta(hours=1))
    assert waiting_past_deadline(state="expired", deadline=due, now=due - timedelta(hours=1))
    assert not waiting_past_deadline(state="withdrawn", deadline=due, now=due + timedelta(days=3))


def test_figures_per_agency_including_agencies_never_sent_anything() -> None:
    legs = [
        leg("cab", answered_after=timedelta(hours=12), answer="accepted", state="closed"),
        leg("cab", answered_after=timedelta(days=1), answer="accepted", state="in_progress"),
        leg("cab", answered_after=timedelta(days=2), answer="declined", state="declined"),
        leg(
            "cab",
            answered_after=timedelta(days=9),  # Monday to next Wednesday: 7 working days
            answer="accepted",
            state="outcome_recorded",
        ),
        leg("cab"),  # still waiting, past its deadline: late
        leg("cab", deadline=timedelta(days=30)),  # still waiting, in time
        leg("cab", state="withdrawn"),  # withdrawn unanswered: not late
        leg("cab", state="expired"),  # never answered: late
    ]
    tallies = tally(legs, now=NOW)
    stats = agency_statistics(
        tallies, {"cab": "Tendring Citizens Advice", "leisure": "Active Tendring"}
    )
    assert [s.name for s in stats] == ["Active Tendring", "Tendring Citizens Advice"]
    leisure, cab = stats
    assert (leisure.received, leisure.median_working_days, leisure.accepted_percent) == (
        0,
        None,
        None,
    )
    assert leisure.outcome_percent is None
    assert (cab.received, cab.answered) == (8, 4)
    assert cab.accepted_percent == 37.5  # 3 of 8
    assert cab.declined_percent == 12.5
    # Late: answered after the 7-day deadline (1), waiting past it (1), expired (1).
    assert cab.late_percent == 37.5
    assert tallies["cab"].answer_days == {0.5: 1, 1.0: 1, 2.0: 1, 7.0: 1}
    assert (cab.median_working_days, cab.p90_working_days) == (1.0, 7.0)
    assert cab.outcome_percent == 66.7  # 2 of the 3 accepted


def test_an_agency_only_in_the_store_is_listed_by_its_id() -> None:
    [stats] = agency_statistics({"gone": AgencyTally(agency_id="gone", received=2)}, {})
    assert (stats.name, stats.received, stats.late_percent) == ("gone", 2, 0.0)


def test_answer_days_are_kept_to_a_tenth() -> None:
    assert answer_working_days(MON, MON + timedelta(minutes=100)) == 0.1
    assert answer_working_days(MON, MON + timedelta(hours=30)) == 1.2


def test_declines_by_reason_add_up_to_the_declined_every_reason_named() -> None:
    declined = {"answered_after": timedelta(days=1), "answer": "declined", "state": "declined"}
    legs = [
        leg("cab", **declined).model_copy(update={"decline_why": DeclineReason.NO_CAPACITY}),
        leg("cab", **declined).model_copy(update={"decline_why": DeclineReason.NO_CAPACITY}),
        leg("cab", **declined).model_copy(update={"decline_why": DeclineReason.NOT_ELIGIBLE}),
        # Declined before agencies chose a reason: other.
        leg("cab", **declined),
        leg("cab", answered_after=timedelta(hours=2), answer="accepted", state="accepted"),
        # A lost offer is no decline of the agency's, whatever its leg says.
        leg("cab", **declined).model_copy(
            update={"decline_why": DeclineReason.OTHER, "offer_lost": True}
        ),
    ]
    tallies = tally(legs, now=NOW)
    assert tallies["cab"].declines_by_reason == {
        DeclineReason.NO_CAPACITY: 2,
        DeclineReason.NOT_ELIGIBLE: 1,
        DeclineReason.OTHER: 1,
    }
    cab, leisure = agency_statistics(tallies, {"cab": "Citizens Advice", "leisure": "Leisure"})
    assert list(cab.declines_by_reason) == list(DeclineReason)
    assert cab.declines_by_reason == {
        DeclineReason.NO_CAPACITY: 2,
        DeclineReason.NOT_ELIGIBLE: 1,
        DeclineReason.CANNOT_CONTACT: 0,
        DeclineReason.RESIDENT_DECLINED: 0,
        DeclineReason.BETTER_SERVED_ELSEWHERE: 0,
        DeclineReason.OTHER: 1,
    }
    assert sum(cab.declines_by_reason.values()) == 4
    assert cab.declined_percent == 80.0  # 4 of the 5 received
    assert leisure.declines_by_reason == dict.fromkeys(DeclineReason, 0)
