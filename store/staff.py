"""Staff accounts and browser sessions: argon2 passwords, hashed session ids, login throttling."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from domain.access import Principal, Role
from store.db import Sessions
from store.schema import LoginAttempt, StaffUser, WebSession

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("partnerflow-no-such-user")

SESSION_LIFETIME = timedelta(hours=8)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD_LENGTH = 12


class UserExists(ValueError):
    """A user with that name is already registered."""


class Throttled(Exception):
    """Too many failed sign-ins recently; try again later."""


@dataclass(frozen=True)
class SignedIn:
    """A live browser session: who it is and the token its forms must carry."""

    principal: Principal
    csrf_token: str
    display_name: str


def _hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def create_user(
    sessions: Sessions,
    *,
    username: str,
    password: str,
    role: Role,
    agency_id: str | None = None,
    display_name: str | None = None,
) -> str:
    """Register a staff user and return their id; weak passwords and taken names are refused."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    principal = Principal(subject=username, role=role, agency_id=agency_id)
    user_id = secrets.token_hex(8)
    try:
        async with sessions.begin() as session:
            session.add(
                StaffUser(
                    id=user_id,
                    username=principal.subject,
                    display_name=display_name or username,
                    password_hash=_hasher.hash(password),
                    role=principal.role.value,
                    agency_id=principal.agency_id,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        raise UserExists(f"a user named {username!r} exists already") from None
    return user_id


async def has_users(sessions: Sessions) -> bool:
    """Whether any staff user exists (the embedded stack makes the first admin if not)."""
    async with sessions() as session:
        return (await session.scalar(select(StaffUser.id).limit(1))) is not None


async def sign_in(
    sessions: Sessions, *, username: str, password: str, remote: str | None
) -> tuple[str, SignedIn] | None:
    """Check a password and open a session: ``(cookie value, session)``, or None if wrong.

    Raises ``Throttled`` when the name or the address has failed too often lately; the
    attempt is not even checked then, so guessing gains nothing.
    """
    now = datetime.now(UTC)
    async with sessions() as session:
        since = now - FAILURE_WINDOW
        by_user = await session.scalar(
            select(func.count()).where(
                LoginAttempt.username == username,
                LoginAttempt.at >= since,
                LoginAttempt.succeeded.is_(False),
            )
        )
        by_address = await session.scalar(
            select(func.count()).where(
                LoginAttempt.remote == remote,
                LoginAttempt.at >= since,
                LoginAttempt.succeeded.is_(False),
            )
        )
        if (by_user or 0) >= MAX_FAILURES_PER_USER or (by_address or 0) >= MAX_FAILURES_PER_ADDRESS:
            raise Throttled("too many failed sign-ins; wait 15 minutes and try again")
        user = await session.scalar(
            select(StaffUser).where(StaffUser.username == username, StaffUser.disabled_at.is_(None))
        )
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    # Hashing takes a while: do it before the transaction, which holds SQLite's write lock.
    rehashed = (
        _hasher.hash(password)
        if ok and user is not None and _hasher.check_needs_rehash(user.password_hash)
        else None
    )
    async with sessions.begin() as session:
        session.add(LoginAttempt(username=username[:100], remote=remote, at=now, succeeded=ok))
        if not ok or user is None:
            return None
        if rehashed is not None:
            stored = await session.get(StaffUser, user.id)
            if stored is not None:
                stored.password_hash = rehashed
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.add(
            WebSession(
                id_hash=_hash_id(cookie),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    principal = Principal(subject=user.username, role=Role(user.role), agency_id=user.agency_id)
    return cookie, SignedIn(principal=principal, csrf_token=csrf, display_name=user.display_name)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def session_for(sessions: Sessions, cookie: str) -> SignedIn | None:
    """The live session behind a cookie value, or None if unknown, expired or disabled."""
    async with sessions() as session:
        row = await session.execute(
            select(WebSession, StaffUser)
            .join(StaffUser, StaffUser.id == WebSession.user_id)
            .where(WebSession.id_hash == _hash_id(cookie))
        )
        found = row.first()
    if found is None:
        return None
    web_session, user = found
    if web_session.expires_at <= datetime.now(UTC) or user.disabled_at is not None:
        return None
    return SignedIn(
        principal=Principal(subject=user.username, role=Role(user.role), agency_id=user.agency_id),
        csrf_token=web_session.csrf_token,
        display_name=user.display_name,
    )


async def sign_out(sessions: Sessions, cookie: str) -> None:
    """End a session at once."""
    async with sessions.begin() as session:
        await session.execute(delete(WebSession).where(WebSession.id_hash == _hash_id(cookie)))
