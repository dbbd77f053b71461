"""The audit trail: append and read, never change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from store.db import Sessions
from store.schema import AuditEvent


async def append_audit(sessions: Sessions, event: AuditEvent) -> None:
    """Add one event to the trail."""
    async with sessions.begin() as session:
        session.add(event)


async def read_audit(
    sessions: Sessions,
    *,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, Sequence[AuditEvent]]:
    """Events newest first with the total matching, filtered by subject and time."""
    query = select(AuditEvent)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    async with sessions() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (
            await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit).offset(offset))
        ).all()
    return int(total or 0), rows
