"""The real API over a world's store and Temporal client, for tests that drive referrals by HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from tests.conftest import StaticTemporal
from tests.helpers.referral_world import World

CALLBACK_MASTER = "test-callback-master-secret"


@contextlib.asynccontextmanager
async def serve(world: World) -> AsyncIterator[TestClient[object, object]]:
    """An aiohttp test client on the API, talking to the world's Temporal and database."""
    app = create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        callback_secret=CALLBACK_MASTER,
    )
    async with TestClient(TestServer(app)) as client:
        yield client
