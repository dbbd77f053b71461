"""Spent signed links: a one-off link's token is spent by the action it allows, once.

Only a hash of the token is kept (a row cannot be turned back into a working link). Spending
is one insert that the primary key lets succeed once, so two clicks reaching different
processes at the same moment do the action once; a refused action gives its token back.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from store.db import Sessions
from store.schema import SpentLink


def token_hash(token: str) -> str:
    """What the store keeps of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


async def is_spent(sessions: Sessions, token: str) -> bool:
    """Whether ``token``'s one-off action has been done."""
    async with sessions() as session:
        found = await session.scalar(
            select(SpentLink.token_sha256).where(SpentLink.token_sha256 == token_hash(token))
        )
    return found is not None


async def spend(
    sessions: Sessions, token: str, *, purpose: str, at: datetime, expires_at: datetime
) -> bool:
    """Spend ``token``: True for the one caller that spends it, False if it was spent before.
    Rows of links that have lapsed anyway are forgotten first."""
    async with sessions.begin() as session:
        await session.execute(delete(SpentLink).where(SpentLink.expires_at < at))
        bind: Any = session.bind
        insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
        result = await session.execute(
            insert(SpentLink)
            .values(
                token_sha256=token_hash(token), purpose=purpose, spent_at=at, expires_at=expires_at
            )
            .on_conflict_do_nothing(index_elements=["token_sha256"])
        )
        return getattr(result, "rowcount", 0) == 1


async def give_back(sessions: Sessions, token: str) -> None:
    """Unspend ``token``: the action it was spent for was refused, so nothing happened."""
    async with sessions.begin() as session:
        await session.execute(delete(SpentLink).where(SpentLink.token_sha256 == token_hash(token)))
