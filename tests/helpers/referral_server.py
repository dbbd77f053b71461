"""The real API over a world's store and Temporal client, for tests that drive referrals by HTTP."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

from aiohttp.test_utils import TestClient, TestServer
from temporalio.client import Client

from api.app import create_app
from api.find.site import FindConfig
from store.db import Sessions
from tests.conftest import StaticTemporal
from tests.helpers.referral_world import LINK_KEYS, World

# Made for each run: no secret is written in the code.
CALLBACK_MASTER = secrets.token_urlsafe(32)


@contextlib.asynccontextmanager
async def serve(world: World) -> AsyncIterator[TestClient[object, object]]:
    """An aiohttp test client on the API, talking to the world's Temporal and database."""
    app = create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        callback_secrets=(CALLBACK_MASTER,),
        find_config=FindConfig(link_keys=LINK_KEYS),
    )
    async with TestClient(TestServer(app)) as client:
        yield client


@contextlib.asynccontextmanager
async def serve_dashboard(
    sessions: Sessions, client: Client, task_queue: str
) -> AsyncIterator[str]:
    """The dashboard and API served on a local port for a browser: its base URL."""
    server = TestServer(
        create_app(
            sessions=sessions,
            temporal=StaticTemporal(client),
            task_queue=task_queue,
            # The keys the world's notices sign their links with.
            find_config=FindConfig(link_keys=LINK_KEYS),
        )
    )
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
