"""Scale-out: the referral rate with two worker processes against one, same run, same server.

`partnerflow worker --processes N` runs N worker processes, each with its own Temporal runtime,
so workflow code uses more than one core. N referrals are stored and started with no worker
polling; then `partnerflow worker --processes 1` drains them (each routed, its leg started and
its agency notified) and the time from its start to the last notice gives the rate; then the
same with `--processes 2`, on the same dev server and PostgreSQL store. Draining a backlog
measures the workers and the server, not the benchmark's own client; the clock starts once
every worker process polls. The dev server's and the workers' CPU share of the machine is
printed with each half.
``PARTNERFLOW_BENCH_SCALE`` sets N (default 200).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

import psutil

from bench.common import report, submission
from bench.referrals import CONCURRENCY, _notices_sent, _until_notices_sent
from bench.shape import Shape, production_shape
from domain.referral import REFERRAL_WORKFLOW, referral_input
from store.referrals import next_referral_number, save_referral

N = int(os.environ.get("PARTNERFLOW_BENCH_SCALE", "200"))


def _cpu(process: psutil.Process) -> float:
    """CPU seconds of a process and its children."""
    total = 0.0
    for p in (process, *process.children(recursive=True)):
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def _submit(shape: Shape, prefix: str, count: int = N) -> None:
    """Store ``count`` referrals and start their workflows, with no worker polling yet."""
    queue = shape.settings.temporal_task_queue
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            sub = submission(i)
            number = await next_referral_number(shape.sessions, prefix, 2026)
            now = datetime.now(UTC)
            await save_referral(shape.sessions, number, sub, submitted_by="bench", at=now)
            await shape.client.start_workflow(
                REFERRAL_WORKFLOW,
                referral_input(number, sub, submitted_by="bench", today=now.date()),
                id=number,
                task_queue=queue,
            )

    await asyncio.gather(*(one(i) for i in range(count)))


async def _half(shape: Shape, processes: int, prefix: str) -> tuple[float, float, float]:
    """Referrals per second that ``processes`` worker processes route and notify, draining a
    backlog of N; the dev server's and the workers' CPU share of the machine meanwhile."""
    await _submit(shape, prefix)
    before = await _notices_sent(shape.sessions)
    worker = await shape.start_workers(processes)
    assert worker.popen is not None
    tree = psutil.Process(worker.popen.pid)
    # Timed from the moment every process polls: start-up (imports) is not the drain.
    server_cpu, worker_cpu, started = _cpu(shape.server), _cpu(tree), time.perf_counter()
    left = before + N - await _notices_sent(shape.sessions)
    await _until_notices_sent(shape.sessions, before + N)
    seconds = time.perf_counter() - started
    cores = os.cpu_count() or 1
    server_share = (_cpu(shape.server) - server_cpu) / (seconds * cores)
    worker_share = (_cpu(tree) - worker_cpu) / (seconds * cores)
    worker.stop()
    return left / seconds, server_share, worker_share


async def _half_warm(shape: Shape) -> None:
    worker = await shape.start_workers(1)
    before = await _notices_sent(shape.sessions)
    await _submit(shape, "WARM", 5)
    await _until_notices_sent(shape.sessions, before + 5)
    worker.stop()


async def main() -> bool:
    """Both halves on one server; print the rates, CPU shares and the ratio."""
    async with production_shape() as shape:
        # Warm the server and the store: the first half must not pay first-use costs.
        await _half_warm(shape)
        one, server_one, workers_one = await _half(shape, 1, "ONE")
        two, server_two, workers_two = await _half(shape, 2, "TWO")
    return report(
        f"Scale-out: {N} referrals drained by 1 worker process, then by 2 (PostgreSQL)",
        {
            "1 worker process": f"{one:.1f} referrals/s routed and notified",
            "2 worker processes": f"{two:.1f} referrals/s routed and notified",
            "CPU share of the machine, dev server": f"{server_one:.0%} | {server_two:.0%}",
            "CPU share of the machine, workers": f"{workers_one:.0%} | {workers_two:.0%}",
            "cores": str(os.cpu_count()),
        },
        {"referral rate 2 worker processes / 1": (two / one, ">= 1.3")},
    )


if __name__ == "__main__":
    asyncio.run(main())
