"""Engine and sessions: one async engine per process; a SQLite file through one connection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

Sessions = async_sessionmaker[AsyncSession]

# How long a transaction may wait for the one SQLite connection before it fails. The wait is
# for the work queued ahead of it, so it only grows this long if something holds a session
# far too long; then an error says so rather than a hang.
SQLITE_QUEUE_TIMEOUT_SECONDS = 60.0
# How long a SQLite connection waits for another process's write lock before "locked".
SQLITE_BUSY_SECONDS = 10


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets another process (a separate worker) read while this one writes; NORMAL sync is
    # safe under WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Waits on another process's write lock; this process's own transactions queue instead.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    # Deleted personal data is overwritten, not left in free pages of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _is_sqlite_file(url: URL) -> bool:
    # As SQLAlchemy decides it: anything but ":memory:", an empty name or mode=memory.
    return bool(url.database) and url.database != ":memory:" and url.query.get("mode") != "memory"


def _create_private(database: Path) -> None:
    # Residents' data: the file is the owner's alone, whatever the umask; SQLite gives its
    # WAL and SHM files the database file's mode, so they are private too.
    if not database.parent.exists():
        database.parent.mkdir(parents=True, mode=0o700)
        os.chmod(database.parent, 0o700)
    if not database.exists():
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(database, 0o600)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url``.

    A SQLite file gets its folder, the WAL pragmas and exactly one pooled connection. SQLite
    lets one writer in at a time and makes the others sleep and retry, not wait in turn, so
    with several connections a busy process could leave one writer retrying until it fails
    with "database is locked". With one connection, transactions wait in the pool's queue
    instead, woken in the order they asked (one arriving just as the connection comes back
    may take it first). So nothing may open a second session while it holds one, nor hold
    one across a slow call that is not the database's: close it first.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if _is_sqlite_file(parsed):
            _create_private(Path(str(parsed.database)))
            engine = create_async_engine(
                url,
                echo=echo,
                pool_size=1,
                max_overflow=0,
                pool_timeout=SQLITE_QUEUE_TIMEOUT_SECONDS,
            )
        else:
            # In memory: SQLAlchemy's one shared connection (the database lives in it).
            engine = create_async_engine(url, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True)


def sessionmaker(engine: AsyncEngine) -> Sessions:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(sessions: Sessions) -> None:
    """Ask the database the smallest question; raises if it cannot answer."""
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
