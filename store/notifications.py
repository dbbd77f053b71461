"""The notification ledger: claims on idempotency keys, delivered messages, failures.

A key in the ledger is never sent again; a claim holds a key for one attempt and lapses when
that attempt is out of time; a failure is noted where staff can see it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from store.db import Sessions
from store.schema import NotificationClaim, NotificationFailure, NotificationRecord

LedgerError = SQLAlchemyError
"""Any failure to read or write the ledger."""
LEDGER_BUSY = (OperationalError, PoolTimeout)
"""A ledger briefly locked or out of connections: worth writing again."""


class Claim(StrEnum):
    """What claiming a key found."""

    CLAIMED = "claimed"  # this attempt holds it now
    SENT = "sent"  # the ledger has it: already delivered
    HELD = "held"  # another execution holds it


class SentMessage(BaseModel):
    """A delivered message as the ledger records it."""

    key: str
    channel: str
    recipient: str
    ref: str
    summary: str
    sent_at: datetime


class FailedAttempt(BaseModel):
    """One failed attempt to deliver a message."""

    key: str
    channel: str
    recipient: str
    ref: str
    workflow_id: str
    attempt: int
    error: str
    at: datetime
    gave_up: bool


async def claim_key(sessions: Sessions, key: str, *, now: datetime, until: datetime) -> Claim:
    """Hold ``key`` until ``until``, unless it was sent or another execution holds it."""
    try:
        async with sessions.begin() as session:
            if await session.get(NotificationRecord, key) is not None:
                return Claim.SENT
            lapsed = await session.execute(
                update(NotificationClaim)
                .where(NotificationClaim.idempotency_key == key, NotificationClaim.until <= now)
                .values(until=until)
            )
            if getattr(lapsed, "rowcount", 0) != 1:
                if await session.get(NotificationClaim, key) is not None:
                    return Claim.HELD
                session.add(NotificationClaim(idempotency_key=key, until=until))
    except IntegrityError:
        # Another execution inserted its claim first.
        return Claim.HELD
    return Claim.CLAIMED


async def release_key(sessions: Sessions, key: str) -> None:
    """Give up the claim on ``key`` (the next attempt sends)."""
    async with sessions.begin() as session:
        await session.execute(
            delete(NotificationClaim).where(NotificationClaim.idempotency_key == key)
        )


async def note_failure(sessions: Sessions, failed: FailedAttempt) -> None:
    """Note the failed attempt and give up its claim, so the next need not wait for it."""
    async with sessions.begin() as session:
        row = await session.get(NotificationFailure, failed.key)
        if row is None:
            row = NotificationFailure(
                idempotency_key=failed.key,
                channel=failed.channel,
                recipient=failed.recipient,
                subject_ref=failed.ref,
                workflow_id=failed.workflow_id,
                attempts=0,
                first_failed_at=failed.at,
            )
            session.add(row)
        row.attempts = failed.attempt
        row.last_error = failed.error[:1000]
        row.last_failed_at = failed.at
        row.gave_up = failed.gave_up
        await session.execute(
            delete(NotificationClaim).where(NotificationClaim.idempotency_key == failed.key)
        )


async def record_sent(sessions: Sessions, sent: SentMessage) -> bool:
    """Record a delivered message in place of its claim and failures; False when the key was
    recorded already (an execution that outlived its claim sent it). A busy ledger raises one
    of :data:`LEDGER_BUSY`."""
    try:
        async with sessions.begin() as session:
            session.add(
                NotificationRecord(
                    idempotency_key=sent.key,
                    channel=sent.channel,
                    recipient=sent.recipient,
                    subject_ref=sent.ref,
                    summary=sent.summary[:500],
                    sent_at=sent.sent_at,
                )
            )
            for table in (NotificationClaim, NotificationFailure):
                await session.execute(delete(table).where(table.idempotency_key == sent.key))
    except IntegrityError:
        return False
    return True
