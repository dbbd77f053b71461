"""The public website: finder searches over 10,000 services, and self-referrals until the
referral is visible, measured over HTTP in one run.

Searching: S searches (random need, words, postcode and filters) against a directory of
10,000 generated services, each timed from the search form's post to the results page
(target: p95 under 50 ms). Referring: R residents answer the journey's pages and send it,
each timed from sending to the referral being visible through ``GET /api/referrals/{number}``
(target: p95 under 1 s), with the worker routing them on the dev server meanwhile.
``PARTNERFLOW_BENCH_FIND_SEARCHES`` sets S (default 300), ``PARTNERFLOW_BENCH_FIND_REFERRALS``
R (default 40).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time

import aiohttp
from aiohttp import web
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from api.find.site import FindConfig
from api.web.pages import WebConfig
from bench.common import bench_stack, dev_server, free_port, percentile, report
from domain.access import Role
from domain.directory import Capacity, Directory, NeedCategory
from domain.find import FinderIndex, FinderQuery, Place
from store.db import Sessions
from store.demo import demo_postcode_sectors, demo_wards, load_demo_postcodes
from store.directory import save_directory
from store.tokens import issue_token
from workers.worker import WORKFLOWS, activities

SEARCHES = int(os.environ.get("PARTNERFLOW_BENCH_FIND_SEARCHES", "300"))
REFERRALS = int(os.environ.get("PARTNERFLOW_BENCH_FIND_REFERRALS", "40"))
SERVICES = 10_000
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WORDS = ["advice", "debt", "housing", "lonely", "family", "work", "health", "club", "support"]


def borough(rng: random.Random, services: int = SERVICES) -> Directory:
    """A borough-scale directory in the demo's wards, with points, costs and opening days."""
    wards = [w.id for w in demo_wards()]
    categories = list(NeedCategory)
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
    return Directory.model_validate(
        {
            "organisations": [
                {"id": f"org-{i:04d}", "name": f"Organisation {i}", "email": f"o{i}@ex.org"}
                for i in range((services + 9) // 10)
            ],
            "services": [
                {
                    "id": f"svc-{i:05d}",
                    "organisation_id": f"org-{i // 10:04d}",
                    "name": f"{rng.choice(WORDS).capitalize()} service {i}",
                    "description": " ".join(rng.sample(WORDS, k=3)),
                    "categories": rng.sample(categories, k=rng.randint(1, 3)),
                    "areas": rng.sample(wards, k=rng.choice([0, 0, 1, 2])),
                    "capacity": rng.choice(list(Capacity)),
                    "email": f"s{i}@ex.org",
                    "eligibility": {"minimum_age": rng.choice([None, None, 16, 18, 60])},
                    "details": {
                        "free": rng.choice([True, False, None]),
                        "latitude": 51.78 + rng.random() * 0.17,
                        "longitude": 1.02 + rng.random() * 0.27,
                        "opening_times": [
                            {"weekday": d, "opens": "09:00", "closes": "17:00"}
                            for d in rng.sample(days, k=rng.randint(0, 5))
                        ],
                    },
                }
                for i in range(services)
            ],
        }
    )


class _Temporal:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def client(self) -> Client:
        return self._client


async def _csrf(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        found = _CSRF.search(await response.text())
    assert found is not None, url
    return found.group(1)


async def _searches(url: str, rng: random.Random) -> list[float]:
    sectors = [p.postcode for p in demo_postcode_sectors()]
    timings: list[float] = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _csrf(http, f"{url}/find/")
        for i in range(SEARCHES + 5):
            form = {
                "csrf_token": token,
                "need": rng.choice(["", *(c.value for c in NeedCategory)]),
                "keywords": rng.choice(["", "", *WORDS]),
                "location": rng.choice(["", f"{rng.choice(sectors)}AB"]),
                "age": rng.choice(["", "", "17", "45", "80"]),
                "free": rng.choice(["", "yes"]),
                "open_on": rng.choice(["", "", "monday", "saturday"]),
            }
            started = time.perf_counter()
            async with http.post(f"{url}/find/search", data=form) as response:
                page = await response.text()
                assert response.status == 200, page[:500]
                assert "service" in page, page[:500]
            if i >= 5:  # the first searches build the index: a directory change pays it once
                timings.append(time.perf_counter() - started)
    return timings


ABOUT = {
    "name": "Resident",
    "postcode": "CO15 6JQ",
    "email": "resident@bench.example",
    "contact_by": "email",
}


async def _refer(url: str, admin: str, i: int) -> float:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _csrf(http, f"{url}/find/refer/needs")
        for path, form in (
            ("/find/refer/needs", {"needs": "benefits_debt", "urgency": "routine"}),
            ("/find/refer/about-you", {**ABOUT, "name": f"Resident {i}"}),
            ("/find/refer/consent", {"consent": "tdc-housing"}),
        ):
            async with http.post(f"{url}{path}", data={**form, "csrf_token": token}) as response:
                assert response.status == 200, await response.text()
        started = time.perf_counter()
        async with http.post(f"{url}/find/refer/check", data={"csrf_token": token}) as response:
            page = await response.text()
            assert response.status == 200, page[:2000]
        number = re.search(r"<strong>([A-Z]+-\d{4}-\d{6})</strong>", page)
        assert number is not None, page[:2000]
        headers = {"Authorization": f"Bearer {admin}"}
        while True:
            async with http.get(
                f"{url}/api/referrals/{number.group(1)}", headers=headers
            ) as response:
                if response.status == 200:
                    return time.perf_counter() - started
            await asyncio.sleep(0.01)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def _with_directory(sessions: Sessions, directory: Directory) -> None:
    async with sessions.begin() as session:
        await save_directory(session, directory)


async def main() -> bool:
    """Search the generated borough, then refer residents through the website; print both."""
    rng = random.Random(20261202)
    directory = borough(rng)
    started = time.perf_counter()
    index = FinderIndex(directory)
    index_ms = (time.perf_counter() - started) * 1000
    place = Place(label="CO15 6", ward="pier", latitude=51.7938, longitude=1.1672)
    started = time.perf_counter()
    for need in NeedCategory:
        index.search(FinderQuery(need=need, keywords="advice"), place)
    domain_ms = (time.perf_counter() - started) * 1000 / len(NeedCategory)
    config = FindConfig(submissions_per_hour=REFERRALS + 10, emails_per_hour=10)
    async with bench_stack() as (sessions, settings):
        await load_demo_postcodes(sessions)
        _, admin = await issue_token(sessions, subject="bench", role=Role.ADMIN)
        async with dev_server() as env:
            queue = "bench-find"
            app = create_app(
                sessions=sessions,
                temporal=_Temporal(env.client),
                task_queue=queue,
                web_config=WebConfig(secure_cookies=False),
                find_config=config,
            )
            runner, url = await _serve(app)
            try:
                async with Worker(
                    env.client,
                    task_queue=queue,
                    workflows=list(WORKFLOWS),
                    activities=activities(settings, sessions),
                ):
                    referred = [await _refer(url, admin, i) for i in range(REFERRALS)]
                await _with_directory(sessions, directory)
                searched = await _searches(url, rng)
            finally:
                await runner.cleanup()
    search_ms = sorted(x * 1000 for x in searched)
    refer_ms = sorted(x * 1000 for x in referred)
    s50, s95 = percentile(search_ms, 50), percentile(search_ms, 95)
    r50, r95 = percentile(refer_ms, 50), percentile(refer_ms, 95)
    return report(
        f"The public website: {SEARCHES} searches over {SERVICES:,} services, "
        f"{REFERRALS} self-referrals",
        {
            "build the search index (once per directory change)": f"{index_ms:.0f} ms",
            "one search in the domain (need and words, near a postcode)": f"{domain_ms:.1f} ms",
            "search over HTTP, form post to results page, p50 / p95": f"{s50:.1f} / {s95:.1f} ms",
            "self-referral sent to visible as a referral, p50 / p95": f"{r50:.0f} / {r95:.0f} ms",
        },
        {
            "search p95 / 50 ms": (s95 / 50, "< 1"),
            "self-referral visible p95 / 1 s": (r95 / 1000, "< 1"),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
