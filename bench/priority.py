"""Urgent first when the workers are behind: start-to-notice of urgent against routine referrals.

A backlog builds while no worker runs: ``PARTNERFLOW_BENCH_BACKLOG`` routine referrals (default
150) are submitted, then ``PARTNERFLOW_BENCH_URGENT`` urgent ones (default 10), the urgent last.
Then one worker with few task slots starts, so the backlog lasts, and each referral's time from
submission to its agency notice in the ledger is measured. Without task priority the urgent
referrals, queued last, would wait longest; with it their tasks are taken first. The target
compares the urgent p95 with the routine p95 of the same run.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from bench.common import bench_stack, dev_server, percentile, report, submission
from clients.temporal import start_referral
from domain.directory import Urgency
from domain.referral import ReferralSubmission, referral_input
from store.db import Sessions
from store.referrals import next_referral_number, save_referral
from store.schema import NotificationRecord
from workers.worker import WORKFLOWS, activities, workflow_runner

BACKLOG = int(os.environ.get("PARTNERFLOW_BENCH_BACKLOG", "150"))
URGENT = int(os.environ.get("PARTNERFLOW_BENCH_URGENT", "10"))
PREFIX = "PRIO"


def _urgent(i: int) -> ReferralSubmission:
    routine = submission(i)
    need = routine.needs[0].model_copy(update={"urgency": Urgency.URGENT})
    return routine.model_copy(update={"needs": [need]})


async def _submit(
    client: Client, sessions: Sessions, queue: str, sub: ReferralSubmission
) -> tuple[str, float]:
    number = await next_referral_number(sessions, PREFIX, 2026)
    now = datetime.now(UTC)
    await save_referral(sessions, number, sub, submitted_by="bench", at=now)
    inp = referral_input(number, sub, submitted_by="bench", today=now.date())
    await start_referral(client, inp, task_queue=queue, since=now)
    return number, time.time()


async def _noticed(sessions: Sessions, numbers: set[str]) -> dict[str, float]:
    """When each referral's first agency notice went into the ledger (Unix seconds)."""
    async with sessions() as session:
        rows = await session.execute(
            select(NotificationRecord.subject_ref, NotificationRecord.sent_at).where(
                NotificationRecord.subject_ref.in_(numbers)
            )
        )
        first: dict[str, float] = {}
        for number, sent_at in rows:
            at = sent_at.timestamp()
            first[number] = min(at, first.get(number, at))
        return first


async def main() -> bool:
    """Build the backlog, drain it with one small worker, print both p95s and their ratio."""
    async with bench_stack() as (sessions, settings), dev_server() as env:
        client = env.client
        queue = f"bench-{uuid.uuid4()}"
        routine = [await _submit(client, sessions, queue, submission(i)) for i in range(BACKLOG)]
        urgent = [await _submit(client, sessions, queue, _urgent(i)) for i in range(URGENT)]
        submitted = dict(routine + urgent)
        started = time.perf_counter()
        async with Worker(
            client,
            task_queue=queue,
            workflows=list(WORKFLOWS),
            activities=activities(settings, sessions),
            max_concurrent_workflow_tasks=2,
            max_concurrent_activities=2,
            max_concurrent_local_activities=2,
            workflow_runner=workflow_runner(settings),
        ):
            noticed: dict[str, float] = {}
            while len(noticed) < len(submitted):
                await asyncio.sleep(0.5)
                noticed = await _noticed(sessions, set(submitted))
        drained = time.perf_counter() - started
    waits = {number: noticed[number] - at for number, at in submitted.items()}
    routine_p95 = percentile([waits[n] for n, _ in routine], 95)
    urgent_p95 = percentile([waits[n] for n, _ in urgent], 95)
    return report(
        f"Urgent first: {URGENT} urgent referrals submitted after a backlog of {BACKLOG} routine",
        {
            "backlog drained (one worker, 2 task slots each kind)": f"{drained:.1f} s",
            "routine submission → agency notice, p95": f"{routine_p95:.1f} s",
            "urgent submission → agency notice, p95": f"{urgent_p95:.1f} s",
        },
        {"urgent p95 / routine p95": (urgent_p95 / routine_p95, "< 0.5")},
    )


if __name__ == "__main__":
    raise SystemExit(0 if asyncio.run(main()) else 1)
