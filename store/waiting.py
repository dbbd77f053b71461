"""What waits on whom, read from the store: the overview's lines and the referral list's
"waiting on" column. The rules are in :mod:`domain.waiting`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from domain.referral import NeedState
from domain.waiting import OUTCOME_DUE, TO_ACCEPT, OpenLeg, Party, WaitingLine, sort_lines
from store.db import Sessions
from store.schema import (
    OrganisationRow,
    PartnershipRow,
    ReferralLegRow,
    ReferralNeedRow,
    ReferralRow,
)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


async def waiting_lines(
    sessions: Sessions, *, now: datetime, due_by: datetime
) -> list[WaitingLine]:
    """Every party with work outstanding, most pressing first."""
    leg = ReferralLegRow
    late = or_(leg.breached.is_(True), leg.deadline <= now)
    soon = and_(leg.breached.is_(False), leg.deadline > now, leg.deadline <= due_by)
    answers = (
        select(
            leg.agency_id,
            func.count(),
            _count_if(late),
            _count_if(soon),
            func.min(leg.sent_at),
        )
        .where(leg.state == TO_ACCEPT)
        .group_by(leg.agency_id)
    )
    outcomes = (
        select(leg.agency_id, func.count(), func.min(func.coalesce(leg.answered_at, leg.sent_at)))
        .where(leg.state.in_(OUTCOME_DUE))
        .group_by(leg.agency_id)
    )
    escalations = select(func.count(), func.min(leg.escalated_at)).where(
        leg.state == TO_ACCEPT, leg.escalated_at.is_not(None)
    )
    unallocated = (
        select(func.count(), func.min(ReferralRow.created_at))
        .select_from(ReferralNeedRow)
        .join(ReferralRow, ReferralRow.number == ReferralNeedRow.number)
        .where(ReferralNeedRow.state == NeedState.UNALLOCATED.value)
    )
    partners = select(
        func.count(),
        _count_if(PartnershipRow.overdue.is_(True)),
        _count_if(
            and_(
                PartnershipRow.overdue.is_(False),
                PartnershipRow.next_deadline > now,
                PartnershipRow.next_deadline <= due_by,
            )
        ),
        func.min(PartnershipRow.next_deadline),
    ).where(or_(PartnershipRow.overdue.is_(True), PartnershipRow.next_deadline <= due_by))
    async with sessions() as session:
        names = dict(
            (await session.execute(select(OrganisationRow.id, OrganisationRow.name))).all()
        )
        answer_rows = (await session.execute(answers)).all()
        outcome_rows = (await session.execute(outcomes)).all()
        escalated, escalated_since = (await session.execute(escalations)).one()
        unallocated_count, unallocated_since = (await session.execute(unallocated)).one()
        partner_row = (await session.execute(partners)).one()
    lines = [
        WaitingLine(
            party=Party.AGENCY,
            who=agency,
            name=names.get(agency, agency),
            work="referrals to accept or decline",
            total=total,
            breached=int(breached or 0),
            due_soon=int(due or 0),
            oldest_since=since,
            link=_referrals(waiting_on="agency", agency=agency),
        )
        for agency, total, breached, due, since in answer_rows
    ]
    lines += [
        WaitingLine(
            party=Party.AGENCY,
            who=agency,
            name=names.get(agency, agency),
            work="outcomes to record",
            total=total,
            oldest_since=since,
            link=_referrals(waiting_on="agency", agency=agency),
        )
        for agency, total, since in outcome_rows
    ]
    if unallocated_count:
        lines.append(
            WaitingLine(
                party=Party.COORDINATOR,
                who="coordinator",
                name="Co-ordinator",
                work="unallocated needs to place",
                total=unallocated_count,
                oldest_since=unallocated_since,
                link=_referrals(waiting_on="coordinator"),
            )
        )
    if escalated:
        lines.append(
            WaitingLine(
                party=Party.COORDINATOR,
                who="coordinator",
                name="Co-ordinator",
                work="escalations: referrals unanswered after a reminder",
                total=escalated,
                breached=escalated,
                oldest_since=escalated_since,
                link=_referrals(waiting_on="coordinator"),
            )
        )
    partner_total, partner_overdue, partner_due, partner_since = partner_row
    if partner_total:
        lines.append(
            WaitingLine(
                party=Party.PARTNERS,
                who="partners",
                name="Partners",
                work="partnership actions, commitments and quarterly returns",
                total=partner_total,
                breached=int(partner_overdue or 0),
                due_soon=int(partner_due or 0),
                oldest_since=partner_since,
                link="/partnerships?overdue=true" if partner_overdue else "/partnerships",
            )
        )
    return sort_lines(lines)


def _referrals(**filters: str) -> str:
    return "/referrals?" + urlencode(filters)


async def open_legs_of(sessions: Sessions, numbers: Iterable[str]) -> dict[str, list[OpenLeg]]:
    """The open legs of each of ``numbers`` (a page of the referral list)."""
    wanted = list(numbers)
    if not wanted:
        return {}
    leg = ReferralLegRow
    async with sessions() as session:
        rows = (
            await session.execute(
                select(leg.number, leg.agency_id, leg.state, leg.escalated_at)
                .where(leg.number.in_(wanted), leg.state.in_([TO_ACCEPT, *OUTCOME_DUE]))
                .order_by(leg.number, leg.leg_id)
            )
        ).all()
    result: dict[str, list[OpenLeg]] = {n: [] for n in wanted}
    for number, agency, state, escalated_at in rows:
        result[number].append(
            OpenLeg(agency_id=agency, state=state, escalated=escalated_at is not None)
        )
    return result


async def agencies_of(sessions: Sessions, numbers: Iterable[str]) -> dict[str, list[str]]:
    """Every agency each of ``numbers`` was sent to, in the order they were sent."""
    wanted = list(numbers)
    leg = ReferralLegRow
    async with sessions() as session:
        rows = (
            await session.execute(
                select(leg.number, leg.agency_id)
                .where(leg.number.in_(wanted))
                .order_by(leg.number, leg.sent_at, leg.leg_id)
            )
        ).all()
    result: dict[str, list[str]] = {n: [] for n in wanted}
    for number, agency in rows:
        if agency not in result[number]:
            result[number].append(agency)
    return result


async def unallocated_counts(sessions: Sessions, numbers: Iterable[str]) -> dict[str, int]:
    """How many unallocated needs each of ``numbers`` has (absent: none)."""
    wanted = list(numbers)
    need = ReferralNeedRow
    async with sessions() as session:
        rows = (
            await session.execute(
                select(need.number, func.count())
                .where(need.number.in_(wanted), need.state == NeedState.UNALLOCATED.value)
                .group_by(need.number)
            )
        ).all()
    return {number: count for number, count in rows}
