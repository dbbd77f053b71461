"""The worker is built from the one settings object."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import PollerBehaviorAutoscaling, PollerBehaviorSimpleMaximum, Replayer

from activities.attempt_clock import AttemptClock
from store.db import Sessions
from workers.settings import Settings
from workers.worker import WORKFLOWS, build_worker, workflow_runner

HISTORIES = Path(__file__).with_name("histories")


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


async def test_tuning_settings_reach_the_worker(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions
) -> None:
    settings = Settings(
        temporal_task_queue=_queue(),
        worker_max_concurrent_workflow_tasks=7,
        worker_max_concurrent_activities=9,
        worker_workflow_task_pollers=3,
        worker_activity_task_pollers=4,
    )
    config = build_worker(time_skipping_env.client, settings, sessions).config()
    assert (config["max_concurrent_workflow_tasks"], config["max_concurrent_activities"]) == (7, 9)
    assert config["workflow_task_poller_behavior"] == PollerBehaviorSimpleMaximum(3)
    assert config["activity_task_poller_behavior"] == PollerBehaviorSimpleMaximum(4)

    scaled = Settings(temporal_task_queue=_queue(), worker_poller_autoscaling=True)
    config = build_worker(time_skipping_env.client, scaled, sessions).config()
    assert isinstance(config["workflow_task_poller_behavior"], PollerBehaviorAutoscaling)
    assert isinstance(config["activity_task_poller_behavior"], PollerBehaviorAutoscaling)


async def test_every_committed_history_replays_in_the_production_sandbox() -> None:
    # The worker passes modules through the sandbox; determinism must not depend on re-imports.
    for passthrough in (True, False):
        replayer = Replayer(
            workflows=list(WORKFLOWS),
            data_converter=pydantic_data_converter,
            workflow_runner=workflow_runner(
                Settings(worker_sandbox_passthrough_modules=passthrough)
            ),
        )
        for path in sorted(HISTORIES.glob("*.json")):
            history = WorkflowHistory.from_json(path.stem, path.read_text())
            await replayer.replay_workflow(history)
