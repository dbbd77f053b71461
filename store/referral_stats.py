"""Figures over the referral read model: what the overview, the status command and the
per-agency statistics show."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, case, func, or_, select

from domain.agency_stats import OUTCOME_STATES, AgencyStatistics, AgencyTally, agency_statistics
from domain.referral import FINAL_REFERRAL_STATUSES, NeedState
from store.db import Sessions
from store.referrals import ReferralSummary
from store.schema import OrganisationRow, ReferralLegRow, ReferralNeedRow, ReferralRow

_FINAL = [s.value for s in FINAL_REFERRAL_STATUSES]


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


async def late_referrals(
    sessions: Sessions, *, due_before: datetime, limit: int = 20
) -> tuple[list[ReferralSummary], list[ReferralSummary]]:
    """Open referrals past a response deadline, and those whose next deadline comes before
    ``due_before`` (about to breach), most pressing first."""
    async with sessions() as session:
        breached = (
            await session.scalars(
                select(ReferralRow)
                .where(ReferralRow.breached.is_(True), ReferralRow.status.not_in(_FINAL))
                .order_by(ReferralRow.next_deadline, ReferralRow.number)
                .limit(limit)
            )
        ).all()
        due = (
            await session.scalars(
                select(ReferralRow)
                .where(
                    ReferralRow.breached.is_(False),
                    ReferralRow.status.not_in(_FINAL),
                    ReferralRow.next_deadline < due_before,
                )
                .order_by(ReferralRow.next_deadline, ReferralRow.number)
                .limit(limit)
            )
        ).all()
    return (
        [ReferralSummary.model_validate(r, from_attributes=True) for r in breached],
        [ReferralSummary.model_validate(r, from_attributes=True) for r in due],
    )


async def agency_tallies(sessions: Sessions, *, now: datetime) -> dict[str, AgencyTally]:
    """Every agency's tally (the same figures as :func:`domain.agency_stats.tally`) in two
    grouped reads: counts per agency, and answer times per agency as a histogram."""
    leg = ReferralLegRow
    unanswered_late = and_(
        leg.answered_at.is_(None),
        or_(leg.state == "expired", and_(leg.state == "sent", leg.deadline < now)),
    )
    counts = select(
        leg.agency_id,
        func.count(),
        func.sum(case((leg.answer == "accepted", 1), else_=0)),
        func.sum(case((leg.answer == "declined", 1), else_=0)),
        func.sum(case((or_(leg.answered_late.is_(True), unanswered_late), 1), else_=0)),
        func.sum(case((leg.state.in_(sorted(OUTCOME_STATES)), 1), else_=0)),
    ).group_by(leg.agency_id)
    histogram = (
        select(leg.agency_id, leg.answer_working_days, func.count())
        .where(leg.answer_working_days.is_not(None))
        .group_by(leg.agency_id, leg.answer_working_days)
    )
    async with sessions() as session:
        tallies = {
            agency: AgencyTally(
                agency_id=agency,
                received=received,
                accepted=int(accepted or 0),
                declined=int(declined or 0),
                late=int(late or 0),
                with_outcome=int(outcome or 0),
            )
            for agency, received, accepted, declined, late, outcome in (
                await session.execute(counts)
            ).all()
        }
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
