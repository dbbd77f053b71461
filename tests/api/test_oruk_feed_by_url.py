"""An ORUK feed by URL: partnerflow reads another ORUK API page by page, then each service in
full, as it would a council's feed. Here the feed is partnerflow's own /oruk API."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from activities.directory_sync import FeedUnreadable, read_source
from domain.oruk.importing import oruk_id
from store.db import Sessions, create_engine, sessionmaker
from store.demo import demo_directory, load_demo_directory
from store.directory import load_directory
from store.migrate import upgrade
from store.oruk import import_feed


async def test_a_paged_oruk_api_imports_into_another_directory(
    api: TestClient, sessions: Sessions, tmp_path: Path
) -> None:
    await load_demo_directory(sessions)
    url = str(api.make_url("/oruk/services?per_page=4"))
    feed = await read_source(url)
    directory = demo_directory()
    assert len(feed.services) == len(directory.services)

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    try:
        await upgrade(engine)
        other = sessionmaker(engine)
        report = await import_feed(other, feed, source=url, full=True)
        assert [p for p in report.problems if p.refused] == []
        imported = {s.id: s for s in (await load_directory(other)).services}
    finally:
        await engine.dispose()
    for svc in directory.services:
        copy = imported[oruk_id(svc.id)]
        public = {"name", "description", "categories", "areas", "eligibility", "status", "email"}
        assert copy.model_dump(include=public) == svc.model_dump(include=public), svc.id
        assert copy.address == svc.address


async def test_a_url_that_is_not_an_oruk_feed_is_refused(api: TestClient) -> None:
    with pytest.raises(FeedUnreadable, match="not an ORUK document"):
        await read_source(str(api.make_url("/healthz")))
    with pytest.raises(FeedUnreadable, match="HTTP 404"):
        await read_source(str(api.make_url("/oruk/services/nope")))
