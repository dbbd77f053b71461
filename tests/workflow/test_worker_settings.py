"""The worker is built from the one settings object."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.attempt_clock import AttemptClock
from store.db import Sessions
from workers.settings import Settings
from workers.worker import build_worker


def _queue() -> str:
    # One worker per task queue and client: each build gets its own queue.
    return f"tq-{uuid.uuid4()}"


async def test_workflow_cache_size_comes_from_the_environment(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTNERFLOW_WORKER_MAX_CACHED_WORKFLOWS", "25")
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_TASK_QUEUE", queue := _queue())
    config = build_worker(time_skipping_env.client, Settings(), sessions).config()
    assert (config["task_queue"], config["max_cached_workflows"]) == (queue, 25)


async def test_any_cache_size_makes_a_worker(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions
) -> None:
    for cache in (0, 1, 5000):
        settings = Settings(worker_max_cached_workflows=cache, temporal_task_queue=_queue())
        config = build_worker(time_skipping_env.client, settings, sessions).config()
        assert config["max_cached_workflows"] == cache


async def test_every_activity_attempt_is_timed(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions
) -> None:
    # Without the clock a notification attempt cannot tell it is late (tests/faults).
    settings = Settings(temporal_task_queue=_queue())
    config = build_worker(time_skipping_env.client, settings, sessions).config()
    assert any(isinstance(i, AttemptClock) for i in config.get("interceptors", []))
