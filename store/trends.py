"""Counts over time for the dashboard's charts, each in one grouped read."""

from __future__ import annotations

import weakref
from datetime import datetime

from sqlalchemy import func, select

from domain.agency_stats import percentile
from domain.trends import MonthOfAnswers, WeekOfReferrals, month_starts, week_starts
from store.db import Sessions
from store.schema import ReferralLegRow, ReferralRow

SOURCES = ("reach_out", "web_signposting", "agency")


# Counts of weeks already over, per store: referrals keep their creation time and source for
# good (erasure keeps them too), so a finished week's counts never change.
_FINISHED_WEEKS: weakref.WeakKeyDictionary[Sessions, dict[datetime, dict[str, int]]] = (
    weakref.WeakKeyDictionary()
)


async def referrals_by_week(
    sessions: Sessions, *, now: datetime, weeks: int = 26
) -> list[WeekOfReferrals]:
    """Referrals received in each of the last ``weeks`` weeks, by source: one grouped read of
    the (created_at, source) index per week, finished weeks read once per process."""
    starts = week_starts(now, weeks)
    ends = [*starts[1:], None]
    known = _FINISHED_WEEKS.setdefault(sessions, {})
    result = []
    async with sessions() as session:
        for start, end in zip(starts, ends, strict=True):
            counts = known.get(start)
            if counts is None:
                query = select(ReferralRow.source, func.count()).where(
                    ReferralRow.created_at >= start
                )
                if end is not None:
                    query = query.where(ReferralRow.created_at < end)
                counts = dict.fromkeys(SOURCES, 0)
                rows = (await session.execute(query.group_by(ReferralRow.source))).all()
                for source, count in rows:
                    counts[source] = counts.get(source, 0) + count
                if end is not None and end <= now:
                    known[start] = counts
            result.append(WeekOfReferrals(week=start, by_source=dict(counts)))
    return result


async def answers_by_month(
    sessions: Sessions, *, now: datetime, agency_id: str | None = None, months: int = 6
) -> list[MonthOfAnswers]:
    """Median and 90th percentile working days to answer, per month the answers were given,
    for one agency or all of them (one grouped read of an index per month)."""
    starts = month_starts(now, months)
    ends = [*starts[1:], None]
    leg = ReferralLegRow
    result = []
    async with sessions() as session:
        for start, end in zip(starts, ends, strict=True):
            query = select(leg.answer_working_days, func.count()).where(
                leg.answered_at >= start, leg.answer_working_days.is_not(None)
            )
            if end is not None:
                query = query.where(leg.answered_at < end)
            if agency_id is not None:
                query = query.where(leg.agency_id == agency_id)
            rows = (await session.execute(query.group_by(leg.answer_working_days))).all()
            histogram = {float(days or 0): count for days, count in rows}
            result.append(
                MonthOfAnswers(
                    month=start,
                    answered=sum(histogram.values()),
                    median_working_days=percentile(histogram, 0.5),
                    p90_working_days=percentile(histogram, 0.9),
                )
            )
    return result
