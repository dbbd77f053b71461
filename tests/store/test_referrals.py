"""The referral store: numbering, personal data kept apart, idempotent records, erasure."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from domain.directory import NeedCategory, Urgency
from domain.referral import LegState, LegView, Need, Outcome, OutcomeCode
from domain.referral_records import LegRecord, ReferralEvent
from store.db import Sessions
from store.referrals import (
    ReferralFilter,
    consented_agencies,
    erase_personal_data,
    get_referral,
    list_referrals,
    load_personal_data,
    next_referral_number,
    record_leg,
    save_referral,
)
from store.schema import ReferralEventRow, ReferralOutcomeRow, ReferralRow
from store.worklists import worklist_legs
from tests.helpers.referral_world import RESIDENT_NAME, submission

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


async def test_numbers_are_sequential_per_prefix_and_year_and_never_shared(
    sessions: Sessions,
) -> None:
    assert await next_referral_number(sessions, "TEN", 2026) == "TEN-2026-000001"
    assert await next_referral_number(sessions, "TEN", 2027) == "TEN-2027-000001"
    assert await next_referral_number(sessions, "HAL", 2026) == "HAL-2026-000001"
    many = await asyncio.gather(*(next_referral_number(sessions, "TEN", 2026) for _ in range(20)))
    assert sorted(many) == [f"TEN-2026-{n:06d}" for n in range(2, 22)]


async def test_personal_data_is_kept_apart_and_erased(sessions: Sessions) -> None:
    await save_referral(sessions, "TEN-2026-000001", submission(), submitted_by="u", at=NOW)
    personal = await load_personal_data(sessions, "TEN-2026-000001")
    assert personal is not None
    assert personal.resident.name == RESIDENT_NAME
    assert personal.need_notes == {"N1": "Rent arrears since May"}
    assert await consented_agencies(sessions, "TEN-2026-000001") == {"cab", "charity", "council"}
    assert await erase_personal_data(sessions, "TEN-2026-000001")
    assert not await erase_personal_data(sessions, "TEN-2026-000001")
    assert await load_personal_data(sessions, "TEN-2026-000001") is None
    assert await consented_agencies(sessions, "TEN-2026-000001") == set()
    async with sessions() as session:
        row = await session.get(ReferralRow, "TEN-2026-000001")
    assert row is not None
    assert (row.ward, row.personal_data_erased) == ("pier", True)


async def test_recording_a_leg_twice_writes_it_once(sessions: Sessions) -> None:
    await save_referral(sessions, "TEN-2026-000001", submission(), submitted_by="u", at=NOW)
    leg = LegView(
        leg_id="TEN-2026-000001-L1",
        number="TEN-2026-000001",
        need_id="N1",
        category=NeedCategory.BENEFITS_DEBT,
        urgency=Urgency.ROUTINE,
        service_id="cab-debt",
        agency_id="cab",
        route_reason="best",
        state=LegState.OUTCOME_RECORDED,
        sent_at=NOW,
        deadline=NOW + timedelta(days=7),
        outcome=Outcome(code=OutcomeCode.GOT_HELP, value=1240, unit="GBP"),
        outcome_at=NOW,
        updated_at=NOW,
    )
    event = ReferralEvent(
        event_id="e1", number=leg.number, leg_id=leg.leg_id, at=NOW, kind="outcome", actor="cab-1"
    )
    record = LegRecord(view=leg, events=[event])
    await record_leg(sessions, record)
    await record_leg(sessions, record)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReferralEventRow)) == 1
        outcome = await session.get(ReferralOutcomeRow, leg.leg_id)
    assert outcome is not None
    assert (outcome.code, outcome.value, outcome.unit) == ("got_help", 1240, "GBP")


async def _seed(sessions: Sessions) -> None:
    for n, (ward, urgency) in enumerate(
        [("pier", "routine"), ("walton", "urgent"), ("pier", "emergency")], start=1
    ):
        need = Need(category=NeedCategory.BENEFITS_DEBT, urgency=Urgency(urgency))
        sub = submission(need).model_copy(update={"ward": ward})
        await save_referral(
            sessions, f"TEN-2026-00000{n}", sub, submitted_by="u", at=NOW + timedelta(hours=n)
        )
    leg = LegView(
        leg_id="TEN-2026-000002-L1",
        number="TEN-2026-000002",
        need_id="N1",
        category=NeedCategory.BENEFITS_DEBT,
        urgency=Urgency.URGENT,
        service_id="cab-debt",
        agency_id="cab",
        route_reason="best",
        sent_at=NOW,
        deadline=NOW,
        breached=True,
        updated_at=NOW,
    )
    await record_leg(sessions, LegRecord(view=leg))


async def test_list_filters_and_pages(sessions: Sessions) -> None:
    await _seed(sessions)

    async def numbers(**kwargs: object) -> list[str]:
        page = await list_referrals(sessions, ReferralFilter.model_validate(kwargs))
        return [item.number[-1] for item in page.items]

    assert await numbers() == ["3", "2", "1"]
    assert await numbers(ward="pier") == ["3", "1"]
    assert await numbers(urgency="urgent") == ["2"]
    assert await numbers(agency_id="cab") == ["2"]
    assert await numbers(status="open", created_from=NOW + timedelta(hours=2)) == ["3", "2"]
    assert await numbers(created_to=NOW + timedelta(hours=2)) == ["1"]
    assert await numbers(breached=False, limit=1, offset=1) == ["2"]
    page = await list_referrals(sessions, ReferralFilter(limit=2))
    assert (page.total, len(page.items)) == (3, 2)
    stored = await get_referral(sessions, "TEN-2026-000002")
    assert stored is not None
    assert [leg.agency_id for leg in stored.legs] == ["cab"]
    assert stored.consent_agency_ids == ["cab", "charity", "council"]
    assert [leg.leg_id for leg in await worklist_legs(sessions, "cab")] == ["TEN-2026-000002-L1"]
    assert await worklist_legs(sessions, "council") == []
    assert await get_referral(sessions, "TEN-2026-000009") is None
    assert RESIDENT_NAME not in stored.model_dump_json()


async def test_dashboard_filters_use_indexes(sessions: Sessions) -> None:
    """Each filter is answered from an index, so the list stays fast at 100k referrals."""
    engine = sessions.kw["bind"]
    for column in ("status", "ward", "urgency", "breached"):
        async with engine.connect() as conn:
            plan = (
                await conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN SELECT * FROM referrals WHERE {column} = ? "  # noqa: S608
                    "ORDER BY created_at DESC LIMIT 50",
                    ("x",),
                )
            ).all()
        detail = " ".join(str(row[-1]) for row in plan)
        assert f"USING INDEX ix_referrals_{column}_created_at" in detail, detail
        assert "TEMP B-TREE" not in detail, detail
    async with engine.connect() as conn:
        plan = (
            await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT number FROM referral_legs "
                "WHERE agency_id = ? AND state IN ('sent', 'accepted')",
                ("cab",),
            )
        ).all()
    # Either index on (agency, state) serves it: a search, not a scan of every leg.
    detail = " ".join(str(row[-1]) for row in plan)
    assert "SEARCH referral_legs USING" in detail, detail
    assert "agency_id=?" in detail, detail


async def test_the_same_store_functions_on_postgres(pg_sessions: Sessions) -> None:
    numbers = await asyncio.gather(
        *(next_referral_number(pg_sessions, "TEN", 2026) for _ in range(5))
    )
    assert sorted(numbers) == [f"TEN-2026-{n:06d}" for n in range(1, 6)]
    await _seed(pg_sessions)
    page = await list_referrals(pg_sessions, ReferralFilter(agency_id="cab", breached=False))
    assert [item.number for item in page.items] == ["TEN-2026-000002"]
    assert await erase_personal_data(pg_sessions, "TEN-2026-000002")
    assert await load_personal_data(pg_sessions, "TEN-2026-000002") is None
    stored = await get_referral(pg_sessions, "TEN-2026-000002")
    assert stored is not None
    assert stored.summary.personal_data_erased
    assert [leg.breached for leg in stored.legs] == [True]
