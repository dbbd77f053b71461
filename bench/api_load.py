"""The HTTP API under load: concurrent referral submissions to the running stack.

The API (aiohttp, served on a real port) and the worker run in this process on the dev server,
with the SQLite store and a local SMTP sink, as ``partnerflow up`` runs them. C clients submit
N referrals over HTTP (``POST /api/referrals``) as fast as the API answers; each submission
stores the referral and starts its workflow, while the worker routes the ones already in.
Printed: throughput, p50/p95/p99 latency and errors (target: none). ``PARTNERFLOW_BENCH_API``
sets N (default 500) and ``PARTNERFLOW_BENCH_API_CLIENTS`` C (default 20).
"""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
from aiohttp import web
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from api.http.parser_errors import ApiRunner
from bench.common import bench_stack, dev_server, free_port, percentile, report, submission
from domain.access import Role
from store.tokens import issue_token
from workers.worker import WORKFLOWS, activities

N = int(os.environ.get("PARTNERFLOW_BENCH_API", "500"))
CLIENTS = int(os.environ.get("PARTNERFLOW_BENCH_API_CLIENTS", "20"))


def body(i: int) -> dict[str, object]:
    """A submission as its JSON body."""
    return submission(i).model_dump(mode="json")


class _Temporal:
    """The API's link to Temporal: the dev server's client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def client(self) -> Client:
        return self._client


async def _load(url: str, token: str) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(N):
        queue.put_nowait(i)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def client() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                started = time.perf_counter()
                async with http.post(f"{url}/api/referrals", json=body(i)) as response:
                    await response.read()
                    if response.status != 201:
                        errors.append(f"{response.status} {response.reason}")
                latencies.append(time.perf_counter() - started)

        # One warm-up request, not measured.
        async with http.post(f"{url}/api/referrals", json=body(-1)) as response:
            assert response.status == 201, await response.text()
        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


async def main() -> bool:
    """Serve the API and the worker, submit N referrals from C clients, print the figures."""
    async with bench_stack() as (sessions, settings):
        _, token = await issue_token(sessions, subject="bench", role=Role.REFERRER)
        async with dev_server() as env:
            queue = "bench-api"
            app = create_app(sessions=sessions, temporal=_Temporal(env.client), task_queue=queue)
            runner = ApiRunner(app, access_log=None)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            try:
                async with Worker(
                    env.client,
                    task_queue=queue,
                    workflows=list(WORKFLOWS),
                    activities=activities(settings, sessions),
                ):
                    latencies, errors, elapsed = await _load(f"http://127.0.0.1:{port}", token)
            finally:
                await runner.cleanup()
    ms = sorted(x * 1000 for x in latencies)
    p50, p95, p99 = (percentile(ms, q) for q in (50, 95, 99))
    return report(
        f"{N} referral submissions over HTTP from {CLIENTS} clients (API + worker, dev server)",
        {
            "throughput": f"{N / elapsed:.1f} submissions/s ({elapsed:.1f} s)",
            "latency p50 / p95 / p99": f"{p50:.0f} / {p95:.0f} / {p99:.0f} ms",
            "errors": f"{len(errors)}" + (f" (first: {errors[0]})" if errors else ""),
        },
        {
            "errors / submissions": (len(errors) / N, "<= 0"),
            "p99 latency / p50 latency": (p99 / p50, "< 10"),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
