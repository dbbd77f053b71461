"""Logged Reach Out sessions: kept as the figures, read back as the facts partnerships count."""

from __future__ import annotations

from sqlalchemy import select

from domain.outreach import OutreachSessionFact
from store.db import Sessions
from store.schema import OutreachSessionRow

_FIELDS = (
    "session_id",
    "logged_at",
    "held_on",
    "ward",
    "area",
    "doors_knocked",
    "conversations",
    "residents_helped",
    "referrals_made",
)


async def save_outreach_session(
    sessions: Sessions, fact: OutreachSessionFact, *, logged_by: str
) -> None:
    """Keep one logged session (``IntegrityError`` if its id is kept already)."""
    async with sessions.begin() as session:
        session.add(
            OutreachSessionRow(logged_by=logged_by, **fact.model_dump(include=set(_FIELDS)))
        )


async def get_outreach_session(sessions: Sessions, session_id: str) -> OutreachSessionFact | None:
    """One logged session by its id, or None."""
    async with sessions() as session:
        row = await session.get(OutreachSessionRow, session_id)
        if row is None:
            return None
        return OutreachSessionFact.model_validate({f: getattr(row, f) for f in _FIELDS})


async def outreach_sessions_of(
    sessions: Sessions, logged_by: str, *, limit: int = 50
) -> list[OutreachSessionFact]:
    """The sessions ``logged_by`` logged, the latest first."""
    async with sessions() as session:
        rows = await session.scalars(
            select(OutreachSessionRow)
            .where(OutreachSessionRow.logged_by == logged_by)
            .order_by(OutreachSessionRow.held_on.desc(), OutreachSessionRow.logged_at.desc())
            .limit(limit)
        )
        return [
            OutreachSessionFact.model_validate({f: getattr(r, f) for f in _FIELDS})
            for r in rows.all()
        ]
