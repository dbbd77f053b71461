"""Idempotency keys of referral submissions: claim one before the referral is made.

The claim is one insert that the primary key (submitter, key) lets succeed once, so two
copies of a submission arriving together at different API processes make one referral.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.db import Sessions
from store.schema import SubmissionKey


@dataclass(frozen=True, kw_only=True)
class SeenSubmission:
    """A submission made before under the same key."""

    body_sha256: str
    number: str | None  # none: the first request is still making the referral
    created_at: datetime | None


async def claim_submission(
    sessions: Sessions,
    *,
    submitted_by: str,
    key: str,
    body_sha256: str,
    at: datetime,
    retention: timedelta,
) -> SeenSubmission | None:
    """Claim ``key`` for ``submitted_by``: None if this request should make the referral,
    else the earlier request's. Keys older than ``retention`` are forgotten first."""
    async with sessions.begin() as session:
        await session.execute(
            delete(SubmissionKey).where(SubmissionKey.received_at < at - retention)
        )
        bind: Any = session.bind
        insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
        claimed = await session.execute(
            insert(SubmissionKey)
            .values(
                submitted_by=submitted_by,
                idempotency_key=key,
                body_sha256=body_sha256,
                received_at=at,
                number=None,
                created_at=None,
            )
            .on_conflict_do_nothing(index_elements=["submitted_by", "idempotency_key"])
        )
        if getattr(claimed, "rowcount", 0) == 1:
            return None
        row = await session.scalar(
            select(SubmissionKey).where(
                SubmissionKey.submitted_by == submitted_by, SubmissionKey.idempotency_key == key
            )
        )
    assert row is not None  # the conflict was with this row, and nothing deletes it meanwhile
    return SeenSubmission(body_sha256=row.body_sha256, number=row.number, created_at=row.created_at)


async def settle_submission(
    sessions: Sessions, *, submitted_by: str, key: str, number: str, created_at: datetime
) -> None:
    """Record the referral a claimed key made; repeats are answered with it."""
    async with sessions.begin() as session:
        await session.execute(
            update(SubmissionKey)
            .where(SubmissionKey.submitted_by == submitted_by, SubmissionKey.idempotency_key == key)
            .values(number=number, created_at=created_at)
        )


async def release_submission(sessions: Sessions, *, submitted_by: str, key: str) -> None:
    """Forget a claim whose referral was not made (refused, or nothing could keep it), so a
    corrected or later retry with the same key may make it."""
    async with sessions.begin() as session:
        await session.execute(
            delete(SubmissionKey).where(
                SubmissionKey.submitted_by == submitted_by, SubmissionKey.idempotency_key == key
            )
        )
