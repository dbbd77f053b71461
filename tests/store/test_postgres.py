"""The store on PostgreSQL: the same migrations and queries as on SQLite."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.access import Role
from store.audit import append_audit, read_audit
from store.db import Sessions
from store.demo import demo_directory, load_demo_directory
from store.directory import active_services, load_directory
from store.schema import AuditEvent
from store.staff import create_user, session_for, sign_in
from store.tokens import issue_token, principal_for, revoke_token


async def test_migrations_and_directory_round_trip(pg_sessions: Sessions) -> None:
    assert await load_demo_directory(pg_sessions)
    loaded = await load_directory(pg_sessions)
    assert {s.id for s in loaded.services} == {s.id for s in demo_directory().services}
    assert len(await active_services(pg_sessions)) == len(demo_directory().services)


async def test_tokens_and_staff_sessions(pg_sessions: Sessions) -> None:
    token_id, token = await issue_token(
        pg_sessions,
        subject="cab",
        role=Role.AGENCY,
        agency_id="tendring-cab",
        valid_for=timedelta(days=1),
    )
    principal = await principal_for(pg_sessions, token)
    assert principal is not None
    assert principal.agency_id == "tendring-cab"
    assert await revoke_token(pg_sessions, token_id)
    assert await principal_for(pg_sessions, token) is None

    await create_user(
        pg_sessions, username="co", password="a long passphrase", role=Role.COORDINATOR
    )
    signed = await sign_in(
        pg_sessions, username="co", password="a long passphrase", remote="10.0.0.1"
    )
    assert signed is not None
    found = await session_for(pg_sessions, signed[0])
    assert found is not None
    assert found.principal.role is Role.COORDINATOR


async def test_audit_is_append_only_and_times_are_utc(pg_sessions: Sessions) -> None:
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    await append_audit(
        pg_sessions,
        AuditEvent(
            at=at,
            request_id="r1",
            subject="a",
            role="admin",
            agency_id=None,
            action="whoami",
            method="GET",
            path="/api/me",
            status=200,
            remote="127.0.0.1",
        ),
    )
    total, rows = await read_audit(pg_sessions, since=at - timedelta(seconds=1))
    assert total == 1
    assert rows[0].at == at
    assert rows[0].at.tzinfo is not None
    async with pg_sessions() as session:
        for statement in ("UPDATE audit_events SET subject = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()
