"""Idempotency keys of partner callbacks: claimed once, even by deliveries arriving together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from store.callbacks import SeenCallback, claim_callback, release_callback, settle_callback
from store.db import Sessions

AT = datetime(2026, 11, 23, 10, tzinfo=UTC)
WEEK = timedelta(days=7)


async def _claim(
    sessions: Sessions, key: str, *, agency: str = "cab", at: datetime = AT
) -> SeenCallback | None:
    return await claim_callback(
        sessions,
        agency_id=agency,
        key=key,
        body_sha256="a" * 64,
        event="leg.accepted",
        leg_id="L1",
        at=at,
        retention=WEEK,
    )


async def test_a_key_is_claimed_once_and_remembers_its_answer(sessions: Sessions) -> None:
    assert await _claim(sessions, "k1") is None
    seen = await _claim(sessions, "k1")
    assert seen is not None
    assert seen.status is None
    await settle_callback(sessions, agency_id="cab", key="k1", status=200)
    seen = await _claim(sessions, "k1")
    assert seen is not None
    assert seen.status == 200
    # Keys belong to one agency: another agency's same key is its own.
    assert await _claim(sessions, "k1", agency="charity") is None


async def test_deliveries_arriving_together_claim_once(sessions: Sessions) -> None:
    results = await asyncio.gather(*(_claim(sessions, "same") for _ in range(8)))
    assert sum(r is None for r in results) == 1


async def test_deliveries_arriving_together_claim_once_on_postgres(pg_sessions: Sessions) -> None:
    results = await asyncio.gather(*(_claim(pg_sessions, "same") for _ in range(8)))
    assert sum(r is None for r in results) == 1
    await settle_callback(pg_sessions, agency_id="cab", key="same", status=200)
    seen = await _claim(pg_sessions, "same")
    assert seen is not None
    assert seen.status == 200


async def test_released_and_expired_keys_can_be_claimed_again(sessions: Sessions) -> None:
    assert await _claim(sessions, "k2") is None
    await release_callback(sessions, agency_id="cab", key="k2")
    assert await _claim(sessions, "k2") is None
    assert await _claim(sessions, "k2", at=AT + WEEK - timedelta(minutes=1)) is not None
    assert await _claim(sessions, "k2", at=AT + WEEK + timedelta(minutes=1)) is None
