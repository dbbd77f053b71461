"""API tokens: issue, look up and revoke. Tokens are random; only their hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from domain.access import Principal, Role
from store.db import Sessions
from store.schema import ApiToken

TOKEN_PREFIX = "pf_"  # noqa: S105 - a marker, not a secret


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; passwords would need argon2.
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    sessions: Sessions,
    *,
    subject: str,
    role: Role,
    agency_id: str | None = None,
    valid_for: timedelta | None = None,
) -> tuple[str, str]:
    """Create a token for ``subject`` and return ``(token_id, token)``; the token is shown once."""
    principal = Principal(subject=subject, role=role, agency_id=agency_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(8)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        session.add(
            ApiToken(
                id=token_id,
                token_hash=_hash(token),
                subject=principal.subject,
                role=principal.role.value,
                agency_id=principal.agency_id,
                created_at=now,
                expires_at=now + valid_for if valid_for else None,
            )
        )
    return token_id, token


async def principal_for(sessions: Sessions, token: str) -> Principal | None:
    """The principal a token stands for, or None if unknown, revoked or expired."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    async with sessions() as session:
        row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        return None
    return Principal(subject=row.subject, role=Role(row.role), agency_id=row.agency_id)


async def revoke_token(sessions: Sessions, token_id: str) -> bool:
    """Revoke a token by id; False if there was no such live token."""
    async with sessions.begin() as session:
        result = await session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return bool(getattr(result, "rowcount", 0))


async def has_live_admin(sessions: Sessions) -> bool:
    """Whether any unrevoked admin token exists (the embedded stack makes one if not)."""
    async with sessions() as session:
        row = await session.scalar(
            select(ApiToken.id).where(
                ApiToken.role == Role.ADMIN.value, ApiToken.revoked_at.is_(None)
            )
        )
    return row is not None
