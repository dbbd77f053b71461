"""Referral reads and writes the API needs beyond the workflows' read model."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import delete, select

from domain.referral_records import ReferralEvent
from store.db import Sessions
from store.referrals import erase_personal_data
from store.schema import (
    NotificationRecord,
    ReferralEventRow,
    ReferralNeedRow,
    ReferralRow,
    ResidentRow,
)


async def discard_referral(sessions: Sessions, number: str) -> None:
    """Remove a referral whose workflow never started: its row, needs and personal data.

    Only for a submission the API could not hand to Temporal; nothing else refers to it yet.
    """
    async with sessions.begin() as session:
        await session.execute(delete(ResidentRow).where(ResidentRow.number == number))
        await session.execute(delete(ReferralNeedRow).where(ReferralNeedRow.number == number))
        await session.execute(delete(ReferralRow).where(ReferralRow.number == number))


async def withdraw_consent_after_close(sessions: Sessions, event: ReferralEvent) -> None:
    """Erase a finished referral's personal data and note the withdrawal of consent.

    A referral whose workflow has ended has no legs left to stop, so nothing but the store
    holds the resident's details; the anonymous statistics stay.
    """
    await erase_personal_data(sessions, event.number)
    async with sessions.begin() as session:
        row = await session.get(ReferralRow, event.number)
        if row is not None:
            row.consent = {**row.consent, "agency_ids": [], "withdrawn": True}
            session.add(ReferralEventRow(**event.model_dump()))


class SentNotification(BaseModel):
    """A notification delivered about a referral: when, how, to whom, about what."""

    sent_at: datetime
    channel: str
    recipient: str
    summary: str


async def sent_notifications(sessions: Sessions, number: str) -> list[SentNotification]:
    """The notifications delivered about referral ``number``, oldest first."""
    async with sessions() as session:
        rows = await session.scalars(
            select(NotificationRecord)
            .where(NotificationRecord.subject_ref == number)
            .order_by(NotificationRecord.sent_at)
        )
        return [
            SentNotification(
                sent_at=r.sent_at, channel=r.channel, recipient=r.recipient, summary=r.summary
            )
            for r in rows
        ]
