"""The operations pages at borough scale: 100,000 referrals in the store.

A SQLite store (as ``partnerflow up`` keeps it) is filled with a made-up year of referrals,
each with its leg, answers and outcomes, written straight into the read model
(``store.demo.history``). The real app then serves the overview (as operations staff), an
agency's worklist (as that agency) and the agencies page over HTTP, one request at a time,
each measured R times after a warm-up. Printed: the p50/p95 of each page and p95 / 200 ms,
the target being under 1. ``PARTNERFLOW_BENCH_OPERATIONS`` sets the number of referrals
(default 100,000) and ``PARTNERFLOW_BENCH_OPERATIONS_REQUESTS`` R (default 60).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from temporalio.client import Client

from api.app import create_app
from api.web.pages import SESSION_COOKIE
from bench.common import bench_stack, free_port, percentile, report
from domain.access import Role
from store.demo import demo_directory, demo_wards
from store.demo.history import HistoryShape, seed_history, services_of
from store.staff import create_user, sign_in

N = int(os.environ.get("PARTNERFLOW_BENCH_OPERATIONS", "100000"))
REQUESTS = int(os.environ.get("PARTNERFLOW_BENCH_OPERATIONS_REQUESTS", "60"))
TARGET_MS = 200.0
AGENCY = "tendring-cab"
PASSWORD = "a long enough bench password"  # noqa: S105 - a throwaway store's account


class _NoTemporal:
    """These pages read the store only; nothing here reaches Temporal."""

    async def client(self) -> Client:
        raise RuntimeError("the operations pages do not use Temporal")


async def _cookie(sessions: object, username: str) -> str:
    signed = await sign_in(sessions, username=username, password=PASSWORD, remote="bench")  # type: ignore[arg-type]
    assert signed is not None
    return signed[0]


async def _measure(url: str, cookie: str) -> list[float]:
    timings = []
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie}) as http:
        for n in range(REQUESTS + 3):
            started = time.perf_counter()
            async with http.get(url, allow_redirects=False) as response:
                await response.read()
                assert response.status == 200, f"{url}: {response.status}"
            if n >= 3:  # the first ones warm caches and the connection pool
                timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


async def main() -> bool:
    """Seed N referrals, serve the app, time the three pages; print figures and ratios."""
    async with bench_stack() as (sessions, _settings):
        started = time.perf_counter()
        written = await seed_history(
            sessions,
            HistoryShape(
                referrals=N,
                services=services_of(demo_directory().services),
                wards=[w.id for w in demo_wards()],
                now=datetime.now(UTC),
            ),
        )
        seeded = time.perf_counter() - started
        await create_user(sessions, username="ops", password=PASSWORD, role=Role.OPERATIONS)
        await create_user(
            sessions, username="cab", password=PASSWORD, role=Role.AGENCY, agency_id=AGENCY
        )
        ops, cab = await _cookie(sessions, "ops"), await _cookie(sessions, "cab")
        app = create_app(sessions=sessions, temporal=_NoTemporal(), task_queue="bench")
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        site = f"http://127.0.0.1:{port}"
        try:
            pages = {
                "overview": await _measure(f"{site}/", ops),
                "worklist": await _measure(f"{site}/worklist", cab),
                "agencies": await _measure(f"{site}/agencies", ops),
            }
        finally:
            await runner.cleanup()
    p95 = {name: percentile(ms, 95) for name, ms in pages.items()}
    load = os.getloadavg()
    return report(
        f"Operations pages over HTTP with {written:,} referrals in the store (SQLite)",
        {
            "seeding": f"{written:,} referrals with their legs in {seeded:.0f} s",
            "load average (1/5/15 min) after the run": " / ".join(f"{x:.1f}" for x in load),
            **{
                f"{name} p50 / p95": f"{percentile(ms, 50):.0f} / {p95[name]:.0f} ms "
                f"({len(ms)} requests)"
                for name, ms in pages.items()
            },
        },
        {f"{name} p95 / {TARGET_MS:.0f} ms": (p95[name] / TARGET_MS, "< 1") for name in pages},
    )


if __name__ == "__main__":
    asyncio.run(main())
