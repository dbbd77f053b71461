"""Figures over the referral read model: what the overview, the status command and the
per-agency statistics show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select

from domain.agency_stats import AgencyStatistics, LegResponse, agency_statistics
from domain.referral import FINAL_REFERRAL_STATUSES, LegState, NeedState
from store.db import Sessions
from store.referrals import ReferralSummary
from store.schema import (
    ReferralEventRow,
    ReferralLegRow,
    ReferralNeedRow,
    ReferralOutcomeRow,
    ReferralRow,
)

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


async def agency_responses(sessions: Sessions, agency_id: str | None = None) -> list[LegResponse]:
    """Every leg (or one agency's) with when it was first answered, whether it was accepted
    and whether an outcome was recorded."""
    answered = (
        select(ReferralEventRow.leg_id, func.min(ReferralEventRow.at).label("at"))
        .where(ReferralEventRow.kind.in_(["accepted", "declined"]))
        .group_by(ReferralEventRow.leg_id)
        .subquery()
    )
    accepted = (
        select(ReferralEventRow.leg_id)
        .where(ReferralEventRow.kind == "accepted")
        .distinct()
        .subquery()
    )
    query = (
        select(
            ReferralLegRow.agency_id,
            ReferralLegRow.sent_at,
            answered.c.at,
            accepted.c.leg_id.is_not(None),
            ReferralOutcomeRow.leg_id.is_not(None),
            ReferralLegRow.offer_lost,
        )
        .outerjoin(answered, answered.c.leg_id == ReferralLegRow.leg_id)
        .outerjoin(accepted, accepted.c.leg_id == ReferralLegRow.leg_id)
        .outerjoin(ReferralOutcomeRow, and_(ReferralOutcomeRow.leg_id == ReferralLegRow.leg_id))
    )
    if agency_id is not None:
        query = query.where(ReferralLegRow.agency_id == agency_id)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [
        LegResponse(
            agency_id=agency,
            sent_at=sent_at,
            responded_at=responded_at,
            accepted=bool(was_accepted),
            outcome_recorded=bool(has_outcome),
            offer_lost=bool(offer_lost),
        )
        for agency, sent_at, responded_at, was_accepted, has_outcome, offer_lost in rows
    ]


async def agency_statistics_from_store(
    sessions: Sessions, agency_id: str | None = None
) -> list[AgencyStatistics]:
    """Per-agency response statistics over every leg in the store."""
    return agency_statistics(await agency_responses(sessions, agency_id))
