"""The public website over a real database with the demonstration directory and postcodes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.web.pages import WebConfig
from store.db import Sessions
from store.demo import load_demo_directory, load_demo_postcodes
from tests.conftest import UnreachableTemporal
from tests.helpers.find_visitor import Visitor


@pytest_asyncio.fixture
async def site(sessions: Sessions) -> AsyncIterator[TestClient[object, object]]:
    """The API app with the website, the demo borough loaded; Temporal unreachable."""
    await load_demo_directory(sessions)
    await load_demo_postcodes(sessions)
    app = create_app(
        sessions=sessions,
        temporal=UnreachableTemporal(),
        task_queue="unused",
        web_config=WebConfig(secure_cookies=False),
    )
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest_asyncio.fixture
async def visitor(site: TestClient[object, object]) -> Visitor:
    return Visitor(site)
