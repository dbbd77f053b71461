"""The migrations build exactly the tables the code declares, on a fresh database, and carry
stored data across renames."""

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.directory import NeedCategory, Urgency
from domain.referral import LegState, LegView, ReferralSource
from domain.referral_records import LegRecord, ReferralEvent
from store.db import Sessions
from store.migrate import alembic_config
from store.referrals import get_referral, record_leg, save_referral
from store.schema import Base, ReferralLegRow, ReferralRow
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


async def test_declines_recorded_before_their_reason_was_kept_get_it_from_their_words(
    sessions: Sessions,
) -> None:
    """0192: a declined leg's reason comes from its decline event's words; other if none."""
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    words = {
        "L1": "no capacity now",
        "L2": "not eligible: lives outside the borough",
        "L3": "better served elsewhere (charity-debt): specialist help",
        "L4": "could not contact the resident: rang twice",
        "L5": "not eligible, I think",  # before the list: the agency's own words
        "L6": "[erased]",
    }
    number = "TEN-2026-000001"
    await save_referral(sessions, number, submission(), submitted_by="u", at=NOW)
    for leg, detail in words.items():
        view = LegView(
            leg_id=f"{number}-{leg}",
            number=number,
            need_id="N1",
            category=NeedCategory.BENEFITS_DEBT,
            urgency=Urgency.ROUTINE,
            service_id="cab-debt",
            agency_id="cab",
            route_reason="best",
            state=LegState.DECLINED,
            sent_at=NOW,
            deadline=NOW,
            decline_reason=detail,
            updated_at=NOW,
        )
        event = ReferralEvent(
            event_id=f"e-{leg}",
            number=number,
            leg_id=view.leg_id,
            at=NOW,
            kind="declined",
            actor="cab-user",
            detail=detail,
        )
        await record_leg(sessions, LegRecord(view=view, events=[event]))
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def migrate(connection: object, step: str) -> None:
        config.attributes["connection"] = connection
        if step == "down":
            command.downgrade(config, "0190_spent_links")
        else:
            command.upgrade(config, "heads")

    async with engine.begin() as conn:
        await conn.run_sync(migrate, "down")
    async with engine.begin() as conn:
        await conn.run_sync(migrate, "up")
    async with sessions() as session:
        rows = await session.execute(
            select(ReferralLegRow.leg_id, ReferralLegRow.decline_why).order_by(
                ReferralLegRow.leg_id
            )
        )
        found = {leg_id.rsplit("-", 1)[1]: why for leg_id, why in rows.all()}
    assert found == {
        "L1": "no_capacity",
        "L2": "not_eligible",
        "L3": "better_served_elsewhere",
        "L4": "cannot_contact",
        "L5": "other",
        "L6": "other",
    }
