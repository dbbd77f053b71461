"""Idempotency keys of partner callbacks: claim one before acting, so a repeat acts never.

The claim is one insert that the primary key (agency, key) lets succeed once, so two
deliveries of the same callback arriving together act once between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.db import Sessions
from store.schema import InboundCallback


@dataclass(frozen=True, kw_only=True)
class SeenCallback:
    """A callback delivered before under the same key."""

    body_sha256: str
    received_at: datetime
    status: int | None  # none: the first delivery is still being acted on


async def claim_callback(
    sessions: Sessions,
    *,
    agency_id: str,
    key: str,
    body_sha256: str,
    event: str,
    leg_id: str,
    at: datetime,
    retention: timedelta,
) -> SeenCallback | None:
    """Claim ``key`` for ``agency_id``: None if this delivery should act, else the earlier one.

    Keys older than ``retention`` are forgotten first, so the table stays small.
    """
    async with sessions.begin() as session:
        await session.execute(
            delete(InboundCallback).where(InboundCallback.received_at < at - retention)
        )
        bind: Any = session.bind
        insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
        claimed = await session.execute(
            insert(InboundCallback)
            .values(
                agency_id=agency_id,
                idempotency_key=key,
                body_sha256=body_sha256,
                event=event,
                leg_id=leg_id,
                received_at=at,
                status=None,
            )
            .on_conflict_do_nothing(index_elements=["agency_id", "idempotency_key"])
        )
        if getattr(claimed, "rowcount", 0) == 1:
            return None
        row = await session.scalar(
            select(InboundCallback).where(
                InboundCallback.agency_id == agency_id, InboundCallback.idempotency_key == key
            )
        )
    assert row is not None  # the conflict was with this row, and nothing deletes it meanwhile
    return SeenCallback(body_sha256=row.body_sha256, received_at=row.received_at, status=row.status)


async def settle_callback(sessions: Sessions, *, agency_id: str, key: str, status: int) -> None:
    """Record the answer a claimed callback got; repeats are acknowledged with it."""
    async with sessions.begin() as session:
        await session.execute(
            update(InboundCallback)
            .where(InboundCallback.agency_id == agency_id, InboundCallback.idempotency_key == key)
            .values(status=status)
        )


async def release_callback(sessions: Sessions, *, agency_id: str, key: str) -> None:
    """Forget a claim whose callback could not be acted on for now, so a retry may act."""
    async with sessions.begin() as session:
        await session.execute(
            delete(InboundCallback).where(
                InboundCallback.agency_id == agency_id, InboundCallback.idempotency_key == key
            )
        )
