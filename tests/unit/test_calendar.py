from datetime import UTC, date, datetime

import pytest

from domain.calendar import add_working_days, is_working_day, next_working_day, working_days_between


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekends_and_bank_holidays_are_not_working_days() -> None:
    assert is_working_day(date(2026, 11, 23))  # Monday
    assert not is_working_day(date(2026, 11, 28))  # Saturday
    assert not is_working_day(date(2026, 12, 25))  # Christmas Day
    assert not is_working_day(date(2026, 12, 28))  # Boxing Day (substitute)
    assert not is_working_day(date(2027, 3, 26))  # Good Friday
    assert not is_working_day(date(2027, 3, 29))  # Easter Monday


def test_five_working_days_across_christmas() -> None:
    # Wed 23 Dec 2026 10:00 UK: 24, 29, 30, 31 Dec, then 4 Jan (1 Jan is a bank holiday).
    due = add_working_days(utc(2026, 12, 23, 10, 0), 5)
    assert due == utc(2027, 1, 4, 10, 0)


def test_one_working_day_across_easter() -> None:
    # Thu 25 Mar 2027 -> Good Friday and Easter Monday skipped -> Tue 30 Mar.
    assert add_working_days(utc(2027, 3, 25, 14, 0), 1) == utc(2027, 3, 30, 13, 0)  # BST


def test_start_on_a_weekend_counts_from_monday_morning() -> None:
    assert add_working_days(utc(2026, 11, 28, 20, 0), 0) == utc(2026, 11, 30, 9, 0)
    assert add_working_days(utc(2026, 11, 28, 20, 0), 1) == utc(2026, 12, 1, 9, 0)


def test_naive_and_negative_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(datetime(2026, 1, 5), 1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        add_working_days(utc(2026, 1, 5), -1)


def test_working_days_between() -> None:
    assert working_days_between(utc(2026, 12, 23, 9), utc(2027, 1, 4, 9)) == 5
    assert working_days_between(utc(2026, 11, 23, 9), utc(2026, 11, 23, 17)) == 0
    assert working_days_between(utc(2027, 1, 4, 9), utc(2026, 12, 23, 9)) == -5
    assert next_working_day(date(2026, 12, 24)) == date(2026, 12, 29)
