"""Temporal Schedules partnerflow keeps: created or brought up to date at worker start."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from clients.temporal import ensure_schedule
from domain.oruk.sync import DirectorySyncInput, SyncRequest
from domain.retention import RetentionInput
from workers.settings import Settings
from workflows.directory_sync import DirectorySyncWorkflow
from workflows.retention import RetentionWorkflow

DIRECTORY_SYNC_SCHEDULE = "directory-sync"
RETENTION_SCHEDULE = "retention"


def directory_sync_schedule(settings: Settings) -> Schedule | None:
    """The periodic sync of the configured ORUK feed (none when no feed is configured)."""
    if not settings.directory_feed_url:
        return None
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DirectorySyncWorkflow.run,
            DirectorySyncInput(feed=SyncRequest(feed=settings.directory_feed_url, full=True)),
            id=DIRECTORY_SYNC_SCHEDULE,
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=timedelta(minutes=settings.directory_sync_minutes))
            ]
        ),
        # A slow feed must not pile up runs; the next tick picks up whatever changed.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


def retention_schedule(settings: Settings) -> Schedule:
    """Every night, erase the personal data of referrals closed longer than the period."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionWorkflow.run,
            RetentionInput(retention_days=settings.retention_days),
            id=RETENTION_SCHEDULE,
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(settings.retention_hour)], minute=[ScheduleRange(30)]
                )
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


def schedules(settings: Settings) -> dict[str, Schedule]:
    """Every schedule the settings ask for, by id."""
    wanted = {RETENTION_SCHEDULE: retention_schedule(settings)}
    directory = directory_sync_schedule(settings)
    if directory is not None:
        wanted[DIRECTORY_SYNC_SCHEDULE] = directory
    return wanted


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Create the schedules the settings ask for, or update them to match (idempotent)."""
    for schedule_id, schedule in schedules(settings).items():
        await ensure_schedule(client, schedule_id, schedule)
