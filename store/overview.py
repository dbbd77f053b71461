"""The overview every operator starts from: one read of the store, shared by the dashboard,
the ``partnerflow status`` command and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import case, func, select

from domain.directory import ServiceStatus
from domain.waiting import WaitingLine, due_soon_until
from store.db import Sessions
from store.partnerships import PartnershipFigures, partnership_figures
from store.referral_stats import referrals_by_status, unallocated_needs
from store.schema import (
    NotificationFailure,
    OrganisationRow,
    PartnershipRow,
    ReferralRow,
    ServiceRow,
)
from store.staff import failed_sign_ins
from store.waiting import waiting_lines

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
    link: str | None = None
    """The dashboard page of the referral or partnership it is about, if it has one."""


class Overview(BaseModel):
    """What is running, what waits on whom, what is late and what failed."""

    directory: DirectorySummary
    referrals_by_status: dict[str, int]
    unallocated_needs: int
    waiting: list[WaitingLine]
    failing_notifications: list[FailingNotification]
    failing_total: int
    """Notices failing now, every channel and cause."""
    failing_need_a_person: int
    """Notices that failed past their retry budget: nobody will try them again by themselves."""
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
        failing_total, failing_gave_up = (
            await session.execute(
                select(
                    func.count(),
                    func.sum(case((NotificationFailure.gave_up.is_(True), 1), else_=0)),
                )
            )
        ).one()
        failures = (
            await session.execute(
                select(NotificationFailure, ReferralRow.number, PartnershipRow.id)
                .outerjoin(ReferralRow, ReferralRow.number == NotificationFailure.subject_ref)
                .outerjoin(PartnershipRow, PartnershipRow.id == NotificationFailure.subject_ref)
                # Those needing a person first, then the latest.
                .order_by(
                    NotificationFailure.gave_up.desc(), NotificationFailure.last_failed_at.desc()
                )
                .limit(failing_limit)
            )
        ).all()
        refused = await failed_sign_ins(session, since=datetime.now(UTC) - SIGN_IN_WINDOW)
    active = by_status.pop(ServiceStatus.ACTIVE.value, 0)
    now = datetime.now(UTC)
    return Overview(
        referrals_by_status=await referrals_by_status(sessions),
        unallocated_needs=await unallocated_needs(sessions),
        waiting=await waiting_lines(sessions, now=now, due_by=due_soon_until(now)),
        failing_total=failing_total or 0,
        failing_need_a_person=int(failing_gave_up or 0),
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
                link=f"/referrals/{number}"
                if number
                else (f"/partnerships/{partnership}" if partnership else None),
            )
            for f, number, partnership in failures
        ],
        partnerships=await partnership_figures(sessions, now=now, week_ends=now + WEEK),
        failed_sign_ins=refused,
    )
