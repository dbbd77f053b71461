"""The production shape on one machine, as the deploy files describe it, as processes: the
Temporal dev server, a PostgreSQL app database, `partnerflow migrate`, two `partnerflow worker`
and two `partnerflow api` processes. 200 referrals are submitted alternately to the two APIs,
accepted, given an outcome and followed up through both, while one worker and one API are
killed with SIGKILL and replaced. Every referral closes its loop, every notice reaches the real
SMTP and webhook sinks under its idempotency key, and the two APIs agree on every read.

A submission has no idempotency key, so a submission cut off by a killed API could not be told
apart from one never made: writes to the API about to be killed wait until it is replaced,
while reads keep going to it and are cut off by the kill."""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import os
import random
import string
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from store.db import Sessions, create_engine, sessionmaker
from store.schema import NotificationRecord
from store.tokens import issue_token
from tests.conftest import SCRIPTS, free_port
from tests.helpers.processes import Process, wait_ready
from tests.helpers.referral_parts import load_directory
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink, WebhookSink

pytestmark = pytest.mark.e2e

REFERRALS = int(os.environ.get("PARTNERFLOW_TEST_REFERRALS", "200"))
# Referrals in flight at once: enough to keep both workers busy on two cores.
CONCURRENCY = 12
# Generous for a loaded machine, but bounded: a lost referral fails the test, not hangs it.
WITHIN_SECONDS = 420


def _submission(index: int) -> dict[str, Any]:
    return {
        "source": "reach_out",
        "ward": "pier",
        "resident": {
            "name": f"Resident {index}",
            "date_of_birth": "1951-03-14",
            "address": f"{index} Marine Parade, Clacton",
            "postcode": "CO15 1AA",
        },
        "needs": [{"category": "benefits_debt", "urgency": "urgent", "notes": "Rent arrears"}],
        "consent": {
            "agency_ids": ["cab"],
            "given_at": "2026-11-23T10:00:00Z",
            "method": "verbal",
        },
        "referrer": {"name": "Sam (Reach Out)", "email": "sam@reachout.example"},
    }


