"""The co-ordinator's queue as the store has it: every unallocated need of a running referral,
why it was not placed, and how long it has waited."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from domain.directory import NeedCategory, Urgency
from domain.referral import FINAL_REFERRAL_STATUSES, LegState, NeedState
from store.db import Sessions
from store.schema import ReferralLegRow, ReferralNeedRow, ReferralRow


class TriedService(BaseModel):
    """A service the need was sent to, and what happened there."""

    leg_id: str
    service_id: str
    agency_id: str
    state: LegState


class QueuedNeed(BaseModel):
    """One unallocated need waiting for the co-ordinator."""

    number: str
    need_id: str
    ward: str
    urgency: Urgency
    category: NeedCategory
    reason: str
    tried: list[TriedService]
    unallocated_at: datetime | None
    waited_days: float | None
    overdue: bool


async def unallocated_queue(sessions: Sessions, *, now: datetime) -> list[QueuedNeed]:
    """Unallocated needs of running referrals, longest waiting first."""
    final = [s.value for s in FINAL_REFERRAL_STATUSES]
    async with sessions() as session:
        rows = (
            await session.execute(
                select(ReferralNeedRow, ReferralRow.ward)
                .join(ReferralRow, ReferralRow.number == ReferralNeedRow.number)
                .where(
                    ReferralNeedRow.state == NeedState.UNALLOCATED.value,
                    ReferralRow.status.not_in(final),
                )
                .order_by(ReferralNeedRow.unallocated_at, ReferralNeedRow.number)
            )
        ).all()
        numbers = sorted({need.number for need, _ in rows})
        legs = (
            (
                await session.scalars(
                    select(ReferralLegRow)
                    .where(ReferralLegRow.number.in_(numbers))
                    .order_by(ReferralLegRow.sent_at, ReferralLegRow.leg_id)
                )
            ).all()
            if numbers
            else []
        )
    queue = []
    for need, ward in rows:
        since = need.unallocated_at
        queue.append(
            QueuedNeed(
                number=need.number,
                need_id=need.need_id,
                ward=ward,
                urgency=Urgency(need.urgency),
                category=NeedCategory(need.category),
                reason=need.reason,
                tried=[
                    TriedService(
                        leg_id=leg.leg_id,
                        service_id=leg.service_id,
                        agency_id=leg.agency_id,
                        state=LegState(leg.state),
                    )
                    for leg in legs
                    if leg.number == need.number and leg.need_id == need.need_id
                ],
                unallocated_at=since,
                waited_days=round((now - since).total_seconds() / 86400, 2) if since else None,
                overdue=need.queue_overdue,
            )
        )
    return queue
