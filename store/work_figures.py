"""The current figures of the work, counted in the store for the metrics endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func, select

from domain.referral import FINAL_REFERRAL_STATUSES, NeedState
from store.db import Sessions
from store.overview import SIGN_IN_WINDOW
from store.schema import (
    NotificationFailure,
    NotificationRecord,
    PartnershipRow,
    ReferralNeedRow,
    ReferralRow,
)
from store.staff import failed_sign_ins


class WorkFigures(BaseModel):
    """Counts of notifications, referrals, needs and partnerships, as the store has them now."""

    delivered_by_channel: dict[str, int]
    failing: list[tuple[str, bool, int]]  # channel, retries given up, count
    referrals_by_status: dict[str, int]
    referrals_breached: int
    needs_unallocated: int
    partnerships_by_stage: dict[str, int]
    partnerships_overdue: int
    failed_sign_ins: int  # dashboard sign-ins refused in the last 24 hours


async def work_figures(sessions: Sessions) -> WorkFigures:
    """Every figure in one read."""
    async with sessions() as session:
        delivered = await session.execute(
            select(NotificationRecord.channel, func.count()).group_by(NotificationRecord.channel)
        )
        failing = await session.execute(
            select(NotificationFailure.channel, NotificationFailure.gave_up, func.count()).group_by(
                NotificationFailure.channel, NotificationFailure.gave_up
            )
        )
        by_status = await session.execute(
            select(ReferralRow.status, func.count()).group_by(ReferralRow.status)
        )
        breached = await session.scalar(
            select(func.count())
            .select_from(ReferralRow)
            .where(
                ReferralRow.breached.is_(True),
                ReferralRow.status.not_in([s.value for s in FINAL_REFERRAL_STATUSES]),
            )
        )
        unallocated = await session.scalar(
            select(func.count())
            .select_from(ReferralNeedRow)
            .where(ReferralNeedRow.state == NeedState.UNALLOCATED.value)
        )
        by_stage = await session.execute(
            select(PartnershipRow.stage, func.count()).group_by(PartnershipRow.stage)
        )
        overdue = await session.scalar(
            select(func.count()).select_from(PartnershipRow).where(PartnershipRow.overdue)
        )
        refused = await failed_sign_ins(session, since=datetime.now(UTC) - SIGN_IN_WINDOW)
        return WorkFigures(
            delivered_by_channel={channel: count for channel, count in delivered.all()},
            failing=[(channel, bool(gave_up), count) for channel, gave_up, count in failing.all()],
            referrals_by_status={status: count for status, count in by_status.all()},
            referrals_breached=breached or 0,
            needs_unallocated=unallocated or 0,
            partnerships_by_stage={stage: count for stage, count in by_stage.all()},
            partnerships_overdue=overdue or 0,
            failed_sign_ins=refused,
        )
