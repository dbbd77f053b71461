"""Spent links: a one-off link's token is spent once, by hash, and can be given back."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from store.db import Sessions
from store.schema import SpentLink
from store.spent_links import give_back, is_spent, spend

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)


async def test_a_token_is_spent_once_even_by_clicks_at_the_same_moment(
    sessions: Sessions,
) -> None:
    later = NOW + timedelta(days=30)
    results = await asyncio.gather(
        *(
            spend(sessions, "tok.en", purpose="leg-action", at=NOW, expires_at=later)
            for _ in range(5)
        )
    )
    assert sorted(results) == [False, False, False, False, True]
    assert await is_spent(sessions, "tok.en")
    assert not await is_spent(sessions, "other.token")
    async with sessions() as session:
        kept = list(await session.scalars(select(SpentLink.token_sha256)))
    assert len(kept) == 1
    assert "tok.en" not in kept[0]
    # A refused action gives its token back: the link works again.
    await give_back(sessions, "tok.en")
    assert not await is_spent(sessions, "tok.en")
    assert await spend(sessions, "tok.en", purpose="leg-action", at=NOW, expires_at=later)


async def test_lapsed_rows_are_forgotten(sessions: Sessions) -> None:
    await spend(sessions, "old", purpose="p", at=NOW, expires_at=NOW + timedelta(days=1))
    await spend(
        sessions, "new", purpose="p", at=NOW + timedelta(days=2), expires_at=NOW + timedelta(days=9)
    )
    assert not await is_spent(sessions, "old")
    assert await is_spent(sessions, "new")
