"""The public website's own records: visitors' sessions, rate-limit counts, the email outbox.

Sessions are keyed by the SHA-256 of the cookie's random value, so the table alone cannot be
used to take one over. Rate-limit buckets are hashes too: no address or email is kept.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from store.db import Sessions
from store.schema import FindOutboxRow, FindRateEvent, FindSessionRow


async def load_visit(sessions: Sessions, key: str, *, now: datetime) -> dict[str, Any] | None:
    """A live session's data, or None (unknown or expired)."""
    async with sessions() as session:
        row = await session.get(FindSessionRow, key)
    if row is None or row.expires_at <= now:
        return None
    return dict(row.data)


async def save_visit(
    sessions: Sessions, key: str, data: dict[str, Any], *, expires_at: datetime
) -> None:
    """Write a session's data (creating it), and sweep a few expired ones while here."""
    async with sessions.begin() as session:
        row = await session.get(FindSessionRow, key)
        if row is None:
            session.add(FindSessionRow(id=key, data=data, expires_at=expires_at))
            expired = select(FindSessionRow.id).where(FindSessionRow.expires_at < datetime.now(UTC))
            await session.execute(
                delete(FindSessionRow).where(FindSessionRow.id.in_(expired.limit(20)))
            )
        else:
            row.data, row.expires_at = data, expires_at


async def end_visit(sessions: Sessions, key: str) -> None:
    """Forget a session and every answer in it."""
    async with sessions.begin() as session:
        await session.execute(delete(FindSessionRow).where(FindSessionRow.id == key))


async def take_allowance(
    sessions: Sessions, bucket: str, *, limit: int, window: timedelta, now: datetime
) -> bool:
    """Count one action in ``bucket`` if fewer than ``limit`` happened in ``window``; whether
    it was allowed. Every API process shares the count."""
    async with sessions.begin() as session:
        since = now - window
        used = await session.scalar(
            select(func.count())
            .select_from(FindRateEvent)
            .where(FindRateEvent.bucket == bucket, FindRateEvent.at > since)
        )
        if (used or 0) >= limit:
            return False
        session.add(FindRateEvent(bucket=bucket, at=now))
        await session.execute(
            delete(FindRateEvent).where(FindRateEvent.bucket == bucket, FindRateEvent.at <= since)
        )
    return True


async def queue_email(
    sessions: Sessions, *, recipient: str, subject: str, text: str, html: str
) -> str:
    """Keep an email for its notice to send; its outbox id."""
    outbox_id = str(uuid.uuid4())
    async with sessions.begin() as session:
        session.add(
            FindOutboxRow(
                id=outbox_id,
                recipient=recipient,
                subject=subject,
                text=text,
                html=html,
                created_at=datetime.now(UTC),
            )
        )
    return outbox_id


class QueuedEmail:
    """An email waiting in the outbox."""

    def __init__(self, row: FindOutboxRow) -> None:
        self.recipient, self.subject = row.recipient, row.subject
        self.text, self.html = row.text, row.html


async def queued_email(sessions: Sessions, outbox_id: str) -> QueuedEmail | None:
    """The email waiting under ``outbox_id``, if it is still there."""
    async with sessions() as session:
        row = await session.get(FindOutboxRow, outbox_id)
    return QueuedEmail(row) if row is not None else None


async def drop_email(sessions: Sessions, outbox_id: str) -> None:
    """Remove a sent email (the address goes with it)."""
    async with sessions.begin() as session:
        await session.execute(delete(FindOutboxRow).where(FindOutboxRow.id == outbox_id))
