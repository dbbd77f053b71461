"""The partnerships read model: upserted by the workflows, listed by the API."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from domain.partnership import Stage
from domain.partnership_schedule import PartnershipSummary
from store.db import Sessions
from store.schema import PartnershipRow


async def save_partnership(sessions: Sessions, summary: PartnershipSummary) -> None:
    """Insert or replace the row of one partnership."""
    async with sessions.begin() as session:
        await session.merge(
            PartnershipRow(
                id=summary.id,
                name=summary.name,
                parent_id=summary.parent_id,
                strategic=summary.strategic,
                stage=summary.stage.value,
                cycle=summary.cycle,
                next_deadline=summary.next_deadline,
                overdue=summary.overdue,
                updated_at=datetime.now(UTC),
            )
        )


async def list_partnerships(
    sessions: Sessions,
    *,
    stage: Stage | None = None,
    overdue: bool | None = None,
    parent_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[PartnershipSummary]]:
    """Partnerships soonest deadline first (those with none last), with the total matching."""
    filters = []
    if stage is not None:
        filters.append(PartnershipRow.stage == stage.value)
    if overdue is not None:
        filters.append(PartnershipRow.overdue == overdue)
    if parent_id is not None:
        filters.append(PartnershipRow.parent_id == parent_id)
    page = (
        select(PartnershipRow)
        .where(*filters)
        .order_by(
            PartnershipRow.next_deadline.is_(None),
            PartnershipRow.next_deadline,
            PartnershipRow.id,
        )
        .limit(limit)
        .offset(offset)
    )
    async with sessions() as session:
        total = await session.scalar(
            select(func.count()).select_from(PartnershipRow).where(*filters)
        )
        rows = (await session.scalars(page)).all()
    return total or 0, [
        PartnershipSummary(
            id=r.id,
            name=r.name,
            parent_id=r.parent_id,
            strategic=r.strategic,
            stage=Stage(r.stage),
            cycle=r.cycle,
            next_deadline=r.next_deadline,
            overdue=r.overdue,
        )
        for r in rows
    ]
