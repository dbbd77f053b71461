"""The public website over a referral world: the demo borough, a worker with every referral
workflow and the residents' notices, real SMTP, the API app on a real HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

from aiohttp import web as web_app
from aiohttp.test_utils import TestClient, TestServer
from temporalio.client import Client

from activities.notify import Notifier, NotifierConfig
from activities.resident_notices import ResidentNoticeConfig, ResidentNotices
from api.app import create_app
from api.find.site import FindConfig
from api.referrals import ReferralConfig
from api.web.pages import WebConfig
from domain.referral import ACCEPT_UPDATE, AgencyAction, LegState
from store.db import Sessions
from store.demo import demo_directory, load_demo_directory, load_demo_postcodes
from store.referrals import get_referral
from tests.conftest import StaticTemporal, UnreachableTemporal
from tests.helpers.referral_world import LINK_KEYS, World, open_world
from tests.helpers.sinks import SmtpSink, WebhookSink
from workflows.resident_notice import ResidentNoticeWorkflow

PUBLIC_URL = "http://public.example"
TRACK_LINK = re.compile(r"http://public\.example(/find/track/[A-Za-z0-9_.-]+)")


def find_config(**overrides: object) -> FindConfig:
    """The website's settings for tests: the key the worker's notices sign links with."""
    return FindConfig(**{"link_keys": LINK_KEYS, **overrides})  # type: ignore[arg-type]


async def offline_site_app(
    sessions: Sessions, find: FindConfig | None = None, web: WebConfig | None = None
) -> web_app.Application:
    """The API app with the website over the demo borough, Temporal unreachable."""
    await load_demo_directory(sessions)
    await load_demo_postcodes(sessions)
    return create_app(
        sessions=sessions,
        temporal=UnreachableTemporal(),
        task_queue="unused",
        web_config=web,
        find_config=find,
    )


@contextlib.asynccontextmanager
async def offline_site_client(
    sessions: Sessions, find: FindConfig | None = None
) -> AsyncIterator[TestClient[object, object]]:
    """The API app with the website over the demo borough, Temporal unreachable: a client."""
    app = await offline_site_app(sessions, find, WebConfig(secure_cookies=False))
    async with TestClient(TestServer(app)) as client:
        yield client


async def accept_first_leg(world: World, number: str, agency_id: str) -> None:
    """The agency accepts the referral's first leg; returns once the store has recorded it
    (the resident's tracking page reads the store)."""
    await world.client.get_workflow_handle(f"{number}-L1").execute_update(
        ACCEPT_UPDATE, AgencyAction(agency_id=agency_id, actor="intake")
    )
    for _ in range(150):
        stored = await get_referral(world.sessions, number)
        if stored is not None and stored.legs[0].state == LegState.ACCEPTED.value:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{number}-L1 was not recorded as accepted")


@contextlib.asynccontextmanager
async def open_site_world(
    client: Client, sessions: Sessions, smtp: SmtpSink, webhooks: WebhookSink
) -> AsyncIterator[World]:
    """The demo borough loaded and a worker that also sends residents' emails: the world."""
    await load_demo_postcodes(sessions)
    notifier = Notifier(NotifierConfig(smtp_port=smtp.port, sender="pf@test"), sessions)
    notices = ResidentNotices(
        notifier,
        sessions,
        ResidentNoticeConfig(
            public_url=PUBLIC_URL, council_name="Test Council", link_keys=LINK_KEYS
        ),
    )
    async with open_world(
        client,
        sessions,
        smtp,
        webhooks,
        borough=demo_directory(),
        workflows=[ResidentNoticeWorkflow],
        activities=[notices.notify_resident],
    ) as world:
        yield world


@contextlib.asynccontextmanager
async def serve_site(
    world: World, **overrides: object
) -> AsyncIterator[TestClient[object, object]]:
    """The API app (website included) on the world's store and Temporal."""
    app = create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        # Numbers restart in each test's database: the world's prefix keeps workflow ids apart.
        referral_config=ReferralConfig(number_prefix=world.prefix),
        web_config=WebConfig(secure_cookies=False),
        find_config=find_config(**overrides),
    )
    async with TestClient(TestServer(app)) as client:
        yield client
