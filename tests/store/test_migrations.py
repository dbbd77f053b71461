"""The migrations build exactly the tables the code declares, on a fresh database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import Sessions
from store.schema import Base


async def test_migrations_match_the_declared_schema(sessions: Sessions) -> None:
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
