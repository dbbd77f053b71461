"""The HTTP API as a user meets it, with the API in its own process.

The production shape (`partnerflow api` and `partnerflow worker` as their own processes, dev
server, PostgreSQL store, local SMTP sink):

- open loop: referral submissions offered at a fixed rate (``PARTNERFLOW_BENCH_API_RATE``,
  default 4/s, below the sustained referral rate) for ``PARTNERFLOW_BENCH_API_SECONDS``
  (default 60); each request is sent on its schedule, not after the previous answer, and its
  latency counts from its scheduled time. Then worklist and referral reads at 20/s together
  for as long. p50, p95, p99 and errors of each (targets: submissions p95 < 150 ms, no errors);
- closed loop: ``PARTNERFLOW_BENCH_API_CLIENTS`` clients (default 20) submit
  ``PARTNERFLOW_BENCH_API`` referrals (default 300) as fast as the API answers: the most
  submissions per second the stack takes (its latency is queueing: clients / throughput).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from bench.common import AGENCY, percentile, report, submission
from bench.shape import production_shape
from domain.access import Role
from store.tokens import issue_token

N = int(os.environ.get("PARTNERFLOW_BENCH_API", "300"))
CLIENTS = int(os.environ.get("PARTNERFLOW_BENCH_API_CLIENTS", "20"))
RATE = float(os.environ.get("PARTNERFLOW_BENCH_API_RATE", "4"))
READ_RATE = 20.0
SECONDS = float(os.environ.get("PARTNERFLOW_BENCH_API_SECONDS", "60"))


def body(i: int) -> dict[str, object]:
    """A submission as its JSON body."""
    return submission(i).model_dump(mode="json")


@dataclass
class Measured:
    """Latencies (ms) and errors of one kind of request."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)

    def summary(self) -> str:
        ms = sorted(self.latencies)
        p50, p95, p99 = (percentile(ms, q) for q in (50, 95, 99))
        first = f" (first: {self.errors[0]})" if self.errors else ""
        return f"p50 {p50:.0f} / p95 {p95:.0f} / p99 {p99:.0f} ms, errors {len(self.errors)}{first}"

    def p95(self) -> float:
        return percentile(sorted(self.latencies), 95)


async def _request(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    due: float,
    into: Measured,
    json: object = None,
    expect: int = 200,
) -> None:
    try:
        async with http.request(method, url, json=json) as response:
            answer = await response.json()
            if response.status != expect:
                into.errors.append(f"{response.status} {answer}")
            elif method == "POST":
                into.numbers.append(answer["number"])
    except aiohttp.ClientError as exc:
        into.errors.append(repr(exc))
    into.latencies.append((time.perf_counter() - due) * 1000)


async def open_loop(
    rate: float, seconds: float, send: Callable[[int, float], Awaitable[None]]
) -> None:
    """Send request i at start + i / rate, whatever the earlier ones are doing."""
    start = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.ensure_future(send(i, due)))
    await asyncio.gather(*tasks)


async def closed_loop(http: aiohttp.ClientSession, url: str) -> tuple[Measured, float]:
    """CLIENTS clients submitting N referrals back to back; the figures and elapsed seconds."""
    measured = Measured()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(N):
        queue.put_nowait(10_000 + i)

    async def client() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            await _request(http, "POST", url, started, measured, body(i), 201)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return measured, time.perf_counter() - started


async def main() -> bool:
    """Start the API and a worker as processes, load them, print the figures."""
    async with production_shape() as shape:
        _, referrer = await issue_token(shape.sessions, subject="bench", role=Role.REFERRER)
        _, agency = await issue_token(
            shape.sessions, subject="bench-agency", role=Role.AGENCY, agency_id=AGENCY
        )
        await shape.start_workers(1)
        url, _ = await shape.start_api()
        submissions, worklist, reads = Measured(), Measured(), Measured()
        as_referrer = {"Authorization": f"Bearer {referrer}"}
        as_agency = {"Authorization": f"Bearer {agency}"}
        async with (
            aiohttp.ClientSession(headers=as_referrer) as http,
            aiohttp.ClientSession(headers=as_agency) as agency_http,
        ):
            # Warm-up, not measured: the first request of each kind pays first-use costs.
            warm = Measured()
            await _request(http, "POST", f"{url}/api/referrals", 0, warm, body(-1), 201)
            await _request(agency_http, "GET", f"{url}/api/agencies/{AGENCY}/worklist", 0, warm)
            assert not warm.errors, warm.errors

            async def submit(i: int, due: float) -> None:
                await _request(http, "POST", f"{url}/api/referrals", due, submissions, body(i), 201)

            await open_loop(RATE, SECONDS, submit)
            numbers = submissions.numbers or warm.numbers

            async def read(i: int, due: float) -> None:
                if i % 2:
                    path, into = f"/api/referrals/{numbers[i % len(numbers)]}", reads
                    await _request(http, "GET", f"{url}{path}", due, into)
                else:
                    path = f"/api/agencies/{AGENCY}/worklist"
                    await _request(agency_http, "GET", f"{url}{path}", due, worklist)

            await open_loop(READ_RATE, SECONDS, read)
            closed, elapsed = await closed_loop(http, f"{url}/api/referrals")
    errors = len(submissions.errors) + len(worklist.errors) + len(reads.errors)
    return report(
        "The API in its own process: open-loop latency, then closed-loop throughput",
        {
            f"submissions offered at {RATE:g}/s for {SECONDS:g} s": submissions.summary(),
            f"worklist reads ({READ_RATE / 2:g}/s)": worklist.summary(),
            f"referral reads ({READ_RATE / 2:g}/s)": reads.summary(),
            f"closed loop, {CLIENTS} clients, {N} submissions": (
                f"{N / elapsed:.1f} submissions/s; {closed.summary()}"
            ),
        },
        {
            "submission p95 / 150 ms (open loop)": (submissions.p95() / 150, "< 1"),
            "read p95 / 150 ms (open loop)": (max(worklist.p95(), reads.p95()) / 150, "< 1"),
            "open-loop errors": (errors, "<= 0"),
            "closed-loop errors": (len(closed.errors), "<= 0"),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
