"""Working days in England and Wales: weekends and bank holidays do not count.

Deadlines for partner agencies ("respond within 5 working days") and meeting cadences are
computed here. The bank holiday table is built once at import, so every call is a pure
lookup (safe inside a workflow, and the same on replay for the same package version).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
START_OF_DAY = time(9, 0)
_YEARS = range(2000, 2076)
BANK_HOLIDAYS: frozenset[date] = frozenset(
    holidays.country_holidays("GB", subdiv="ENG", years=_YEARS).keys()
)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an England & Wales bank holiday."""
    if not (_YEARS.start <= day.year < _YEARS.stop):
        raise ValueError(f"no bank holiday table for {day.year}")
    return day.weekday() < 5 and day not in BANK_HOLIDAYS


def next_working_day(day: date) -> date:
    """The first working day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment ``days`` working days after ``start``, in UK local time, returned in UTC.

    Counting starts from ``start``'s local time; a start outside a working day counts from
    09:00 on the next working day. ``days=0`` gives that normalised start.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if days < 0:
        raise ValueError("days must not be negative")
    local = start.astimezone(LONDON)
    day, at = local.date(), local.timetz().replace(tzinfo=None)
    if not is_working_day(day):
        day, at = next_working_day(day), START_OF_DAY
    for _ in range(days):
        day = next_working_day(day)
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(start.tzinfo)


def working_days_between(start: datetime, end: datetime) -> int:
    """Whole working days from ``start``'s date to ``end``'s date (0 on the same day)."""
    first, last = start.astimezone(LONDON).date(), end.astimezone(LONDON).date()
    if last < first:
        return -working_days_between(end, start)
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def working_days_elapsed(start: datetime, end: datetime) -> float:
    """Working time from ``start`` to ``end`` in working days: each working day counts its
    24 hours (UK local time), weekends and bank holidays count nothing.

    An answer on Monday 10:00 to a referral sent on Friday 16:00 took 8 h + 10 h = 0.75
    working days; one sent on Saturday and answered on Monday 06:00 took 0.25.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        return 0.0
    local_start, local_end = start.astimezone(LONDON), end.astimezone(LONDON)
    total = 0.0
    day = local_start.date()
    while day <= local_end.date():
        if is_working_day(day):
            day_start = datetime.combine(day, time.min, tzinfo=LONDON)
            day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=LONDON)
            # Same-zone arithmetic is wall-clock: a clock-change day still counts as one day.
            length = (day_end - day_start).total_seconds()
            overlap = (min(day_end, local_end) - max(day_start, local_start)).total_seconds()
            total += max(0.0, overlap) / length
        day += timedelta(days=1)
    return total
