"""The store's side of retention: which closed referrals still hold personal data too long."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from domain.referral import FINAL_REFERRAL_STATUSES
from store.db import Sessions
from store.schema import ReferralRow


async def due_for_anonymisation(
    sessions: Sessions, *, closed_before: datetime, limit: int
) -> list[str]:
    """Numbers of finished referrals last changed before ``closed_before``, still not erased."""
    async with sessions() as session:
        rows = await session.scalars(
            select(ReferralRow.number)
            .where(
                ReferralRow.status.in_([s.value for s in FINAL_REFERRAL_STATUSES]),
                ReferralRow.personal_data_erased.is_(False),
                ReferralRow.updated_at < closed_before,
            )
            .order_by(ReferralRow.updated_at, ReferralRow.number)
            .limit(limit)
        )
        return list(rows.all())
