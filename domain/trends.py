"""Periods the charts count in: weeks from Monday and calendar months, in UK local time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel

from domain.calendar import LONDON


def week_starts(now: datetime, weeks: int) -> list[datetime]:
    """The Mondays (00:00 UK time, as UTC instants) of the last ``weeks`` weeks, this one last."""
    monday = now.astimezone(LONDON).date() - timedelta(days=now.astimezone(LONDON).weekday())
    return [_midnight(monday - timedelta(weeks=n)) for n in range(weeks - 1, -1, -1)]


def month_starts(now: datetime, months: int) -> list[datetime]:
    """The first days (00:00 UK time) of the last ``months`` months, this one last."""
    local = now.astimezone(LONDON).date()
    year, month = local.year, local.month
    starts = []
    for _ in range(months):
        starts.append(_midnight(date(year, month, 1)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON)


class WeekOfReferrals(BaseModel):
    """Referrals received in one week, by source."""

    week: datetime
    by_source: dict[str, int]


class MonthOfAnswers(BaseModel):
    """How fast an agency (or every agency) answered referrals in one month."""

    month: datetime
    answered: int
    median_working_days: float | None
    p90_working_days: float | None