@contextlib.asynccontextmanager
async def app_database(server: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database on the test server; yields its URL."""
    name = f"prod_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{server}/postgres")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    await admin.dispose()
    yield f"{server}/{name}"


class Deployment:
    """Two APIs and two workers over one database and Temporal, reachable over HTTP."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        ports = [free_port(), free_port()]
        self.urls = [f"http://127.0.0.1:{port}" for port in ports]
        self.apis = [
            Process("api", {**env, "PARTNERFLOW_API_PORT": str(p)}, tmp_path / f"api-{i}.log")
            for i, p in enumerate(ports)
        ]
        self.workers = [Process("worker", env, tmp_path / f"worker-{i}.log") for i in range(2)]
        # Writes to an API wait while it is being replaced; reads do not.
        self.open = [asyncio.Event(), asyncio.Event()]
        self.writing = [0, 0]
        for gate in self.open:
            gate.set()
        self.cut_reads = 0

    async def start(self) -> None:
        for process in (*self.workers, *self.apis):
            process.start()
        for url, api in zip(self.urls, self.apis, strict=True):
            await wait_ready(url, api)

    def stop(self) -> None:
        for process in (*self.apis, *self.workers):
            process.stop()

    async def write(
        self, http: aiohttp.ClientSession, api: int, path: str, token: str, body: Any = None
    ) -> tuple[int, Any]:
        await self.open[api].wait()
        self.writing[api] += 1
        try:
            async with http.post(
                f"{self.urls[api]}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                return resp.status, await resp.json()
        finally:
            self.writing[api] -= 1

    async def read(self, http: aiohttp.ClientSession, api: int, path: str, token: str) -> Any:
        while True:
            try:
                async with http.get(
                    f"{self.urls[api]}{path}", headers={"Authorization": f"Bearer {token}"}
                ) as resp:
                    assert resp.status == 200, await resp.text()
                    return await resp.json()
            except aiohttp.ClientConnectionError:
                # Cut off by the kill, or refused until the replacement listens: ask again.
                self.cut_reads += 1
                await asyncio.sleep(0.3)

    async def replace_api(self, api: int) -> None:
        """SIGKILL an API once no write is in flight to it, then start its replacement."""
        self.open[api].clear()
        while self.writing[api]:  # noqa: ASYNC110 - a counter, polled briefly
            await asyncio.sleep(0.01)
        self.apis[api].kill()
        self.apis[api].start()
        await wait_ready(self.urls[api], self.apis[api])
        self.open[api].set()


class Progress:
    """Where every referral is, as the APIs list them: read in bulk, alternating APIs, so
    hundreds of referrals in flight cost two reads a round, not one each."""

    def __init__(self, deployment: Deployment, referrer: str, agency: str) -> None:
        self._deployment = deployment
        self._tokens = (referrer, agency)
        self.status: dict[str, str] = {}
        self.leg_state: dict[str, str] = {}
        self._changed = asyncio.Condition()

    async def watch(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Read the referral list and the agency's worklist until ``stop`` is set."""
        referrer, agency = self._tokens
        api = 0
        while not stop.is_set():
            listed = await self._deployment.read(http, api, "/api/referrals?per_page=500", referrer)
            work = await self._deployment.read(
                http, 1 - api, "/api/agencies/cab/worklist?per_page=500", agency
            )
            async with self._changed:
                self.status = {r["number"]: r["status"] for r in listed["items"]}
                self.leg_state = {i["leg_id"]: i["state"] for i in work["items"]}
                self._changed.notify_all()
            api = 1 - api
            await asyncio.sleep(0.5)

    async def until(self, check: Any) -> None:
        """Wait until ``check(self)`` holds."""
        async with self._changed:
            await self._changed.wait_for(lambda: check(self))


@pytest.mark.timeout(WITHIN_SECONDS + 180)
async def test_two_apis_two_workers_on_postgresql_survive_a_killed_worker_and_api(
    tmp_path: Path,
    dev_env: WorkflowEnvironment,
    postgres_server: str,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async with app_database(postgres_server) as database_url:
        prefix = "".join(random.choices(string.ascii_uppercase, k=6))
        env = {
            "PARTNERFLOW_VAR_DIR": str(tmp_path / "var"),
            "PARTNERFLOW_DATABASE_URL": database_url,
            "PARTNERFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "PARTNERFLOW_TEMPORAL_TASK_QUEUE": f"tq-{uuid.uuid4()}",
            "PARTNERFLOW_ENCRYPTION_KEYS": f"k1={base64.b64encode(bytes(range(32))).decode()}",
            "PARTNERFLOW_REFERRAL_NUMBER_PREFIX": prefix,
            "PARTNERFLOW_REFERRAL_FOLLOW_UP_AFTER_DAYS": "0",
            "PARTNERFLOW_SMTP_PORT": str(smtp_sink.port),
            "PARTNERFLOW_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PARTNERFLOW_LOG_FORMAT": "json",
            "PARTNERFLOW_LOG_LEVEL": "WARNING",
        }
        migrate = await asyncio.to_thread(
            subprocess.run,
            [str(SCRIPTS / "partnerflow"), "migrate"],
            env={**Process("migrate", env, tmp_path / "m.log").env},
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr.decode()
        engine = create_engine(database_url)
        sessions: Sessions = sessionmaker(engine)
        try:
            await load_directory(sessions, webhook_sink.url)
            _, referrer = await issue_token(sessions, subject="reach-out-1", role=Role.REFERRER)
            _, agency = await issue_token(
                sessions, subject="cab-intake", role=Role.AGENCY, agency_id="cab"
            )
            deployment = Deployment(tmp_path, env)
            try:
                await deployment.start()
                async with asyncio.timeout(WITHIN_SECONDS):
                    numbers = await _run(deployment, referrer, agency)
                    disagreements = await _compare_reads(deployment, numbers, referrer, agency)
            finally:
                deployment.stop()
            async with sessions() as session:
                ledger = set(await session.scalars(select(NotificationRecord.idempotency_key)))
        finally:
            await engine.dispose()

    assert len(set(numbers)) == REFERRALS
    assert disagreements == []
    # The kill cut off reads in flight to the killed API (or refused them until it returned).
    assert deployment.cut_reads > 0
    intake = collections.Counter(m["X-Idempotency-Key"] for m in smtp_sink.to("intake@cab.example"))
    hooks = collections.Counter(webhook_sink.keys())
    assert len(intake) == REFERRALS
    assert len(hooks) == REFERRALS
    arrived = collections.Counter(m["X-Idempotency-Key"] for m in smtp_sink.messages) + hooks
    # Every notice the ledger knows of arrived, and nothing arrived that it does not know of.
    assert set(arrived) == ledger
    # At least once, never lost: a notice the killed worker sent but had not yet recorded goes
    # again under the same key, for the receiver to drop; nothing goes more than twice.
    assert max(arrived.values()) <= 2


async def _run(deployment: Deployment, referrer: str, agency: str) -> list[str]:
    """Every referral through its loop, alternating APIs, with the kills half-way."""
    submitted = 0
    turn = asyncio.Semaphore(CONCURRENCY)
    killed = asyncio.Event()
    done = asyncio.Event()
    progress = Progress(deployment, referrer, agency)

    async def act(
        http: aiohttp.ClientSession, api: int, path: str, token: str, body: Any = None
    ) -> tuple[int, Any]:
        """One action as the README tells a caller to take it: a 503 (no worker answered in
        time, as when one was just killed) may still be applied, so it is repeated, and a
        repeat the leg or referral refuses because it already moved on counts as done."""
        status, answer = await deployment.write(http, api, path, token, body)
        for _ in range(10):
            if status != 503:
                break
            await asyncio.sleep(2)
            status, answer = await deployment.write(http, api, path, token, body)
            if status == 409:
                return 200, {"applied_earlier": True, **answer}
        return status, answer

    async def journey(index: int, http: aiohttp.ClientSession) -> str:
        nonlocal submitted
        api, other = index % 2, (index + 1) % 2
        async with turn:
            status, body = await deployment.write(
                http, api, "/api/referrals", referrer, _submission(index)
            )
            assert status == 201, body
            number: str = body["number"]
            submitted += 1
            leg = f"{number}-L1"
            await progress.until(lambda p: p.leg_state.get(leg) == "sent")
            status, body = await act(http, api, f"/api/legs/{leg}/accept", agency)
            assert status == 200, body
            outcome = {"code": "got_help", "value": 100 + index, "unit": "GBP"}
            status, body = await act(http, other, f"/api/legs/{leg}/outcome", agency, outcome)
            assert status == 200, body
            assert body.get("applied_earlier") or body.get("state") == "outcome_recorded", body
            await progress.until(lambda p: p.status.get(number) == "follow_up")
            status, body = await act(
                http,
                other,
                f"/api/referrals/{number}/follow-up",
                referrer,
                {"made_difference": True, "score": 4},
            )
            assert status == 200, body
            await progress.until(lambda p: p.status.get(number) == "closed")
            return number

    async def kill_half_way(http: aiohttp.ClientSession) -> None:
        while submitted < REFERRALS // 3:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        deployment.workers[0].kill()
        deployment.workers[0].start()
        while submitted < REFERRALS // 2:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await deployment.replace_api(0)
        killed.set()

    async def keep_reading(http: aiohttp.ClientSession) -> None:
        # Reads through the API that will be killed, before, during and after the kill.
        while not killed.is_set():
            await deployment.read(http, 0, "/api/agencies/cab/worklist", agency)
            await asyncio.sleep(0.05)

    timeout = aiohttp.ClientTimeout(total=90)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        # One task group: a failure anywhere (a refused write, a read that is not 200) stops
        # the rest and is reported, instead of leaving the journeys waiting for the timeout.
        async with asyncio.TaskGroup() as group:
            group.create_task(kill_half_way(http))
            group.create_task(keep_reading(http))
            group.create_task(progress.watch(http, done))
            journeys = [group.create_task(journey(i, http)) for i in range(REFERRALS)]
            await asyncio.gather(*journeys)
            done.set()
        numbers = [j.result() for j in journeys]
    return list(numbers)


async def _compare_reads(
    deployment: Deployment, numbers: list[str], referrer: str, agency: str
) -> list[str]:
    """Paths whose answer differs between the two APIs: both lists, and one referral in five
    in full (each full read asks its workflow's live state of Temporal)."""
    paths = [f"/api/referrals/{n}" for n in numbers[::5]]
    paths += ["/api/referrals?per_page=500", "/api/agencies/cab/worklist?per_page=500"]
    differ = []
    async with aiohttp.ClientSession() as http:
        for path in paths:
            token = agency if "agencies" in path else referrer
            answers = [await deployment.read(http, api, path, token) for api in (0, 1)]
            if answers[0] != answers[1]:
                differ.append(path)
    return differ
