"""Scale-out: the referral rate with two worker processes against one, same run, same server.

`partnerflow worker --processes N` runs N worker processes, each with its own Temporal runtime,
so workflow code uses more than one core. N referrals go submit → accept → outcome (notices
sent) through the Temporal client, first against one worker process, then against two, with
the app database on PostgreSQL. The dev server's own CPU share is printed with each half: it
and the benchmark's driver share the machine with the workers. ``PARTNERFLOW_BENCH_SCALE``
sets N (default 200); ``PARTNERFLOW_BENCH_CONCURRENCY`` how many run at once (default 20).
"""

from __future__ import annotations

import asyncio
import os
import time

import psutil

from bench.common import report
from bench.referrals import _notices_sent, _referral, _timed, _until_notices_sent
from bench.shape import Shape, production_shape

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


async def _half(shape: Shape, processes: int, prefix: str) -> tuple[float, float, float]:
    """Referrals per second with ``processes`` workers; the server's and workers' CPU share."""
    worker = await shape.start_workers(processes)
    assert worker.popen is not None
    tree = psutil.Process(worker.popen.pid)
    # Warm every process: each pays its first-use costs outside the measurement.
    warm = await _notices_sent(shape.sessions)
    queue = shape.settings.temporal_task_queue
    for i in range(processes * 2):
        await _referral(shape.client, shape.sessions, queue, f"W{prefix}", i + 1)
    await _until_notices_sent(shape.sessions, warm + processes * 2)
    before = await _notices_sent(shape.sessions)
    server_cpu, worker_cpu, started = _cpu(shape.server), _cpu(tree), time.perf_counter()
    seconds = await _timed(
        N,
        lambda i: _referral(
            shape.client, shape.sessions, shape.settings.temporal_task_queue, prefix, i
        ),
        lambda: _until_notices_sent(shape.sessions, before + N),
    )
    wall = time.perf_counter() - started
    cores = os.cpu_count() or 1
    server_share = (_cpu(shape.server) - server_cpu) / (wall * cores)
    worker_share = (_cpu(tree) - worker_cpu) / (wall * cores)
    worker.stop()
    return N / seconds, server_share, worker_share


async def main() -> bool:
    """Both halves on one server; print the rates, CPU shares and the ratio."""
    async with production_shape() as shape:
        one, server_one, workers_one = await _half(shape, 1, "ONE")
        two, server_two, workers_two = await _half(shape, 2, "TWO")
    return report(
        f"Scale-out: {N} referrals with 1 worker process, then with 2 (PostgreSQL store)",
        {
            "1 worker process": f"{one:.1f} referrals/s",
            "2 worker processes": f"{two:.1f} referrals/s",
            "CPU share of the machine, dev server": f"{server_one:.0%} | {server_two:.0%}",
            "CPU share of the machine, workers": f"{workers_one:.0%} | {workers_two:.0%}",
            "cores": str(os.cpu_count()),
        },
        {"referral rate 2 worker processes / 1": (two / one, ">= 1.3")},
    )


if __name__ == "__main__":
    asyncio.run(main())
