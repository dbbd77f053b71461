"""Staff accounts and browser sessions: argon2 passwords, hashed session ids, sign-in throttling."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal, Role
from domain.sign_in_throttle import (
    ADDRESS_WINDOW,
    PAIR_WINDOW,
    FailureHistory,
    wait_before_next,
)
from store.db import Sessions
from store.schema import LoginAttempt, StaffUser, WebSession

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("partnerflow-no-such-user")

SESSION_LIFETIME = timedelta(hours=8)
MIN_PASSWORD_LENGTH = 12


class UserExists(ValueError):
    """A user with that name is already registered."""


class Throttled(Exception):
    """This address failed too often lately; it may try again after ``retry_after``."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(f"too many failed sign-ins from here; try again in {seconds} s")

    @property
    def seconds(self) -> int:
        """Whole seconds to wait (at least one)."""
        return max(1, math.ceil(self.retry_after.total_seconds()))


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


async def _failure_history(
    session: AsyncSession, username: str, remote: str | None, now: datetime
) -> FailureHistory:
    failed = LoginAttempt.succeeded.is_(False)
    same_address = (
        LoginAttempt.remote.is_(None) if remote is None else LoginAttempt.remote == remote
    )
    last_success = await session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, same_address, LoginAttempt.succeeded.is_(True)
        )
    )
    pair_since = max(now - PAIR_WINDOW, last_success) if last_success else now - PAIR_WINDOW
    pair_count, pair_last = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                LoginAttempt.username == username,
                same_address,
                failed,
                LoginAttempt.at > pair_since,
            )
        )
    ).one()
    address_count, address_last = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                same_address, failed, LoginAttempt.at > now - ADDRESS_WINDOW
            )
        )
    ).one()
    return FailureHistory(
        pair_failures=pair_count or 0,
        pair_last_failure=pair_last,
        address_failures=address_count or 0,
        address_last_failure=address_last,
    )


async def sign_in(
    sessions: Sessions, *, username: str, password: str, remote: str | None
) -> tuple[str, SignedIn] | None:
    """Check a password and open a session: ``(cookie value, session)``, or None if wrong.

    Raises ``Throttled`` when this address has failed too often lately, on this account or
    on many (``domain.sign_in_throttle``): the attempt is not even checked then, so guessing
    gains nothing, and another address with the right password is not held up. A failure
    that makes this address wait raises it too. Attempts are kept in the store, so every
    API process sees the same history.
    """
    now = datetime.now(UTC)
    username = username[:100]
    async with sessions() as session:
        wait = wait_before_next(await _failure_history(session, username, remote, now), now)
        if wait > timedelta(0):
            raise Throttled(wait)
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
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    async with sessions.begin() as session:
        session.add(LoginAttempt(username=username, remote=remote, at=now, succeeded=ok))
        if not ok or user is None:
            await session.flush()
            wait = wait_before_next(await _failure_history(session, username, remote, now), now)
        else:
            if rehashed is not None:
                stored = await session.get(StaffUser, user.id)
                if stored is not None:
                    stored.password_hash = rehashed
            session.add(
                WebSession(
                    id_hash=_hash_id(cookie),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
    if not ok or user is None:
        if wait > timedelta(0):
            raise Throttled(wait)  # this failure made the address wait
        return None
    principal = Principal(subject=user.username, role=Role(user.role), agency_id=user.agency_id)
    return cookie, SignedIn(principal=principal, csrf_token=csrf, display_name=user.display_name)


async def failed_sign_ins(session: AsyncSession, *, since: datetime) -> int:
    """How many sign-ins failed (wrong name or password) since ``since``."""
    count = await session.scalar(
        select(func.count()).where(LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    )
    return int(count or 0)


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
