"""The SQLite engine: a process's writers take turns, none is refused, and the connection
always comes back."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text

from store.db import create_engine, sessionmaker
from store.migrate import upgrade
from store.schema import AuditEvent

WRITERS = 60
HOLD_SECONDS = 0.02


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    # Half a second instead of ten. Writers of one process wait their turn for its connection
    # and never meet SQLite's busy handler; one that did (sleeping and retrying against other
    # connections, not queueing) would fail here within the test, not after minutes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=500")
    cursor.close()


def _event(writer: int, step: str) -> AuditEvent:
    return AuditEvent(
        at=datetime.now(UTC),
        request_id=f"writer-{writer}-{step}",
        subject="test",
        role=None,
        agency_id=None,
        action="concurrent_write",
        method="POST",
        path="/test",
        status=200,
        remote=None,
    )


async def test_concurrent_writers_all_land_without_database_is_locked(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    event.listen(engine.sync_engine, "connect", _short_busy_timeout)
    try:
        await upgrade(engine)
        sessions = sessionmaker(engine)

        async def write(writer: int) -> None:
            # One transaction that writes, keeps the write lock a moment, and writes again.
            async with sessions.begin() as session:
                session.add(_event(writer, "first"))
                await session.flush()
                await asyncio.sleep(HOLD_SECONDS)
                session.add(_event(writer, "second"))

        outcomes = await asyncio.gather(*(write(n) for n in range(WRITERS)), return_exceptions=True)
        assert [o for o in outcomes if o is not None] == []
        async with sessions() as session:
            written = await session.scalar(select(func.count()).select_from(AuditEvent))
        assert written == 2 * WRITERS
    finally:
        await engine.dispose()


async def test_a_cancelled_session_gives_the_connection_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    try:
        sessions = sessionmaker(engine)
        entered = asyncio.Event()

        async def stuck() -> None:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
                entered.set()
                await asyncio.sleep(3600)

        task = asyncio.create_task(stuck())
        await entered.wait()
        task.cancel()
        async with asyncio.timeout(5), sessions() as session:
            assert await session.scalar(text("SELECT 1")) == 1
        assert task.cancelled()
    finally:
        await engine.dispose()


async def test_an_in_memory_database_still_works() -> None:
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        engine = create_engine(url)
        try:
            async with sessionmaker(engine).begin() as session:
                await session.execute(text("CREATE TABLE t (n INTEGER)"))
                await session.execute(text("INSERT INTO t VALUES (1), (2)"))
            async with sessionmaker(engine)() as session:
                assert await session.scalar(text("SELECT sum(n) FROM t")) == 3
        finally:
            await engine.dispose()
