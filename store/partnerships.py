"""The partnerships read model: upserted by the workflows, listed by the API."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
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
    return total or 0, [_summary(r) for r in rows]


async def get_partnership(sessions: Sessions, partnership_id: str) -> PartnershipSummary | None:
    """One partnership's row, if its workflow has recorded it."""
    async with sessions() as session:
        row = await session.get(PartnershipRow, partnership_id)
    return _summary(row) if row is not None else None


def _summary(r: PartnershipRow) -> PartnershipSummary:
    return PartnershipSummary(
        id=r.id,
        name=r.name,
        parent_id=r.parent_id,
        strategic=r.strategic,
        stage=Stage(r.stage),
        cycle=r.cycle,
        next_deadline=r.next_deadline,
        overdue=r.overdue,
    )


class PartnershipFigures(BaseModel):
    """What the overview, the status command and /metrics say about partnerships."""

    by_stage: dict[str, int]
    overdue: list[PartnershipSummary]
    overdue_total: int
    due_this_week: list[PartnershipSummary]


async def partnership_figures(
    sessions: Sessions, *, now: datetime, week_ends: datetime, limit: int = 20
) -> PartnershipFigures:
    """Partnerships by stage; those waiting on an action, return or commitment past its
    deadline; and those with a reminder falling due between ``now`` and ``week_ends``."""
    async with sessions() as session:
        by_stage = {
            stage: count
            for stage, count in (
                await session.execute(
                    select(PartnershipRow.stage, func.count()).group_by(PartnershipRow.stage)
                )
            ).all()
        }
        overdue_total = await session.scalar(
            select(func.count()).select_from(PartnershipRow).where(PartnershipRow.overdue)
        )
        overdue = (
            await session.scalars(
                select(PartnershipRow)
                .where(PartnershipRow.overdue)
                .order_by(PartnershipRow.next_deadline, PartnershipRow.id)
                .limit(limit)
            )
        ).all()
        due = (
            await session.scalars(
                select(PartnershipRow)
                .where(
                    PartnershipRow.next_deadline >= now,
                    PartnershipRow.next_deadline < week_ends,
                )
                .order_by(PartnershipRow.next_deadline, PartnershipRow.id)
                .limit(limit)
            )
        ).all()
    return PartnershipFigures(
        by_stage=by_stage,
        overdue=[_summary(r) for r in overdue],
        overdue_total=overdue_total or 0,
        due_this_week=[_summary(r) for r in due],
    )
