"""The Schedules (directory sync, retention) are created once and brought up to date at each
worker start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from workers.schedules import DIRECTORY_SYNC_SCHEDULE, RETENTION_SCHEDULE, ensure_schedules
from workers.settings import Settings

pytestmark = pytest.mark.e2e


async def test_schedule_is_created_then_updated_idempotently(dev_env: WorkflowEnvironment) -> None:
    client = dev_env.client
    await ensure_schedules(client, Settings(directory_feed_url=None))
    assert DIRECTORY_SYNC_SCHEDULE not in [s.id async for s in await client.list_schedules()]

    feed = "https://directory.example.org/api/services"
    await ensure_schedules(client, Settings(directory_feed_url=feed, directory_sync_minutes=30))
    await ensure_schedules(client, Settings(directory_feed_url=feed, directory_sync_minutes=90))
    handle = client.get_schedule_handle(DIRECTORY_SYNC_SCHEDULE)
    try:
        described = await handle.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(minutes=90)]
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "DirectorySync"
        assert action.id == "directory-sync"
    finally:
        await handle.delete()


async def test_retention_runs_nightly_with_the_configured_period(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    await ensure_schedules(client, Settings(retention_days=400))
    await ensure_schedules(client, Settings(retention_days=90, retention_hour=3))
    handle = client.get_schedule_handle(RETENTION_SCHEDULE)
    try:
        described = await handle.describe()
        [calendar] = described.schedule.spec.calendars
        assert [r.start for r in calendar.hour] == [3]
        assert [r.start for r in calendar.minute] == [30]
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "RetentionWorkflow"
        [params] = await client.data_converter.decode(action.args)
        assert params["retention_days"] == 90
    finally:
        await handle.delete()
