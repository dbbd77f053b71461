"""Figures over the referral read model: what the overview, the status command and the
per-agency statistics show."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from domain.agency_stats import OUTCOME_STATES, AgencyStatistics, AgencyTally, agency_statistics
from domain.declines import DeclineReason
from domain.referral import LegState, NeedState
from store.db import Sessions
from store.schema import OrganisationRow, ReferralLegRow, ReferralNeedRow, ReferralRow


async def referrals_by_status(sessions: Sessions) -> dict[str, int]:
    """How many referrals are in each status."""
    async with sessions() as session:
        rows = await session.execute(
            select(ReferralRow.status, func.count()).group_by(ReferralRow.status)
        )
        return {status: count for status, count in rows.all()}


async def unallocated_needs(sessions: Sessions) -> int:
    """Needs no service could take: a co-ordinator owns each of them."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ReferralNeedRow)
            .where(ReferralNeedRow.state == NeedState.UNALLOCATED.value)
        )
    return int(count or 0)


async def overdue_outcomes(sessions: Sessions) -> int:
    """Accepted legs past their outcome deadline with no outcome recorded yet."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ReferralLegRow)
            .where(
                ReferralLegRow.outcome_overdue.is_(True),
                ReferralLegRow.state.in_([LegState.ACCEPTED.value, LegState.IN_PROGRESS.value]),
            )
        )
    return int(count or 0)


async def unallocated_overdue(sessions: Sessions) -> int:
    """Unallocated needs that waited in the co-ordinator's queue past its SLA."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ReferralNeedRow)
            .where(
                ReferralNeedRow.state == NeedState.UNALLOCATED.value,
                ReferralNeedRow.queue_overdue.is_(True),
            )
        )
    return int(count or 0)


async def agency_tallies(sessions: Sessions, *, now: datetime) -> dict[str, AgencyTally]:
    """Every agency's tally (the same figures as :func:`domain.agency_stats.tally`), each
    part grouped from an index alone: legs by state and answer, unanswered legs past their
    deadline, and answer times as a histogram."""
    leg = ReferralLegRow
    # A lost offer (another service accepted first) is left out, as counts_in_statistics says.
    by_answer = (
        select(
            leg.agency_id, leg.state, leg.answer, leg.answered_late, leg.decline_why, func.count()
        )
        .where(leg.offer_lost.is_(False))
        .group_by(leg.agency_id, leg.state, leg.answer, leg.answered_late, leg.decline_why)
    )
    waiting_late = (
        select(leg.agency_id, func.count())
        .where(leg.state == "sent", leg.deadline < now, leg.answered_at.is_(None))
        .group_by(leg.agency_id)
    )
    histogram = (
        select(leg.agency_id, leg.answer_working_days, func.count())
        .where(leg.answer_working_days.is_not(None))
        .group_by(leg.agency_id, leg.answer_working_days)
    )
    tallies: dict[str, AgencyTally] = {}
    async with sessions() as session:
        rows = (await session.execute(by_answer)).all()
        for agency, state, answer, late, why, count in rows:
            t = tallies.setdefault(agency, AgencyTally(agency_id=agency))
            t.received += count
            t.accepted += count if answer == "accepted" else 0
            if answer == "declined":
                t.declined += count
                t.count_declines(DeclineReason(why) if why else None, count)
            # Answered late, or expired unanswered; the still-waiting ones are counted below.
            t.late += count if late or (state == "expired" and answer is None) else 0
            t.with_outcome += count if state in OUTCOME_STATES else 0
        for agency, count in (await session.execute(waiting_late)).all():
            tallies[agency].late += count
        for agency, days, count in (await session.execute(histogram)).all():
            tallies[agency].answer_days[float(days or 0)] = count
    return tallies


async def agency_names(sessions: Sessions) -> dict[str, str]:
    """Every agency in the directory: id → name."""
    async with sessions() as session:
        return dict((await session.execute(select(OrganisationRow.id, OrganisationRow.name))).all())


async def agency_statistics_from_store(
    sessions: Sessions, *, now: datetime | None = None
) -> list[AgencyStatistics]:
    """Per-agency answer statistics over every leg in the store, for every agency in the
    directory (those not yet sent anything included)."""
    at = now or datetime.now(UTC)
    return agency_statistics(await agency_tallies(sessions, now=at), await agency_names(sessions))
