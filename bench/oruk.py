"""The Open Referral UK API as other finders call it: distance and word searches over 10,000
services, measured over HTTP in one run.

Q requests to ``/oruk/services``, half ``?postcode=...&proximity=...`` (a random sector of the
demonstration borough, 500 m to 5 km) and half ``?search=...`` (one or two words), each
timed from request to the whole JSON page read (target: p95 under 50 ms for each kind).
``PARTNERFLOW_BENCH_ORUK_REQUESTS`` sets Q (default 400).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from urllib.parse import quote

import aiohttp
from aiohttp import web
from temporalio.client import Client

from api.app import create_app
from bench.common import bench_stack, free_port, percentile, report
from bench.find import SERVICES, WORDS, borough
from domain.oruk.query import OrukIndex
from store.demo import demo_postcode_sectors, load_demo_postcodes
from store.directory import save_directory
from store.oruk import directory_snapshot

REQUESTS = int(os.environ.get("PARTNERFLOW_BENCH_ORUK_REQUESTS", "400"))


class _NoTemporal:
    async def client(self) -> Client:
        raise RuntimeError("the ORUK API needs no Temporal")


async def _timed(http: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with http.get(url) as response:
        body = await response.json()
        assert response.status == 200, body
        assert "contents" in body, body
    return time.perf_counter() - started


async def main() -> bool:
    """Build the generated borough, then ask the ORUK API by distance and by words."""
    rng = random.Random(20261207)
    directory = borough(rng)
    sectors = [p.postcode for p in demo_postcode_sectors()]
    async with bench_stack() as (sessions, _settings):
        await load_demo_postcodes(sessions)
        async with sessions.begin() as session:
            await save_directory(session, directory)
        snap = await directory_snapshot(sessions)
        started = time.perf_counter()
        OrukIndex(snap.directory, snap.mapping, snap.last_modified)
        index_ms = (time.perf_counter() - started) * 1000
        app = create_app(sessions=sessions, temporal=_NoTemporal(), task_queue="unused")
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{port}/oruk/services"
        near: list[float] = []
        words: list[float] = []
        try:
            async with aiohttp.ClientSession() as http:
                await _timed(http, url)  # the first request builds the index, once per change
                for i in range(REQUESTS):
                    if i % 2 == 0:
                        postcode = quote(f"{rng.choice(sectors)}AB")
                        metres = rng.choice([500, 1000, 2000, 5000])
                        near.append(
                            await _timed(http, f"{url}?postcode={postcode}&proximity={metres}")
                        )
                    else:
                        search = quote(" ".join(rng.sample(WORDS, k=rng.choice([1, 2]))))
                        words.append(await _timed(http, f"{url}?search={search}"))
        finally:
            await runner.cleanup()
    near_ms = sorted(x * 1000 for x in near)
    words_ms = sorted(x * 1000 for x in words)
    n50, n95 = percentile(near_ms, 50), percentile(near_ms, 95)
    w50, w95 = percentile(words_ms, 50), percentile(words_ms, 95)
    return report(
        f"The ORUK API: {REQUESTS} list requests over {SERVICES:,} services",
        {
            "build the ORUK index (once per directory change)": f"{index_ms:.0f} ms",
            "postcode and proximity, p50 / p95": f"{n50:.1f} / {n95:.1f} ms",
            "search words, p50 / p95": f"{w50:.1f} / {w95:.1f} ms",
        },
        {
            "postcode and proximity p95 / 50 ms": (n95 / 50, "< 1"),
            "search p95 / 50 ms": (w95 / 50, "< 1"),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
