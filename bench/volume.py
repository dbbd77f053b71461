"""Volume: many referrals submitted over HTTP through the production shape on this machine.

Two `partnerflow api` processes and `partnerflow worker --processes 2` on the dev server and
PostgreSQL; ``PARTNERFLOW_BENCH_VOLUME`` referrals (default 2,000) are submitted by
``PARTNERFLOW_BENCH_CONCURRENCY`` clients (default 20) alternating between the APIs, and the
run ends when every one is routed (its leg recorded) and its agency notified (the notice in
the ledger). Printed: elapsed time, referrals per hour, and each stage's rate from its first
to its last completion; the slowest stage is the one with the lowest rate.
"""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp

from bench.api_load import body
from bench.common import report
from bench.shape import production_shape
from domain.access import Role
from store.schema import NotificationRecord, ReferralLegRow
from store.tokens import issue_token

N = int(os.environ.get("PARTNERFLOW_BENCH_VOLUME", "2000"))
CONCURRENCY = int(os.environ.get("PARTNERFLOW_BENCH_CONCURRENCY", "20"))


def _rate(done: list[float]) -> float:
    """Completions per second from the first to the last."""
    return (len(done) - 1) / max(done[-1] - done[0], 1e-9)


async def main() -> bool:
    """Submit N referrals over HTTP, wait until each is routed and notified, print figures."""
    async with production_shape() as shape:
        _, token = await issue_token(shape.sessions, subject="bench", role=Role.REFERRER)
        await shape.start_workers(2)
        urls = [(await shape.start_api())[0] for _ in range(2)]
        submitted: list[float] = []
        errors: list[str] = []
        stages: dict[str, list[float]] = {"routed": [], "notified": []}
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(N):
            queue.put_nowait(i)
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {token}"}
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:

            async def client() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    url = urls[i % 2]
                    async with http.post(f"{url}/api/referrals", json=body(i)) as response:
                        await response.read()
                        if response.status == 201:
                            submitted.append(time.perf_counter())
                        else:
                            errors.append(f"{response.status}")

            async def watch() -> None:
                seen = {"routed": 0, "notified": 0}
                tables = {"routed": ReferralLegRow, "notified": NotificationRecord}
                while seen["notified"] < N - len(errors) or seen["routed"] < N - len(errors):
                    await asyncio.sleep(1)
                    now = time.perf_counter()
                    for stage, table in tables.items():
                        count = await shape.count(table)  # type: ignore[arg-type]
                        stages[stage] += [now] * (count - seen[stage])
                        seen[stage] = count

            await asyncio.gather(*(client() for _ in range(CONCURRENCY)), watch())
        elapsed = time.perf_counter() - started
    rates = {"submitted (HTTP 201)": _rate(submitted)}
    rates |= {f"{stage}": _rate(done) for stage, done in stages.items()}
    slowest = min(rates, key=lambda stage: rates[stage])
    return report(
        f"Volume: {N} referrals over HTTP through 2 APIs and 2 worker processes (PostgreSQL)",
        {
            "elapsed (first submission to last notice)": f"{elapsed:.0f} s",
            "referrals per hour": f"{len(submitted) * 3600 / elapsed:,.0f}",
            **{f"stage rate, {stage}": f"{rate:.1f}/s" for stage, rate in rates.items()},
            "slowest stage": slowest,
            "errors": str(len(errors)),
        },
        {"errors / submissions": (len(errors) / N, "<= 0")},
    )


if __name__ == "__main__":
    asyncio.run(main())
