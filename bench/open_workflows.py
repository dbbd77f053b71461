"""Many open referrals held by one worker on the time-skipping server.

N referrals are submitted (stored, then started through the client) and routed until each
leg waits on its agency, on a worker configured as in production: it keeps at most
``PARTNERFLOW_WORKER_MAX_CACHED_WORKFLOWS`` runs in memory (default 1,000) and replays the
others from history when they wake. Printed: the time to start them, the worker process's
resident memory per open referral, and, after the server's clock jumps past their response
deadlines, the time until every reminder has been sent and recorded (evicted referrals
replayed). ``PARTNERFLOW_BENCH_OPEN`` sets N (default 1,000; RESULTS.md also has 10,000) and
``PARTNERFLOW_BENCH_CONCURRENCY`` the submissions in flight (default 20).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.common import SCRIPTS, bench_stack, report, submission
from clients.temporal import start_referral
from domain.referral import referral_input
from store.db import Sessions
from store.referrals import next_referral_number, save_referral
from store.schema import ReferralLegRow
from workers.worker import WORKFLOWS, activities
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

N = int(os.environ.get("PARTNERFLOW_BENCH_OPEN", "1000"))
CONCURRENCY = int(os.environ.get("PARTNERFLOW_BENCH_CONCURRENCY", "20"))


def rss_mib() -> float:
    """This process's resident set size in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _count(sessions: Sessions, *where: object) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(ReferralLegRow).where(*where)  # type: ignore[arg-type]
        )
    return int(found or 0)


async def _until(sessions: Sessions, target: int, *where: object) -> None:
    while await _count(sessions, *where) < target:  # noqa: ASYNC110 - polling the store
        await asyncio.sleep(0.5)


async def _submit_all(env: WorkflowEnvironment, sessions: Sessions, queue: str) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    today = datetime.now(UTC)

    async def one(i: int) -> None:
        async with gate:
            sub = submission(i)
            for attempt in range(5):
                try:
                    number = await next_referral_number(sessions, "OPEN", 2026)
                    await save_referral(sessions, number, sub, submitted_by="bench", at=today)
                    break
                except DBAPIError:
                    # SQLite is busy with the worker's writes: submit again, as the API's 503
                    # asks a client to.
                    if attempt == 4:
                        raise
                    await asyncio.sleep(1)
            await start_referral(
                env.client,
                referral_input(number, sub, submitted_by="bench", today=today.date()),
                task_queue=queue,
                since=today,
            )

    await asyncio.gather(*(one(i) for i in range(N)))


async def main() -> bool:
    """Start N referrals, hold them, jump the clock past their deadlines; print the figures."""
    async with bench_stack() as (sessions, settings):
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(SCRIPTS / "temporal-test-server"),
            data_converter=pydantic_data_converter,
        )
        try:
            await env.client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=env.client.namespace,
                    search_attributes={
                        key.name: IndexedValueType.ValueType(key.indexed_value_type)
                        for key in SEARCH_ATTRIBUTES
                    },
                )
            )
            queue = "bench-open"
            before = rss_mib()
            async with Worker(
                env.client,
                task_queue=queue,
                workflows=list(WORKFLOWS),
                activities=activities(settings, sessions),
                max_cached_workflows=settings.worker_max_cached_workflows,
                max_concurrent_activities=CONCURRENCY,
            ):
                started = time.perf_counter()
                await _submit_all(env, sessions, queue)
                submitted_s = time.perf_counter() - started
                await _until(sessions, N, ReferralLegRow.state == "sent")
                start_s = time.perf_counter() - started
                held = rss_mib()

                async with sessions() as session:
                    latest = await session.scalar(select(func.max(ReferralLegRow.deadline)))
                assert latest is not None
                # Past every response deadline, before any escalation (two working days on).
                jump = latest - await env.get_current_time() + timedelta(hours=1)
                started = time.perf_counter()
                # Thousands of timers fire in this one call, evicted referrals replaying
                # first: with 10,000 it outlasted half an hour.
                duration = Duration()
                duration.FromTimedelta(jump)
                await env.client.test_service.unlock_time_skipping_with_sleep(
                    SleepRequest(duration=duration), timeout=timedelta(hours=3)
                )
                await _until(sessions, N, ReferralLegRow.reminded_at.is_not(None))
                remind_s = time.perf_counter() - started
        finally:
            await env.shutdown()
    per_referral_kib = (held - before) * 1024 / N
    start_rate, remind_rate = N / start_s, N / remind_s
    return report(
        f"{N:,} open referrals held by one worker (time-skipping server, SQLite store)",
        {
            "submit (store + start through the client)": f"{submitted_s:.1f} s",
            "until every leg waits on its agency": f"{start_s:.1f} s ({start_rate:.1f}/s)",
            "worker process RSS": f"{before:.0f} MiB before, {held:.0f} MiB holding them",
            "workflow runs kept in memory": f"{settings.worker_max_cached_workflows:,}"
            f" of {2 * N:,} (referral + leg each)",
            "RSS per open referral": f"{per_referral_kib:.0f} KiB",
            "clock jumped": f"{jump.total_seconds() / 86400:.1f} days",
            "until every reminder is sent and recorded": f"{remind_s:.1f} s ({remind_rate:.1f}/s)",
        },
        {
            "reminder rate / start rate": (remind_rate / start_rate, ">= 0.5"),
            "RSS per open referral / 200 KiB": (per_referral_kib / 200, "< 1"),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
