"""Counts over time for the dashboard's charts, each in one grouped read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import InstrumentedAttribute

from domain.agency_stats import percentile
from domain.trends import MonthOfAnswers, WeekOfReferrals, month_starts, week_starts
from store.db import Sessions
from store.schema import ReferralLegRow, ReferralRow

SOURCES = ("reach_out", "signposting_web", "agency")


def _period(column: InstrumentedAttribute[Any], starts: list[datetime]) -> ColumnElement[int]:
    """Which of the periods beginning at ``starts`` a moment falls in (one CASE, any dialect)."""
    return case(
        *((column >= start, len(starts) - 1 - n) for n, start in enumerate(reversed(starts))),
        else_=-1,
    )


async def referrals_by_week(
    sessions: Sessions, *, now: datetime, weeks: int = 26
) -> list[WeekOfReferrals]:
    """Referrals received in each of the last ``weeks`` weeks, by source."""
    starts = week_starts(now, weeks)
    period = _period(ReferralRow.created_at, starts)
    query = (
        select(period, ReferralRow.source, func.count())
        .where(ReferralRow.created_at >= starts[0])
        .group_by(period, ReferralRow.source)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    result = [WeekOfReferrals(week=s, by_source=dict.fromkeys(SOURCES, 0)) for s in starts]
    for n, source, count in rows:
        if 0 <= n < weeks:
            result[n].by_source[source] = result[n].by_source.get(source, 0) + count
    return result


async def answers_by_month(
    sessions: Sessions, *, now: datetime, agency_id: str | None = None, months: int = 6
) -> list[MonthOfAnswers]:
    """Median and 90th percentile working days to answer, per month the answers were given,
    for one agency or all of them."""
    starts = month_starts(now, months)
    leg = ReferralLegRow
    period = _period(leg.answered_at, starts)
    query = (
        select(period, leg.answer_working_days, func.count())
        .where(leg.answered_at >= starts[0], leg.answer_working_days.is_not(None))
        .group_by(period, leg.answer_working_days)
    )
    if agency_id is not None:
        query = query.where(leg.agency_id == agency_id)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    histograms: list[dict[float, int]] = [{} for _ in starts]
    for n, days, count in rows:
        if 0 <= n < months and days is not None:
            histograms[n][float(days)] = count
    return [
        MonthOfAnswers(
            month=start,
            answered=sum(h.values()),
            median_working_days=percentile(h, 0.5),
            p90_working_days=percentile(h, 0.9),
        )
        for start, h in zip(starts, histograms, strict=True)
    ]
