"""The dashboard and the Temporal server agree: listing referrals by search attributes gives
the same set the dashboard's filtered list shows."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.web.pages import SESSION_COOKIE
from domain.access import Role
from domain.referral import Need
from store.db import Sessions
from store.staff import create_user, sign_in
from tests.conftest import StaticTemporal
from tests.helpers.referral_world import World, run_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink

pytestmark = pytest.mark.e2e


async def test_search_attributes_and_dashboard_list_the_same_referrals(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    await create_user(
        sessions, username="olu", password="a long enough password", role=Role.OPERATIONS
    )
    signed = await sign_in(sessions, username="olu", password="a long enough password", remote="t")
    assert signed is not None
    cookies = {SESSION_COOKIE: signed[0]}

    async def body(world: World) -> None:
        handles = [await world.submit(submission()) for _ in range(3)]
        handles.append(
            await world.submit(
                submission(Need(category="housing", urgency="urgent"), consent=["council"])
            )
        )
        for handle in handles:
            await world.until(handle, lambda v: bool(v.legs))
        ours = {h.id for h in handles}
        app = create_app(
            sessions=sessions, temporal=StaticTemporal(dev_env.client), task_queue=world.task_queue
        )
        async with TestClient(TestServer(app)) as site:
            for attributes, filters in (
                ("PfWard = 'pier' AND PfStatus = 'open'", {"ward": "pier", "status": "open"}),
                ("PfUrgency = 'urgent'", {"urgency": "urgent"}),
                ("PfAgencies = 'cab'", {"agency": "cab"}),
            ):
                page = await (await site.get("/referrals", params=filters, cookies=cookies)).text()
                shown = set(re.findall(r'href="/referrals/([A-Z]+-\d{4}-\d{6})"', page)) & ours
                assert shown, filters
                query = f"PfKind = 'referral' AND {attributes}"
                async with asyncio.timeout(30):
                    while True:  # visibility is eventually consistent
                        listed = {w.id async for w in dev_env.client.list_workflows(query)} & ours
                        if listed == shown:
                            break
                        await asyncio.sleep(0.2)

    await run_world(dev_env.client, sessions, smtp_sink, webhook_sink, body)
