"""An agency's worklist as its staff read it: open legs most pressing first, counts by
state, and the legs finished lately."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, case, func, select

from domain.referral import LegState
from domain.waiting import OUTCOME_DUE, TO_ACCEPT, Pressure, due_soon_until, leg_pressure
from store.db import Sessions
from store.referrals import StoredLeg
from store.schema import ReferralLegRow, ReferralOutcomeRow, ReferralRow

WORKLIST_STATES = (TO_ACCEPT, *OUTCOME_DUE)
"""What a worklist is: the legs on which the agency owes something (an answer, an outcome)."""
FINISHED_STATES = tuple(s.value for s in LegState if s.value not in WORKLIST_STATES)
RECENT = timedelta(days=30)


def _to_do(agency_id: str) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """The worklist's rows and order, for the API and the dashboard alike: legs to answer
    first, by deadline; then outcomes due, oldest sent first."""
    leg = ReferralLegRow
    where = [leg.agency_id == agency_id, leg.state.in_(WORKLIST_STATES)]
    order = [
        case((leg.state == TO_ACCEPT, 0), else_=1),
        case((leg.state == TO_ACCEPT, leg.deadline), else_=leg.sent_at),
        leg.leg_id,
    ]
    return where, order


async def worklist_legs(
    sessions: Sessions, agency_id: str, *, limit: int = 100, offset: int = 0
) -> list[StoredLeg]:
    """A page of the agency's worklist as stored legs (``GET .../worklist``)."""
    where, order = _to_do(agency_id)
    async with sessions() as session:
        rows = await session.scalars(
            select(ReferralLegRow).where(*where).order_by(*order).limit(limit).offset(offset)
        )
        return [StoredLeg.model_validate(r, from_attributes=True) for r in rows.all()]


class WorklistRow(BaseModel):
    """One leg on the worklist: no personal data, nothing another agency did."""

    leg_id: str
    number: str
    category: str
    urgency: str
    ward: str
    service_id: str
    state: str
    breached: bool
    sent_at: datetime
    deadline: datetime
    answered_at: datetime | None
    updated_at: datetime
    outcome_code: str | None = None
    outcome_value: float | None = None
    outcome_unit: str | None = None
    offered: bool = False
    outcome_due_at: datetime | None = None
    outcome_overdue: bool = False
    pressure: Pressure = Pressure.WAITING


class WorklistView(BaseModel):
    """What an agency's worklist page shows."""

    agency_id: str
    counts: dict[str, int]
    """Legs by state: the active ones, and those finished within the last 30 days."""
    to_answer_breached: int
    rows: list[WorklistRow]
    total: int


async def worklist_view(
    sessions: Sessions,
    agency_id: str,
    *,
    recent: bool,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> WorklistView:
    """The active legs (to answer first, by deadline; then outcomes due, oldest first) or the
    ones finished in the last 30 days (newest first)."""
    leg = ReferralLegRow
    since = now - RECENT
    counts_query = (
        select(leg.state, func.count())
        .where(leg.agency_id == agency_id, leg.state.in_(WORKLIST_STATES))
        .group_by(leg.state)
    )
    recent_counts_query = (
        select(leg.state, func.count())
        .where(
            leg.agency_id == agency_id,
            leg.state.in_(FINISHED_STATES),
            leg.updated_at >= since,
        )
        .group_by(leg.state)
    )
    breached_query = select(func.count()).where(
        leg.agency_id == agency_id, leg.state == TO_ACCEPT, leg.deadline <= now
    )
    if recent:
        where = [
            leg.agency_id == agency_id,
            leg.state.in_(FINISHED_STATES),
            leg.updated_at >= since,
        ]
        order = [leg.updated_at.desc(), leg.leg_id]
    else:
        where, order = _to_do(agency_id)
    rows_query = (
        select(
            leg,
            ReferralRow.ward,
            ReferralOutcomeRow.code,
            ReferralOutcomeRow.value,
            ReferralOutcomeRow.unit,
        )
        .join(ReferralRow, ReferralRow.number == leg.number)
        .outerjoin(ReferralOutcomeRow, ReferralOutcomeRow.leg_id == leg.leg_id)
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    async with sessions() as session:
        counts = dict((await session.execute(counts_query)).all())
        counts.update(dict((await session.execute(recent_counts_query)).all()))
        breached = await session.scalar(breached_query)
        total = await session.scalar(select(func.count()).select_from(leg).where(*where))
        found = (await session.execute(rows_query)).all()
    rows = [
        WorklistRow(
            leg_id=row.leg_id,
            number=row.number,
            category=row.category,
            urgency=row.urgency,
            ward=ward,
            service_id=row.service_id,
            state=row.state,
            breached=row.breached,
            sent_at=row.sent_at,
            deadline=row.deadline,
            answered_at=row.answered_at,
            updated_at=row.updated_at,
            outcome_code=code,
            outcome_value=value,
            outcome_unit=unit,
            offered=row.offered,
            outcome_due_at=row.outcome_due_at,
            outcome_overdue=row.outcome_overdue,
            pressure=leg_pressure(
                state=row.state,
                deadline=row.deadline,
                breached=row.breached,
                now=now,
                due_by=due_soon_until(now),
            ),
        )
        for row, ward, code, value, unit in found
    ]
    return WorklistView(
        agency_id=agency_id,
        counts={state: int(n) for state, n in counts.items()},
        to_answer_breached=int(breached or 0),
        rows=rows,
        total=int(total or 0),
    )
