"""Erasure on request of a referral whose workflow has finished: record who asked, then erase."""

from __future__ import annotations

import uuid
from datetime import datetime

from store.db import Sessions
from store.referrals import erase_personal_data
from store.schema import ReferralEventRow

ERASED_EVENT = "personal_data_erased"


async def erase_on_request(
    sessions: Sessions, number: str, *, actor: str, reason: str, at: datetime
) -> bool:
    """Erase ``number``'s personal data and add an event saying who asked and why.

    The event is written first, so the erasure's file clean-up (SQLite's write-ahead log
    checkpoint) comes after every write. Returns whether there was anything to erase.
    """
    async with sessions.begin() as session:
        session.add(
            ReferralEventRow(
                event_id=str(uuid.uuid4()),
                number=number,
                leg_id=None,
                need_id=None,
                at=at,
                kind=ERASED_EVENT,
                actor=actor,
                detail=reason,
            )
        )
    return await erase_personal_data(sessions, number)
