"""A Reach Out batch over HTTP on the real dev server: 20 residents from submission to closed.

The API is served by a real aiohttp server and talks to Temporal through the encrypting client;
the worker runs the real workflows and activities; emails land in a real SMTP server and
webhooks in a real receiver. Nothing personal may be readable in workflow history.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.referrals import ReferralConfig
from domain.access import Role
from domain.referral import Resident
from store.db import Sessions
from store.tokens import issue_token
from tests.conftest import StaticTemporal
from tests.helpers.referral_world import World, run_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workers.codec import EncryptionCodec, Keyring, encrypted_converter

pytestmark = pytest.mark.e2e

BATCH = 20


def residents() -> list[Resident]:
    """Twenty residents of one street, each with a name, address and postcode of their own."""
    return [
        Resident(
            name=f"Mabel Threadgold-{i:02d}",
            address=f"{i + 1} Rosemary Road West, Clacton",
            postcode=f"CO{10 + i} 4RW",
        )
        for i in range(BATCH)
    ]


@asynccontextmanager
async def served(world: World, sessions: Sessions) -> AsyncIterator[str]:
    """The API on a real aiohttp server on a free loopback port; its base URL."""
    app = create_app(
        sessions=sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        referral_config=ReferralConfig(number_prefix=world.prefix),
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server: Any = site._server
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


async def _bearer(sessions: Sessions, role: Role, subject: str, agency: str | None = None) -> Any:
    _, token = await issue_token(sessions, subject=subject, role=role, agency_id=agency)
    return {"Authorization": f"Bearer {token}"}


async def _until(http: aiohttp.ClientSession, url: str, headers: Any, check: Any) -> Any:
    async with asyncio.timeout(60):
        while True:
            async with http.get(url, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
                body = await resp.json()
            if check(body):
                return body
            await asyncio.sleep(0.2)


async def test_reach_out_batch_of_20_over_http(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    codec = EncryptionCodec(Keyring.parse(Keyring.new_spec()))
    encrypted = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=encrypted_converter(codec),
    )
    people = residents()
    numbers: list[str] = []

    async def body(world: World) -> None:
        worker = await _bearer(sessions, Role.REFERRER, "reach-out-1")
        cab = await _bearer(sessions, Role.AGENCY, "cab-intake", "cab")
        async with served(world, sessions) as base, aiohttp.ClientSession(base) as http:

            async def submit(resident: Resident) -> str:
                payload = submission().model_copy(update={"resident": resident})
                async with http.post(
                    "/api/referrals", json=payload.model_dump(mode="json"), headers=worker
                ) as resp:
                    assert resp.status == 201, await resp.text()
                    return str((await resp.json())["number"])

            numbers.extend(await asyncio.gather(*(submit(r) for r in people)))

            async def work(number: str) -> None:
                url = f"/api/referrals/{number}"
                # The agency finds the new leg on its worklist, as its staff would.
                listed = await _until(
                    http,
                    "/api/agencies/cab/worklist?per_page=500",
                    cab,
                    lambda b: any(i["leg_id"].startswith(f"{number}-L") for i in b["items"]),
                )
                leg = next(
                    i["leg_id"] for i in listed["items"] if i["leg_id"].startswith(f"{number}-L")
                )
                async with http.post(f"/api/legs/{leg}/accept", headers=cab) as resp:
                    assert resp.status == 200, await resp.text()
                outcome = {"code": "got_help", "value": 250, "unit": "GBP"}
                async with http.post(f"/api/legs/{leg}/outcome", json=outcome, headers=cab) as resp:
                    assert resp.status == 200, await resp.text()
                await _until(http, url, worker, lambda b: b["status"] == "follow_up")
                answer = {"made_difference": True, "score": 4}
                async with http.post(f"{url}/follow-up", json=answer, headers=worker) as resp:
                    assert resp.status == 200, await resp.text()
                done = await _until(http, url, worker, lambda b: b["status"] == "closed")
                assert [leg["state"] for leg in done["legs"]] == ["closed"]

            await asyncio.gather(*(work(n) for n in numbers))

            async with http.get(
                "/api/referrals", params={"status": "closed", "per_page": "100"}, headers=worker
            ) as resp:
                assert sorted(i["number"] for i in (await resp.json())["items"]) == sorted(numbers)

    await run_world(encrypted, sessions, smtp_sink, webhook_sink, body)

    assert len(set(numbers)) == BATCH
    sent = smtp_sink.to("intake@cab.example")
    assert len(sent) == BATCH
    assert Counter(e["event"] for e in webhook_sink.events) == {"referral.leg_sent": BATCH}
    assert len(set(smtp_sink.keys())) == len(smtp_sink.keys())
    assert len(set(webhook_sink.keys())) == len(webhook_sink.keys())
    assert webhook_sink.rejected == []
    # Agencies were sent each referral by email and webhook, with no resident's details...
    bodies = " ".join(str(m.get_body(("plain",)).get_content()) for m in sent)  # type: ignore[union-attr]
    assert not any(p.name in bodies for p in people)
    assert {e["data"]["referral"] for e in webhook_sink.events} == set(numbers)

    # ...but no workflow history holds them in clear: read as `temporal workflow show` does.
    histories = []
    for number in numbers:
        histories.append(
            (await dev_env.client.get_workflow_handle(number).fetch_history()).to_json()
        )
        leg = f"{number}-L1"
        histories.append((await dev_env.client.get_workflow_handle(leg).fetch_history()).to_json())
    raw = "\n".join(histories)
    assert "YmluYXJ5L2VuY3J5cHRlZA" in raw  # base64 of binary/encrypted
    for person in people:
        for secret in (person.name, person.address, person.postcode):
            assert secret is not None
            assert secret not in raw, secret
