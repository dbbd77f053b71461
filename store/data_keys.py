"""Referrals' data keys in the app database: made once per referral, destroyed on erasure.

Only wrapped keys are stored (sealed by the master key, whose id is kept beside each), so the
app database alone reveals nothing either. Destroying a key blanks it and stamps the time;
the row stays so that a payload naming the key can be told apart from one naming no key.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Sessions
from store.schema import DataKeyRow


@dataclass(frozen=True, kw_only=True)
class StoredDataKey:
    """One data key as stored: wrapped, or destroyed (``wrapped`` None)."""

    key_id: str
    number: str
    master_key_id: str | None
    wrapped: bytes | None
    destroyed_at: datetime | None


def _stored(row: DataKeyRow) -> StoredDataKey:
    return StoredDataKey(
        key_id=row.key_id,
        number=row.number,
        master_key_id=row.master_key_id,
        wrapped=row.wrapped,
        destroyed_at=row.destroyed_at,
    )


async def data_key_of_referral(
    sessions: Sessions, number: str, *, new: StoredDataKey, at: datetime
) -> StoredDataKey:
    """The referral's data key, storing ``new`` if it has none yet (the first to store wins).

    Read first: a referral normally has its key from intake, and a read takes no write lock.
    """
    async with sessions() as session:
        row = await session.scalar(select(DataKeyRow).where(DataKeyRow.number == number))
    if row is not None:
        return _stored(row)
    async with sessions.begin() as session:
        bind: Any = session.bind
        insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
        await session.execute(
            insert(DataKeyRow)
            .values(
                key_id=new.key_id,
                number=number,
                master_key_id=new.master_key_id,
                wrapped=new.wrapped,
                created_at=at,
                destroyed_at=None,
            )
            .on_conflict_do_nothing(index_elements=["number"])
        )
        row = await session.scalar(select(DataKeyRow).where(DataKeyRow.number == number))
    assert row is not None  # inserted, or the conflict was with this row
    return _stored(row)


async def data_key(sessions: Sessions, key_id: str) -> StoredDataKey | None:
    """The data key ``key_id`` (destroyed or not), or None if no such key was ever made."""
    async with sessions() as session:
        row = await session.get(DataKeyRow, key_id)
    return None if row is None else _stored(row)


async def destroy_data_key(session: AsyncSession, number: str, *, at: datetime) -> None:
    """Destroy the referral's data key in ``session``'s transaction (the erasure's own).

    A referral that had no key yet gets a destroyed one, so none is ever made for it later:
    free text arriving after erasure is then never kept.
    """
    bind: Any = session.bind
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(DataKeyRow)
        .values(
            key_id=secrets.token_hex(16),
            number=number,
            master_key_id=None,
            wrapped=None,
            created_at=at,
            destroyed_at=at,
        )
        .on_conflict_do_nothing(index_elements=["number"])
    )
    await session.execute(
        update(DataKeyRow)
        .where(DataKeyRow.number == number, DataKeyRow.wrapped.is_not(None))
        .values(wrapped=None, master_key_id=None, destroyed_at=at)
    )


async def live_data_keys(sessions: Sessions) -> Sequence[StoredDataKey]:
    """Every data key not destroyed (for re-wrapping under a new master key)."""
    async with sessions() as session:
        rows = await session.scalars(select(DataKeyRow).where(DataKeyRow.wrapped.is_not(None)))
        return [_stored(r) for r in rows]


async def rewrap_data_key(
    sessions: Sessions, key_id: str, *, master_key_id: str, wrapped: bytes
) -> bool:
    """Store ``key_id`` wrapped anew; False if it was destroyed meanwhile (it stays destroyed)."""
    async with sessions.begin() as session:
        done = await session.execute(
            update(DataKeyRow)
            .where(DataKeyRow.key_id == key_id, DataKeyRow.wrapped.is_not(None))
            .values(master_key_id=master_key_id, wrapped=wrapped)
        )
    return bool(getattr(done, "rowcount", 0))
