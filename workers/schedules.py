"""Temporal Schedules partnerflow keeps: created or brought up to date at worker start."""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from domain.oruk.sync import DirectorySyncInput, SyncRequest
from workers.settings import Settings
from workflows.directory_sync import DirectorySyncWorkflow

log = structlog.get_logger(__name__)

DIRECTORY_SYNC_SCHEDULE = "directory-sync"


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


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Create the schedules the settings ask for, or update them to match (idempotent)."""
    schedule = directory_sync_schedule(settings)
    if schedule is None:
        return
    try:
        await client.create_schedule(DIRECTORY_SYNC_SCHEDULE, schedule)
        log.info("schedule created", schedule_id=DIRECTORY_SYNC_SCHEDULE)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(DIRECTORY_SYNC_SCHEDULE).update(replace)
        log.info("schedule updated", schedule_id=DIRECTORY_SYNC_SCHEDULE)
