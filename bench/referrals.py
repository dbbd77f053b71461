"""Referrals end to end against the dev server next to bare workflows, in the same run.

N referrals go submit → accept → outcome through the Temporal client, with the real worker,
store (SQLite), directory and a local SMTP sink, and their half ends once every agency notice
is in the ledger; then N workflows that run one no-op activity.
The target compares each at its own size: a referral's Temporal steps per second (workflow
tasks, activities and local activities of the referral and its leg) against a bare workflow's
steps per second (target ≥ 0.9). A third half runs the referrals on a worker whose sandbox
re-imports every module for each run, to measure what passing modules through saves.
``PARTNERFLOW_BENCH_REFERRALS`` sets N (default 200) and
``PARTNERFLOW_BENCH_CONCURRENCY`` how many run at once (default 20).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import BareWorkflow, noop
from bench.common import AGENCY, bench_stack, dev_server, report, submission
from clients.temporal import LegUpdate, WorkflowGone, start_referral, update_leg
from domain.referral import (
    AgencyAction,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    format_referral_number,
    leg_id,
    referral_input,
)
from store.db import Sessions
from store.referrals import next_referral_number, save_referral
from store.schema import NotificationRecord
from workers.settings import Settings
from workers.worker import WORKFLOWS, activities, workflow_runner
from workflows.referral_leg import ReferralLegWorkflow

N = int(os.environ.get("PARTNERFLOW_BENCH_REFERRALS", "200"))
CONCURRENCY = int(os.environ.get("PARTNERFLOW_BENCH_CONCURRENCY", "20"))


async def _update_when_ready(
    client: Client, workflow_id: str, update: LegUpdate, arg: BaseModel
) -> None:
    """Run an update on a leg, waiting for the leg to exist first."""
    while True:
        try:
            await update_leg(client, workflow_id, update, arg, gone="no leg yet")
            return
        except WorkflowGone:
            await asyncio.sleep(0.05)


async def _referral(client: Client, sessions: Sessions, queue: str, prefix: str, i: int) -> None:
    sub = submission(i)
    number = await next_referral_number(sessions, prefix, 2026)
    now = datetime.now(UTC)
    await save_referral(sessions, number, sub, submitted_by="bench", at=now)
    await start_referral(
        client,
        referral_input(number, sub, submitted_by="bench", today=now.date()),
        task_queue=queue,
        since=now,
    )
    leg = leg_id(number, 1)
    action = AgencyAction(agency_id=AGENCY, actor="bench-agency")
    await _update_when_ready(client, leg, ReferralLegWorkflow.accept, action)
    outcome = RecordOutcome(
        **action.model_dump(), outcome=Outcome(code=OutcomeCode.GOT_HELP, value=100, unit="GBP")
    )
    await _update_when_ready(client, leg, ReferralLegWorkflow.record_outcome, outcome)


async def _bare(client: Client, queue: str, workflow_id: str | None = None) -> None:
    await client.execute_workflow(
        BareWorkflow.run, id=workflow_id or f"bare-{uuid.uuid4()}", task_queue=queue
    )


async def _steps(client: Client, *workflow_ids: str) -> tuple[int, int, int]:
    """Workflow tasks, activities and local activities these workflows have completed."""
    tasks = activities_done = local = 0
    for workflow_id in workflow_ids:
        handle = client.get_workflow_handle(workflow_id)
        # Notices may still be going out after the outcome: count them in.
        while (await handle.describe()).raw_description.pending_activities:  # noqa: ASYNC110 - polled server state
            await asyncio.sleep(0.1)
        async for event in handle.fetch_history_events():
            tasks += event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            activities_done += event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            local += event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    return tasks, activities_done, local


async def _notices_sent(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(NotificationRecord)) or 0)


async def _until_notices_sent(sessions: Sessions, count: int) -> None:
    """Wait until the ledger holds ``count`` sent notices: the agencies' notices may still be
    going out after the outcome, and that work belongs to the referrals' half."""
    while await _notices_sent(sessions) < count:  # noqa: ASYNC110 - polled store state
        await asyncio.sleep(0.05)


async def _timed(
    count: int,
    one: Callable[[int], Awaitable[None]],
    settled: Callable[[], Awaitable[None]] | None = None,
) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(i: int) -> None:
        async with gate:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(count)))
    if settled is not None:
        await settled()
    return time.perf_counter() - started


