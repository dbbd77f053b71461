"""The partnerships read model: upserts and the dashboard's list order and filters."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.partnership import Stage
from domain.partnership_schedule import PartnershipSummary
from store.db import Sessions
from store.partnerships import list_partnerships, save_partnership


def summary(pid: str, **changes: object) -> PartnershipSummary:
    base = PartnershipSummary(
        id=pid,
        name=pid.title(),
        parent_id=None,
        strategic=False,
        stage=Stage.NEGOTIATE,
        cycle=1,
        next_deadline=None,
        overdue=False,
    )
    return base.model_copy(update=changes)


async def test_latest_summary_wins_and_list_is_by_next_deadline(sessions: Sessions) -> None:
    await check_read_model(sessions)


async def test_read_model_on_postgres(pg_sessions: Sessions) -> None:
    await check_read_model(pg_sessions)


async def check_read_model(sessions: Sessions) -> None:
    await save_partnership(sessions, summary("lsp", strategic=True))
    await save_partnership(
        sessions,
        summary("safer", parent_id="lsp", next_deadline=datetime(2027, 3, 1, 9, tzinfo=UTC)),
    )
    await save_partnership(
        sessions,
        summary(
            "healthy",
            parent_id="lsp",
            stage=Stage.IMPLEMENT,
            overdue=True,
            next_deadline=datetime(2027, 1, 4, 9, tzinfo=UTC),
        ),
    )
    await save_partnership(sessions, summary("lsp", strategic=True, stage=Stage.ESTABLISH))

    total, rows = await list_partnerships(sessions)
    assert total == 3
    assert [r.id for r in rows] == ["healthy", "safer", "lsp"]
    assert rows[2].stage is Stage.ESTABLISH
    assert rows[0].next_deadline == datetime(2027, 1, 4, 9, tzinfo=UTC)
    assert [r.id for r in (await list_partnerships(sessions, parent_id="lsp"))[1]] == [
        "healthy",
        "safer",
    ]
    assert (await list_partnerships(sessions, overdue=True))[0] == 1
    assert (await list_partnerships(sessions, stage=Stage.PLAN))[0] == 0
    total, page = await list_partnerships(sessions, limit=1, offset=1)
    assert (total, [r.id for r in page]) == (3, ["safer"])
