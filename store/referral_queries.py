"""Referral reads and writes the API needs beyond the workflows' read model."""

from __future__ import annotations

from sqlalchemy import delete

from store.db import Sessions
from store.schema import ReferralNeedRow, ReferralRow, ResidentRow


async def discard_referral(sessions: Sessions, number: str) -> None:
    """Remove a referral whose workflow never started: its row, needs and personal data.

    Only for a submission the API could not hand to Temporal; nothing else refers to it yet.
    """
    async with sessions.begin() as session:
        await session.execute(delete(ResidentRow).where(ResidentRow.number == number))
        await session.execute(delete(ReferralNeedRow).where(ReferralNeedRow.number == number))
        await session.execute(delete(ReferralRow).where(ReferralRow.number == number))