async def _referrals_with(
    client: Client, sessions: Sessions, settings: Settings, passthrough: bool, prefix: str
) -> float:
    """Seconds for N referrals on a worker whose sandbox passes modules through, or not."""
    queue = f"bench-{uuid.uuid4()}"
    tuned = settings.model_copy(update={"worker_sandbox_passthrough_modules": passthrough})
    async with Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=activities(settings, sessions),
        max_concurrent_activities=CONCURRENCY * 4,
        workflow_runner=workflow_runner(tuned),
    ):
        before = await _notices_sent(sessions)
        await _referral(client, sessions, queue, f"W{prefix}", 0)
        await _until_notices_sent(sessions, before + 1)
        per_referral = await _notices_sent(sessions) - before
        return await _timed(
            N,
            lambda i: _referral(client, sessions, queue, prefix, i),
            lambda: _until_notices_sent(sessions, before + per_referral * (N + 1)),
        )


async def main() -> bool:
    """Run the halves and print their rates, step rates and the ratios."""
    async with bench_stack() as (sessions, settings), dev_server() as env:
        client = env.client
        queue = f"bench-{uuid.uuid4()}"
        prefix = "BENCH"
        async with Worker(
            client,
            task_queue=queue,
            workflows=[*WORKFLOWS, BareWorkflow],
            activities=[*activities(settings, sessions), noop],
            max_concurrent_activities=CONCURRENCY * 4,
            workflow_runner=workflow_runner(settings),
        ):
            # Warm both paths so neither pays first-use costs in the measurement.
            await _referral(client, sessions, queue, "WARM", 0)
            await _steps(client, leg_id(format_referral_number("WARM", 2026, 1), 1))
            per_referral_notices = await _notices_sent(sessions)
            await _bare(client, queue)
            referral_s = await _timed(
                N,
                lambda i: _referral(client, sessions, queue, prefix, i),
                lambda: _until_notices_sent(sessions, per_referral_notices * (N + 1)),
            )
            bare_s = await _timed(N, lambda _i: _bare(client, queue))
            # What one of each asked of Temporal, to tell the size of the process
            # from the cost of each of its steps.
            number = format_referral_number(prefix, 2026, N // 2)
            referral_steps = await _steps(client, number, leg_id(number, 1))
            await _bare(client, queue, "bare-counted")
            bare_steps = await _steps(client, "bare-counted")
        # The same referrals with the sandbox re-importing every module for each run.
        reimport_s = await _referrals_with(client, sessions, settings, False, "REIMP")
    referral_rate, bare_rate = N / referral_s, N / bare_s
    per_referral, per_bare = sum(referral_steps), sum(bare_steps)
    referral_steps_s, bare_steps_s = referral_rate * per_referral, bare_rate * per_bare
    passthrough = settings.worker_sandbox_passthrough_modules
    return report(
        f"{N} referrals end to end next to {N} bare workflows (dev server, SQLite store)",
        {
            "referrals (submit → accept → outcome, notices sent)": (
                f"{referral_rate:.1f}/s ({referral_s:.1f} s)"
            ),
            "notices per referral": str(per_referral_notices),
            "bare workflows (one no-op activity)": f"{bare_rate:.1f}/s ({bare_s:.1f} s)",
            "concurrency": str(CONCURRENCY),
            "steps per referral (workflow tasks + activities + local activities, "
            "referral and leg)": " + ".join(map(str, referral_steps)) + f" = {per_referral}",
            "steps per bare workflow": " + ".join(map(str, bare_steps)) + f" = {per_bare}",
            "Temporal steps per second, referrals | bare workflows": (
                f"{referral_steps_s:.0f} | {bare_steps_s:.0f}"
            ),
            "referral rate / bare workflow rate (not a target: 22 steps against 3)": (
                f"{referral_rate / bare_rate:.3f}"
            ),
            f"referrals, sandbox passing modules through ({passthrough=})": (
                f"{referral_rate:.1f}/s"
            ),
            "referrals, sandbox re-importing modules for each run": (
                f"{N / reimport_s:.1f}/s ({reimport_s:.1f} s)"
            ),
            "per-step time, re-importing / passing through": f"{reimport_s / referral_s:.2f}",
        },
        {
            "referral steps per second / bare workflow steps per second": (
                referral_steps_s / bare_steps_s,
                ">= 0.9",
            )
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
