"""Routing in the worker: one directory load per directory revision, never a stale copy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from activities.directory_sync import read_source
from activities.referral_routing import ReferralRouting
from domain.directory import NeedCategory, ServiceStatus
from domain.referral_records import RouteRequest
from store.db import Sessions
from store.directory import directory_revision, save_directory
from store.oruk import import_feed
from tests.helpers.oruk_files import EXAMPLE
from tests.helpers.referral_world import directory

DEBT = RouteRequest(category=NeedCategory.BENEFITS_DEBT, ward="pier")


async def test_every_directory_write_raises_the_revision(sessions: Sessions) -> None:
    assert await directory_revision(sessions) == 0
    async with sessions.begin() as session:
        await save_directory(session, directory("https://cab.example/hook"))
    assert await directory_revision(sessions) == 1
    feed = await read_source(str(EXAMPLE))
    await import_feed(sessions, feed, source="example", dry_run=True)
    assert await directory_revision(sessions) == 1
    await import_feed(sessions, feed, source="example")
    assert await directory_revision(sessions) == 2


async def test_routing_reuses_the_directory_until_it_changes(sessions: Sessions) -> None:
    borough = directory("https://cab.example/hook")
    async with sessions.begin() as session:
        await save_directory(session, borough)
    routing = ReferralRouting(sessions)

    first = await routing.route_need(DEBT)
    assert first.choice is not None
    assert first.choice.service.id == "cab-debt"
    assert "CAB debt advice meets benefits debt" in first.choice.reason
    loaded = await routing.directory()
    assert await routing.directory() is loaded

    # CAB closes: the next routing sees it at once, without a restart.
    closed = borough.model_copy(
        update={
            "services": [
                s.model_copy(update={"status": ServiceStatus.INACTIVE}) if s.id == "cab-debt" else s
                for s in borough.services
            ]
        }
    )
    async with sessions.begin() as session:
        await save_directory(session, closed)
    second = await routing.route_need(DEBT)
    assert second.choice is not None
    assert second.choice.service.id == "charity-debt"
    assert await routing.directory() is not loaded

    tried = await routing.route_need(DEBT.model_copy(update={"exclude": ["charity-debt"]}))
    assert tried.choice is None


async def test_routing_takes_a_full_service_back_when_its_full_spell_ends(
    sessions: Sessions,
) -> None:
    borough = directory("https://cab.example/hook")
    ends = datetime.now(UTC) + timedelta(seconds=1.5)
    full = borough.model_copy(
        update={
            "services": [
                s.model_copy(update={"full_until": ends}) if s.id == "cab-debt" else s
                for s in borough.services
            ]
        }
    )
    async with sessions.begin() as session:
        await save_directory(session, full)
    routing = ReferralRouting(sessions)
    during = await routing.route_need(DEBT)
    assert during.choice is not None
    assert during.choice.service.id == "charity-debt"
    revision = await directory_revision(sessions)
    await asyncio.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.1)
    # Nothing was written meanwhile: the spell's end alone brings CAB back.
    assert await directory_revision(sessions) == revision
    after = await routing.route_need(DEBT)
    assert after.choice is not None
    assert after.choice.service.id == "cab-debt"
