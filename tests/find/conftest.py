"""The public website over a real database with the demonstration directory and postcodes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp.test_utils import TestClient

from store.db import Sessions
from tests.helpers.find_site import offline_site_client
from tests.helpers.find_visitor import Visitor
from tests.helpers.referral_fixtures import site_world

__all__ = ["site_world"]


@pytest_asyncio.fixture
async def site(sessions: Sessions) -> AsyncIterator[TestClient[object, object]]:
    """The API app with the website, the demo borough loaded; Temporal unreachable."""
    async with offline_site_client(sessions) as client:
        yield client


@pytest_asyncio.fixture
async def visitor(site: TestClient[object, object]) -> Visitor:
    return Visitor(site)
