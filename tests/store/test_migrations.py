"""The migrations build exactly the tables the code declares, on a fresh database, and carry
stored data across renames."""

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.referral import ReferralSource
from store.db import Sessions
from store.migrate import alembic_config
from store.referrals import get_referral, save_referral
from store.schema import Base, ReferralRow
from tests.helpers.referral_world import submission

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


async def test_migrations_match_the_declared_schema(sessions: Sessions) -> None:
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_web_referrals_stored_under_the_old_source_name_are_renamed(
    sessions: Sessions,
) -> None:
    """0160: referrals the website made before the rename read as ``web_signposting``."""
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    web = submission().model_copy(update={"source": ReferralSource.WEB_SIGNPOSTING})
    await save_referral(sessions, "TEN-2026-000001", web, submitted_by="u", at=NOW)
    await save_referral(sessions, "TEN-2026-000002", submission(), submitted_by="u", at=NOW)
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def migrate(connection: object, step: str) -> None:
        config.attributes["connection"] = connection
        if step == "down":
            command.downgrade(config, "0120")
        else:
            command.upgrade(config, "heads")

    async def sources() -> list[str]:
        async with sessions() as session:
            rows = await session.execute(select(ReferralRow.source).order_by(ReferralRow.number))
            return list(rows.scalars())

    async with engine.begin() as conn:
        await conn.run_sync(migrate, "down")
    assert await sources() == ["signposting_web", "reach_out"]
    async with engine.begin() as conn:
        await conn.run_sync(migrate, "up")
    assert await sources() == ["web_signposting", "reach_out"]
    stored = await get_referral(sessions, "TEN-2026-000001")
    assert stored is not None
    assert stored.summary.source is ReferralSource.WEB_SIGNPOSTING
