"""Deadlines in words, in London time, with the working days left."""

from datetime import UTC, datetime, time

import pytest

from domain.deadline_words import clock_words, days_left_words, deadline_words


@pytest.mark.parametrize(
    ("at", "said"),
    [
        (time(12, 0), "12 noon"),
        (time(17, 0), "5 pm"),
        (time(9, 30), "9:30 am"),
        (time(0, 0), "12 midnight"),
        (time(12, 15), "12:15 pm"),
        (time(0, 5), "12:05 am"),
    ],
)
def test_a_time_of_day_as_people_say_it(at: time, said: str) -> None:
    assert clock_words(at) == said


def test_a_deadline_tomorrow_at_five_is_one_working_day_away() -> None:
    # Monday 7 December 2026, 10:00 in London (GMT), due Tuesday 17:00.
    now = datetime(2026, 12, 7, 10, tzinfo=UTC)
    due = datetime(2026, 12, 8, 17, tzinfo=UTC)
    assert deadline_words(due, now) == "by 5 pm on Tuesday 8 December (1 working day)"


def test_london_summer_time_and_weekends() -> None:
    # Friday 3 July 2026 15:00 BST; due Monday 6 July at noon BST (11:00 UTC).
    now = datetime(2026, 7, 3, 14, tzinfo=UTC)
    due = datetime(2026, 7, 6, 11, tzinfo=UTC)
    assert deadline_words(due, now) == "by 12 noon on Monday 6 July (1 working day)"


def test_bank_holidays_do_not_count_and_another_year_is_named() -> None:
    # Thursday 24 December 2026 to Tuesday 29 December: Christmas and Boxing Day (moved to
    # Monday 28) are bank holidays, so one working day (Tuesday) is left.
    now = datetime(2026, 12, 24, 9, tzinfo=UTC)
    assert days_left_words(now, datetime(2026, 12, 29, 17, tzinfo=UTC)) == "1 working day"
    due = datetime(2027, 1, 4, 12, tzinfo=UTC)
    assert deadline_words(due, now).startswith("by 12 noon on Monday 4 January 2027 (")


def test_the_same_day_and_a_passed_deadline() -> None:
    now = datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert days_left_words(now, datetime(2026, 12, 7, 17, tzinfo=UTC)) == "today"
    assert days_left_words(now, datetime(2026, 12, 7, 9, tzinfo=UTC)) == "passed"
    assert days_left_words(now, datetime(2026, 12, 14, 9, tzinfo=UTC)) == "5 working days"


def test_a_naive_time_is_refused() -> None:
    naive = datetime(2026, 12, 8, 17, tzinfo=UTC).replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline_words(naive, datetime(2026, 12, 7, 10, tzinfo=UTC))
