"""The overview every operator starts from: one read of the store, shared by the dashboard,
the ``partnerflow status`` command and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from domain.directory import ServiceStatus
from store.db import Sessions
from store.partnerships import PartnershipFigures, partnership_figures
from store.referral_stats import late_referrals, referrals_by_status, unallocated_needs
from store.referrals import ReferralSummary
from store.schema import NotificationFailure, OrganisationRow, ServiceRow
from store.staff import failed_sign_ins

# "About to breach": a response deadline within this much of now.
DUE_SOON = timedelta(hours=24)
# The window of the failed sign-ins count.
SIGN_IN_WINDOW = timedelta(hours=24)
# "Due this week": a partnership reminder falling due within this much of now.
WEEK = timedelta(days=7)


class DirectorySummary(BaseModel):
    """How much of the directory can take referrals."""

    organisations: int
    active: int
    closed: int


class FailingNotification(BaseModel):
    """A notification that keeps failing: whom it is for and the last error."""

    channel: str
    recipient: str
    subject_ref: str
    workflow_id: str
    attempts: int
    last_error: str
    since: datetime
    last_failed_at: datetime
    gave_up: bool


class Overview(BaseModel):
    """What is running, what waits on whom, what is late and what failed."""

    directory: DirectorySummary
    referrals_by_status: dict[str, int]
    breached: list[ReferralSummary]
    due_soon: list[ReferralSummary]
    unallocated_needs: int
    failing_notifications: list[FailingNotification]
    partnerships: PartnershipFigures
    failed_sign_ins: int = Field(description="Dashboard sign-ins refused in the last 24 hours.")


async def read_overview(sessions: Sessions, *, failing_limit: int = 20) -> Overview:
    """The overview as the store knows it now."""
    async with sessions() as session:
        organisations = await session.scalar(select(func.count()).select_from(OrganisationRow))
        by_status: dict[str, int] = {
            status: count
            for status, count in (
                await session.execute(
                    select(ServiceRow.status, func.count()).group_by(ServiceRow.status)
                )
            ).all()
        }
        failures = (
            await session.scalars(
                select(NotificationFailure)
                .order_by(NotificationFailure.last_failed_at.desc())
                .limit(failing_limit)
            )
        ).all()
        refused = await failed_sign_ins(session, since=datetime.now(UTC) - SIGN_IN_WINDOW)
    active = by_status.pop(ServiceStatus.ACTIVE.value, 0)
    now = datetime.now(UTC)
    breached, due_soon = await late_referrals(sessions, due_before=now + DUE_SOON)
    return Overview(
        referrals_by_status=await referrals_by_status(sessions),
        breached=breached,
        due_soon=due_soon,
        unallocated_needs=await unallocated_needs(sessions),
        directory=DirectorySummary(
            organisations=organisations or 0, active=active, closed=sum(by_status.values())
        ),
        failing_notifications=[
            FailingNotification(
                channel=f.channel,
                recipient=f.recipient,
                subject_ref=f.subject_ref,
                workflow_id=f.workflow_id,
                attempts=f.attempts,
                last_error=f.last_error,
                since=f.first_failed_at,
                last_failed_at=f.last_failed_at,
                gave_up=f.gave_up,
            )
            for f in failures
        ],
        partnerships=await partnership_figures(sessions, now=now, week_ends=now + WEEK),
        failed_sign_ins=refused,
    )
